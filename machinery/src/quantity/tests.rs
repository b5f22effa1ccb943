#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;
use QuantityFormat::{BinarySI, DecimalExponent, DecimalSI};

const GI: i128 = 1 << 30;

#[test]
fn parses_to_exact_nano_values_and_prints_canonically() {
    // (input, nano-units, format, canonical form)
    let cases: &[(&str, i128, QuantityFormat, &str)] = &[
        ("0", 0, DecimalSI, "0"),
        ("100m", 100_000_000, DecimalSI, "100m"),
        ("1.5", 1_500_000_000, DecimalSI, "1500m"),
        ("0.5", 500_000_000, DecimalSI, "500m"),
        (".5", 500_000_000, DecimalSI, "500m"),
        ("5.", 5_000_000_000, DecimalSI, "5"),
        ("00.5", 500_000_000, DecimalSI, "500m"),
        ("1.000", 1_000_000_000, DecimalSI, "1"),
        ("+1", 1_000_000_000, DecimalSI, "1"),
        ("-1", -1_000_000_000, DecimalSI, "-1"),
        ("-100m", -100_000_000, DecimalSI, "-100m"),
        ("1000", 1_000_000_000_000, DecimalSI, "1k"),
        ("1k", 1_000_000_000_000, DecimalSI, "1k"),
        ("1500k", 1_500_000_000_000_000, DecimalSI, "1500k"),
        ("500M", 500_000_000_000_000_000, DecimalSI, "500M"),
        ("2G", 2_000_000_000_000_000_000, DecimalSI, "2G"),
        ("1E", 1_000_000_000_000_000_000_000_000_000, DecimalSI, "1E"),
        ("1m", 1_000_000, DecimalSI, "1m"),
        ("1.5m", 1_500_000, DecimalSI, "1500u"),
        ("1u", 1_000, DecimalSI, "1u"),
        ("1n", 1, DecimalSI, "1n"),
        ("0.0001", 100_000, DecimalSI, "100u"),
        // Below a nano-unit rounds up, never down to nothing.
        ("0.1n", 1, DecimalSI, "1n"),
        ("1.0000000001", 1_000_000_001, DecimalSI, "1000000001n"),
        ("-0.1n", -1, DecimalSI, "-1n"),
        ("128Mi", 128 * (1 << 20) * 1_000_000_000, BinarySI, "128Mi"),
        ("1Gi", GI * 1_000_000_000, BinarySI, "1Gi"),
        ("1024Mi", GI * 1_000_000_000, BinarySI, "1Gi"),
        (
            "1536Mi",
            1536 * (1 << 20) * 1_000_000_000,
            BinarySI,
            "1536Mi",
        ),
        (
            "1.5Gi",
            1536 * (1 << 20) * 1_000_000_000,
            BinarySI,
            "1536Mi",
        ),
        ("1Ki", 1024 * 1_000_000_000, BinarySI, "1Ki"),
        ("4Ti", (4i128 << 40) * 1_000_000_000, BinarySI, "4Ti"),
        // Binary values below 1024 print in decimal; fractions of a unit become DecimalSI.
        ("0.5Ki", 512 * 1_000_000_000, BinarySI, "512"),
        ("0.0001Ki", 102_400_000, DecimalSI, "102400u"),
        // Binary values are capped at 2^63-1.
        (
            "8Ei",
            i64::MAX as i128 * 1_000_000_000,
            BinarySI,
            "9223372036854775807",
        ),
        ("2e3", 2_000_000_000_000, DecimalExponent, "2e3"),
        ("1E3", 1_000_000_000_000, DecimalExponent, "1e3"),
        ("12e6", 12_000_000_000_000_000, DecimalExponent, "12e6"),
        ("1e-3", 1_000_000, DecimalExponent, "1e-3"),
        ("1.5e3", 1_500_000_000_000, DecimalExponent, "1500"),
        ("1e+2", 100_000_000_000, DecimalExponent, "100"),
        ("1e-20", 1, DecimalExponent, "1e-9"),
        // Upstream's leniencies: a lone sign or dot, or only zeros, is zero.
        ("000", 0, DecimalSI, "0"),
        ("-", 0, DecimalSI, "0"),
        (".", 0, DecimalSI, "0"),
        ("0Mi", 0, BinarySI, "0"),
    ];
    for &(input, nanos, format, canonical) in cases {
        let q = Quantity::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(q.nano_value(), nanos, "value of {input:?}");
        assert_eq!(q.format(), format, "format of {input:?}");
        assert_eq!(q.to_string(), canonical, "canonical form of {input:?}");
        // The canonical form reads back to the same value.
        assert_eq!(
            Quantity::parse(canonical).unwrap(),
            q,
            "re-parsing {canonical:?}"
        );
    }
}

#[test]
fn parse_errors() {
    let cases = [
        ("", QuantityError::FormatWrong),
        ("abc", QuantityError::FormatWrong),
        ("1x", QuantityError::FormatWrong),
        ("1 ", QuantityError::FormatWrong),
        (" 1", QuantityError::FormatWrong),
        ("1.5.5", QuantityError::FormatWrong),
        ("1e3.5", QuantityError::FormatWrong),
        ("1Mi ", QuantityError::FormatWrong),
        ("1K", QuantityError::Suffix),
        ("1i", QuantityError::Suffix),
        ("1e", QuantityError::Suffix),
        ("1Mi2", QuantityError::Suffix),
        ("1mm", QuantityError::Suffix),
        ("--1", QuantityError::Suffix),
        ("1e1000", QuantityError::OutOfRange),
    ];
    for (input, expected) in cases {
        assert_eq!(Quantity::parse(input), Err(expected.clone()), "{input:?}");
    }
    assert_eq!(
        QuantityError::FormatWrong.to_string(),
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
    assert_eq!(
        QuantityError::Suffix.to_string(),
        "unable to parse quantity's suffix"
    );
}

#[test]
fn milli_and_unit_values_round_up() {
    // (input, milli value, value)
    let cases = [
        ("100m", 100, 1),
        ("1", 1_000, 1),
        ("1.5", 1_500, 2),
        ("2", 2_000, 2),
        ("0.1n", 1, 1),
        ("1Gi", 1_073_741_824_000, 1_073_741_824),
        ("128Mi", 134_217_728_000, 134_217_728),
        ("-1.5", -1_500, -1),
        ("0", 0, 0),
        ("8Ei", i64::MAX, i64::MAX),
    ];
    for (input, milli, value) in cases {
        let q = Quantity::parse(input).unwrap();
        assert_eq!(q.milli_value(), milli, "milli value of {input}");
        assert_eq!(q.value(), value, "value of {input}");
    }
}

#[test]
fn comparisons_ignore_format() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(q("1Gi"), q("1073741824"));
    assert_eq!(q("1024Mi"), q("1Gi"));
    assert_eq!(q("1k"), q("1e3"));
    assert_eq!(q("0.5"), q("500m"));
    assert!(q("500m") < q("1"));
    assert!(q("1") < q("1.001"));
    assert!(q("999Mi") < q("1Gi"));
    assert!(q("1G") < q("1Gi"));
    assert!(q("-1") < q("0"));
    let mut list: Vec<Quantity> = ["2", "100m", "1Ki", "1e2", "0"]
        .iter()
        .map(|s| q(s))
        .collect();
    list.sort();
    let printed: Vec<String> = list.iter().map(Quantity::to_string).collect();
    assert_eq!(printed, ["0", "100m", "2", "100", "1Ki"]);
    // A limit at or above the request is valid.
    assert!(q("250m") <= q("0.25"));
    assert!(q("512Mi") <= q("1Gi"));
}

#[test]
fn arithmetic_keeps_upstream_formats() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(
        q("100m").checked_add(q("200m")).unwrap().to_string(),
        "300m"
    );
    assert_eq!(
        Quantity::zero().checked_add(q("1Gi")).unwrap().to_string(),
        "1Gi"
    );
    assert_eq!(
        q("1Gi").checked_add(q("512Mi")).unwrap().to_string(),
        "1536Mi"
    );
    assert_eq!(q("1").checked_sub(q("250m")).unwrap().to_string(), "750m");
    assert_eq!(q("1Gi").checked_sub(q("1Gi")).unwrap().to_string(), "0");
}

#[test]
fn constructors_json_and_serde() {
    assert_eq!(Quantity::from_milli(250).to_string(), "250m");
    assert_eq!(Quantity::from_milli(2000).to_string(), "2");
    assert_eq!(Quantity::from_value(1024, BinarySI).to_string(), "1Ki");
    assert_eq!(Quantity::from_value(3, DecimalSI).to_string(), "3");
    assert_eq!(Quantity::default(), Quantity::zero());

    // (JSON, parsed value in milli-units)
    let cases = [
        (json!("2"), 2_000),
        (json!(1), 1_000),
        (json!(0.5), 500),
        (json!("250m"), 250),
    ];
    for (value, milli) in cases {
        assert_eq!(
            Quantity::from_json(&value).unwrap().milli_value(),
            milli,
            "{value}"
        );
    }
    assert!(Quantity::from_json(&json!(true)).is_err());
    assert!(Quantity::from_json(&json!(null)).is_err());

    let q: Quantity = serde_json::from_value(json!("1.5")).unwrap();
    assert_eq!(serde_json::to_value(q).unwrap(), json!("1500m"));
    let q: Quantity = serde_json::from_value(json!(4)).unwrap();
    assert_eq!(serde_json::to_value(q).unwrap(), json!("4"));
    assert!(serde_json::from_value::<Quantity>(json!("1x")).is_err());
    assert_eq!("1Gi".parse::<Quantity>().unwrap().value(), 1 << 30);
}

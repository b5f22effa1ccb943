//! Resource quantities (`100m`, `1.5`, `128Mi`, `2e3`), parsed as upstream's
//! `resource.ParseQuantity` does and kept exactly (no floating point) in nano-units.
//!
//! Upstream's rules that matter to callers: values are rounded up (away from zero) to a
//! whole nano-unit, so a request never shrinks to nothing; binary-suffixed values are capped
//! at 2^63-1; a value keeps the suffix family it was written in (`DecimalSI`, `BinarySI`,
//! `DecimalExponent`) and prints in canonical form (`1.5` -> `1500m`, `1024Mi` -> `1Gi`).
//! Values beyond about 1.7e29 (the range of nano-units in an `i128`) are refused here where
//! upstream's arbitrary precision would keep them.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The suffix family a quantity was written in; it decides how the quantity prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// `12e6`, `1.5E-3`
    DecimalExponent,
    /// `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei` (powers of 1024)
    BinarySI,
    /// `n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E` (powers of 1000)
    DecimalSI,
}

/// Why a string is not a quantity; the texts are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// Beyond what is representable here (see the module documentation).
    #[error("quantity is too large")]
    OutOfRange,
}

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Upstream's cap for binary-suffixed quantities: 2^63-1 units.
const MAX_BINARY_NANOS: i128 = (i64::MAX as i128) * NANOS_PER_UNIT;

/// A resource quantity. Equality and order compare values only, not formats
/// (`1Gi == 1073741824`).
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl Quantity {
    pub fn zero() -> Self {
        Self {
            nanos: 0,
            format: QuantityFormat::DecimalSI,
        }
    }

    /// `milli` thousandths of a unit (`from_milli(250)` is `250m`).
    pub fn from_milli(milli: i64) -> Self {
        Self {
            nanos: i128::from(milli) * 1_000_000,
            format: QuantityFormat::DecimalSI,
        }
    }

    /// `value` whole units, printed in `format` (e.g. bytes as `BinarySI`).
    pub fn from_value(value: i64, format: QuantityFormat) -> Self {
        Self {
            nanos: i128::from(value) * NANOS_PER_UNIT,
            format,
        }
    }

    /// Parses a quantity string.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        let parts = split_quantity(s)?;
        let (base, exponent, format) = interpret_suffix(parts.suffix)?;

        // Trailing zeros of the fraction change nothing; dropping them keeps the arithmetic
        // small.
        let denom = parts.denom.trim_end_matches('0');
        let digits = format!("{}{}", parts.num, denom);
        let digits = digits.trim_start_matches('0');
        let denom_len = i64::try_from(denom.len()).map_err(|_| QuantityError::OutOfRange)?;

        let magnitude = if digits.is_empty() {
            0
        } else if base == 10 {
            decimal_nanos(digits, exponent.saturating_sub(denom_len).saturating_add(9))?
        } else {
            binary_nanos(parts.num, digits, exponent, denom_len)?
        };
        // Upstream prints binary fractions of a unit in decimal rather than round them.
        let format =
            if format == QuantityFormat::BinarySI && magnitude > 0 && magnitude < NANOS_PER_UNIT {
                QuantityFormat::DecimalSI
            } else {
                format
            };
        Ok(Self {
            nanos: if parts.negative {
                -magnitude
            } else {
                magnitude
            },
            format,
        })
    }

    /// A quantity as found in JSON: a string, or a bare number (which upstream accepts too).
    pub fn from_json(value: &Value) -> Result<Self, QuantityError> {
        match value {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => Err(QuantityError::FormatWrong),
        }
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The exact value in billionths of a unit.
    pub fn nano_value(&self) -> i128 {
        self.nanos
    }

    /// The value in thousandths of a unit, rounded up (CPU requests are compared in
    /// millicores), saturating at the bounds of `i64`.
    pub fn milli_value(&self) -> i64 {
        saturate(ceil_div(self.nanos, 1_000_000))
    }

    /// The value in whole units, rounded up (memory in bytes), saturating at the bounds of
    /// `i64`.
    pub fn value(&self) -> i64 {
        saturate(ceil_div(self.nanos, NANOS_PER_UNIT))
    }

    /// The sum, in `self`'s format (or `other`'s when `self` is zero, as upstream), or `None`
    /// on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        Some(Self {
            nanos: self.nanos.checked_add(other.nanos)?,
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        })
    }

    /// The difference, in `self`'s format (or `other`'s when `self` is zero), or `None` on
    /// overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        Some(Self {
            nanos: self.nanos.checked_sub(other.nanos)?,
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        })
    }
}

impl Default for Quantity {
    fn default() -> Self {
        Self::zero()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl std::hash::Hash for Quantity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The canonical form upstream serializes: the largest suffix that loses no precision.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let whole_units = self.nanos % NANOS_PER_UNIT == 0;
        let binary = self.format == QuantityFormat::BinarySI
            && whole_units
            && self.nanos.abs() >= 1024 * NANOS_PER_UNIT;
        if binary {
            let mut mantissa = self.nanos / NANOS_PER_UNIT;
            let mut power = 0;
            while mantissa % 1024 == 0 && power < BINARY_SUFFIXES.len() - 1 {
                mantissa /= 1024;
                power += 1;
            }
            let suffix = BINARY_SUFFIXES.get(power).copied().unwrap_or_default();
            return write!(f, "{mantissa}{suffix}");
        }
        // Decimal: strip factors of 1000 from the nano value; the exponent stays a multiple
        // of three.
        let mut mantissa = self.nanos;
        let mut exponent: i32 = -9;
        while mantissa % 1000 == 0 {
            mantissa /= 1000;
            exponent += 3;
        }
        if self.format == QuantityFormat::DecimalExponent {
            return if exponent == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exponent}")
            };
        }
        // Past `E` there is no larger suffix: keep `E` and grow the mantissa. (Upstream
        // prints no suffix at all there, which changes the value.)
        while exponent > 18 {
            mantissa *= 1000;
            exponent -= 3;
        }
        let suffix = match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        write!(f, "{mantissa}{suffix}")
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The pieces of `[sign]num[.denom]suffix`.
struct QuantityParts<'a> {
    negative: bool,
    /// Integer digits without leading zeros ("0" when none).
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

/// Splits a quantity as upstream's `parseQuantityString` does, including its leniencies
/// (`.5`, `5.`, a lone sign or `.` reading as zero).
fn split_quantity(s: &str) -> Result<QuantityParts<'_>, QuantityError> {
    let bytes = s.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut negative = false;
    match bytes.first() {
        Some(b'-') => {
            negative = true;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while bytes.get(pos) == Some(&b'0') {
        pos += 1;
    }
    let zero = QuantityParts {
        negative,
        num: "0",
        denom: "",
        suffix: "",
    };
    if pos >= end {
        return Ok(zero);
    }
    let digits_end = |from: usize| {
        (from..end)
            .find(|&i| !bytes.get(i).is_some_and(u8::is_ascii_digit))
            .unwrap_or(end)
    };
    let num_end = digits_end(pos);
    let num = match s.get(pos..num_end) {
        Some("") | None => "0",
        Some(num) => num,
    };
    pos = num_end;
    let mut denom = "";
    if bytes.get(pos) == Some(&b'.') {
        let denom_end = digits_end(pos + 1);
        denom = s.get(pos + 1..denom_end).unwrap_or_default();
        pos = denom_end;
    }
    let suffix_start = pos;
    while bytes.get(pos).is_some_and(|b| b"eEinumkKMGTP".contains(b)) {
        pos += 1;
    }
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    pos = digits_end(pos);
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(QuantityParts {
        negative,
        num,
        denom,
        suffix: s.get(suffix_start..).unwrap_or_default(),
    })
}

/// (base, exponent, format) of a suffix.
fn interpret_suffix(suffix: &str) -> Result<(u32, i64, QuantityFormat), QuantityError> {
    use QuantityFormat::{BinarySI, DecimalExponent, DecimalSI};
    Ok(match suffix {
        "" => (10, 0, DecimalSI),
        "n" => (10, -9, DecimalSI),
        "u" => (10, -6, DecimalSI),
        "m" => (10, -3, DecimalSI),
        "k" => (10, 3, DecimalSI),
        "M" => (10, 6, DecimalSI),
        "G" => (10, 9, DecimalSI),
        "T" => (10, 12, DecimalSI),
        "P" => (10, 15, DecimalSI),
        "E" => (10, 18, DecimalSI),
        "Ki" => (2, 10, BinarySI),
        "Mi" => (2, 20, BinarySI),
        "Gi" => (2, 30, BinarySI),
        "Ti" => (2, 40, BinarySI),
        "Pi" => (2, 50, BinarySI),
        "Ei" => (2, 60, BinarySI),
        _ => {
            let exponent = suffix
                .strip_prefix(['e', 'E'])
                .filter(|rest| !rest.is_empty())
                .and_then(|rest| rest.parse::<i64>().ok())
                .ok_or(QuantityError::Suffix)?;
            (10, exponent, DecimalExponent)
        }
    })
}

/// `digits` x 10^`shift` nano-units, rounded up to a whole nano-unit.
fn decimal_nanos(digits: &str, shift: i64) -> Result<i128, QuantityError> {
    if shift >= 0 {
        let shift = u32::try_from(shift).map_err(|_| QuantityError::OutOfRange)?;
        let value: i128 = digits.parse().map_err(|_| QuantityError::OutOfRange)?;
        return 10i128
            .checked_pow(shift)
            .and_then(|scale| value.checked_mul(scale))
            .ok_or(QuantityError::OutOfRange);
    }
    let cut = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
    let (whole, fraction) = digits.split_at(digits.len().saturating_sub(cut));
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| QuantityError::OutOfRange)?
    };
    let round_up = fraction.bytes().any(|b| b != b'0');
    whole
        .checked_add(i128::from(round_up))
        .ok_or(QuantityError::OutOfRange)
}

/// `digits` / 10^`denom_len` x 2^`exponent` units in nano-units, rounded up. `whole` is the
/// integer part alone: when the exact product does not fit, a whole part beyond the binary
/// cap is capped (as upstream caps it), and otherwise the fraction is too long to handle.
fn binary_nanos(
    whole: &str,
    digits: &str,
    exponent: i64,
    denom_len: i64,
) -> Result<i128, QuantityError> {
    let shift = u32::try_from(exponent).map_err(|_| QuantityError::Suffix)?;
    let exact = || -> Option<i128> {
        let value: i128 = digits.parse().ok()?;
        let scaled = value
            .checked_mul(1i128.checked_shl(shift)?)?
            .checked_mul(NANOS_PER_UNIT)?;
        let divisor = 10i128.checked_pow(u32::try_from(denom_len).ok()?)?;
        Some(ceil_div(scaled, divisor))
    };
    if let Some(nanos) = exact() {
        return Ok(nanos.min(MAX_BINARY_NANOS));
    }
    let whole_exceeds_cap = whole
        .parse::<i128>()
        .ok()
        .and_then(|units| units.checked_mul(1i128.checked_shl(shift)?))
        .is_none_or(|units| units > i128::from(i64::MAX));
    if whole_exceeds_cap {
        Ok(MAX_BINARY_NANOS)
    } else {
        Err(QuantityError::OutOfRange)
    }
}

/// Division rounding toward positive infinity.
fn ceil_div(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d > 0 { q + 1 } else { q }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests;

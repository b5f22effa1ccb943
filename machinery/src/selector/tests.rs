#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value, json};

use super::*;

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

#[test]
fn label_selector_parses_and_prints_canonically() {
    // (input, printed form): keys sorted, set values sorted and unique, whitespace dropped.
    let cases = [
        ("", ""),
        ("x=a", "x=a"),
        ("x = a", "x=a"),
        ("  x=a  ,  y=b ", "x=a,y=b"),
        ("x==a", "x==a"),
        ("x!=a", "x!=a"),
        ("z=c,x=a,y=b", "x=a,y=b,z=c"),
        ("x in (a,b)", "x in (a,b)"),
        ("x in (b,a,b)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("x in ()", "x in ()"),
        ("x in (,)", "x in ()"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("x", "x"),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x,!y", "x,!y"),
        ("y,!x", "!x,y"),
        ("x>1", "x>1"),
        ("x<2", "x<2"),
        ("x=", "x="),
        ("x=,y=b", "x=,y=b"),
        ("app.kubernetes.io/name=web", "app.kubernetes.io/name=web"),
        (
            "environment in (production, qa),tier notin (frontend)",
            "environment in (production,qa),tier notin (frontend)",
        ),
        ("x\tin\t(a)\n", "x in (a)"),
    ];
    for (input, printed) in cases {
        let sel =
            LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(sel.to_string(), printed, "printing {input:?}");
        // The printed form parses back to the same selector.
        assert_eq!(
            LabelSelector::parse(printed).unwrap(),
            sel,
            "round trip of {input:?}"
        );
    }
    assert!(LabelSelector::parse("").unwrap().is_empty());
    assert!(LabelSelector::parse("   ").unwrap().is_empty());
    assert!(!LabelSelector::parse("x").unwrap().is_empty());
}

#[test]
fn label_selector_parse_errors_are_worded_as_upstream() {
    let cases = [
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("x=a b", "found 'b', expected: ',' or 'end of string'"),
        ("x=a,", "found '', expected: identifier after ','"),
        ("x=a,,y=b", "found ',', expected: identifier after ','"),
        (
            ",x",
            "found ',', expected: !, identifier, or 'end of string'",
        ),
        (
            "=x",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            "x in a",
            "unable to parse requirement: found 'a' expected: '('",
        ),
        (
            "x in (a",
            "unable to parse requirement: found '', expected: ',' or ')'",
        ),
        (
            "x in (a b)",
            "unable to parse requirement: found 'b', expected: ',' or ')'",
        ),
        (
            "x in (=)",
            "unable to parse requirement: found '=', expected: ',', ')' or identifier",
        ),
        (
            "x=(",
            "unable to parse requirement: found '(', expected: identifier",
        ),
        (
            "x=!a",
            "unable to parse requirement: found '!', expected: identifier",
        ),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x=a=b", "found '=', expected: ',' or 'end of string'"),
        (
            "!",
            "unable to parse requirement: found '', expected: identifier",
        ),
        (
            "x>a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
        ),
    ];
    for (input, message) in cases {
        let err = LabelSelector::parse(input).expect_err(input);
        assert!(
            matches!(err, SelectorError::LabelSyntax(_)),
            "{input:?}: {err:?}"
        );
        assert_eq!(err.to_string(), message, "message for {input:?}");
    }
}

#[test]
fn label_selector_validates_keys_and_values() {
    let err = LabelSelector::parse("-x=a").unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "unable to parse requirement: <nil>: Invalid value: \"-x\": {NAME_PART_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    );
    let err = LabelSelector::parse("x=-a").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "unable to parse requirement: values[0][x]: Invalid value: \"-a\": {LABEL_VALUE_MSG}"
        )),
        "{err}"
    );
    let long = "a".repeat(64);
    let err = LabelSelector::parse(&format!("x={long}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be no more than 63 characters"), "{err}");
    assert!(LabelSelector::parse(&format!("{}=v", "a".repeat(63))).is_ok());
    assert!(LabelSelector::parse("/x=a").is_err());
    assert!(LabelSelector::parse("example.com/x=a").is_ok());
}

#[test]
fn label_selector_matching() {
    let pod = json!({"app": "web", "tier": "frontend", "n": "5"});
    // (selector, labels, matches)
    let cases = [
        ("", json!({}), true),
        ("", pod.clone(), true),
        ("app=web", pod.clone(), true),
        ("app==web", pod.clone(), true),
        ("app=db", pod.clone(), false),
        ("app!=db", pod.clone(), true),
        ("app!=web", pod.clone(), false),
        ("missing!=x", pod.clone(), true),
        ("app in (web,db)", pod.clone(), true),
        ("app in (db)", pod.clone(), false),
        ("missing in (a)", pod.clone(), false),
        ("app notin (db)", pod.clone(), true),
        ("app notin (web)", pod.clone(), false),
        ("missing notin (a)", pod.clone(), true),
        ("app", pod.clone(), true),
        ("missing", pod.clone(), false),
        ("!missing", pod.clone(), true),
        ("!app", pod.clone(), false),
        ("app=web,tier=frontend", pod.clone(), true),
        ("app=web,tier=backend", pod.clone(), false),
        ("n>4", pod.clone(), true),
        ("n>5", pod.clone(), false),
        ("n<6", pod.clone(), true),
        ("app>1", pod.clone(), false),
        ("missing<1", pod.clone(), false),
        ("x=", json!({"x": ""}), true),
        ("x=", json!({}), false),
        ("x in ()", json!({"x": ""}), true),
    ];
    for (selector, object_labels, expected) in cases {
        let sel = LabelSelector::parse(selector).unwrap();
        assert_eq!(
            sel.matches(&labels(object_labels.clone())),
            expected,
            "{selector:?} against {object_labels}"
        );
    }
}

#[test]
fn matches_value_treats_missing_labels_as_empty() {
    let sel = LabelSelector::parse("!app").unwrap();
    assert!(sel.matches_value(None));
    assert!(sel.matches_value(Some(&Value::Null)));
    assert!(!sel.matches_value(Some(&json!({"app": "x"}))));
    let sel = LabelSelector::parse("app").unwrap();
    assert!(!sel.matches_value(None));
}

#[test]
fn label_selector_from_metav1_object() {
    // (selector object, printed form)
    let cases = [
        (json!({}), ""),
        (json!({"matchLabels": {}}), ""),
        (json!({"matchLabels": {"app": "web"}}), "app=web"),
        (
            json!({"matchLabels": {"tier": "fe", "app": "web"}}),
            "app=web,tier=fe",
        ),
        (
            json!({"matchExpressions": [
                {"key": "env", "operator": "In", "values": ["qa", "prod"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "app", "operator": "Exists"},
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
            ]}),
            "app,!canary,env in (prod,qa),tier notin (db)",
        ),
        (
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["qa"]},
            ]}),
            "app=web,env in (qa)",
        ),
    ];
    for (object, printed) in cases {
        let sel = LabelSelector::from_label_selector_json(&object).unwrap();
        assert_eq!(sel.to_string(), printed, "{object}");
        assert!(!sel.matches_nothing());
    }

    let sel = LabelSelector::from_label_selector_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}],
    }))
    .unwrap();
    assert!(sel.matches(&labels(json!({"app": "web"}))));
    assert!(sel.matches(&labels(json!({"app": "web", "env": "qa"}))));
    assert!(!sel.matches(&labels(json!({"app": "web", "env": "prod"}))));
    assert!(!sel.matches(&labels(json!({"env": "qa"}))));

    // A missing selector selects nothing, an empty one everything.
    let nothing = LabelSelector::from_label_selector_json(&Value::Null).unwrap();
    assert!(nothing.matches_nothing());
    assert!(!nothing.is_empty());
    assert!(!nothing.matches(&Map::new()));
    let everything = LabelSelector::from_label_selector_json(&json!({})).unwrap();
    assert!(everything.is_empty());
    assert!(everything.matches(&Map::new()));
}

#[test]
fn label_selector_from_metav1_object_errors() {
    let cases = [
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}),
            "\"Equals\" is not a valid label selector operator",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist",
        ),
    ];
    for (object, message) in cases {
        let err = LabelSelector::from_label_selector_json(&object).unwrap_err();
        assert!(matches!(err, SelectorError::InvalidLabelSelector(_)));
        assert_eq!(err.to_string(), message, "{object}");
    }
    let err = LabelSelector::from_label_selector_json(&json!({"matchLabels": {"-a": "b"}}))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("key: Invalid value: \"-a\": {NAME_PART_MSG}")),
        "{err}"
    );
    assert!(LabelSelector::from_label_selector_json(&json!({"matchLabels": {"a": 1}})).is_err());
    assert!(LabelSelector::from_label_selector_json(&json!("app=web")).is_err());
}

#[test]
fn label_selector_from_plain_map() {
    let sel = LabelSelector::from_map(&labels(json!({"tier": "fe", "app": "web"}))).unwrap();
    assert_eq!(sel.to_string(), "app=web,tier=fe");
    assert!(sel.matches(&labels(json!({"app": "web", "tier": "fe", "x": "y"}))));
    assert!(!sel.matches(&labels(json!({"app": "web"}))));
    let empty = LabelSelector::from_map(&Map::new()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.matches(&labels(json!({"a": "b"}))));
    assert!(LabelSelector::from_map(&labels(json!({"a": true}))).is_err());
}

#[test]
fn label_selector_exact_match() {
    let sel = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5").unwrap();
    assert_eq!(sel.requires_exact_match("a"), Some("1"));
    assert_eq!(sel.requires_exact_match("b"), Some("2"));
    assert_eq!(sel.requires_exact_match("c"), None);
    assert_eq!(sel.requires_exact_match("d"), None);
    assert_eq!(sel.requires_exact_match("e"), None);
}

#[test]
fn selector_errors_become_bad_requests() {
    let err: ApiError = LabelSelector::parse("a b").unwrap_err().into();
    assert_eq!(err.code, 400);
    assert_eq!(err.reason, "BadRequest");
    let err: ApiError = SelectorError::FieldNotSupported("spec.foo".into()).into();
    assert_eq!(err.message, "field label not supported: spec.foo");
}

#[test]
fn field_selector_parses() {
    use FieldOperator::{Equals, NotEquals};
    // (input, requirements, printed form)
    type Terms = Vec<(&'static str, FieldOperator, &'static str)>;
    let cases: Vec<(&str, Terms, &str)> = vec![
        ("", vec![], ""),
        (
            "metadata.name=foo",
            vec![("metadata.name", Equals, "foo")],
            "metadata.name=foo",
        ),
        (
            "metadata.name==foo",
            vec![("metadata.name", Equals, "foo")],
            "metadata.name=foo",
        ),
        (
            "status.phase!=Running",
            vec![("status.phase", NotEquals, "Running")],
            "status.phase!=Running",
        ),
        (
            "status.phase!=Running,spec.nodeName=n1",
            vec![
                ("spec.nodeName", Equals, "n1"),
                ("status.phase", NotEquals, "Running"),
            ],
            "spec.nodeName=n1,status.phase!=Running",
        ),
        (
            "spec.nodeName=",
            vec![("spec.nodeName", Equals, "")],
            "spec.nodeName=",
        ),
        (
            "a=b,,c=d",
            vec![("a", Equals, "b"), ("c", Equals, "d")],
            "a=b,c=d",
        ),
        (r"a=b\,c", vec![("a", Equals, "b,c")], r"a=b\,c"),
        (r"a=b\=c", vec![("a", Equals, "b=c")], r"a=b\=c"),
        (r"a=b\\c", vec![("a", Equals, r"b\c")], r"a=b\\c"),
        ("a==b", vec![("a", Equals, "b")], "a=b"),
        (" a = b ", vec![(" a ", Equals, " b ")], " a = b "),
    ];
    for (input, reqs, printed) in cases {
        let sel = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let got: Vec<(&str, FieldOperator, &str)> = sel
            .requirements()
            .iter()
            .map(|r| (r.field.as_str(), r.operator, r.value.as_str()))
            .collect();
        assert_eq!(got, reqs, "requirements of {input:?}");
        assert_eq!(sel.to_string(), printed, "printing {input:?}");
    }
}

#[test]
fn field_selector_parse_errors() {
    let cases = [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        (
            "a=b=c",
            "invalid field selector: unescaped character in value: 61",
        ),
        (
            r"a=b\x",
            r"invalid field selector: invalid escape sequence: \x",
        ),
        (
            r"a=b\",
            r"invalid field selector: invalid escape sequence: \",
        ),
        (
            "a!==b",
            "invalid field selector: unescaped character in value: 61",
        ),
    ];
    for (input, message) in cases {
        let err = FieldSelector::parse(input).expect_err(input);
        assert!(matches!(err, SelectorError::FieldSyntax(_)));
        assert_eq!(err.to_string(), message, "{input:?}");
    }
}

#[test]
fn field_selector_matching() {
    let pod = |field: &str| match field {
        "metadata.name" => Some("web-1".to_string()),
        "metadata.namespace" => Some("default".to_string()),
        "spec.nodeName" => Some(String::new()),
        "status.phase" => Some("Running".to_string()),
        _ => None,
    };
    let cases = [
        ("", true),
        ("metadata.name=web-1", true),
        ("metadata.name=web-2", false),
        ("metadata.name!=web-2", true),
        ("metadata.name=web-1,metadata.namespace=default", true),
        ("metadata.name=web-1,metadata.namespace=kube-system", false),
        ("spec.nodeName=", true),
        ("spec.nodeName!=", false),
        ("status.phase!=Succeeded,status.phase!=Failed", true),
    ];
    for (selector, expected) in cases {
        let sel = FieldSelector::parse(selector).unwrap();
        assert_eq!(sel.matches(pod), Ok(expected), "{selector:?}");
    }
    // An unknown field fails the request even when another term already fails to match.
    let sel = FieldSelector::parse("metadata.name=nope,spec.foo=bar").unwrap();
    let err = sel.matches(pod).unwrap_err();
    assert_eq!(err, SelectorError::FieldNotSupported("spec.foo".into()));
    assert_eq!(err.to_string(), "field label not supported: spec.foo");
}

#[test]
fn field_selector_fields_and_validation() {
    let sel = FieldSelector::parse("spec.nodeName=n1,metadata.name=a").unwrap();
    assert_eq!(
        sel.fields_requested(),
        vec!["metadata.name", "spec.nodeName"]
    );
    assert_eq!(sel.requires_exact_match("spec.nodeName"), Some("n1"));
    assert_eq!(sel.requires_exact_match("status.phase"), None);
    assert!(
        sel.validate_fields(&["metadata.name", "spec.nodeName"])
            .is_ok()
    );
    assert_eq!(
        sel.validate_fields(&["metadata.name", "metadata.namespace"]),
        Err(SelectorError::FieldNotSupported("spec.nodeName".into()))
    );
    let not_equal = FieldSelector::parse("spec.nodeName!=n1").unwrap();
    assert_eq!(not_equal.requires_exact_match("spec.nodeName"), None);
    let one = FieldSelector::one_term_equal("metadata.name", "a,b");
    assert_eq!(one.to_string(), r"metadata.name=a\,b");
    assert_eq!(FieldSelector::parse(&one.to_string()).unwrap(), one);
}

#[test]
fn field_value_escaping_round_trips() {
    for raw in ["", "plain", "a,b", "a=b", r"a\b", r"\,=\\", "ünïcode"] {
        let escaped = escape_field_value(raw);
        assert_eq!(unescape_field_value(&escaped).unwrap(), raw, "{raw:?}");
    }
}

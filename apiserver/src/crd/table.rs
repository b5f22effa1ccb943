//! Table output of custom resources with `additionalPrinterColumns` (upstream's CRD
//! `tableconvertor`): `Name`, then each column's value at its JSON path, typed as the column
//! says (`date` as a relative age). Without columns the generic CRD default (`Name`, `Age`) of
//! `registry::table` applies.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::CustomResource;
use crate::registry::table::{self, IncludeObject};

/// One step of a printer column's JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    /// `[?(@.<path>==<value>)]` (or `!=`).
    Filter {
        path: Vec<Step>,
        equals: bool,
        value: Value,
    },
}

/// The JSON path subset printer columns use: `.spec.replicas`, `.metadata.labels['a/b']`,
/// `.spec.items[0].name`, `.status.conditions[?(@.type=="Ready")].status`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    pub fn parse(source: &str) -> Result<Self, String> {
        let s = source.trim();
        let s = s
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .unwrap_or(s);
        if !s.starts_with('.') && !s.starts_with('[') {
            return Err(format!("unrecognized path {source:?}"));
        }
        let chars: Vec<char> = s.chars().collect();
        let (steps, rest) = parse_steps(&chars, 0)?;
        if rest != chars.len() {
            let tail: String = chars[rest..].iter().collect();
            return Err(format!("unexpected {tail:?}"));
        }
        Ok(Self { steps })
    }

    /// Every value the path selects, in order.
    pub fn find<'a>(&self, v: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![v];
        for step in &self.steps {
            current = apply(step, current);
        }
        current
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '$')
}

/// Steps from `i` until the end or a character that cannot continue a path (`=`, `!`, `)`).
fn parse_steps(c: &[char], mut i: usize) -> Result<(Vec<Step>, usize), String> {
    let mut steps = Vec::new();
    while i < c.len() {
        match c[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < c.len() && ident_char(c[j]) {
                    j += 1;
                }
                if j == start {
                    return Err("empty field name".into());
                }
                steps.push(Step::Field(c[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let close = find_close(c, i)?;
                let inner: String = c[i + 1..close].iter().collect();
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::Wildcard);
                } else if let Ok(n) = inner.parse::<i64>() {
                    steps.push(Step::Index(n));
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
                {
                    steps.push(Step::Field(q.to_string()));
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|r| r.strip_suffix(')')) {
                    steps.push(parse_filter(f.trim())?);
                } else {
                    return Err(format!("unsupported subscript [{inner}]"));
                }
                i = close + 1;
            }
            _ => break,
        }
    }
    Ok((steps, i))
}

fn find_close(c: &[char], open: usize) -> Result<usize, String> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (k, &ch) in c.iter().enumerate().skip(open) {
        match (quote, ch) {
            (Some(q), ch) if ch == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(k);
                }
            }
            _ => {}
        }
    }
    Err("unclosed [".into())
}

fn parse_filter(f: &str) -> Result<Step, String> {
    let rest = f
        .strip_prefix('@')
        .ok_or_else(|| format!("unsupported filter {f:?}"))?;
    let chars: Vec<char> = rest.chars().collect();
    let (path, i) = parse_steps(&chars, 0)?;
    let tail: String = chars[i..].iter().collect();
    let tail = tail.trim();
    let (equals, value) = if let Some(v) = tail.strip_prefix("==") {
        (true, v.trim())
    } else if let Some(v) = tail.strip_prefix("!=") {
        (false, v.trim())
    } else {
        return Err(format!("unsupported filter {f:?}"));
    };
    let value = if let Some(s) = value
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
    {
        json!(s)
    } else {
        serde_json::from_str(value).map_err(|_| format!("unsupported filter value {value:?}"))?
    };
    Ok(Step::Filter {
        path,
        equals,
        value,
    })
}

fn apply<'a>(step: &Step, input: Vec<&'a Value>) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in input {
        match step {
            Step::Field(name) => {
                if let Some(x) = v.get(name.as_str()) {
                    out.push(x);
                }
            }
            Step::Index(n) => {
                if let Some(a) = v.as_array() {
                    let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                    if let Some(x) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                        out.push(x);
                    }
                }
            }
            Step::Wildcard => match v {
                Value::Array(a) => out.extend(a.iter()),
                Value::Object(m) => out.extend(m.values()),
                _ => {}
            },
            Step::Filter {
                path,
                equals,
                value,
            } => {
                if let Some(a) = v.as_array() {
                    for item in a {
                        let mut cur = vec![item];
                        for s in path {
                            cur = apply(s, cur);
                        }
                        let hit = cur.first().is_some_and(|x| *x == value);
                        if hit == *equals && (!cur.is_empty() || !*equals) {
                            out.push(item);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The cell of one column for one object, as upstream's `cellForJSONValue`.
fn cell(column_type: &str, path: Option<&JsonPath>, obj: &Value, now: DateTime<Utc>) -> Value {
    let Some(value) = path.and_then(|p| p.find(obj).into_iter().next()) else {
        return Value::Null;
    };
    match (column_type, value) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(s)) => json!(s),
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => json!(i),
            None => n.as_f64().map(|f| json!(f as i64)).unwrap_or(Value::Null),
        },
        ("number", Value::Number(n)) => n.as_f64().map(|f| json!(f)).unwrap_or(Value::Null),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(_) => json!(table::translate_timestamp_since(Some(value), now)),
            Err(_) => json!("<invalid>"),
        },
        _ => Value::Null,
    }
}

/// A `meta.k8s.io` Table of custom objects with the CRD version's printer columns; `None`
/// when it declares none (the generic default applies then).
pub fn table_for(
    cr: &CustomResource,
    api_version: &str,
    rows: &[(&Value, IncludeObject)],
    with_column_definitions: bool,
    list_meta: Map<String, Value>,
) -> Option<Value> {
    if cr.columns.is_empty() {
        return None;
    }
    let now = Utc::now();
    let paths: Vec<Option<JsonPath>> = cr
        .columns
        .iter()
        .map(|c| JsonPath::parse(&c.json_path).ok())
        .collect();
    let rows_json: Vec<Value> = rows
        .iter()
        .map(|(obj, include)| {
            let mut cells = vec![json!(
                obj.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )];
            for (c, p) in cr.columns.iter().zip(&paths) {
                cells.push(cell(&c.type_, p.as_ref(), obj, now));
            }
            let object = match include {
                IncludeObject::None => Value::Null,
                IncludeObject::Metadata => table::partial_object_metadata_as(api_version, obj),
                IncludeObject::Object => (*obj).clone(),
            };
            json!({ "cells": cells, "object": object })
        })
        .collect();
    let column_definitions = if with_column_definitions {
        let mut defs: Vec<Value> = table::column_definitions(&cr.info.group, &cr.info.kind)
            .into_iter()
            .take(1)
            .collect();
        for c in &cr.columns {
            defs.push(json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            }));
        }
        Value::Array(defs)
    } else {
        Value::Null
    };
    Some(json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": Value::Object(list_meta),
        "columnDefinitions": column_definitions,
        "rows": rows_json,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_select_as_kubectl_does() {
        let obj = json!({
            "metadata": {"name": "w", "labels": {"app.kubernetes.io/name": "x"}},
            "spec": {"replicas": 3, "items": [{"name": "a"}, {"name": "b"}]},
            "status": {"conditions": [
                {"type": "Progressing", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]},
        });
        let cases = [
            (".spec.replicas", Some(json!(3))),
            (".spec.items[1].name", Some(json!("b"))),
            (".spec.items[-1].name", Some(json!("b"))),
            (".spec.items[*].name", Some(json!("a"))),
            (
                ".metadata.labels['app.kubernetes.io/name']",
                Some(json!("x")),
            ),
            (
                ".status.conditions[?(@.type==\"Ready\")].status",
                Some(json!("True")),
            ),
            (
                ".status.conditions[?(@.type=='Ready')].status",
                Some(json!("True")),
            ),
            (".status.missing", None),
            ("{.metadata.name}", Some(json!("w"))),
        ];
        for (p, want) in cases {
            let path = JsonPath::parse(p).unwrap();
            assert_eq!(path.find(&obj).first().cloned().cloned(), want, "{p}");
        }
        for bad in [
            "spec",
            ".spec[",
            ".spec.[x]",
            ".a[?(b)]",
            ".é€]",
            ".a[?(@.é==€)]x",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cells_follow_column_types() {
        let now = Utc::now();
        let obj = json!({"spec": {"n": 2, "s": "x", "b": true, "f": 1.5, "m": {"a": 1}},
            "metadata": {"creationTimestamp": "2020-01-01T00:00:00Z"}});
        let p = |s: &str| JsonPath::parse(s).unwrap();
        assert_eq!(cell("integer", Some(&p(".spec.n")), &obj, now), json!(2));
        assert_eq!(cell("string", Some(&p(".spec.s")), &obj, now), json!("x"));
        assert_eq!(cell("string", Some(&p(".spec.n")), &obj, now), json!("2"));
        assert_eq!(
            cell("string", Some(&p(".spec.m")), &obj, now),
            json!("{\"a\":1}")
        );
        assert_eq!(cell("boolean", Some(&p(".spec.b")), &obj, now), json!(true));
        assert_eq!(cell("integer", Some(&p(".spec.s")), &obj, now), Value::Null);
        assert_eq!(cell("number", Some(&p(".spec.f")), &obj, now), json!(1.5));
        assert!(
            cell("date", Some(&p(".metadata.creationTimestamp")), &obj, now)
                .as_str()
                .unwrap()
                .ends_with('y')
                || cell("date", Some(&p(".metadata.creationTimestamp")), &obj, now)
                    .as_str()
                    .unwrap()
                    .ends_with('d')
        );
        assert_eq!(
            cell("string", Some(&p(".spec.none")), &obj, now),
            Value::Null
        );
    }
}

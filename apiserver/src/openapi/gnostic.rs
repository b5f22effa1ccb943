//! The OpenAPI v2 document as gnostic's `openapi.v2.Document` protobuf message
//! (github.com/google/gnostic-models, `openapiv2/OpenAPIv2.proto`), which is what kubectl asks
//! `/openapi/v2` for (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
//!
//! A hand-written encoder for the part of the message tree that Swagger 2.0 documents built by
//! [`super::v2`] use: document, info, paths, operations, parameters (body, query, path,
//! header, `$ref`), responses, schemas and vendor extensions. Vendor extensions, defaults,
//! examples and enum values are `Any { yaml }` messages; JSON is valid YAML, so they carry
//! the value's compact JSON. Unknown keys are skipped, as gnostic's own compiler would
//! reject them anyway.

use serde_json::{Map, Value};

/// Encodes a Swagger 2.0 JSON document.
pub(super) fn encode_document(doc: &Value) -> Vec<u8> {
    let mut e = Enc::default();
    let Some(m) = doc.as_object() else {
        return e.buf;
    };
    e.string(1, str_of(m, "swagger").unwrap_or("2.0"));
    if let Some(info) = m.get("info").and_then(Value::as_object) {
        e.message(2, |e| {
            e.opt_string(1, str_of(info, "title"));
            e.opt_string(2, str_of(info, "version"));
            e.opt_string(3, str_of(info, "description"));
            e.extensions(7, info);
        });
    }
    e.opt_string(3, str_of(m, "host"));
    e.opt_string(4, str_of(m, "basePath"));
    e.strings(5, m.get("schemes"));
    e.strings(6, m.get("consumes"));
    e.strings(7, m.get("produces"));
    if let Some(paths) = m.get("paths").and_then(Value::as_object) {
        e.message(8, |e| {
            e.extensions(1, paths);
            for (name, item) in paths {
                if name.starts_with("x-") {
                    continue;
                }
                if let Some(item) = item.as_object() {
                    e.message(2, |e| {
                        e.string(1, name);
                        e.message(2, |e| path_item(e, item));
                    });
                }
            }
        });
    }
    if let Some(defs) = m.get("definitions").and_then(Value::as_object) {
        e.message(9, |e| {
            for (name, schema) in defs {
                e.message(1, |e| {
                    e.string(1, name);
                    e.message(2, |e| self::schema(e, schema));
                });
            }
        });
    }
    if let Some(params) = m.get("parameters").and_then(Value::as_object) {
        e.message(10, |e| {
            for (name, p) in params {
                if let Some(p) = p.as_object() {
                    e.message(1, |e| {
                        e.string(1, name);
                        e.message(2, |e| parameter(e, p));
                    });
                }
            }
        });
    }
    e.extensions(16, m);
    e.buf
}

fn path_item(e: &mut Enc, item: &Map<String, Value>) {
    e.opt_string(1, str_of(item, "$ref"));
    for (field, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(op) = item.get(method).and_then(Value::as_object) {
            e.message(field, |e| operation(e, op));
        }
    }
    parameters_items(e, 9, item.get("parameters"));
    e.extensions(10, item);
}

fn operation(e: &mut Enc, op: &Map<String, Value>) {
    e.strings(1, op.get("tags"));
    e.opt_string(2, str_of(op, "summary"));
    e.opt_string(3, str_of(op, "description"));
    e.opt_string(5, str_of(op, "operationId"));
    e.strings(6, op.get("produces"));
    e.strings(7, op.get("consumes"));
    parameters_items(e, 8, op.get("parameters"));
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        e.message(9, |e| {
            for (code, r) in responses {
                if code.starts_with("x-") {
                    continue;
                }
                let Some(r) = r.as_object() else { continue };
                e.message(1, |e| {
                    e.string(1, code);
                    // ResponseValue
                    e.message(2, |e| {
                        if let Some(reference) = str_of(r, "$ref") {
                            e.message(2, |e| e.string(1, reference));
                        } else {
                            e.message(1, |e| response(e, r));
                        }
                    });
                });
            }
            e.extensions(2, responses);
        });
    }
    e.strings(10, op.get("schemes"));
    e.boolean(11, bool_of(op, "deprecated"));
    e.extensions(13, op);
}

fn response(e: &mut Enc, r: &Map<String, Value>) {
    e.string(1, str_of(r, "description").unwrap_or(""));
    if let Some(s) = r.get("schema") {
        // SchemaItem { Schema schema = 1; }
        e.message(2, |e| e.message(1, |e| schema(e, s)));
    }
    e.extensions(5, r);
}

/// `repeated ParametersItem` at `field`.
fn parameters_items(e: &mut Enc, field: u32, params: Option<&Value>) {
    let Some(params) = params.and_then(Value::as_array) else {
        return;
    };
    for p in params {
        let Some(p) = p.as_object() else { continue };
        e.message(field, |e| {
            if let Some(reference) = str_of(p, "$ref") {
                // JsonReference
                e.message(2, |e| {
                    e.string(1, reference);
                    e.opt_string(2, str_of(p, "description"));
                });
            } else {
                e.message(1, |e| parameter(e, p));
            }
        });
    }
}

/// A `Parameter` message: a body parameter or one of the non-body kinds.
fn parameter(e: &mut Enc, p: &Map<String, Value>) {
    let location = str_of(p, "in").unwrap_or("query");
    if location == "body" {
        e.message(1, |e| {
            e.opt_string(1, str_of(p, "description"));
            e.opt_string(2, str_of(p, "name"));
            e.string(3, "body");
            e.boolean(4, bool_of(p, "required"));
            if let Some(s) = p.get("schema") {
                e.message(5, |e| schema(e, s));
            }
            e.extensions(6, p);
        });
        return;
    }
    // NonBodyParameter: header = 1, formData = 2, query = 3, path = 4. Query and form data
    // have allowEmptyValue at 5, which shifts every later field by one.
    let (variant, shifted) = match location {
        "header" => (1, false),
        "formData" => (2, true),
        "path" => (4, false),
        _ => (3, true),
    };
    let off = u32::from(shifted);
    e.message(2, |e| {
        e.message(variant, |e| {
            e.boolean(1, bool_of(p, "required"));
            e.string(2, location);
            e.opt_string(3, str_of(p, "description"));
            e.opt_string(4, str_of(p, "name"));
            if shifted {
                e.boolean(5, bool_of(p, "allowEmptyValue"));
            }
            e.opt_string(5 + off, str_of(p, "type"));
            e.opt_string(6 + off, str_of(p, "format"));
            if let Some(items) = p.get("items").and_then(Value::as_object) {
                e.message(7 + off, |e| primitives_items(e, items));
            }
            e.opt_string(8 + off, str_of(p, "collectionFormat"));
            if let Some(d) = p.get("default") {
                e.message(9 + off, |e| any(e, d));
            }
            e.opt_double(10 + off, p.get("maximum"));
            e.boolean(11 + off, bool_of(p, "exclusiveMaximum"));
            e.opt_double(12 + off, p.get("minimum"));
            e.boolean(13 + off, bool_of(p, "exclusiveMinimum"));
            e.opt_int(14 + off, p.get("maxLength"));
            e.opt_int(15 + off, p.get("minLength"));
            e.opt_string(16 + off, str_of(p, "pattern"));
            e.opt_int(17 + off, p.get("maxItems"));
            e.opt_int(18 + off, p.get("minItems"));
            e.boolean(19 + off, bool_of(p, "uniqueItems"));
            if let Some(values) = p.get("enum").and_then(Value::as_array) {
                for v in values {
                    e.message(20 + off, |e| any(e, v));
                }
            }
            e.opt_double(21 + off, p.get("multipleOf"));
            e.extensions(22 + off, p);
        });
    });
}

fn primitives_items(e: &mut Enc, items: &Map<String, Value>) {
    e.opt_string(1, str_of(items, "type"));
    e.opt_string(2, str_of(items, "format"));
    if let Some(inner) = items.get("items").and_then(Value::as_object) {
        e.message(3, |e| primitives_items(e, inner));
    }
    e.opt_string(4, str_of(items, "collectionFormat"));
    if let Some(d) = items.get("default") {
        e.message(5, |e| any(e, d));
    }
    e.extensions(18, items);
}

/// A `Schema` message.
fn schema(e: &mut Enc, s: &Value) {
    let Some(m) = s.as_object() else {
        return;
    };
    e.opt_string(1, str_of(m, "$ref"));
    e.opt_string(2, str_of(m, "format"));
    e.opt_string(3, str_of(m, "title"));
    e.opt_string(4, str_of(m, "description"));
    if let Some(d) = m.get("default") {
        e.message(5, |e| any(e, d));
    }
    e.opt_double(6, m.get("multipleOf"));
    e.opt_double(7, m.get("maximum"));
    e.boolean(8, bool_of(m, "exclusiveMaximum"));
    e.opt_double(9, m.get("minimum"));
    e.boolean(10, bool_of(m, "exclusiveMinimum"));
    e.opt_int(11, m.get("maxLength"));
    e.opt_int(12, m.get("minLength"));
    e.opt_string(13, str_of(m, "pattern"));
    e.opt_int(14, m.get("maxItems"));
    e.opt_int(15, m.get("minItems"));
    e.boolean(16, bool_of(m, "uniqueItems"));
    e.opt_int(17, m.get("maxProperties"));
    e.opt_int(18, m.get("minProperties"));
    e.strings(19, m.get("required"));
    if let Some(values) = m.get("enum").and_then(Value::as_array) {
        for v in values {
            e.message(20, |e| any(e, v));
        }
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let b = *b;
            // A oneof member is present even when false.
            e.message(21, |e| e.boolean_always(2, b));
        }
        Some(v @ Value::Object(_)) => e.message(21, |e| e.message(1, |e| schema(e, v))),
        _ => {}
    }
    match m.get("type") {
        Some(Value::String(t)) => e.message(22, |e| e.string(1, t)),
        Some(types @ Value::Array(_)) => e.message(22, |e| e.strings(1, Some(types))),
        _ => {}
    }
    match m.get("items") {
        Some(v @ Value::Object(_)) => e.message(23, |e| e.message(1, |e| schema(e, v))),
        Some(Value::Array(list)) => e.message(23, |e| {
            for v in list {
                e.message(1, |e| schema(e, v));
            }
        }),
        _ => {}
    }
    if let Some(list) = m.get("allOf").and_then(Value::as_array) {
        for v in list {
            e.message(24, |e| schema(e, v));
        }
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        e.message(25, |e| {
            for (name, v) in props {
                e.message(1, |e| {
                    e.string(1, name);
                    e.message(2, |e| schema(e, v));
                });
            }
        });
    }
    e.opt_string(26, str_of(m, "discriminator"));
    e.boolean(27, bool_of(m, "readOnly"));
    if let Some(v) = m.get("example") {
        e.message(30, |e| any(e, v));
    }
    e.extensions(31, m);
}

/// `Any { string yaml = 2; }` holding `v` as (JSON-flavoured) YAML.
/// Strings stay quoted, so YAML reads them back as strings (`"true"` is not `true`).
fn any(e: &mut Enc, v: &Value) {
    e.string(2, &serde_json::to_string(v).unwrap_or_default());
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn bool_of(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A protobuf writer: just the wire types the messages above use.
#[derive(Default)]
struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.key(field, 2);
        self.varint(data.len() as u64);
        self.buf.extend_from_slice(data);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn opt_string(&mut self, field: u32, s: Option<&str>) {
        if let Some(s) = s.filter(|s| !s.is_empty()) {
            self.string(field, s);
        }
    }

    /// Every string of a JSON array (or a lone string) as `repeated string`.
    fn strings(&mut self, field: u32, v: Option<&Value>) {
        match v {
            Some(Value::Array(list)) => {
                for s in list.iter().filter_map(Value::as_str) {
                    self.string(field, s);
                }
            }
            Some(Value::String(s)) => self.string(field, s),
            _ => {}
        }
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.boolean_always(field, true);
        }
    }

    fn boolean_always(&mut self, field: u32, b: bool) {
        self.key(field, 0);
        self.varint(u64::from(b));
    }

    fn opt_int(&mut self, field: u32, v: Option<&Value>) {
        if let Some(i) = v.and_then(Value::as_i64).filter(|i| *i != 0) {
            self.key(field, 0);
            // int64 is encoded as its two's complement, as a 64-bit varint.
            self.varint(i as u64);
        }
    }

    fn opt_double(&mut self, field: u32, v: Option<&Value>) {
        if let Some(f) = v.and_then(Value::as_f64).filter(|f| *f != 0.0) {
            self.key(field, 1);
            self.buf.extend_from_slice(&f.to_le_bytes());
        }
    }

    fn message(&mut self, field: u32, build: impl FnOnce(&mut Enc)) {
        let mut inner = Enc::default();
        build(&mut inner);
        self.bytes(field, &inner.buf);
    }

    /// The object's `x-` keys as `repeated NamedAny` at `field`.
    fn extensions(&mut self, field: u32, m: &Map<String, Value>) {
        for (name, v) in m {
            if name.starts_with("x-") {
                self.message(field, |e| {
                    e.string(1, name);
                    e.message(2, |e| any(e, v));
                });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn varints_and_nesting() {
        let mut e = Enc::default();
        e.varint(300);
        assert_eq!(e.buf, [0xac, 0x02]);
        let mut e = Enc::default();
        e.message(2, |e| e.string(1, "hi"));
        assert_eq!(e.buf, [0x12, 0x04, 0x0a, 0x02, b'h', b'i']);
    }

    #[test]
    fn minimal_document() {
        let doc = json!({"swagger": "2.0", "info": {"title": "K", "version": "v1"}});
        let bytes = encode_document(&doc);
        assert_eq!(
            bytes,
            [
                0x0a, 3, b'2', b'.', b'0', 0x12, 7, 0x0a, 1, b'K', 0x12, 2, b'v', b'1'
            ]
        );
    }
}

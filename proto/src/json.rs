//! Conversion between k8s-pb's prost messages and the JSON form of the Kubernetes API.
//!
//! Two traits do the work:
//! - [`Json`] converts one *value* (a scalar, a message, or one of the special apimachinery
//!   types whose JSON form is not an object: `Time`, `MicroTime`, `Quantity`, `IntOrString`,
//!   `RawExtension`, `FieldsV1`, byte strings).
//! - [`Field`] converts one *field* of a message, given how prost represents it:
//!   `Option<T>` (proto2 `optional`), `Vec<T>` (`repeated`), `BTreeMap<String, T>` (`map`).
//!
//! The per-message tables live in `generated.rs` as [`message!`] invocations (one line per field:
//! Rust name, mode, JSON name). The macro destructures and constructs each prost struct
//! exhaustively, so a field that the table forgets is a compile error.
//!
//! Field modes reproduce what Go's `encoding/json` prints for the Go struct the message came from
//! (go-to-protobuf writes every non-pointer field, even when it holds the zero value, so the
//! protobuf alone cannot tell `replicas: 0` from "unset"):
//! - `opt`: emitted when present on the wire (pointer fields, messages, lists, maps, and scalars
//!   without `omitempty`);
//! - `omitempty`: emitted when present and not the zero value (Go non-pointer `omitempty`
//!   scalars such as `metadata.generation` or `metadata.namespace`);
//! - `inline`: a Go embedded struct (`json:",inline"`), a nested message on the wire whose fields
//!   are flattened into the parent object in JSON (`Volume.volumeSource`, `Probe.handler`...).
//!
//! Lists and maps are emitted only when non-empty (protobuf cannot tell an empty list from an
//! absent one). JSON fields that the message does not have are ignored on the way in.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value};

use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{FieldsV1, MicroTime, Time};
use k8s_pb::apimachinery::pkg::runtime::RawExtension;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;

use crate::ProtoError;

pub(crate) type Object = Map<String, Value>;

/// One value: its JSON form and back.
pub(crate) trait Json: Sized {
    /// `Ok(None)` means JSON `null`: the field is left out of its object.
    fn to_json(&self) -> Result<Option<Value>, ProtoError>;
    /// Never called with `null` (absent and `null` fields are handled by [`Field`]).
    fn from_json(value: &Value) -> Result<Self, ProtoError>;
    /// Whether Go's `omitempty` would drop this value.
    fn is_zero(&self) -> bool {
        false
    }
}

/// One field of a message, in prost's representation. The impls are `#[inline(never)]`: they
/// are instantiated per value type anyway, and inlining them into ~370 message impls only
/// grows the code that LLVM has to optimise.
pub(crate) trait Field: Sized {
    fn put(&self, map: &mut Object, key: &str, omit_zero: bool) -> Result<(), ProtoError>;
    fn take(map: &Object, key: &str) -> Result<Self, ProtoError>;
}

fn invalid(message: impl Into<String>) -> ProtoError {
    ProtoError::InvalidField {
        path: String::new(),
        message: message.into(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, value: &Value) -> ProtoError {
    invalid(format!("expected {what}, found {}", type_name(value)))
}

pub(crate) fn object(value: &Value) -> Result<&Object, ProtoError> {
    value
        .as_object()
        .ok_or_else(|| expected("an object", value))
}

impl<T: Json> Field for Option<T> {
    #[inline(never)]
    fn put(&self, map: &mut Object, key: &str, omit_zero: bool) -> Result<(), ProtoError> {
        let Some(value) = self else { return Ok(()) };
        if omit_zero && value.is_zero() {
            return Ok(());
        }
        if let Some(json) = value.to_json().map_err(|e| e.at(key))? {
            map.insert(key.to_owned(), json);
        }
        Ok(())
    }

    #[inline(never)]
    fn take(map: &Object, key: &str) -> Result<Self, ProtoError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::from_json(value).map(Some).map_err(|e| e.at(key)),
        }
    }
}

fn array_to_json<T: Json>(items: &[T]) -> Result<Value, ProtoError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.to_json()
                .map(|v| v.unwrap_or(Value::Null))
                .map_err(|e| e.at(&format!("[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn array_from_json<T: Json>(value: &Value) -> Result<Vec<T>, ProtoError> {
    let Value::Array(items) = value else {
        return Err(expected("an array", value));
    };
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.is_null())
        .map(|(i, item)| T::from_json(item).map_err(|e| e.at(&format!("[{i}]"))))
        .collect()
}

impl<T: Json> Field for Vec<T> {
    #[inline(never)]
    fn put(&self, map: &mut Object, key: &str, _omit_zero: bool) -> Result<(), ProtoError> {
        if !self.is_empty() {
            let json = array_to_json(self).map_err(|e| e.at(key))?;
            map.insert(key.to_owned(), json);
        }
        Ok(())
    }

    #[inline(never)]
    fn take(map: &Object, key: &str) -> Result<Self, ProtoError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(value) => array_from_json(value).map_err(|e| e.at(key)),
        }
    }
}

impl<T: Json> Field for BTreeMap<String, T> {
    #[inline(never)]
    fn put(&self, map: &mut Object, key: &str, _omit_zero: bool) -> Result<(), ProtoError> {
        if self.is_empty() {
            return Ok(());
        }
        let mut out = Object::new();
        for (k, v) in self {
            let json = v.to_json().map_err(|e| e.at(k).at(key))?;
            out.insert(k.clone(), json.unwrap_or(Value::Null));
        }
        map.insert(key.to_owned(), Value::Object(out));
        Ok(())
    }

    #[inline(never)]
    fn take(map: &Object, key: &str) -> Result<Self, ProtoError> {
        let value = match map.get(key) {
            None | Some(Value::Null) => return Ok(BTreeMap::new()),
            Some(value) => value,
        };
        let entries = object(value).map_err(|e| e.at(key))?;
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            if v.is_null() {
                continue;
            }
            out.insert(k.clone(), T::from_json(v).map_err(|e| e.at(k).at(key))?);
        }
        Ok(out)
    }
}

/// An embedded (`json:",inline"`) struct: its fields go into the parent's object.
pub(crate) fn put_inline<T: Json>(map: &mut Object, field: &Option<T>) -> Result<(), ProtoError> {
    if let Some(inner) = field
        && let Some(Value::Object(fields)) = inner.to_json()?
    {
        map.extend(fields);
    }
    Ok(())
}

/// An embedded struct read from the parent's object (Go always writes it: it is not a pointer).
pub(crate) fn take_inline<T: Json>(parent: &Value) -> Result<Option<T>, ProtoError> {
    T::from_json(parent).map(Some)
}

/// Implements [`Json`] for a prost message from its field table (see the module docs).
macro_rules! message {
    ($ty:path { $($field:ident : $mode:ident $($json:literal)?),* $(,)? }) => {
        impl $crate::json::Json for $ty {
            fn to_json(
                &self,
            ) -> ::core::result::Result<::core::option::Option<::serde_json::Value>, $crate::ProtoError>
            {
                let mut map = $crate::json::Object::new();
                let Self { $($field),* } = self;
                $( $crate::json::message!(@put map, $field, $mode $($json)?); )*
                Ok(Some(::serde_json::Value::Object(map)))
            }

            fn from_json(
                value: &::serde_json::Value,
            ) -> ::core::result::Result<Self, $crate::ProtoError> {
                let map = $crate::json::object(value)?;
                let _ = &map;
                Ok(Self { $($field: $crate::json::message!(@take map, value, $mode $($json)?)),* })
            }
        }
    };
    (@put $map:ident, $field:ident, opt $json:literal) => {
        $crate::json::Field::put($field, &mut $map, $json, false)?
    };
    (@put $map:ident, $field:ident, omitempty $json:literal) => {
        $crate::json::Field::put($field, &mut $map, $json, true)?
    };
    (@put $map:ident, $field:ident, inline) => {
        $crate::json::put_inline(&mut $map, $field)?
    };
    (@take $map:ident, $value:ident, opt $json:literal) => {
        $crate::json::Field::take($map, $json)?
    };
    (@take $map:ident, $value:ident, omitempty $json:literal) => {
        $crate::json::Field::take($map, $json)?
    };
    (@take $map:ident, $value:ident, inline) => {
        $crate::json::take_inline($value)?
    };
}
pub(crate) use message;

/// Implements [`Json`] for a Go named slice type (`type ExtraValue []string`), which
/// go-to-protobuf wraps in a message with one repeated field; in JSON it is the bare array.
macro_rules! list_wrapper {
    ($ty:path { $items:ident }) => {
        impl $crate::json::Json for $ty {
            fn to_json(
                &self,
            ) -> ::core::result::Result<
                ::core::option::Option<::serde_json::Value>,
                $crate::ProtoError,
            > {
                $crate::json::list_to_json(&self.$items).map(Some)
            }

            fn from_json(
                value: &::serde_json::Value,
            ) -> ::core::result::Result<Self, $crate::ProtoError> {
                Ok(Self {
                    $items: $crate::json::list_from_json(value)?,
                })
            }
        }
    };
}
pub(crate) use list_wrapper;

pub(crate) fn list_to_json<T: Json>(items: &[T]) -> Result<Value, ProtoError> {
    array_to_json(items)
}

pub(crate) fn list_from_json<T: Json>(value: &Value) -> Result<Vec<T>, ProtoError> {
    array_from_json(value)
}

// ---- scalars ----

impl Json for String {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::String(self.clone())))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| expected("a string", value))
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Json for bool {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::Bool(*self)))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        value.as_bool().ok_or_else(|| expected("a boolean", value))
    }
    fn is_zero(&self) -> bool {
        !*self
    }
}

/// An integer from a JSON number; integral floats (`2.0`) are accepted, like Go's decoder
/// accepts them for Kubernetes objects.
fn integer(value: &Value) -> Result<i64, ProtoError> {
    let Value::Number(n) = value else {
        return Err(expected("an integer", value));
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => Ok(f as i64),
        _ => Err(invalid(format!("expected an integer, found {n}"))),
    }
}

impl Json for i64 {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::Number((*self).into())))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        integer(value)
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Json for i32 {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::Number((*self).into())))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        let i = integer(value)?;
        i32::try_from(i).map_err(|_| invalid(format!("{i} does not fit in a 32-bit integer")))
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Json for f64 {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Number::from_f64(*self)
            .map(|n| Some(Value::Number(n)))
            .ok_or_else(|| invalid(format!("{self} has no JSON form")))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        value.as_f64().ok_or_else(|| expected("a number", value))
    }
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

/// `bytes`: base64 (standard alphabet, padded) in JSON, like Go's `[]byte`.
impl Json for Vec<u8> {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(self),
        )))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        let s = value
            .as_str()
            .ok_or_else(|| expected("a base64 string", value))?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| invalid(format!("invalid base64: {e}")))
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

// ---- apimachinery types with a non-object JSON form ----

fn timestamp(seconds: i64, nanos: u32) -> Result<DateTime<Utc>, ProtoError> {
    DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| invalid(format!("timestamp {seconds}s out of range")))
}

fn parse_rfc3339(value: &Value) -> Result<DateTime<Utc>, ProtoError> {
    let s = value
        .as_str()
        .ok_or_else(|| expected("an RFC 3339 time", value))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| invalid(format!("invalid RFC 3339 time {s:?}: {e}")))
}

/// `metav1.Time`: RFC 3339 in UTC with second precision (`2024-05-01T10:00:00Z`). An empty
/// message is Go's zero time, which is `null` in JSON. Go drops the nanoseconds when reading
/// a `Time` from protobuf; so does this.
impl Json for Time {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        if self.seconds.is_none() && self.nanos.is_none() {
            return Ok(None);
        }
        let t = timestamp(self.seconds.unwrap_or(0), 0)?;
        Ok(Some(Value::String(
            t.to_rfc3339_opts(SecondsFormat::Secs, true),
        )))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        let t = parse_rfc3339(value)?;
        Ok(Time {
            seconds: Some(t.timestamp()),
            nanos: Some(0),
        })
    }
}

/// `metav1.MicroTime`: RFC 3339 in UTC with exactly six fractional digits.
impl Json for MicroTime {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        if self.seconds.is_none() && self.nanos.is_none() {
            return Ok(None);
        }
        let nanos = u32::try_from(self.nanos.unwrap_or(0))
            .map_err(|_| invalid("negative nanoseconds in a MicroTime"))?;
        let t = timestamp(self.seconds.unwrap_or(0), nanos)?;
        Ok(Some(Value::String(
            t.to_rfc3339_opts(SecondsFormat::Micros, true),
        )))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        let t = parse_rfc3339(value)?;
        let micros = t.timestamp_subsec_micros();
        Ok(MicroTime {
            seconds: Some(t.timestamp()),
            // Go writes nanoseconds; the JSON form only ever carried microseconds.
            nanos: Some(i32::try_from(micros * 1000).unwrap_or(0)),
        })
    }
}

/// `resource.Quantity`: a string (`"500m"`, `"1Gi"`). A JSON number is accepted on the way in,
/// as the Kubernetes API does (`cpu: 2`).
impl Json for Quantity {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(Value::String(self.string.clone().unwrap_or_default())))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        let string = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(expected("a quantity", other)),
        };
        Ok(Quantity {
            string: Some(string),
        })
    }
}

/// `intstr.IntOrString`: a JSON number (type 0) or string (type 1).
impl Json for IntOrString {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        Ok(Some(match self.r#type {
            Some(1) => Value::String(self.str_val.clone().unwrap_or_default()),
            _ => Value::Number(self.int_val.unwrap_or(0).into()),
        }))
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        match value {
            Value::String(s) => Ok(IntOrString {
                r#type: Some(1),
                int_val: Some(0),
                str_val: Some(s.clone()),
            }),
            Value::Number(_) => Ok(IntOrString {
                r#type: Some(0),
                int_val: Some(i32::from_json(value)?),
                str_val: Some(String::new()),
            }),
            other => Err(expected("an integer or a string", other)),
        }
    }
}

/// The bytes of a `RawExtension`/`FieldsV1` as JSON: usually JSON text; an embedded object
/// encoded as Kubernetes protobuf (`k8s\0` + Unknown) is decoded too.
fn raw_to_json(raw: &Option<Vec<u8>>) -> Result<Option<Value>, ProtoError> {
    let Some(raw) = raw.as_deref().filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.starts_with(crate::MAGIC) {
        return crate::decode_object(raw).map(Some);
    }
    serde_json::from_slice(raw)
        .map(Some)
        .map_err(|e| invalid(format!("embedded raw object is not JSON: {e}")))
}

fn raw_from_json(value: &Value) -> Result<Option<Vec<u8>>, ProtoError> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| invalid(format!("cannot serialize embedded object: {e}")))
}

/// `runtime.RawExtension`: the embedded object itself (its raw bytes are JSON).
impl Json for RawExtension {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        raw_to_json(&self.raw)
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        Ok(RawExtension {
            raw: raw_from_json(value)?,
        })
    }
}

/// `metav1.FieldsV1` (managedFields[].fieldsV1): the JSON field set itself.
impl Json for FieldsV1 {
    fn to_json(&self) -> Result<Option<Value>, ProtoError> {
        raw_to_json(&self.raw)
    }
    fn from_json(value: &Value) -> Result<Self, ProtoError> {
        Ok(FieldsV1 {
            raw: raw_from_json(value)?,
        })
    }
}

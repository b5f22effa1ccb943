//! The three patch types kube-apiserver accepts on PATCH, applied to JSON objects:
//!
//! - `application/merge-patch+json` (RFC 7386): [`merge_patch`].
//! - `application/json-patch+json` (RFC 6902): [`json_patch`], with upstream's leniencies.
//! - `application/strategic-merge-patch+json`: [`strategic_merge`] with the kind's
//!   [`PatchSchema`] (built-in kinds only; custom resources get 415, as upstream).
//!
//! Errors say which status upstream answers with, so that clients that switch on the code
//! (Kopf expects 422 for a failed JSON patch `test`) behave the same here.

use serde_json::Value;

use crate::status::ApiError;

mod schema;
mod strategic;

pub use schema::{FieldPatchMeta, PatchSchema, Strategy};
pub use strategic::strategic_merge;

/// Upstream refuses JSON patches longer than this with 413.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Why a patch could not be applied. The variant fixes the HTTP status; the text says what
/// went wrong (upstream's wording where it has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed: 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well formed but cannot be applied to this object (a failed JSON patch
    /// operation or `test`, a list of lists): 422 Invalid.
    #[error("{0}")]
    Invalid(String),
    /// A strategic merge patch that contradicts the schema (a list item without its merge
    /// key, an unknown `$patch` directive, ...). Upstream has no status for these and answers
    /// 500 with an empty reason and the error text; kubectl prints "Error from server: ...".
    #[error("{0}")]
    Rejected(String),
    /// More than [`MAX_JSON_PATCH_OPERATIONS`] operations: 413.
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations { max: usize, got: usize },
}

impl PatchError {
    /// The Status error upstream sends for this failure.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::BadRequest(message) => ApiError::bad_request(message.clone()),
            // Upstream's 422 here is a generic server response: its own fixed message and
            // empty details, not the patch library's text.
            Self::Invalid(_) => ApiError {
                details: Some(Box::default()),
                ..ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                )
            },
            Self::Rejected(message) => ApiError::new(500, "", message.clone()),
            Self::TooManyOperations { .. } => ApiError::request_entity_too_large(self.to_string()),
        }
    }
}

impl From<PatchError> for ApiError {
    fn from(err: PatchError) -> Self {
        err.to_api_error()
    }
}

/// Applies a JSON merge patch (RFC 7386): objects merge recursively, `null` deletes, anything
/// else (lists included) replaces. The patch must be an object, since every API object is.
pub fn merge_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::BadRequest("Invalid JSON Patch".to_string()));
    }
    let mut doc = original.clone();
    json_patch::merge(&mut doc, patch);
    Ok(doc)
}

/// Applies a JSON patch (RFC 6902) as kube-apiserver does (evanphx/json-patch v4):
///
/// - a body that is not a list of objects is a 400;
/// - an unknown `op`, a missing field, a bad path or a failed `test` is a 422;
/// - `test` of a missing object member against `null` passes (kube-rs adds its first
///   finalizer with `test /metadata/finalizers null` + `add`);
/// - `replace` of a missing object member adds it.
///
/// The operations apply all or nothing: the original is never modified.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = match patch {
        Value::Array(ops) => ops.as_slice(),
        // Decoding `null` yields an empty patch upstream.
        Value::Null => &[],
        _ => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                json_type(patch)
            )));
        }
    };
    if let Some(op) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_type(op)
        )));
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: ops.len(),
        });
    }
    let mut doc = original.clone();
    for raw in ops {
        let op = decode_operation(raw)?;
        let op = match op {
            json_patch::PatchOperation::Test(test)
                if test.value.is_null() && is_missing_member(&doc, &test.path) =>
            {
                continue;
            }
            json_patch::PatchOperation::Replace(replace)
                if is_missing_member(&doc, &replace.path) =>
            {
                json_patch::PatchOperation::Add(json_patch::AddOperation {
                    path: replace.path,
                    value: replace.value,
                })
            }
            op => op,
        };
        // `doc` is our own copy, so the variant without undo bookkeeping is enough.
        json_patch::patch_unsafe(&mut doc, std::slice::from_ref(&op)).map_err(|e| {
            PatchError::Invalid(format!(
                "{} operation failed at path '{}': {}",
                op_name(&op),
                e.path,
                e.kind
            ))
        })?;
    }
    Ok(doc)
}

fn decode_operation(raw: &Value) -> Result<json_patch::PatchOperation, PatchError> {
    let kind = raw.get("op").and_then(Value::as_str).unwrap_or("unknown");
    if !matches!(
        kind,
        "add" | "remove" | "replace" | "move" | "copy" | "test"
    ) {
        return Err(PatchError::Invalid(format!("Unexpected kind: {kind}")));
    }
    let mut raw = raw.clone();
    // Upstream treats a missing `value` as null rather than refusing the operation.
    if let Some(op) = raw.as_object_mut()
        && matches!(kind, "add" | "replace" | "test")
    {
        op.entry("value").or_insert(Value::Null);
    }
    serde_json::from_value(raw).map_err(|e| PatchError::Invalid(format!("{kind} operation: {e}")))
}

/// True when `path` names a member of an existing object that the object lacks.
fn is_missing_member(doc: &Value, path: &json_patch::jsonptr::Pointer) -> bool {
    let Some((parent, last)) = path.split_back() else {
        return false;
    };
    matches!(doc.pointer(parent.as_str()), Some(Value::Object(map)) if !map.contains_key(last.decoded().as_ref()))
}

fn op_name(op: &json_patch::PatchOperation) -> &'static str {
    match op {
        json_patch::PatchOperation::Add(_) => "add",
        json_patch::PatchOperation::Remove(_) => "remove",
        json_patch::PatchOperation::Replace(_) => "replace",
        json_patch::PatchOperation::Move(_) => "move",
        json_patch::PatchOperation::Copy(_) => "copy",
        json_patch::PatchOperation::Test(_) => "test",
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;

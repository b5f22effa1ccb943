//! Strategic merge patch, applied as kube-apiserver applies it
//! (`k8s.io/apimachinery/pkg/util/strategicpatch`, server side: parallel lists merged, nulls
//! that match nothing ignored).
//!
//! A strategic merge patch is a JSON merge patch whose lists may merge instead of being
//! replaced, steered by the kind's [`PatchSchema`] and by directives in the patch:
//!
//! - `null` deletes a field; maps merge recursively.
//! - lists with a merge key merge item by item; items new to the list are added.
//! - lists of scalars with the merge strategy are united as ordered sets.
//! - `$patch: replace` (map or list item) replaces instead of merging; `$patch: delete`
//!   empties a map or removes the list items with the same merge key.
//! - `$setElementOrder/<list>` gives the order of the result; `$deleteFromPrimitiveList/<list>`
//!   removes scalars; `$retainKeys` drops the keys of a map that it does not list.
//!
//! The order of merged lists follows upstream exactly (kubectl shows it back): items named by
//! the patch come in the patch's order, the others keep their live order, interleaved by
//! their live positions.
//!
//! Where upstream takes a patch value as is (a field the live object lacks, a list that is
//! replaced), it relies on decoding into the Go type to drop leftover `null`s and directive
//! keys. Objects here stay JSON, so those values are cleaned the same way explicitly.

use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{FieldDef, PatchSchema, Strategy, TypeDef};

type Object = Map<String, Value>;

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

// Upstream's error texts (`k8s.io/apimachinery/pkg/util/mergepatch`).
const ERR_BAD_JSON_DOC: &str = "invalid JSON document";
const ERR_NO_LIST_OF_LISTS: &str = "lists of lists are not supported";
const ERR_BAD_PATCH_FORMAT_FOR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const ERR_BAD_PATCH_FORMAT_FOR_SET_ELEMENT_ORDER_LIST: &str =
    "invalid patch format of setElementOrder list";

/// Applies a strategic merge patch to `original` (an object) and returns the result.
///
/// The patch must be a JSON object (`null` is an empty patch). Errors carry the status code
/// upstream answers with; see [`PatchError`].
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    schema: &PatchSchema,
) -> Result<Value, PatchError> {
    let Value::Object(original) = original else {
        return Err(PatchError::BadRequest(ERR_BAD_JSON_DOC.to_string()));
    };
    let patch = match patch {
        Value::Object(patch) => patch.clone(),
        Value::Null => Object::new(),
        other => {
            // What decoding the body into a Go map reports.
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind_name(other)
            )));
        }
    };
    merge_map(original.clone(), patch, Some(schema.root)).map(Value::Object)
}

/// The patch metadata of `name` within `ty`; undescribed fields have no strategy.
fn lookup(ty: Option<&'static TypeDef>, name: &str) -> (Strategy, Option<&'static TypeDef>) {
    match ty.and_then(|t| t.field(name)) {
        Some(FieldDef { strategy, ty, .. }) => (*strategy, *ty),
        None => (Strategy::Default, None),
    }
}

fn type_name(ty: Option<&'static TypeDef>) -> &'static str {
    ty.map_or("", |t| t.name)
}

/// Merges `patch` into the live map `original` of struct type `ty` (`None`: untyped, no
/// strategies below). Order of work as upstream: a `$patch` directive decides alone; then
/// `$retainKeys`; then each `$setElementOrder` with its list; then the remaining keys.
fn merge_map(
    mut original: Object,
    mut patch: Object,
    ty: Option<&'static TypeDef>,
) -> Result<Object, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                patch.shift_remove(DIRECTIVE_MARKER);
                Ok(prune_object(patch))
            }
            Some(DELETE_DIRECTIVE) => Ok(Object::new()),
            // `$patch: merge` is refused too: upstream has never implemented it.
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, ty)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            (
                extract_key(
                    &key,
                    DELETE_FROM_PRIMITIVE_LIST_PREFIX,
                    ERR_BAD_PATCH_FORMAT_FOR_PRIMITIVE_LIST,
                )?,
                true,
            )
        } else if key.starts_with('$') {
            // An unknown directive; decoding into the typed object would drop it.
            continue;
        } else {
            (key, false)
        };

        if patch_value.is_null() {
            original.shift_remove(&key);
            continue;
        }

        let Some(slot) = original.get_mut(&key) else {
            if !is_delete_list && let Some(value) = prune(patch_value) {
                original.insert(key, value);
            }
            continue;
        };

        let same_kind = value_kind(slot) == value_kind(&patch_value);
        let mut remove = false;
        match (slot, patch_value) {
            (Value::Object(original_map), Value::Object(patch_map)) => {
                let (strategy, sub) = lookup(ty, &key);
                *original_map = if strategy == Strategy::Replace {
                    prune_object(patch_map)
                } else {
                    merge_map(std::mem::take(original_map), patch_map, sub)?
                };
            }
            (Value::Array(original_list), Value::Array(patch_list)) => {
                let (strategy, sub) = lookup(ty, &key);
                *original_list = merge_list_field(
                    std::mem::take(original_list),
                    patch_list,
                    strategy,
                    sub,
                    is_delete_list,
                )?
                .merged;
            }
            // A value of another JSON type replaces the live one; a delete list never does.
            (slot, patch_value) if !same_kind => {
                if !is_delete_list {
                    match prune(patch_value) {
                        Some(value) => *slot = value,
                        None => remove = true,
                    }
                }
            }
            (slot, patch_value) => *slot = patch_value,
        }
        if remove {
            original.shift_remove(&key);
        }
    }
    Ok(original)
}

/// `$retainKeys: [..]` keeps only the listed keys of the live map, and requires the patch to
/// set no other key.
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::BadRequest(
            ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS.to_string(),
        ));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || key.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !retained(key) {
            return Err(PatchError::BadRequest(
                ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS.to_string(),
            ));
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// Handles every `$setElementOrder/<list>` of `patch` together with the `<list>` it orders,
/// removing both from `patch`. The order is: `$setElementOrder` first, then the patch's list,
/// then the live list.
fn merge_set_element_order(
    original: &mut Object,
    patch: &mut Object,
    ty: Option<&'static TypeDef>,
) -> Result<(), PatchError> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for directive in directives {
        let Some(order) = patch.shift_remove(&directive) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let field = extract_key(
            &directive,
            SET_ELEMENT_ORDER_PREFIX,
            ERR_BAD_PATCH_FORMAT_FOR_SET_ELEMENT_ORDER_LIST,
        )?;
        let live = match original.get(&field) {
            None => None,
            Some(Value::Array(list)) => Some(list.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let patch_list = match patch.shift_remove(&field) {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(other) => return Err(bad_arg_type("[]interface {}", &other)),
        };
        let (strategy, sub) = lookup(ty, &field);
        let merge_key = match strategy {
            Strategy::Merge { merge_key } => merge_key,
            Strategy::Default | Strategy::Replace => None,
        };
        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            merge_key,
        )?;
        // Upstream checks the element types after merging; keep its order of errors.
        let kind = slice_element_kind(&[
            live.as_deref().unwrap_or_default(),
            patch_list.as_deref().unwrap_or_default(),
        ]);

        let ListMerge { merged, live_view } = match (live, patch_list) {
            (Some(live), None) => ListMerge {
                merged: live.clone(),
                live_view: live,
            },
            (None, Some(list)) => ListMerge {
                merged: prune_list(list),
                live_view: Vec::new(),
            },
            (Some(live), Some(list)) => merge_list_field(live, list, strategy, sub, false)?,
            (None, None) => continue,
        };

        let (patch_items, server_only) = partition_by_presence(merged, &order, merge_key)?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &order,
            &live_view,
            merge_key,
            kind?,
        )?;
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

/// The result of merging a list field.
struct ListMerge {
    merged: Vec<Value>,
    /// The live list as upstream sees it afterwards through its original slice header. Go
    /// edits the live list in place: `$patch: delete` shifts the items left and new items are
    /// appended into the freed slots. `$setElementOrder` then orders server-only items by
    /// this view, not by the untouched live list, and its unit tests pin the resulting order
    /// (a server-only item stays after the item that preceded it, a new item goes last).
    live_view: Vec<Value>,
}

/// Merges a list field by its strategy. Delete lists (`$deleteFromPrimitiveList`) remove
/// items whatever the field's strategy.
fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    strategy: Strategy,
    item_ty: Option<&'static TypeDef>,
    is_delete_list: bool,
) -> Result<ListMerge, PatchError> {
    match strategy {
        Strategy::Merge { merge_key } => {
            merge_list(original, patch, item_ty, merge_key, is_delete_list)
        }
        _ if is_delete_list => merge_list(original, patch, item_ty, None, true),
        Strategy::Default | Strategy::Replace => Ok(ListMerge {
            merged: prune_list(patch),
            live_view: original,
        }),
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    item_ty: Option<&'static TypeDef>,
    merge_key: Option<&'static str>,
    is_delete_list: bool,
) -> Result<ListMerge, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(ListMerge {
            merged: Vec::new(),
            live_view: original,
        });
    }
    let kind = slice_element_kind(&[&original, &patch])?;

    let (live, patch, merged, live_view) = if kind != Kind::Object {
        if is_delete_list {
            let merged = original
                .iter()
                .filter(|v| !patch.contains(v))
                .cloned()
                .collect();
            return Ok(ListMerge {
                merged,
                live_view: original,
            });
        }
        // An ordered set: duplicates go, wherever they were.
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.iter().chain(&patch) {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        (original.clone(), patch, merged, original)
    } else {
        let Some(key) = merge_key else {
            return Err(PatchError::Rejected(format!(
                "cannot merge lists without merge key for {}",
                type_name(item_ty)
            )));
        };
        let special = merge_list_special_elements(original, patch, key)?;
        let mut live_view = special.backing;
        if special.replace {
            let live = prune_list(special.rest);
            (live.clone(), Vec::new(), live, live_view)
        } else {
            let live: Vec<Value> = live_view
                .get(..special.live_len)
                .map(<[Value]>::to_vec)
                .unwrap_or_default();
            let merged = merge_list_by_key(live.clone(), &special.rest, key, item_ty)?;
            // Items appended past the live ones land in the slots deletions freed.
            for (slot, item) in live_view
                .iter_mut()
                .skip(special.live_len)
                .zip(merged.iter().skip(live.len()))
            {
                *slot = item.clone();
            }
            (live, special.rest, merged, live_view)
        }
    };

    let (patch_items, server_only) = partition_by_presence(merged, &patch, merge_key)?;
    let merged = normalize_element_order(patch_items, server_only, &patch, &live, merge_key, kind)?;
    Ok(ListMerge { merged, live_view })
}

/// The live list after the `$patch` items of a keyed list are applied.
struct SpecialElements {
    /// The live items, deleted ones removed by shifting the rest left in place (as Go's
    /// `append(s[:i], s[i+1:]...)` does); only the first `live_len` are current.
    backing: Vec<Value>,
    live_len: usize,
    /// The patch items without directives, left to merge.
    rest: Vec<Value>,
    /// `$patch: replace` was present: `rest` is the whole new list.
    replace: bool,
}

/// Applies the `$patch` items of a keyed list: `delete` removes the live items with the same
/// key, `replace` makes the rest of the patch list the whole list.
fn merge_list_special_elements(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<SpecialElements, PatchError> {
    let mut backing = original;
    let mut live_len = backing.len();
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(map) = item.as_object() else {
            return Err(bad_arg_type("map[string]interface {}", &item));
        };
        let Some(directive) = map.get(DIRECTIVE_MARKER) else {
            rest.push(item);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let Some(key_value) = map.get(merge_key) else {
                    return Err(no_merge_key(map, merge_key));
                };
                while let Some(i) = backing.get(..live_len).and_then(|live| {
                    live.iter()
                        .position(|v| merge_key_of(v, merge_key) == Some(key_value))
                }) {
                    // Go's `append(s[:i], s[i+1:]...)`: the tail moves left one slot and
                    // the slot that falls out of the live items keeps its old value.
                    let old_last = backing.get(live_len - 1).cloned();
                    if let Some(tail) = backing.get_mut(i..live_len) {
                        tail.rotate_left(1);
                    }
                    if let (Some(slot), Some(old_last)) = (backing.get_mut(live_len - 1), old_last)
                    {
                        *slot = old_last;
                    }
                    live_len -= 1;
                }
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(PatchError::Rejected(
                    "merging lists cannot yet be specified in the patch".to_string(),
                ));
            }
            _ => return Err(bad_patch_type(directive, map)),
        }
    }
    Ok(SpecialElements {
        backing,
        live_len,
        rest,
        replace,
    })
}

/// Merges each patch item into the live item with the same merge key, or appends it.
fn merge_list_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    item_ty: Option<&'static TypeDef>,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let Some(map) = item.as_object() else {
            return Err(bad_arg_type("map[string]interface {}", item));
        };
        let Some(key_value) = map.get(merge_key) else {
            return Err(no_merge_key(map, merge_key));
        };
        let mut found = None;
        for (i, live) in original.iter().enumerate() {
            let Some(live) = live.as_object() else {
                return Err(PatchError::Rejected(format!(
                    "value for key {i} is not a map"
                )));
            };
            if live.get(merge_key) == Some(key_value) {
                found = Some(i);
                break;
            }
        }
        match found.and_then(|i| original.get_mut(i)) {
            Some(Value::Object(live)) => {
                let merged = merge_map(std::mem::take(live), map.clone(), item_ty)?;
                *live = merged;
            }
            _ => {
                if let Some(value) = prune(item.clone()) {
                    original.push(value);
                }
            }
        }
    }
    Ok(original)
}

/// Checks that the non-deleted items of the patch list appear in `$setElementOrder` in the
/// same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = match merge_key {
        Some(_) => {
            let mut kept = Vec::with_capacity(patch_list.len());
            for item in patch_list {
                let Some(map) = item.as_object() else {
                    return Err(bad_arg_type("map[string]interface {}", item));
                };
                if map.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE) {
                    kept.push(item);
                }
            }
            kept
        }
        None => patch_list.iter().collect(),
    };
    let (mut patch_index, mut order_index) = (0, 0);
    while let (Some(item), Some(ordered)) = (non_delete.get(patch_index), order.get(order_index)) {
        if item
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
        {
            patch_index += 1;
            continue;
        }
        if merge_key_value_equal(item, ordered, merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < non_delete.len() && order_index >= order.len() {
        return Err(PatchError::Rejected(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            go_format(&Value::Array(patch_list.to_vec())),
            go_format(&Value::Array(order.to_vec())),
        )));
    }
    Ok(())
}

fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    merge_key: Option<&str>,
) -> Result<bool, PatchError> {
    let Some(key) = merge_key else {
        return Ok(left == right);
    };
    let (Some(l), Some(r)) = (left.as_object(), right.as_object()) else {
        let bad = if left.is_object() { right } else { left };
        return Err(bad_arg_type("map[string]interface {}", bad));
    };
    match (l.get(key), r.get(key)) {
        (Some(a), Some(b)) => Ok(a == b),
        (None, _) => Err(no_merge_key(l, key)),
        (_, None) => Err(no_merge_key(r, key)),
    }
}

/// Splits `merged` into the items named by `by` (the patch list or `$setElementOrder`) and
/// the server-only rest, both in `merged` order.
fn partition_by_presence(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut named = Vec::with_capacity(merged.len());
    let mut server_only = Vec::with_capacity(merged.len());
    for item in merged {
        let present = match merge_key {
            None => by.contains(&item),
            Some(key) => {
                let Some(map) = item.as_object() else {
                    return Err(bad_arg_type("map[string]interface {}", &item));
                };
                let Some(key_value) = map.get(key) else {
                    return Err(no_merge_key(map, key));
                };
                let mut present = false;
                for (i, candidate) in by.iter().enumerate() {
                    let Some(candidate) = candidate.as_object() else {
                        return Err(PatchError::Rejected(format!(
                            "value for key {i} is not a map"
                        )));
                    };
                    if candidate.get(key) == Some(key_value) {
                        present = true;
                        break;
                    }
                }
                present
            }
        };
        if present {
            named.push(item);
        } else {
            server_only.push(item);
        }
    }
    Ok((named, server_only))
}

/// Orders the patch items by `patch_order` and the server-only items by `server_order`, then
/// interleaves them.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slices(
        server_only,
        patch_items,
        server_order,
        merge_key,
        kind,
    ))
}

fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let (mut items, to_delete) = if kind == Kind::Object {
        let key = merge_key.unwrap_or_default();
        for item in items.iter().chain(order) {
            let Some(map) = item.as_object() else {
                return Err(bad_arg_type("map[string]interface {}", item));
            };
            if !map.contains_key(key) {
                return Err(no_merge_key(map, key));
            }
        }
        items.into_iter().partition::<Vec<_>, _>(|item| {
            item.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE)
        })
    } else {
        (items, Vec::new())
    };
    // Items missing from `order` go last, keeping their relative order. (Upstream's
    // comparator leaves them unordered; in every patch it accepts, all of them are found.)
    items.sort_by_key(|item| index_of(order, item, merge_key, kind).unwrap_or(usize::MAX));
    items.extend(to_delete);
    Ok(items)
}

/// Interleaves two sorted lists: an item of `left` (server-only) goes before the current
/// item of `right` (patch) only when both are in the live list and it comes first there.
fn merge_sorted_slices(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: Option<&str>,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_of(server_order, l, merge_key, kind),
                    index_of(server_order, r, merge_key, kind),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// The position of `item` in `list`: by merge key for objects, by value otherwise.
fn index_of(list: &[Value], item: &Value, merge_key: Option<&str>, kind: Kind) -> Option<usize> {
    if kind == Kind::Object {
        let key = merge_key.unwrap_or_default();
        let wanted = merge_key_of(item, key);
        list.iter().position(|v| merge_key_of(v, key) == wanted)
    } else {
        list.iter().position(|v| v == item)
    }
}

fn merge_key_of<'a>(item: &'a Value, merge_key: &str) -> Option<&'a Value> {
    item.as_object().and_then(|m| m.get(merge_key))
}

/// `$setElementOrder/containers` -> `containers`.
fn extract_key(key: &str, prefix: &str, error: &str) -> Result<String, PatchError> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field.to_string()),
        _ => Err(PatchError::BadRequest(error.to_string())),
    }
}

/// The JSON types, with integers and floats apart as Go decodes them (int64 vs float64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

fn value_kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_f64() => Kind::Float,
        Value::Number(_) => Kind::Int,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// The common element type of lists that are merged together.
fn slice_element_kind(lists: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut kind = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        let current = value_kind(item);
        match kind {
            None if current == Kind::Array => {
                return Err(PatchError::Invalid(ERR_NO_LIST_OF_LISTS.to_string()));
            }
            None => kind = Some(current),
            Some(k) if k != current => {
                let all: Vec<Value> = lists.iter().map(|l| Value::Array(l.to_vec())).collect();
                return Err(PatchError::Rejected(format!(
                    "list element types are not identical: {}",
                    go_format(&Value::Array(all))
                )));
            }
            Some(_) => {}
        }
    }
    kind.ok_or_else(|| PatchError::Rejected("no elements in any of the given slices".to_string()))
}

// ---- cleaning values taken from the patch ---------------------------------------------------

/// A patch value taken as is: `null` fields dropped, maps carrying `$patch` dropped (so
/// `None` for such a map itself), other directive keys dropped.
fn prune(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(DIRECTIVE_MARKER) => None,
        Value::Object(map) => Some(Value::Object(prune_object(map))),
        Value::Array(list) => Some(Value::Array(prune_list(list))),
        other => Some(other),
    }
}

fn prune_object(map: Object) -> Object {
    map.into_iter()
        .filter(|(key, value)| !value.is_null() && !key.starts_with('$'))
        .filter_map(|(key, value)| prune(value).map(|v| (key, v)))
        .collect()
}

fn prune_list(list: Vec<Value>) -> Vec<Value> {
    list.into_iter().filter_map(prune).collect()
}

// ---- errors worded as upstream --------------------------------------------------------------

fn no_merge_key(map: &Object, merge_key: &str) -> PatchError {
    PatchError::Rejected(format!(
        "map: {} does not contain declared merge key: {merge_key}",
        go_format_map(map)
    ))
}

fn bad_patch_type(directive: &Value, map: &Object) -> PatchError {
    PatchError::Rejected(format!(
        "unknown patch type: {} in map: {}",
        go_format(directive),
        go_format_map(map)
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::Rejected(format!(
        "expected a {expected}, but received a {}",
        go_type_name(actual)
    ))
}

fn go_type_name(v: &Value) -> &'static str {
    match value_kind(v) {
        Kind::Null => "<nil>",
        Kind::Bool => "bool",
        Kind::Int => "int64",
        Kind::Float => "float64",
        Kind::String => "string",
        Kind::Array => "[]interface {}",
        Kind::Object => "map[string]interface {}",
    }
}

fn json_kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as Go's `%v` prints a decoded JSON value (`map[a:1 b:[x y]]`), since upstream's
/// messages embed it.
fn go_format(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(list) => format!(
            "[{}]",
            list.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => go_format_map(map),
    }
}

fn go_format_map(map: &Object) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body = entries
        .iter()
        .map(|(k, v)| format!("{k}:{}", go_format(v)))
        .collect::<Vec<_>>()
        .join(" ");
    format!("map[{body}]")
}

#[cfg(test)]
mod tests;

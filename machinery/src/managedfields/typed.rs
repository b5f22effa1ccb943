//! Operations on objects walked with their [`Schema`] (structured-merge-diff's `typed`
//! package): the set of fields an object sets, the comparison of two objects, the merge of
//! an applied configuration into a live object, and the removal of fields.

use serde_json::{Map, Value};

use super::schema::{Kind, ListType, Schema, TypeRef};
use super::set::{Path, PathElement, Set};

/// What changed from one object to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }

    /// Drops the ignored fields (and everything below them).
    pub fn exclude(&mut self, ignored: &Set) {
        if ignored.is_empty() {
            return;
        }
        self.added = self.added.recursive_difference(ignored);
        self.modified = self.modified.recursive_difference(ignored);
        self.removed = self.removed.recursive_difference(ignored);
    }
}

/// The path element of a list item: its key fields, or its value for a set.
pub(crate) fn list_item_element(list: &ListType, item: &Value) -> Result<PathElement, String> {
    if list.keys.is_empty() {
        return match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        };
    }
    let Value::Object(m) = item else {
        return Err(if item.is_null() {
            "associative list with keys may not have a null element".into()
        } else {
            "associative list with keys may not have non-map elements".into()
        });
    };
    let mut fields: Vec<(String, Value)> = Vec::new();
    for k in &list.keys {
        if let Some(v) = m.get(k) {
            fields.push((k.clone(), v.clone()));
        } else if let Some((_, d)) = list.key_defaults.iter().find(|(n, _)| n == k) {
            fields.push((k.clone(), d.clone()));
        }
    }
    if fields.is_empty() {
        return Err(format!(
            "associative list with keys has an element that omits all key fields {:?} (and doesn't have default values for any key fields)",
            list.keys
        ));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PathElement::Key(fields))
}

/// Items of a list with their path elements; items whose element cannot be built are left
/// out (the configuration is validated separately).
fn elements<'v>(list: &ListType, items: &'v [Value]) -> Vec<(PathElement, &'v Value)> {
    items
        .iter()
        .filter_map(|i| list_item_element(list, i).ok().map(|pe| (pe, i)))
        .collect()
}

/// Problems that make a value unusable as an applied configuration: undeclared fields,
/// list items without keys, duplicate list items. Paths as upstream prints them.
pub fn validate(schema: &Schema, t: TypeRef, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let mut path = Vec::new();
    validate_at(schema, t, v, &mut path, &mut errs);
    errs
}

fn validate_at(schema: &Schema, t: TypeRef, v: &Value, path: &mut Path, errs: &mut Vec<String>) {
    match schema.kind(t, Some(v)) {
        Kind::Leaf => {}
        Kind::Map(m) => {
            if let Value::Object(obj) = v {
                for (k, child) in obj {
                    path.push(PathElement::Field(k.clone()));
                    match schema.field_type(m, k) {
                        Some(ct) => validate_at(schema, ct, child, path, errs),
                        None => errs.push(format!(
                            "{}: field not declared in schema",
                            super::set::path_string(path)
                        )),
                    }
                    path.pop();
                }
            }
        }
        Kind::List(l) => {
            if let Value::Array(items) = v {
                let mut seen: Vec<PathElement> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match list_item_element(l, item) {
                        Ok(pe) => {
                            if seen.contains(&pe) {
                                errs.push(format!(
                                    "{}: duplicate entries for key {pe}",
                                    super::set::path_string(path)
                                ));
                                continue;
                            }
                            path.push(pe.clone());
                            validate_at(schema, l.elem, item, path, errs);
                            path.pop();
                            seen.push(pe);
                        }
                        Err(e) => errs.push(format!(
                            "{}: element {i}: {e}",
                            super::set::path_string(path)
                        )),
                    }
                }
            }
        }
    }
}

/// The set of fields `v` sets (upstream's `ToFieldSet`): leaves, atomic values, list items,
/// map entries, and struct fields that are empty or null.
pub fn to_field_set(schema: &Schema, t: TypeRef, v: &Value) -> Set {
    let mut out = Set::new();
    let mut path = Vec::new();
    field_set_at(schema, t, v, &mut path, &mut out);
    out
}

fn field_set_at(schema: &Schema, t: TypeRef, v: &Value, path: &mut Path, out: &mut Set) {
    match schema.kind(t, Some(v)) {
        Kind::Leaf => out.insert(path),
        Kind::Map(m) => {
            let Value::Object(obj) = v else { return };
            for (k, child) in obj {
                let declared = m.fields.contains_key(k);
                let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                path.push(PathElement::Field(k.clone()));
                field_set_at(schema, ct, child, path, out);
                let empty_map = child.as_object().is_some_and(Map::is_empty);
                if child.is_null() || empty_map || !declared {
                    out.insert(path);
                }
                path.pop();
            }
        }
        Kind::List(l) => {
            let Value::Array(items) = v else { return };
            let elems = elements(l, items);
            let mut duplicates: Vec<&PathElement> = Vec::new();
            for (i, (pe, _)) in elems.iter().enumerate() {
                if elems[..i].iter().any(|(p, _)| p == pe) && !duplicates.contains(&pe) {
                    duplicates.push(pe);
                    path.push(pe.clone());
                    out.insert(path);
                    path.pop();
                }
            }
            for (pe, item) in &elems {
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe.clone());
                field_set_at(schema, l.elem, item, path, out);
                out.insert(path);
                path.pop();
            }
        }
    }
}

/// Compares `lhs` (the old object) with `rhs` (the new one), as upstream's `Compare`.
pub fn compare(schema: &Schema, t: TypeRef, lhs: &Value, rhs: &Value) -> Comparison {
    let mut c = Comparison::default();
    let mut path = Vec::new();
    compare_at(schema, t, Some(lhs), Some(rhs), &mut path, &mut c);
    c
}

fn compare_leaf(lhs: Option<&Value>, rhs: Option<&Value>, path: &Path, c: &mut Comparison) {
    match (lhs, rhs) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        (Some(l), Some(r)) if l != r => c.modified.insert(path),
        _ => {}
    }
}

fn compare_at(
    schema: &Schema,
    t: TypeRef,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &mut Path,
    c: &mut Comparison,
) {
    let kl = schema.kind(t, lhs);
    let kr = schema.kind(t, rhs);
    let kind = match (lhs, rhs) {
        (_, None) => kl,
        (None, _) => kr,
        _ if same_kind(&kl, &kr) => kr,
        // The value changed shape: the field changed as a whole.
        _ => Kind::Leaf,
    };
    match kind {
        Kind::Leaf => {
            compare_leaf(lhs, rhs, path, c);
            return;
        }
        Kind::Map(m) => {
            let lm = lhs.and_then(Value::as_object);
            let rm = rhs.and_then(Value::as_object);
            if lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty) {
                compare_leaf(lhs, rhs, path, c);
                return;
            }
            let empty = Map::new();
            let (lm, rm) = (lm.unwrap_or(&empty), rm.unwrap_or(&empty));
            for (k, lv) in lm {
                let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                path.push(PathElement::Field(k.clone()));
                compare_at(schema, ct, Some(lv), rm.get(k), path, c);
                path.pop();
            }
            for (k, rv) in rm {
                if lm.contains_key(k) {
                    continue;
                }
                let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                path.push(PathElement::Field(k.clone()));
                compare_at(schema, ct, None, Some(rv), path, c);
                path.pop();
            }
        }
        Kind::List(l) => {
            let la = lhs.and_then(Value::as_array);
            let ra = rhs.and_then(Value::as_array);
            if la.is_none_or(Vec::is_empty) && ra.is_none_or(Vec::is_empty) {
                compare_leaf(lhs, rhs, path, c);
                return;
            }
            let le = elements(l, la.map(Vec::as_slice).unwrap_or(&[]));
            let re = elements(l, ra.map(Vec::as_slice).unwrap_or(&[]));
            let mut all: Vec<&PathElement> = Vec::new();
            for (pe, _) in le.iter().chain(re.iter()) {
                if !all.contains(&pe) {
                    all.push(pe);
                }
            }
            for pe in all {
                let ls: Vec<&Value> = le
                    .iter()
                    .filter(|(p, _)| p == pe)
                    .map(|(_, v)| *v)
                    .collect();
                let rs: Vec<&Value> = re
                    .iter()
                    .filter(|(p, _)| p == pe)
                    .map(|(_, v)| *v)
                    .collect();
                path.push(pe.clone());
                match (ls.len(), rs.len()) {
                    (0..=1, 0..=1) => compare_at(
                        schema,
                        l.elem,
                        ls.first().copied(),
                        rs.first().copied(),
                        path,
                        c,
                    ),
                    (a, b) if a >= 2 && b >= 2 => {
                        if ls != rs {
                            c.modified.insert(path);
                        }
                    }
                    (a, _) if a >= 2 => {
                        if let Some(r) = rs.first() {
                            compare_at(schema, l.elem, None, Some(r), path, c);
                        }
                        c.removed.insert(path);
                    }
                    _ => {
                        if let Some(lv) = ls.first() {
                            compare_at(schema, l.elem, Some(lv), None, path, c);
                        }
                        c.added.insert(path);
                    }
                }
                path.pop();
            }
        }
    }
    match (lhs, rhs) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
}

fn same_kind(a: &Kind<'_>, b: &Kind<'_>) -> bool {
    matches!(
        (a, b),
        (Kind::Leaf, Kind::Leaf) | (Kind::Map(_), Kind::Map(_)) | (Kind::List(_), Kind::List(_))
    )
}

/// Merges an applied configuration (`rhs`) into the live object (`lhs`): the
/// configuration's values win, maps merge key by key, associative lists item by item (in
/// upstream's order), atomic values are replaced whole.
pub fn merge(schema: &Schema, t: TypeRef, lhs: &Value, rhs: &Value) -> Value {
    merge_at(schema, t, Some(lhs), Some(rhs)).unwrap_or(Value::Null)
}

fn merge_at(
    schema: &Schema,
    t: TypeRef,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
) -> Option<Value> {
    let kl = schema.kind(t, lhs);
    let kr = schema.kind(t, rhs);
    let kind = match (lhs, rhs) {
        (_, None) => kl,
        (None, _) => kr,
        _ if same_kind(&kl, &kr) => kr,
        _ => Kind::Leaf,
    };
    let leaf = || rhs.or(lhs).cloned();
    match kind {
        Kind::Leaf => leaf(),
        Kind::Map(m) => {
            let lm = lhs.and_then(Value::as_object);
            let rm = rhs.and_then(Value::as_object);
            if lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty) {
                return leaf();
            }
            let empty = Map::new();
            let (lm, rm) = (lm.unwrap_or(&empty), rm.unwrap_or(&empty));
            let mut out = Map::new();
            for (k, lv) in lm {
                let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                if let Some(v) = merge_at(schema, ct, Some(lv), rm.get(k)) {
                    out.insert(k.clone(), v);
                }
            }
            for (k, rv) in rm {
                if lm.contains_key(k) {
                    continue;
                }
                let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                if let Some(v) = merge_at(schema, ct, None, Some(rv)) {
                    out.insert(k.clone(), v);
                }
            }
            Some(Value::Object(out))
        }
        Kind::List(l) => {
            let la = lhs.and_then(Value::as_array);
            let ra = rhs.and_then(Value::as_array);
            if la.is_none_or(Vec::is_empty) && ra.is_none_or(Vec::is_empty) {
                return leaf();
            }
            let le = elements(l, la.map(Vec::as_slice).unwrap_or(&[]));
            let re = elements(l, ra.map(Vec::as_slice).unwrap_or(&[]));
            Some(Value::Array(merge_list(schema, l, &le, &re)))
        }
    }
}

/// Upstream's list order: the configuration's order for the items it names, with live-only
/// items kept where they were relative to the shared ones.
fn merge_list(
    schema: &Schema,
    l: &ListType,
    lhs: &[(PathElement, &Value)],
    rhs: &[(PathElement, &Value)],
) -> Vec<Value> {
    let find = |list: &[(PathElement, &Value)], pe: &PathElement| -> Option<Value> {
        list.iter()
            .find(|(p, _)| p == pe)
            .map(|(_, v)| (*v).clone())
    };
    let in_lhs = |pe: &PathElement| lhs.iter().any(|(p, _)| p == pe);
    let in_rhs = |pe: &PathElement| rhs.iter().any(|(p, _)| p == pe);
    let mut shared: std::collections::VecDeque<&PathElement> =
        rhs.iter().map(|(p, _)| p).filter(|p| in_lhs(p)).collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: Vec<&PathElement> = Vec::new();
    let mut out = Vec::new();
    let (mut li, mut ri) = (0, 0);
    let item = |pe: &PathElement| -> Option<Value> {
        let lv = find(lhs, pe);
        let rv = find(rhs, pe);
        merge_at(schema, l.elem, lv.as_ref(), rv.as_ref())
    };
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let pe = &lhs[li].0;
            if *pe == rhs[ri].0 {
                merged_rhs.push(pe);
                out.extend(item(pe));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if in_rhs(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let pe = &lhs[li].0;
            if !in_rhs(pe) {
                out.extend(item(pe));
                li += 1;
                continue;
            } else if merged_rhs.contains(&pe) {
                li += 1;
            }
        }
        if ri < rhs.len() {
            let pe = &rhs[ri].0;
            merged_rhs.push(pe);
            out.extend(item(pe));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out
}

/// `v` without the fields of `remove` (a member removes the field and everything below it).
/// Maps and lists left empty by the removal disappear (upstream leaves a null that decoding
/// drops).
pub fn remove_items(schema: &Schema, t: TypeRef, v: &Value, remove: &Set) -> Value {
    remove_at(schema, t, v, remove).unwrap_or_else(|| Value::Object(Map::new()))
}

fn remove_at(schema: &Schema, t: TypeRef, v: &Value, remove: &Set) -> Option<Value> {
    match schema.kind(t, Some(v)) {
        Kind::Leaf => Some(v.clone()),
        Kind::Map(m) => {
            let obj = v.as_object()?;
            if obj.is_empty() {
                return Some(v.clone());
            }
            let mut out = Map::new();
            for (k, child) in obj {
                let pe = PathElement::Field(k.clone());
                if remove.is_member(&pe) {
                    continue;
                }
                match remove.with_prefix(&pe) {
                    Some(sub) => {
                        let ct = schema.field_type(m, k).unwrap_or(Schema::UNTYPED);
                        if let Some(c) = remove_at(schema, ct, child, sub) {
                            out.insert(k.clone(), c);
                        }
                    }
                    None => {
                        out.insert(k.clone(), child.clone());
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Kind::List(l) => {
            let items = v.as_array()?;
            if items.is_empty() {
                return Some(v.clone());
            }
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = list_item_element(l, item) else {
                    out.push(item.clone());
                    continue;
                };
                if remove.is_member(&pe) {
                    continue;
                }
                match remove.with_prefix(&pe) {
                    Some(sub) => out.extend(remove_at(schema, l.elem, item, sub)),
                    None => out.push(item.clone()),
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
    }
}

/// `s` plus the struct fields on the way to its members (a set owning `a.b.c` also owns `a`
/// when `a` is a struct field, but not a map key).
pub fn ensure_named_fields_are_members(schema: &Schema, t: Option<TypeRef>, s: &Set) -> Set {
    let map = t.and_then(|t| schema.map_type(t));
    let list = t.and_then(|t| schema.list_type(t));
    let mut out = Set::new();
    for pe in s.members() {
        out.insert(std::slice::from_ref(pe));
    }
    for (pe, child) in s.children() {
        let ct = match pe {
            PathElement::Field(name) => {
                if let Some(m) = map
                    && m.fields.contains_key(name)
                {
                    out.insert(std::slice::from_ref(pe));
                }
                map.and_then(|m| schema.field_type(m, name))
            }
            PathElement::Key(_) | PathElement::Value(_) => list.map(|l| l.elem),
            PathElement::Index(_) => None,
        };
        let sub = ensure_named_fields_are_members(schema, ct, child);
        out = out.union(&prefixed(pe, &sub));
    }
    out
}

/// `s` with every path prefixed by `pe`.
pub(crate) fn prefixed(pe: &PathElement, s: &Set) -> Set {
    let mut out = Set::new();
    for p in s.paths() {
        let mut full = vec![pe.clone()];
        full.extend(p);
        out.insert(&full);
    }
    out
}

//! The shape of objects as server-side apply sees it (structured-merge-diff's `schema`):
//! which maps are structs with named fields, which lists are associative (by key fields, or
//! sets of scalars), and which maps and lists are atomic (owned and replaced whole).
//! The API server builds one from its OpenAPI definitions (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`).

use std::collections::HashMap;

use serde_json::Value;

/// A reference to a type of a [`Schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeRef(usize);

#[derive(Debug, Clone, Default)]
pub struct MapType {
    /// Struct fields, by name.
    pub fields: HashMap<String, TypeRef>,
    /// The type of other keys (a map, or a struct that keeps unknown fields); `None` for a
    /// struct that has only `fields`.
    pub elem: Option<TypeRef>,
}

#[derive(Debug, Clone)]
pub struct ListType {
    pub elem: TypeRef,
    /// Key fields of an associative list (`listType=map`); empty for a set of scalars.
    pub keys: Vec<String>,
    /// Values key fields take when an item leaves them out (upstream: the field's default,
    /// e.g. `protocol: TCP`).
    pub key_defaults: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub enum Atom {
    /// A scalar, or an atomic map or list: owned and replaced whole.
    Leaf,
    /// No schema: maps are granular with untyped values, lists atomic (upstream's
    /// "deduced" type, used for custom resources without a schema).
    Untyped,
    Map(MapType),
    List(ListType),
}

/// A set of types.
#[derive(Debug, Clone)]
pub struct Schema {
    atoms: Vec<Atom>,
    untyped_map: MapType,
}

impl Default for Schema {
    fn default() -> Self {
        Self::new()
    }
}

impl Schema {
    /// A value of any shape, deduced from the value itself.
    pub const UNTYPED: TypeRef = TypeRef(0);
    /// A scalar or atomic value.
    pub const LEAF: TypeRef = TypeRef(1);

    pub fn new() -> Self {
        Self {
            atoms: vec![Atom::Untyped, Atom::Leaf],
            untyped_map: MapType {
                fields: HashMap::new(),
                elem: Some(Self::UNTYPED),
            },
        }
    }

    pub fn add(&mut self, atom: Atom) -> TypeRef {
        self.atoms.push(atom);
        TypeRef(self.atoms.len() - 1)
    }

    /// A type defined later with [`Schema::define`] (for recursive types).
    pub fn reserve(&mut self) -> TypeRef {
        self.add(Atom::Leaf)
    }

    pub fn define(&mut self, t: TypeRef, atom: Atom) {
        if let Some(slot) = self.atoms.get_mut(t.0) {
            *slot = atom;
        }
    }

    pub fn atom(&self, t: TypeRef) -> &Atom {
        self.atoms.get(t.0).unwrap_or(&Atom::Untyped)
    }

    /// How a value of type `t` is walked.
    pub(crate) fn kind<'a>(&'a self, t: TypeRef, v: Option<&Value>) -> Kind<'a> {
        match (self.atom(t), v) {
            (Atom::Map(m), Some(Value::Object(_) | Value::Null) | None) => Kind::Map(m),
            (Atom::List(l), Some(Value::Array(_) | Value::Null) | None) => Kind::List(l),
            (Atom::Untyped, Some(Value::Object(_))) => Kind::Map(&self.untyped_map),
            _ => Kind::Leaf,
        }
    }

    /// The map type of `t` regardless of a value (for walking sets).
    pub(crate) fn map_type(&self, t: TypeRef) -> Option<&MapType> {
        match self.atom(t) {
            Atom::Map(m) => Some(m),
            Atom::Untyped => Some(&self.untyped_map),
            _ => None,
        }
    }

    pub(crate) fn list_type(&self, t: TypeRef) -> Option<&ListType> {
        match self.atom(t) {
            Atom::List(l) => Some(l),
            _ => None,
        }
    }

    /// The type of field `name` of map type `m`, if declared.
    pub(crate) fn field_type(&self, m: &MapType, name: &str) -> Option<TypeRef> {
        m.fields.get(name).copied().or(m.elem)
    }

    /// The root's field names (the top-level fields of a kind).
    pub fn field_names(&self, t: TypeRef) -> Vec<String> {
        match self.atom(t) {
            Atom::Map(m) => {
                let mut names: Vec<String> = m.fields.keys().cloned().collect();
                names.sort();
                names
            }
            _ => Vec::new(),
        }
    }
}

pub(crate) enum Kind<'a> {
    Leaf,
    Map(&'a MapType),
    List(&'a ListType),
}

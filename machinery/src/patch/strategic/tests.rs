//! The algorithm on a schema shaped like upstream's own test type (`mergeItem`), so every
//! strategy is exercised without depending on the built-in kind table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::super::schema::{FieldDef, PatchSchema, Strategy, TypeDef};
use super::*;

const fn field(name: &'static str, strategy: Strategy, ty: Option<&'static TypeDef>) -> FieldDef {
    FieldDef {
        name,
        strategy,
        retain_keys: false,
        ty,
    }
}

const MERGE_BY_NAME: Strategy = Strategy::Merge {
    merge_key: Some("name"),
};
const MERGE_SET: Strategy = Strategy::Merge { merge_key: None };

static MERGE_ITEM: TypeDef = TypeDef {
    name: "mergeItem",
    fields: &[
        field("mergingList", MERGE_BY_NAME, Some(&MERGE_ITEM)),
        field("nonMergingList", Strategy::Default, Some(&MERGE_ITEM)),
        field("mergingIntList", MERGE_SET, None),
        field("nonMergingIntList", Strategy::Default, None),
        field("mergeItemPtr", MERGE_BY_NAME, Some(&MERGE_ITEM)),
        field("simpleMap", Strategy::Default, None),
        field("replacingItem", Strategy::Replace, None),
        FieldDef {
            retain_keys: true,
            ..field("retainKeysMap", Strategy::Default, Some(&MERGE_ITEM))
        },
        FieldDef {
            retain_keys: true,
            ..field("retainKeysMergingList", MERGE_BY_NAME, Some(&MERGE_ITEM))
        },
    ],
};

const SCHEMA: PatchSchema = PatchSchema { root: &MERGE_ITEM };

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

fn apply(original: &str, patch: &str) -> Result<Value, PatchError> {
    strategic_merge(&yaml(original), &yaml(patch), &SCHEMA)
}

/// (description, original, patch, expected). Lists compare in order: upstream's ordering is
/// part of the contract.
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "scalars merge as an ordered set",
        "mergingIntList: [1, 2]",
        "mergingIntList: [2, 3]",
        "mergingIntList: [1, 2, 3]",
    ),
    (
        "scalar duplicates are removed",
        "mergingIntList: [1, 1, 2]",
        "mergingIntList: [3]",
        "mergingIntList: [3, 1, 2]",
    ),
    (
        "lists without a strategy are replaced",
        "nonMergingIntList: [1, 2]",
        "nonMergingIntList: [3]",
        "nonMergingIntList: [3]",
    ),
    (
        "items merge by key and keep live fields",
        "mergingList: [{name: a, value: '1', other: x}, {name: b, value: '2'}]",
        "mergingList: [{name: a, value: '9'}]",
        "mergingList: [{name: a, value: '9', other: x}, {name: b, value: '2'}]",
    ),
    (
        "new items go right after the last patched item",
        "mergingList: [{name: a}, {name: b}, {name: c}]",
        "mergingList: [{name: b, value: x}, {name: d}]",
        "mergingList: [{name: a}, {name: b, value: x}, {name: d}, {name: c}]",
    ),
    (
        "new items only are appended",
        "mergingList: [{name: a}, {name: b}]",
        "mergingList: [{name: c}, {name: d}]",
        "mergingList: [{name: c}, {name: d}, {name: a}, {name: b}]",
    ),
    (
        "patched items follow the patch order",
        "mergingList: [{name: a}, {name: b}, {name: c}]",
        "mergingList: [{name: c, value: '3'}, {name: a, value: '1'}]",
        "mergingList: [{name: b}, {name: c, value: '3'}, {name: a, value: '1'}]",
    ),
    (
        "nested merge lists merge recursively",
        "mergingList: [{name: a, mergingList: [{name: x, value: '1'}], nonMergingList: [{name: p}]}]",
        "mergingList: [{name: a, mergingList: [{name: y}], nonMergingList: [{name: q}]}]",
        "mergingList: [{name: a, mergingList: [{name: y}, {name: x, value: '1'}], nonMergingList: [{name: q}]}]",
    ),
    (
        "$patch: delete removes every item with the key",
        "mergingList: [{name: '1'}, {name: '1'}, {name: '2', value: a}, {name: '3'}, {name: '3'}]",
        "mergingList: [{name: '1', $patch: delete}, {name: '3', $patch: delete}]",
        "mergingList: [{name: '2', value: a}]",
    ),
    (
        "$patch: delete of a missing item is a no-op",
        "mergingList: [{name: a}]",
        "mergingList: [{name: z, $patch: delete}]",
        "mergingList: [{name: a}]",
    ),
    (
        "$patch: replace in a list replaces it with the other items",
        "mergingList: [{name: a}, {name: b}]",
        "mergingList: [{name: c, value: x}, {$patch: replace}]",
        "mergingList: [{name: c, value: x}]",
    ),
    (
        "$patch: replace alone empties the list",
        "mergingList: [{name: a}, {name: b}]",
        "mergingList: [{$patch: replace}]",
        "mergingList: []",
    ),
    (
        "$patch: replace on a map",
        "mergeItemPtr: {name: a, value: '1', other: o}",
        "mergeItemPtr: {$patch: replace, name: b, other: null}",
        "mergeItemPtr: {name: b}",
    ),
    (
        "$patch: replace at the top",
        "{name: a, value: '1', mergingList: [{name: x}]}",
        "{$patch: replace, other: z}",
        "{other: z}",
    ),
    (
        "$patch: delete on a map empties it",
        "simpleMap: {key1: '1', key2: '2'}",
        "simpleMap: {$patch: delete}",
        "simpleMap: {}",
    ),
    (
        "a replace-strategy map is replaced",
        "replacingItem: {a: 1, b: 2}",
        "replacingItem: {c: 3}",
        "replacingItem: {c: 3}",
    ),
    (
        "null deletes; null for a missing field is ignored",
        "{name: a, value: b, simpleMap: {k: v, j: w}}",
        "{value: null, missing: null, simpleMap: {k: null}}",
        "{name: a, simpleMap: {j: w}}",
    ),
    (
        "a new field is taken without nulls and directives",
        "{name: a}",
        "simpleMap: {k: v, gone: null}\nmergingList: [{name: x, value: null}, {name: y, $patch: delete}]\nmergeItemPtr: {$patch: delete, name: z}",
        "{name: a, simpleMap: {k: v}, mergingList: [{name: x}]}",
    ),
    (
        "a value of another type replaces",
        "{simpleMap: {k: v}, mergingList: [{name: a}]}",
        "{simpleMap: flat, mergingList: {name: b}}",
        "{simpleMap: flat, mergingList: {name: b}}",
    ),
    (
        "$setElementOrder reorders merged items",
        "mergingList: [{name: a}, {name: b}, {name: c}]",
        "$setElementOrder/mergingList: [{name: c}, {name: a}, {name: b}]\nmergingList: [{name: a, value: x}]",
        "mergingList: [{name: c}, {name: a, value: x}, {name: b}]",
    ),
    (
        "$setElementOrder without a patch list reorders the live list",
        "mergingIntList: [1, 3]",
        "$setElementOrder/mergingIntList: [3, 2, 1]",
        "mergingIntList: [3, 1]",
    ),
    (
        "$setElementOrder item missing from the live list is ignored",
        "mergingList: [{name: '1'}, {name: '3'}]",
        "$setElementOrder/mergingList: [{name: '3'}, {name: '2'}, {name: '1'}]\nmergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]",
        "mergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]",
    ),
    (
        "server-only items go before an ordered item that follows them in the live list",
        "mergingList: [{name: a}, {name: s}, {name: b}]",
        "$setElementOrder/mergingList: [{name: b}, {name: a}]",
        "mergingList: [{name: s}, {name: b}, {name: a}]",
    ),
    (
        // Upstream orders server-only items by its live slice after `$patch: delete` shifted
        // it and the new item filled the freed slot: 4 stays after 2, 3 goes last.
        "$setElementOrder with deletes orders by the live list as edited in place",
        "mergingList: [{name: '1'}, {name: '2', other: b}, {name: '4', other: c}]",
        "$setElementOrder/mergingList: [{name: '2'}, {name: '3'}]\nmergingList: [{name: '3'}, {name: '1', $patch: delete}]",
        "mergingList: [{name: '2', other: b}, {name: '4', other: c}, {name: '3'}]",
    ),
    (
        "$setElementOrder with a new list",
        "{name: x}",
        "$setElementOrder/mergingList: [{name: b}, {name: a}]\nmergingList: [{name: b}, {name: a}]",
        "{name: x, mergingList: [{name: b}, {name: a}]}",
    ),
    (
        "$deleteFromPrimitiveList removes scalars",
        "mergingIntList: [1, 2, 3]",
        "$setElementOrder/mergingIntList: [1, 2]\n$deleteFromPrimitiveList/mergingIntList: [3]",
        "mergingIntList: [1, 2]",
    ),
    (
        "$deleteFromPrimitiveList of a missing list is a no-op",
        "{name: a}",
        "$deleteFromPrimitiveList/mergingIntList: [3]",
        "{name: a}",
    ),
    (
        "add and delete scalars in one patch",
        "mergingIntList: [1, 2]",
        "mergingIntList: [4]\n$deleteFromPrimitiveList/mergingIntList: [1]",
        "mergingIntList: [4, 2]",
    ),
    (
        "$retainKeys drops unlisted keys and merges the rest",
        "retainKeysMap: {name: a, value: b, other: c, simpleMap: {k: v}}",
        "retainKeysMap: {$retainKeys: [name, simpleMap], simpleMap: {j: w}}",
        "retainKeysMap: {name: a, simpleMap: {k: v, j: w}}",
    ),
    (
        "$retainKeys allows nulls and parallel lists for other keys",
        "retainKeysMap: {name: a, value: b, mergingIntList: [1, 2]}",
        "retainKeysMap: {$retainKeys: [name, mergingIntList], value: null, $deleteFromPrimitiveList/mergingIntList: [1]}",
        "retainKeysMap: {name: a, mergingIntList: [2]}",
    ),
    (
        "$retainKeys inside list items",
        "retainKeysMergingList: [{name: a, value: v, other: o}, {name: b, value: w}]",
        "retainKeysMergingList: [{$retainKeys: [name, other], name: a, other: p}]",
        "retainKeysMergingList: [{name: a, other: p}, {name: b, value: w}]",
    ),
    (
        "empty lists merge to empty",
        "mergingList: []",
        "mergingList: []",
        "mergingList: []",
    ),
    (
        "an empty patch list keeps the live items",
        "mergingList: [{name: a}]",
        "mergingList: []",
        "mergingList: [{name: a}]",
    ),
    (
        "unknown directive keys are dropped",
        "{name: a}",
        "{$unknown: x, value: b}",
        "{name: a, value: b}",
    ),
    (
        "the null patch changes nothing",
        "{name: a}",
        "null",
        "{name: a}",
    ),
];

#[test]
fn strategic_merge_cases() {
    for (description, original, patch, expected) in CASES {
        let got = apply(original, patch).unwrap_or_else(|e| panic!("{description}: {e}"));
        assert_eq!(got, yaml(expected), "{description}");
    }
}

#[test]
fn strategic_merge_does_not_touch_its_inputs() {
    let original = yaml("mergingList: [{name: a}]");
    let patch = yaml("mergingList: [{name: b}]");
    let _ = strategic_merge(&original, &patch, &SCHEMA).unwrap();
    assert_eq!(original, yaml("mergingList: [{name: a}]"));
    assert_eq!(patch, yaml("mergingList: [{name: b}]"));
}

#[test]
fn strategic_merge_errors() {
    use PatchError::{BadRequest, Invalid, Rejected};
    // (description, original, patch, expected error)
    let cases: Vec<(&str, &str, &str, PatchError)> = vec![
        (
            "a patch item without its merge key",
            "mergingList: [{name: a}]",
            "mergingList: [{value: x, other: y}]",
            Rejected("map: map[other:y value:x] does not contain declared merge key: name".into()),
        ),
        (
            "a delete directive without its merge key",
            "mergingList: [{name: a}]",
            "mergingList: [{$patch: delete}]",
            Rejected("map: map[$patch:delete] does not contain declared merge key: name".into()),
        ),
        (
            "$patch: merge in a list",
            "mergingList: [{name: a}]",
            "mergingList: [{$patch: merge}]",
            Rejected("merging lists cannot yet be specified in the patch".into()),
        ),
        (
            "an unknown directive in a list",
            "mergingList: [{name: a}]",
            "mergingList: [{name: a, $patch: frob}]",
            Rejected("unknown patch type: frob in map: map[$patch:frob name:a]".into()),
        ),
        (
            "an unknown directive on a map",
            "simpleMap: {a: b}",
            "simpleMap: {$patch: merge, a: c}",
            Rejected("unknown patch type: merge in map: map[$patch:merge a:c]".into()),
        ),
        (
            "lists of lists",
            "mergingIntList: [1]",
            "mergingIntList: [[2]]",
            Rejected("list element types are not identical: [[1] [[2]]]".into()),
        ),
        (
            "lists of lists everywhere",
            "mergingIntList: [[1]]",
            "mergingIntList: [[2]]",
            Invalid("lists of lists are not supported".into()),
        ),
        (
            "mixed element types",
            "mergingIntList: [1]",
            "mergingIntList: [a]",
            Rejected("list element types are not identical: [[1] [a]]".into()),
        ),
        (
            "a key outside $retainKeys",
            "retainKeysMap: {name: a}",
            "retainKeysMap: {$retainKeys: [name], value: b}",
            BadRequest("invalid patch format of retainKeys".into()),
        ),
        (
            "$retainKeys that is not a list",
            "retainKeysMap: {name: a}",
            "retainKeysMap: {$retainKeys: name}",
            BadRequest("invalid patch format of retainKeys".into()),
        ),
        (
            "a $setElementOrder without a field",
            "mergingList: [{name: a}]",
            "$setElementOrder: [{name: a}]",
            BadRequest("invalid patch format of setElementOrder list".into()),
        ),
        (
            "a $deleteFromPrimitiveList with a bad prefix",
            "mergingIntList: [1]",
            "$deleteFromPrimitiveListX/mergingIntList: [1]",
            BadRequest("invalid patch format of primitive list".into()),
        ),
        (
            "a $setElementOrder that is not a list",
            "mergingList: [{name: a}]",
            "$setElementOrder/mergingList: a",
            Rejected("expected a []interface {}, but received a string".into()),
        ),
        (
            "a patch list out of $setElementOrder order",
            "mergingList: [{name: '1'}, {name: '3'}, {name: '2'}]",
            "$setElementOrder/mergingList: [{name: '1'}, {name: '2'}, {name: '3'}]\nmergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]",
            Rejected("The order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n".into()),
        ),
        (
            "a patch that is not an object",
            "{name: a}",
            "[1]",
            BadRequest("json: cannot unmarshal array into Go value of type map[string]interface {}".into()),
        ),
        (
            "an original that is not an object",
            "[1]",
            "{name: a}",
            BadRequest("invalid JSON document".into()),
        ),
    ];
    for (description, original, patch, expected) in cases {
        let err = apply(original, patch).expect_err(description);
        assert_eq!(err, expected, "{description}");
    }
}

#[test]
fn go_formatting_matches_fmt_v() {
    assert_eq!(
        go_format(&json!({"b": [1, "x", null, true], "a": {"c": 1.5}})),
        "map[a:map[c:1.5] b:[1 x <nil> true]]"
    );
}

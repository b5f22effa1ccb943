//! The REST paths and operations of each resource, as kube-apiserver documents them
//! (operation ids, `x-kubernetes-action`, `x-kubernetes-group-version-kind`, parameters),
//! built once as a small model and rendered as OpenAPI v3 or Swagger 2.0.

use machinery::{ResourceInfo, ResourceTable, Subresource};
use serde_json::{Map, Value, json};

use super::schemas::{DELETE_OPTIONS, Definitions, PATCH, REF_PREFIX, STATUS, WATCH_EVENT};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    String,
    Integer,
    Boolean,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
        }
    }
}

struct Param {
    name: &'static str,
    in_path: bool,
    ty: Ty,
    description: String,
}

/// A response or request payload.
#[derive(Clone)]
enum Payload {
    Def(String),
    Text,
}

struct Body {
    def: String,
    required: bool,
    content_types: Vec<&'static str>,
}

struct Op {
    method: &'static str,
    action: &'static str,
    id: String,
    description: String,
    gvk: (String, String, String),
    params: Vec<Param>,
    body: Option<Body>,
    responses: Vec<(&'static str, &'static str, Option<Payload>)>,
    produces: &'static [&'static str],
}

pub(super) struct PathItem {
    path: String,
    params: Vec<Param>,
    ops: Vec<Op>,
}

const JSON: &[&str] = &["application/json"];
const JSON_STREAM: &[&str] = &["application/json", "application/json;stream=watch"];
const LOG: &[&str] = &["text/plain", "application/json"];
const ANY: &str = "*/*";

/// The query parameters kube-apiserver documents, with upstream's types.
fn query(name: &'static str) -> Param {
    let (ty, description) = match name {
        "pretty" => (
            Ty::String,
            "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
        ),
        "dryRun" => (
            Ty::String,
            "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
        ),
        "fieldManager" => (
            Ty::String,
            "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).",
        ),
        "fieldValidation" => (
            Ty::String,
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are silently dropped from the object, and only the last of duplicate fields is kept. - Warn: each unknown or duplicate field is reported in a warning header (\"Warning: 299\"), and the request still succeeds. - Strict: the request fails with a BadRequest error if the object has unknown or duplicate fields. The default is Strict.",
        ),
        "force" => (
            Ty::Boolean,
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
        ),
        "labelSelector" => (
            Ty::String,
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
        ),
        "fieldSelector" => (
            Ty::String,
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
        ),
        "limit" => (
            Ty::Integer,
            "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.",
        ),
        "continue" => (
            Ty::String,
            "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue).",
        ),
        "resourceVersion" => (
            Ty::String,
            "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        "resourceVersionMatch" => (
            Ty::String,
            "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        "watch" => (
            Ty::Boolean,
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.",
        ),
        "timeoutSeconds" => (
            Ty::Integer,
            "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
        ),
        "allowWatchBookmarks" => (
            Ty::Boolean,
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. If this is not a watch, this field is ignored.",
        ),
        "sendInitialEvents" => (
            Ty::Boolean,
            "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event will be sent, annotated with `\"k8s.io/initial-events-end\": \"true\"`. Requires `resourceVersionMatch=NotOlderThan`.",
        ),
        "gracePeriodSeconds" => (
            Ty::Integer,
            "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used.",
        ),
        "propagationPolicy" => (
            Ty::String,
            "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
        ),
        "orphanDependents" => (
            Ty::Boolean,
            "Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list.",
        ),
        "container" => (
            Ty::String,
            "The container for which to stream logs. Defaults to only container if there is one container in the pod.",
        ),
        "follow" => (
            Ty::Boolean,
            "Follow the log stream of the pod. Defaults to false.",
        ),
        "limitBytes" => (
            Ty::Integer,
            "If set, the number of bytes to read from the server before terminating the log output.",
        ),
        "previous" => (
            Ty::Boolean,
            "Return previous terminated container logs. Defaults to false.",
        ),
        "sinceSeconds" => (
            Ty::Integer,
            "A relative time in seconds before the current time from which to show logs. Only one of sinceSeconds or sinceTime may be specified.",
        ),
        "sinceTime" => (
            Ty::String,
            "An RFC3339 timestamp from which to show logs. Only one of sinceSeconds or sinceTime may be specified.",
        ),
        "tailLines" => (
            Ty::Integer,
            "If set, the number of lines from the end of the logs to show.",
        ),
        "timestamps" => (
            Ty::Boolean,
            "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false.",
        ),
        "insecureSkipTLSVerifyBackend" => (
            Ty::Boolean,
            "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.",
        ),
        _ => (Ty::String, ""),
    };
    Param {
        name,
        in_path: false,
        ty,
        description: description.to_string(),
    }
}

fn path_param(name: &'static str, description: String) -> Param {
    Param {
        name,
        in_path: true,
        ty: Ty::String,
        description,
    }
}

fn queries(names: &[&'static str]) -> Vec<Param> {
    names.iter().map(|n| query(n)).collect()
}

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "orphanDependents",
    "propagationPolicy",
];
const DELETE_COLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
const LOG_PARAMS: &[&str] = &[
    "container",
    "follow",
    "insecureSkipTLSVerifyBackend",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "sinceTime",
    "tailLines",
    "timestamps",
];

const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
/// Custom resources take no strategic merge patch; kubectl reads this to send a merge patch.
const CUSTOM_PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

/// `Core`, `Apps`, `RbacAuthorization`, `StableExampleCom`: the group in operation ids.
fn group_id(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed
        .split(['.', '-'])
        .map(upper_first)
        .collect::<Vec<_>>()
        .concat()
}

/// `core_v1`, `apps_v1`, `rbacAuthorization_v1`: the operation tag.
fn tag(group: &str, version: &str) -> String {
    let g = group_id(group);
    let mut chars = g.chars();
    let lower = match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    format!("{lower}_{version}")
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(super) fn url_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// Everything needed to describe one resource's operations.
struct Res<'a> {
    r: &'a ResourceInfo,
    kind_def: String,
    list_def: String,
    gv_id: String,
    builtin: bool,
}

impl Res<'_> {
    fn gvk(&self) -> (String, String, String) {
        (
            self.r.group.clone(),
            self.r.version.clone(),
            self.r.kind.clone(),
        )
    }

    fn scope(&self) -> &'static str {
        if self.r.namespaced { "Namespaced" } else { "" }
    }

    /// `readCoreV1NamespacedPodStatus`.
    fn id(&self, verb: &str, suffix: &str) -> String {
        format!(
            "{verb}{}{}{}{suffix}",
            self.gv_id,
            self.scope(),
            self.r.kind
        )
    }

    fn op(
        &self,
        method: &'static str,
        action: &'static str,
        id: String,
        description: String,
    ) -> Op {
        Op {
            method,
            action,
            id,
            description,
            gvk: self.gvk(),
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
            produces: JSON,
        }
    }

    fn patch_types(&self) -> Vec<&'static str> {
        if self.builtin {
            PATCH_TYPES.to_vec()
        } else {
            CUSTOM_PATCH_TYPES.to_vec()
        }
    }

    fn name_param(&self) -> Param {
        path_param("name", format!("name of the {}", self.r.kind))
    }

    fn item_path_params(&self) -> Vec<Param> {
        let mut p = vec![self.name_param()];
        if self.r.namespaced {
            p.push(namespace_param());
        }
        p.push(query("pretty"));
        p
    }

    /// read/replace/patch of the object itself or of a subresource that shares its shape
    /// (`status`), or of one with another kind (`scale`).
    fn read_replace_patch(
        &self,
        what: &str,
        suffix: &str,
        def: &str,
        gvk: (String, String, String),
    ) -> Vec<Op> {
        let of = if what.is_empty() {
            String::new()
        } else {
            format!("{what} of ")
        };
        let kind = &self.r.kind;
        let mut get = self.op(
            "get",
            "get",
            self.id("read", suffix),
            format!("read {of}the specified {kind}"),
        );
        get.gvk = gvk.clone();
        get.responses = vec![("200", "OK", Some(Payload::Def(def.into())))];

        let mut put = self.op(
            "put",
            "put",
            self.id("replace", suffix),
            format!("replace {of}the specified {kind}"),
        );
        put.gvk = gvk.clone();
        put.params = queries(WRITE_PARAMS);
        put.body = Some(Body {
            def: def.into(),
            required: true,
            content_types: vec![ANY],
        });
        put.responses = vec![
            ("200", "OK", Some(Payload::Def(def.into()))),
            ("201", "Created", Some(Payload::Def(def.into()))),
        ];

        let mut patch = self.op(
            "patch",
            "patch",
            self.id("patch", suffix),
            format!("partially update {of}the specified {kind}"),
        );
        patch.gvk = gvk;
        patch.params = queries(PATCH_PARAMS);
        patch.body = Some(Body {
            def: PATCH.into(),
            required: true,
            content_types: self.patch_types(),
        });
        patch.responses = vec![
            ("200", "OK", Some(Payload::Def(def.into()))),
            ("201", "Created", Some(Payload::Def(def.into()))),
        ];
        vec![get, put, patch]
    }

    fn create_sub(&self, suffix: &str, what: &str, def: &str, gvk: (String, String, String)) -> Op {
        let mut post = self.op(
            "post",
            "post",
            self.id("create", suffix),
            format!("create {what} of a {}", self.r.kind),
        );
        post.gvk = gvk;
        post.params = queries(WRITE_PARAMS);
        post.body = Some(Body {
            def: def.into(),
            required: true,
            content_types: vec![ANY],
        });
        post.responses = vec![
            ("200", "OK", Some(Payload::Def(def.into()))),
            ("201", "Created", Some(Payload::Def(def.into()))),
            ("202", "Accepted", Some(Payload::Def(def.into()))),
        ];
        post
    }
}

fn namespace_param() -> Param {
    path_param(
        "namespace",
        "object name and auth scope, such as for teams and projects".into(),
    )
}

/// The paths of every resource of one group-version, sorted by path.
pub(super) fn group_version_paths(
    table: &ResourceTable,
    defs: &Definitions,
    group: &str,
    version: &str,
) -> Vec<PathItem> {
    let mut out = Vec::new();
    for r in table.in_group_version(group, version) {
        let Some(kind_def) = defs.name_of(&r.group, &r.version, &r.kind) else {
            continue;
        };
        let res = Res {
            r,
            kind_def: kind_def.to_string(),
            list_def: defs
                .name_of(&r.group, &r.version, &r.list_kind())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{kind_def}List")),
            gv_id: format!("{}{}", group_id(group), upper_first(version)),
            builtin: defs.is_builtin(&r.group, &r.version, &r.kind),
        };
        resource_paths(&res, defs, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn resource_paths(res: &Res<'_>, defs: &Definitions, out: &mut Vec<PathItem>) {
    let r = res.r;
    let kind = &r.kind;
    let prefix = url_prefix(&r.group, &r.version);
    let (collection, item, watch_collection, watch_item) = if r.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural),
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural),
            format!("{prefix}/watch/namespaces/{{namespace}}/{}", r.plural),
            format!(
                "{prefix}/watch/namespaces/{{namespace}}/{}/{{name}}",
                r.plural
            ),
        )
    } else {
        (
            format!("{prefix}/{}", r.plural),
            format!("{prefix}/{}/{{name}}", r.plural),
            format!("{prefix}/watch/{}", r.plural),
            format!("{prefix}/watch/{}/{{name}}", r.plural),
        )
    };

    // The collection: list, create, deletecollection.
    let mut list = res.op(
        "get",
        "list",
        res.id("list", ""),
        format!("list or watch objects of kind {kind}"),
    );
    list.params = queries(LIST_PARAMS);
    list.responses = vec![("200", "OK", Some(Payload::Def(res.list_def.clone())))];
    list.produces = JSON_STREAM;

    let mut create = res.op(
        "post",
        "post",
        res.id("create", ""),
        format!("create a {kind}"),
    );
    create.params = queries(WRITE_PARAMS);
    create.body = Some(Body {
        def: res.kind_def.clone(),
        required: true,
        content_types: vec![ANY],
    });
    create.responses = vec![
        ("200", "OK", Some(Payload::Def(res.kind_def.clone()))),
        ("201", "Created", Some(Payload::Def(res.kind_def.clone()))),
        ("202", "Accepted", Some(Payload::Def(res.kind_def.clone()))),
    ];

    let mut delete_collection = res.op(
        "delete",
        "deletecollection",
        format!("delete{}Collection{}{kind}", res.gv_id, res.scope()),
        format!("delete collection of {kind}"),
    );
    delete_collection.params = queries(DELETE_COLLECTION_PARAMS);
    delete_collection.body = Some(Body {
        def: DELETE_OPTIONS.into(),
        required: false,
        content_types: vec![ANY],
    });
    delete_collection.responses = vec![("200", "OK", Some(Payload::Def(STATUS.into())))];

    let mut collection_params = Vec::new();
    if r.namespaced {
        collection_params.push(namespace_param());
    }
    collection_params.push(query("pretty"));
    out.push(PathItem {
        path: collection,
        params: collection_params,
        ops: vec![list, create, delete_collection],
    });

    // The object: read, replace, patch, delete.
    let mut ops = res.read_replace_patch("", "", &res.kind_def, res.gvk());
    let mut delete = res.op(
        "delete",
        "delete",
        res.id("delete", ""),
        format!("delete a {kind}"),
    );
    delete.params = queries(DELETE_PARAMS);
    delete.body = Some(Body {
        def: DELETE_OPTIONS.into(),
        required: false,
        content_types: vec![ANY],
    });
    delete.responses = vec![
        ("200", "OK", Some(Payload::Def(res.kind_def.clone()))),
        ("202", "Accepted", Some(Payload::Def(res.kind_def.clone()))),
    ];
    ops.push(delete);
    out.push(PathItem {
        path: item.clone(),
        params: res.item_path_params(),
        ops,
    });

    // Namespaced kinds are also listed across namespaces.
    if r.namespaced {
        let mut all = res.op(
            "get",
            "list",
            format!("list{}{kind}ForAllNamespaces", res.gv_id),
            format!("list or watch objects of kind {kind}"),
        );
        all.responses = vec![("200", "OK", Some(Payload::Def(res.list_def.clone())))];
        all.produces = JSON_STREAM;
        let mut params = queries(LIST_PARAMS);
        params.push(query("pretty"));
        out.push(PathItem {
            path: format!("{prefix}/{}", r.plural),
            params,
            ops: vec![all],
        });
    }

    // The deprecated watch paths.
    let watch_event = Payload::Def(WATCH_EVENT.into());
    let mut watch_list = res.op(
        "get",
        "watchlist",
        res.id("watch", "List"),
        format!(
            "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
        ),
    );
    watch_list.responses = vec![("200", "OK", Some(watch_event.clone()))];
    watch_list.produces = JSON_STREAM;
    let mut params = queries(LIST_PARAMS);
    if r.namespaced {
        params.push(namespace_param());
    }
    params.push(query("pretty"));
    out.push(PathItem {
        path: watch_collection,
        params,
        ops: vec![watch_list],
    });
    let mut watch_one = res.op(
        "get",
        "watch",
        res.id("watch", ""),
        format!(
            "watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
        ),
    );
    watch_one.responses = vec![("200", "OK", Some(watch_event))];
    watch_one.produces = JSON_STREAM;
    let mut params = queries(LIST_PARAMS);
    params.push(res.name_param());
    if r.namespaced {
        params.push(namespace_param());
    }
    params.push(query("pretty"));
    out.push(PathItem {
        path: watch_item,
        params,
        ops: vec![watch_one],
    });
    if r.namespaced {
        let mut watch_all = res.op(
            "get",
            "watchlist",
            format!("watch{}{kind}ListForAllNamespaces", res.gv_id),
            format!(
                "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
            ),
        );
        watch_all.responses = vec![("200", "OK", Some(Payload::Def(WATCH_EVENT.into())))];
        watch_all.produces = JSON_STREAM;
        let mut params = queries(LIST_PARAMS);
        params.push(query("pretty"));
        out.push(PathItem {
            path: format!("{prefix}/watch/{}", r.plural),
            params,
            ops: vec![watch_all],
        });
    }

    // Subresources.
    for sub in &r.subresources {
        let path = format!("{item}/{}", sub.name());
        let ops = match sub {
            Subresource::Status => {
                res.read_replace_patch("status", "Status", &res.kind_def, res.gvk())
            }
            Subresource::Approval => {
                res.read_replace_patch("approval", "Approval", &res.kind_def, res.gvk())
            }
            Subresource::Scale => {
                let Some(def) = defs.name_of("autoscaling", "v1", "Scale") else {
                    continue;
                };
                let gvk = ("autoscaling".into(), "v1".into(), "Scale".into());
                res.read_replace_patch("scale", "Scale", def, gvk)
            }
            Subresource::Binding => {
                let Some(def) = defs.name_of("", "v1", "Binding") else {
                    continue;
                };
                let gvk = (String::new(), "v1".into(), "Binding".into());
                vec![res.create_sub("Binding", "binding", def, gvk)]
            }
            Subresource::Eviction => {
                let Some(def) = defs.name_of("policy", "v1", "Eviction") else {
                    continue;
                };
                let gvk = ("policy".into(), "v1".into(), "Eviction".into());
                vec![res.create_sub("Eviction", "eviction", def, gvk)]
            }
            Subresource::Log => {
                let mut get = res.op(
                    "get",
                    "get",
                    res.id("read", "Log"),
                    format!("read log of the specified {kind}"),
                );
                get.params = queries(LOG_PARAMS);
                get.responses = vec![("200", "OK", Some(Payload::Text))];
                get.produces = LOG;
                vec![get]
            }
        };
        out.push(PathItem {
            path,
            params: res.item_path_params(),
            ops,
        });
    }
    if r.group.is_empty() && r.plural == "namespaces" {
        let mut put = res.op(
            "put",
            "put",
            res.id("replace", "Finalize"),
            format!("replace finalize of the specified {kind}"),
        );
        put.params = queries(WRITE_PARAMS);
        put.body = Some(Body {
            def: res.kind_def.clone(),
            required: true,
            content_types: vec![ANY],
        });
        put.responses = vec![
            ("200", "OK", Some(Payload::Def(res.kind_def.clone()))),
            ("201", "Created", Some(Payload::Def(res.kind_def.clone()))),
        ];
        out.push(PathItem {
            path: format!("{item}/finalize"),
            params: res.item_path_params(),
            ops: vec![put],
        });
    }
}

/// The definitions that the paths refer to.
pub(super) fn referenced_definitions(paths: &[PathItem]) -> Vec<&str> {
    let mut out = Vec::new();
    for p in paths {
        for op in &p.ops {
            if let Some(b) = &op.body {
                out.push(b.def.as_str());
            }
            for (_, _, payload) in &op.responses {
                if let Some(Payload::Def(d)) = payload {
                    out.push(d.as_str());
                }
            }
        }
    }
    out
}

fn gvk_json(gvk: &(String, String, String)) -> Value {
    json!({ "group": gvk.0, "kind": gvk.2, "version": gvk.1 })
}

fn param_v3(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.name));
    m.insert("in".into(), json!(if p.in_path { "path" } else { "query" }));
    if !p.description.is_empty() {
        m.insert("description".into(), json!(p.description));
    }
    if p.in_path {
        m.insert("required".into(), json!(true));
    }
    m.insert(
        "schema".into(),
        json!({ "type": p.ty.name(), "uniqueItems": true }),
    );
    Value::Object(m)
}

fn param_v2(p: &Param) -> Value {
    let mut m = Map::new();
    if !p.description.is_empty() {
        m.insert("description".into(), json!(p.description));
    }
    m.insert("in".into(), json!(if p.in_path { "path" } else { "query" }));
    m.insert("name".into(), json!(p.name));
    if p.in_path {
        m.insert("required".into(), json!(true));
    }
    m.insert("type".into(), json!(p.ty.name()));
    m.insert("uniqueItems".into(), json!(true));
    Value::Object(m)
}

fn payload_schema(p: &Payload, ref_prefix: &str) -> Value {
    match p {
        Payload::Def(d) => json!({ "$ref": format!("{ref_prefix}{d}") }),
        Payload::Text => json!({ "type": "string" }),
    }
}

fn op_v3(op: &Op, tag: &str) -> Value {
    let mut m = Map::new();
    m.insert("tags".into(), json!([tag]));
    m.insert("description".into(), json!(op.description));
    m.insert("operationId".into(), json!(op.id));
    if !op.params.is_empty() {
        m.insert(
            "parameters".into(),
            Value::Array(op.params.iter().map(param_v3).collect()),
        );
    }
    if let Some(body) = &op.body {
        let schema = payload_schema(&Payload::Def(body.def.clone()), REF_PREFIX);
        let content: Map<String, Value> = body
            .content_types
            .iter()
            .map(|ct| (ct.to_string(), json!({ "schema": schema })))
            .collect();
        let mut rb = Map::new();
        rb.insert("content".into(), Value::Object(content));
        if body.required {
            rb.insert("required".into(), json!(true));
        }
        m.insert("requestBody".into(), Value::Object(rb));
    }
    let mut responses = Map::new();
    for (code, description, payload) in &op.responses {
        let mut r = Map::new();
        r.insert("description".into(), json!(description));
        if let Some(p) = payload {
            let schema = payload_schema(p, REF_PREFIX);
            let content: Map<String, Value> = op
                .produces
                .iter()
                .map(|ct| (ct.to_string(), json!({ "schema": schema })))
                .collect();
            r.insert("content".into(), Value::Object(content));
        }
        responses.insert(code.to_string(), Value::Object(r));
    }
    responses.insert("401".into(), json!({ "description": "Unauthorized" }));
    m.insert("responses".into(), Value::Object(responses));
    m.insert("x-kubernetes-action".into(), json!(op.action));
    m.insert("x-kubernetes-group-version-kind".into(), gvk_json(&op.gvk));
    Value::Object(m)
}

fn op_v2(op: &Op, tag: &str, ref_prefix: &str) -> Value {
    let mut m = Map::new();
    let consumes: Vec<&str> = match &op.body {
        Some(b) => b.content_types.clone(),
        None => vec![ANY],
    };
    m.insert("consumes".into(), json!(consumes));
    m.insert("description".into(), json!(op.description));
    m.insert("operationId".into(), json!(op.id));
    let mut params = Vec::new();
    if let Some(body) = &op.body {
        let mut b = Map::new();
        b.insert("in".into(), json!("body"));
        b.insert("name".into(), json!("body"));
        if body.required {
            b.insert("required".into(), json!(true));
        }
        b.insert(
            "schema".into(),
            payload_schema(&Payload::Def(body.def.clone()), ref_prefix),
        );
        params.push(Value::Object(b));
    }
    params.extend(op.params.iter().map(param_v2));
    if !params.is_empty() {
        m.insert("parameters".into(), Value::Array(params));
    }
    m.insert("produces".into(), json!(op.produces));
    let mut responses = Map::new();
    for (code, description, payload) in &op.responses {
        let mut r = Map::new();
        r.insert("description".into(), json!(description));
        if let Some(p) = payload {
            r.insert("schema".into(), payload_schema(p, ref_prefix));
        }
        responses.insert(code.to_string(), Value::Object(r));
    }
    responses.insert("401".into(), json!({ "description": "Unauthorized" }));
    m.insert("responses".into(), Value::Object(responses));
    m.insert("schemes".into(), json!(["https"]));
    m.insert("tags".into(), json!([tag]));
    m.insert("x-kubernetes-action".into(), json!(op.action));
    m.insert("x-kubernetes-group-version-kind".into(), gvk_json(&op.gvk));
    Value::Object(m)
}

/// OpenAPI v3 `paths` of one group-version.
pub(super) fn render_v3(paths: &[PathItem], group: &str, version: &str) -> Map<String, Value> {
    let tag = tag(group, version);
    let mut out = Map::new();
    for p in paths {
        let mut item = Map::new();
        for op in &p.ops {
            item.insert(op.method.into(), op_v3(op, &tag));
        }
        if !p.params.is_empty() {
            item.insert(
                "parameters".into(),
                Value::Array(p.params.iter().map(param_v3).collect()),
            );
        }
        out.insert(p.path.clone(), Value::Object(item));
    }
    out
}

/// Swagger 2.0 `paths` of one group-version, added to `out`.
pub(super) fn render_v2(
    paths: &[PathItem],
    group: &str,
    version: &str,
    ref_prefix: &str,
    out: &mut Map<String, Value>,
) {
    let tag = tag(group, version);
    for p in paths {
        let mut item = Map::new();
        for op in &p.ops {
            item.insert(op.method.into(), op_v2(op, &tag, ref_prefix));
        }
        if !p.params.is_empty() {
            item.insert(
                "parameters".into(),
                Value::Array(p.params.iter().map(param_v2).collect()),
            );
        }
        out.insert(p.path.clone(), Value::Object(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tags_follow_upstream() {
        assert_eq!(group_id(""), "Core");
        assert_eq!(group_id("apps"), "Apps");
        assert_eq!(group_id("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(group_id("stable.example.com"), "StableExampleCom");
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(tag("coordination.k8s.io", "v1"), "coordination_v1");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
    }
}

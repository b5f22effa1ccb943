//! Turning a URL into what it asks for: group, version, namespace, resource, name,
//! subresource and verb (upstream's RequestInfo), and the query parameters clients send.

use std::collections::HashMap;

use http::Method;
use machinery::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix was used.
    pub watch_path: bool,
}

/// Parses `/api/v1/...` and `/apis/<group>/<version>/...` resource paths. `None` for paths
/// that name no resource (discovery documents are routed before this).
pub fn parse_path(path: &str) -> Option<RequestInfo> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (group.to_string(), version.to_string(), rest),
        _ => return None,
    };
    let (watch_path, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let owned = |s: &&str| s.to_string();
    let info =
        |namespace: Option<&&str>, resource: &&str, name: Option<&&str>, sub: Option<&&str>| {
            Some(RequestInfo {
                group: group.clone(),
                version: version.clone(),
                namespace: namespace.map(owned),
                resource: resource.to_string(),
                name: name.map(owned),
                subresource: sub.map(owned),
                watch_path,
            })
        };
    match rest {
        // /namespaces/{ns}/{resource}[/{name}[/{sub}]]
        ["namespaces", ns, resource] => info(Some(ns), resource, None, None),
        ["namespaces", ns, resource, name] => info(Some(ns), resource, Some(name), None),
        ["namespaces", ns, resource, name, sub] => info(Some(ns), resource, Some(name), Some(sub)),
        // /namespaces/{name} is the namespace itself; /namespaces/{name}/status|finalize its
        // subresources — matched above only when followed by a name, so {ns}/{x} lands here.
        [resource] => info(None, resource, None, None),
        [resource, name] => info(None, resource, Some(name), None),
        [resource, name, sub] => info(None, resource, Some(name), Some(sub)),
        _ => None,
    }
    .map(|mut ri| {
        // `/api/v1/namespaces/{ns}/status` parsed as resource "status" in namespace {ns}:
        // it is the namespace's subresource.
        if ri.group.is_empty()
            && ri.name.is_none()
            && (ri.resource == "status" || ri.resource == "finalize")
            && ri.namespace.is_some()
        {
            ri.subresource = Some(ri.resource.clone());
            ri.name = ri.namespace.take();
            ri.resource = "namespaces".into();
        }
        ri
    })
}

/// What a request does, by method and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }
}

pub fn verb_for(method: &Method, info: &RequestInfo, query: &Query) -> Result<Verb, ApiError> {
    let named = info.name.is_some();
    let watch = info.watch_path || query.flag("watch");
    Ok(match (method.as_str(), named) {
        ("GET", true) if watch => Verb::Watch,
        ("GET", true) => Verb::Get,
        ("GET", false) if watch => Verb::Watch,
        ("GET", false) => Verb::List,
        ("POST", false) => Verb::Create,
        // POST to a named subresource (pods/binding, pods/eviction) creates it.
        ("POST", true) if info.subresource.is_some() => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        (m, _) => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                format!("the server does not allow this method on the requested resource ({m})"),
            ));
        }
    })
}

/// Query parameters. Repeated keys keep the first value.
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut params = HashMap::new();
        if let Some(q) = raw {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                params
                    .entry(k.into_owned())
                    .or_insert_with(|| v.into_owned());
            }
        }
        Self { params }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `true`, `1` (and upstream's other truthy spellings) are true.
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("true" | "1" | "True" | "TRUE" | "t" | "T")
        )
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value for {key}: \"{v}\": must be an integer"
                ))
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(path: &str) -> RequestInfo {
        parse_path(path).unwrap()
    }

    #[test]
    fn paths() {
        let r = p("/api/v1/namespaces/default/pods/web/status");
        assert_eq!(
            (
                r.group.as_str(),
                r.namespace.as_deref(),
                r.resource.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("", Some("default"), "pods", Some("web"), Some("status"))
        );
        let r = p("/apis/apps/v1/deployments");
        assert_eq!(
            (r.group.as_str(), r.resource.as_str(), r.name),
            ("apps", "deployments", None)
        );
        let r = p("/api/v1/namespaces/kube-system");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("kube-system"), None)
        );
        let r = p("/api/v1/namespaces/x/status");
        assert_eq!(
            (
                r.resource.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("namespaces", Some("x"), Some("status"))
        );
        let r = p("/api/v1/namespaces/x/configmaps");
        assert_eq!(
            (r.resource.as_str(), r.namespace.as_deref(), r.name),
            ("configmaps", Some("x"), None)
        );
        let r = p("/api/v1/nodes/n1/status");
        assert_eq!(
            (
                r.resource.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("nodes", Some("n1"), Some("status"))
        );
        let r = p("/api/v1/watch/namespaces/default/pods");
        assert!(r.watch_path);
        assert!(parse_path("/api").is_none());
        assert!(parse_path("/foo/v1/pods").is_none());
        assert!(parse_path("/api/v1/namespaces/a/b/c/d/e").is_none());
    }

    #[test]
    fn query_flags() {
        let q = Query::parse(Some("watch=1&limit=500&labelSelector=app%3Dweb"));
        assert!(q.flag("watch"));
        assert_eq!(q.i64("limit").unwrap(), Some(500));
        assert_eq!(q.get("labelSelector"), Some("app=web"));
        assert!(Query::parse(Some("limit=x")).i64("limit").is_err());
    }
}

//! Authorization, minimal until RBAC arrives: every authenticated user may do everything,
//! except bootstrap-token users (group `system:bootstrappers`), who may only read discovery
//! and create, get, list and watch CertificateSigningRequests — what upstream's
//! `system:node-bootstrapper` ClusterRole and `system:discovery` grant. Nodes with client
//! certificates (`system:node:<name>` in `system:nodes`) keep full access for now: the node
//! authorizer, which limits a node to its own objects, comes later.

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::Method;
use machinery::ApiError;
use machinery::status::StatusDetails;

use crate::auth::UserInfo;
use crate::bootstraptoken::BOOTSTRAPPERS_GROUP;
use crate::handlers::codec::error_response;
use crate::handlers::request::{self, Query};

/// Wraps `router` in authorization; install it inside authentication (the user must be in
/// the request extensions already), i.e. call `with_authentication` on the result.
pub fn with_authorization(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(authorize))
}

async fn authorize(request: Request, next: Next) -> Response {
    if let Some(user) = request.extensions().get::<UserInfo>() {
        let uri = request.uri();
        if let Err(e) = decide(user, request.method(), uri.path(), uri.query()) {
            return error_response(&e);
        }
    }
    next.run(request).await
}

/// Non-resource paths every authenticated user may GET (upstream's `system:discovery`,
/// `system:public-info-viewer`).
fn is_discovery_path(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "/api" | "/apis" | "/version" | "/healthz" | "/livez" | "/readyz"
    ) || [
        "/api/",
        "/apis/",
        "/openapi/",
        "/healthz/",
        "/livez/",
        "/readyz/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

/// Whether `user` may make this request; the error is upstream's 403 Status.
pub fn decide(
    user: &UserInfo,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Result<(), ApiError> {
    if !user.in_group(BOOTSTRAPPERS_GROUP) {
        return Ok(());
    }
    let Some(info) = request::parse_path(path) else {
        if *method == Method::GET && is_discovery_path(path) {
            return Ok(());
        }
        let verb = method.as_str().to_ascii_lowercase();
        return Err(ApiError::forbidden(format!(
            "forbidden: User \"{}\" cannot {verb} path \"{path}\"",
            user.name
        )));
    };
    let query = Query::parse(query);
    let verb = request::verb_for(method, &info, &query)
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|_| method.as_str().to_ascii_lowercase());
    let allowed = info.group == "certificates.k8s.io"
        && info.resource == "certificatesigningrequests"
        && info.subresource.is_none()
        && matches!(verb.as_str(), "create" | "get" | "list" | "watch");
    if allowed {
        return Ok(());
    }
    Err(forbidden(user, &verb, &info))
}

fn forbidden(user: &UserInfo, verb: &str, info: &request::RequestInfo) -> ApiError {
    let mut resource = info.resource.clone();
    if let Some(sub) = &info.subresource {
        resource = format!("{resource}/{sub}");
    }
    let scope = match &info.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let reason = format!(
        "User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
        user.name, info.group
    );
    let qualified = if info.group.is_empty() {
        info.resource.clone()
    } else {
        format!("{}.{}", info.resource, info.group)
    };
    let name = info.name.clone().unwrap_or_default();
    let message = if name.is_empty() {
        format!("{qualified} is forbidden: {reason}")
    } else {
        format!("{qualified} \"{name}\" is forbidden: {reason}")
    };
    let mut err = ApiError::forbidden(message);
    err.details = Some(Box::new(StatusDetails {
        name,
        group: info.group.clone(),
        kind: info.resource.clone(),
        ..StatusDetails::default()
    }));
    err
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn bootstrapper() -> UserInfo {
        UserInfo::authenticated(
            "system:bootstrap:abcdef".into(),
            String::new(),
            vec![BOOTSTRAPPERS_GROUP.into()],
        )
    }

    #[test]
    fn bootstrappers_may_only_request_certificates() {
        let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
        let allowed = [
            (Method::POST, csrs.to_string(), None),
            (Method::GET, format!("{csrs}/node-csr-1"), None),
            (Method::GET, csrs.to_string(), None),
            (Method::GET, csrs.to_string(), Some("watch=1")),
            (Method::GET, "/api".to_string(), None),
            (
                Method::GET,
                "/apis/certificates.k8s.io/v1".to_string(),
                None,
            ),
            (Method::GET, "/version".to_string(), None),
        ];
        for (m, p, q) in &allowed {
            assert!(decide(&bootstrapper(), m, p, *q).is_ok(), "{m} {p}");
        }
        let denied = [
            (Method::PUT, format!("{csrs}/x/approval")),
            (Method::DELETE, format!("{csrs}/x")),
            (Method::GET, "/api/v1/nodes".to_string()),
            (Method::POST, "/api/v1/namespaces/default/pods".to_string()),
            (Method::GET, "/metrics".to_string()),
        ];
        for (m, p) in &denied {
            let e = decide(&bootstrapper(), m, p, None).unwrap_err();
            assert_eq!(e.code, 403, "{m} {p}");
        }
    }

    #[test]
    fn messages_match_kube_apiserver() {
        let cases = [
            (
                Method::GET,
                "/api/v1/pods",
                "pods is forbidden: User \"system:bootstrap:abcdef\" cannot list resource \"pods\" in API group \"\" at the cluster scope",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/kube-system/secrets/s1",
                "secrets \"s1\" is forbidden: User \"system:bootstrap:abcdef\" cannot get resource \"secrets\" in API group \"\" in the namespace \"kube-system\"",
            ),
            (
                Method::PUT,
                "/apis/certificates.k8s.io/v1/certificatesigningrequests/c1/approval",
                "certificatesigningrequests.certificates.k8s.io \"c1\" is forbidden: User \"system:bootstrap:abcdef\" cannot update resource \"certificatesigningrequests/approval\" in API group \"certificates.k8s.io\" at the cluster scope",
            ),
            (
                Method::GET,
                "/metrics",
                "forbidden: User \"system:bootstrap:abcdef\" cannot get path \"/metrics\"",
            ),
        ];
        for (m, p, want) in cases {
            let e = decide(&bootstrapper(), &m, p, None).unwrap_err();
            assert_eq!(e.message, want);
            assert_eq!(e.reason, "Forbidden");
        }
    }

    #[test]
    fn others_keep_full_access() {
        let node = UserInfo::authenticated(
            "system:node:n1".into(),
            String::new(),
            vec!["system:nodes".into()],
        );
        assert!(decide(&node, &Method::DELETE, "/api/v1/nodes/n2", None).is_ok());
        let anonymous = UserInfo::anonymous();
        assert!(decide(&anonymous, &Method::GET, "/healthz", None).is_ok());
    }
}

//! Content negotiation and body decoding: JSON (the default, also for a missing
//! Content-Type, which the Python client sends), YAML, and clear refusals for what is not
//! served yet.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use machinery::ApiError;
use serde_json::Value;

/// kube-apiserver's limit on request bodies (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Yaml,
    /// Kubernetes protobuf (`k8s\0` + runtime.Unknown) for the built-in kinds; anything it
    /// cannot encode goes out as JSON.
    Protobuf,
}

/// Picks the response encoding from Accept. JSON unless YAML is asked for first; 406 when
/// the client accepts neither (e.g. protobuf only).
pub fn negotiate(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Encoding::Json);
    };
    if accept.trim().is_empty() {
        return Ok(Encoding::Json);
    }
    for part in accept.split(',') {
        let media = part.split(';').next().unwrap_or("").trim();
        match media {
            "application/json" | "*/*" | "application/*" | "" => return Ok(Encoding::Json),
            "application/yaml" => return Ok(Encoding::Yaml),
            "application/vnd.kubernetes.protobuf" => return Ok(Encoding::Protobuf),
            _ => {}
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json, application/yaml (asked for {accept})"
    )))
}

/// What representation of objects a client asks for, beyond the encoding: the objects
/// themselves, a `meta.k8s.io` Table (kubectl get), or PartialObjectMetadata (metadata-only
/// informers). The str is the meta.k8s.io apiVersion asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Object,
    Table(&'static str),
    Metadata(&'static str),
}

/// Encoding and target from Accept: the first entry this server can answer wins, as in
/// kube-apiserver (kubectl lists Table v1, Table v1beta1, then plain JSON).
pub fn negotiate_target(headers: &HeaderMap) -> Result<(Encoding, Target), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok((Encoding::Json, Target::Object));
    };
    if accept.trim().is_empty() {
        return Ok((Encoding::Json, Target::Object));
    }
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let encoding = match media {
            "application/json" | "*/*" | "application/*" | "" => Encoding::Json,
            "application/yaml" => Encoding::Yaml,
            "application/vnd.kubernetes.protobuf" => Encoding::Protobuf,
            _ => continue,
        };
        let version = match get("v") {
            Some("v1") => "meta.k8s.io/v1",
            Some("v1beta1") => "meta.k8s.io/v1beta1",
            _ => "meta.k8s.io/v1",
        };
        let target = match (get("as"), get("g")) {
            (None, _) => Target::Object,
            (Some("Table"), Some("meta.k8s.io")) => Target::Table(version),
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                Target::Metadata(version)
            }
            _ => continue,
        };
        // Tables and metadata are JSON documents here; protobuf is for objects.
        let encoding = match (target, encoding) {
            (Target::Object, e) => e,
            (_, Encoding::Protobuf) => continue,
            (_, e) => e,
        };
        return Ok((encoding, target));
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf (asked for {accept})"
    )))
}

/// The media type of the request body, without parameters; `None` when absent.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|s| !s.is_empty())
}

/// Reads the body, refusing anything over the limit with 413.
pub async fn read_body(_headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen: usize = 0;
    // An oversized body is still read (and thrown away, up to a bound) before the 413 goes
    // out: answering mid-upload makes clients see a broken pipe or a reset stream instead
    // of the Status.
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("error reading request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= MAX_BODY_BYTES {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::request_entity_too_large(format!(
            "Request entity too large: limit is {MAX_BODY_BYTES}"
        )));
    }
    Ok(buf.freeze())
}

/// How much of an oversized body is drained before giving up on the connection.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// Decodes a create/update body as a JSON object.
pub fn decode_object(content_type: Option<&str>, bytes: &[u8]) -> Result<Value, ApiError> {
    let value = match content_type {
        None | Some("application/json") => decode_json(bytes)?,
        Some("application/yaml") | Some("application/x-yaml") | Some("text/yaml") => {
            decode_yaml(bytes)?
        }
        Some("application/vnd.kubernetes.protobuf") => decode_protobuf(bytes)?,
        Some(other) => return Err(ApiError::unsupported_media_type(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object (an API object)",
        ));
    }
    Ok(value)
}

/// A protobuf body of a built-in kind, as the JSON object it stands for.
pub fn decode_protobuf(bytes: &[u8]) -> Result<Value, ApiError> {
    proto::decode_object(bytes).map_err(|e| match e {
        proto::ProtoError::UnsupportedKind { api_version, kind } => ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("protobuf is not supported for {kind} ({api_version}); send application/json"),
        ),
        other => ApiError::bad_request(format!(
            "couldn't decode the protobuf request body: {other}"
        )),
    })
}

pub fn decode_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't decode the request body as JSON: {e}"))
    })
}

pub fn decode_yaml(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_yaml::from_slice::<Value>(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't decode the request body as YAML: {e}"))
    })
}

/// A JSON (or YAML) response with the given status.
pub fn respond(status: StatusCode, encoding: Encoding, value: &Value) -> Response {
    match encoding {
        Encoding::Json => match serde_json::to_vec(value) {
            Ok(bytes) => raw_json(status, Bytes::from(bytes)),
            Err(e) => error_response(&ApiError::internal(format!("cannot encode response: {e}"))),
        },
        Encoding::Protobuf => match proto::encode_object(value) {
            Ok(bytes) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(proto::CONTENT_TYPE),
                )],
                bytes,
            )
                .into_response(),
            Err(_) => respond(status, Encoding::Json, value),
        },
        Encoding::Yaml => match serde_yaml::to_string(value) {
            Ok(text) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/yaml"),
                )],
                text,
            )
                .into_response(),
            Err(e) => error_response(&ApiError::internal(format!("cannot encode response: {e}"))),
        },
    }
}

pub fn raw_json(status: StatusCode, bytes: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

pub fn error_response(err: &ApiError) -> Response {
    let status = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match serde_json::to_vec(&err.to_status()) {
        Ok(b) => raw_json(status, Bytes::from(b)),
        Err(_) => (status, err.message.clone()).into_response(),
    };
    if let Some(secs) = err.details.as_ref().and_then(|d| d.retry_after_seconds)
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Adds `Warning: 299 - "..."` headers (fieldValidation=Warn).
pub fn add_warnings(resp: &mut Response, warnings: &[String]) {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(&h).unwrap(), Encoding::Json);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.kubernetes.protobuf,application/json"),
        );
        assert_eq!(negotiate(&h).unwrap(), Encoding::Protobuf);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            ),
        );
        assert_eq!(negotiate(&h).unwrap(), Encoding::Json);
        h.insert(header::ACCEPT, HeaderValue::from_static("application/yaml"));
        assert_eq!(negotiate(&h).unwrap(), Encoding::Yaml);
        h.insert(header::ACCEPT, HeaderValue::from_static("image/png"));
        assert_eq!(negotiate(&h).unwrap_err().code, 406);
    }

    #[test]
    fn targets() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
        assert_eq!(
            negotiate_target(&h).unwrap(),
            (Encoding::Json, Target::Table("meta.k8s.io/v1"))
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"));
        assert_eq!(
            negotiate_target(&h).unwrap(),
            (Encoding::Json, Target::Metadata("meta.k8s.io/v1"))
        );
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;as=Foo;g=bar,application/json"),
        );
        assert_eq!(
            negotiate_target(&h).unwrap(),
            (Encoding::Json, Target::Object)
        );
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io"),
        );
        assert_eq!(
            negotiate_target(&h).unwrap().1,
            Target::Table("meta.k8s.io/v1")
        );
    }

    #[test]
    fn bodies() {
        assert!(decode_object(None, b"{\"a\":1}").is_ok());
        assert_eq!(decode_object(None, b"{bad").unwrap_err().code, 400);
        assert_eq!(decode_object(None, b"[1]").unwrap_err().code, 400);
        assert_eq!(
            decode_object(Some("application/yaml"), b"a: [")
                .unwrap_err()
                .code,
            400
        );
        assert!(decode_object(Some("application/yaml"), b"kind: Pod\n").is_ok());
        assert_eq!(
            decode_object(Some("application/vnd.kubernetes.protobuf"), b"nope")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_object(Some("image/png"), b"x").unwrap_err().code,
            415
        );
    }
}

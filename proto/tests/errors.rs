//! Error cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proto::ProtoError;
use serde_json::json;

#[test]
fn missing_magic() {
    assert!(matches!(
        proto::decode_object(b"{\"kind\":\"Pod\"}"),
        Err(ProtoError::MissingMagic)
    ));
}

#[test]
fn malformed_envelope() {
    assert!(matches!(
        proto::decode_object(b"k8s\0\x0a\xff\xff"),
        Err(ProtoError::Decode(_))
    ));
}

#[test]
fn unsupported_kind_both_ways() {
    let v = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    match proto::encode_object(&v) {
        Err(ProtoError::UnsupportedKind { api_version, kind }) => {
            assert_eq!(api_version, "example.com/v1");
            assert_eq!(kind, "Widget");
        }
        other => panic!("{other:?}"),
    }
    // An envelope naming an unknown kind (built from a supported one by renaming it).
    let cm = proto::encode_object(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap();
    let renamed = String::from_utf8_lossy(&cm).replace("ConfigMap", "ConfigMop");
    assert!(matches!(
        proto::decode_object(renamed.as_bytes()),
        Err(ProtoError::UnsupportedKind { .. })
    ));
    assert!(!proto::is_supported("example.com/v1", "Widget"));
    assert!(proto::is_supported("apps/v1", "Deployment"));
    assert!(proto::is_supported("policy/v1", "DeleteOptions"));
}

#[test]
fn missing_type_meta() {
    assert!(matches!(
        proto::encode_object(&json!({"metadata": {"name": "x"}})),
        Err(ProtoError::MissingTypeMeta)
    ));
    assert!(matches!(
        proto::encode_object(&json!("x")),
        Err(ProtoError::MissingTypeMeta)
    ));
}

#[test]
fn invalid_field_has_a_path() {
    let v = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}, {"name": "d", "ports": [{"containerPort": "80"}]}]}});
    match proto::encode_object(&v) {
        Err(ProtoError::InvalidField { path, .. }) => {
            assert_eq!(path, "spec.containers[1].ports[0].containerPort")
        }
        other => panic!("{other:?}"),
    }
    let v = json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "not base64!"}});
    match proto::encode_object(&v) {
        Err(ProtoError::InvalidField { path, .. }) => assert_eq!(path, "data.k"),
        other => panic!("{other:?}"),
    }
    let v =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": "yesterday"}});
    match proto::encode_object(&v) {
        Err(ProtoError::InvalidField { path, .. }) => {
            assert_eq!(path, "metadata.creationTimestamp")
        }
        other => panic!("{other:?}"),
    }
    let v = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"priority": 3_000_000_000u64}});
    assert!(matches!(
        proto::encode_object(&v),
        Err(ProtoError::InvalidField { .. })
    ));
}

#[test]
fn content_encoding_is_rejected() {
    use prost::Message;
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
        type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
        }),
        raw: Some(Vec::new()),
        content_encoding: Some("gzip".into()),
        content_type: None,
    };
    let mut body = b"k8s\0".to_vec();
    body.extend(unknown.encode_to_vec());
    assert!(matches!(
        proto::decode_object(&body),
        Err(ProtoError::UnsupportedEncoding(_))
    ));
}

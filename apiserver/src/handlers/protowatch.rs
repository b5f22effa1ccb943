//! Protobuf watch streams (`Accept: application/vnd.kubernetes.protobuf`): each event is a
//! frame of a 4-byte big-endian length and a `metav1.WatchEvent` message encoded *raw* (no
//! `k8s\0` envelope, as upstream's stream serializer writes it) whose `object.raw` holds the
//! object in the usual `k8s\0` + `runtime.Unknown` form.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

/// The Content-Type of a protobuf watch response.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

fn put_varint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// A length-delimited field (wire type 2).
fn put_bytes_field(out: &mut BytesMut, field: u32, data: &[u8]) {
    put_varint(out, u64::from(field << 3 | 2));
    put_varint(out, data.len() as u64);
    out.put_slice(data);
}

/// `WatchEvent{type: event_type, object: RawExtension{raw: object}}` as a frame.
pub fn frame(event_type: &str, object: &[u8]) -> Bytes {
    let mut raw_ext = BytesMut::with_capacity(object.len() + 8);
    put_bytes_field(&mut raw_ext, 1, object);
    let mut event = BytesMut::with_capacity(raw_ext.len() + event_type.len() + 16);
    put_bytes_field(&mut event, 1, event_type.as_bytes());
    put_bytes_field(&mut event, 2, &raw_ext);
    let mut out = BytesMut::with_capacity(event.len() + 4);
    out.put_u32(event.len() as u32);
    out.put_slice(&event);
    out.freeze()
}

/// The frame of an event about `object` (a JSON object with apiVersion and kind). An
/// object the codec cannot encode becomes an ERROR event with a 500 Status, so the client
/// sees why the stream stops making sense rather than garbage.
pub fn event(event_type: &str, object: &Value) -> Bytes {
    match proto::encode_object(object) {
        Ok(raw) => frame(event_type, &raw),
        Err(e) => {
            let status =
                machinery::ApiError::internal(format!("cannot encode the object as protobuf: {e}"))
                    .to_status();
            frame("ERROR", &proto::encode_object(&status).unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn frames_are_length_prefixed_raw_watch_events() {
        let obj = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "default", "resourceVersion": "5"},
            "data": {"k": "v"},
        });
        let f = event("ADDED", &obj);
        let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(len, f.len() - 4);
        let body = &f[4..];
        // field 1 (type): "ADDED"
        assert_eq!(&body[..7], b"\x0a\x05ADDED");
        // field 2 (object), whose field 1 (raw) is the k8s\0 object
        assert_eq!(body[7], 0x12);
        let decoded_raw_start = body.windows(4).position(|w| w == b"k8s\0").unwrap();
        let back = proto::decode_object(&body[decoded_raw_start..]).unwrap();
        assert_eq!(back["data"]["k"], "v");
        assert_eq!(back["metadata"]["resourceVersion"], "5");
    }

    #[test]
    fn varints_over_127_bytes() {
        let big = vec![7u8; 300];
        let f = frame("MODIFIED", &big);
        let body = &f[4..];
        // object field: tag 0x12, then a two-byte length (303 = 0xaf 0x02).
        assert_eq!(&body[10..13], &[0x12, 0xaf, 0x02]);
        assert_eq!(&body[13..16], &[0x0a, 0xac, 0x02]);
    }
}

//! The pod-template-hash: FNV-32a over the pod template (and the collision count), printed
//! in decimal and passed through apimachinery's SafeEncodeString, as upstream's ComputeHash.
//! That gives names in upstream's alphabet and length (`nginx-deployment-75675f5897`).
//!
//! Upstream feeds the hasher go-spew's dump of the Go struct, a format tied to Go's type
//! layout; this hashes the template's canonical JSON instead, so the values differ from
//! kube-controller-manager's. Nothing depends on equal values: the controller finds a
//! Deployment's ReplicaSet by comparing templates, never by recomputing the hash.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// apimachinery's rand alphabet: no vowels (no words) and no look-alike characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// apimachinery's rand.SafeEncodeString.
pub fn safe_encode_string(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

struct Fnv32a(u32);

impl Fnv32a {
    const OFFSET: u32 = 2_166_136_261;
    const PRIME: u32 = 16_777_619;
    fn new() -> Self {
        Fnv32a(Self::OFFSET)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// Drops nulls, empty arrays and empty objects, so that semantically equal templates (an
/// absent list and an empty one) hash and compare equal, as apimachinery's semantic equality
/// treats nil and empty alike.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, v)| {
                    let n = normalize(v);
                    let empty = match &n {
                        Value::Null => true,
                        Value::Array(a) => a.is_empty(),
                        Value::Object(o) => o.is_empty(),
                        _ => false,
                    };
                    (!empty).then(|| (k.clone(), n))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Upstream's ComputeHash.
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut h = Fnv32a::new();
    let canonical = serde_json::to_value(template)
        .map(|v| normalize(&v))
        .unwrap_or(Value::Null);
    // Serializing a Value cannot fail; an empty body would still give a valid hash.
    h.write(&serde_json::to_vec(&canonical).unwrap_or_default());
    if let Some(c) = collision_count {
        // Upstream writes the count as a little-endian uint32 into an 8-byte buffer.
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h.write(&buf);
    }
    safe_encode_string(&h.0.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn fnv32a_matches_reference_vectors() {
        let cases: [(&[u8], u32); 3] = [
            (b"", 0x811c9dc5),
            (b"a", 0xe40c292c),
            (b"foobar", 0xbf9cf968),
        ];
        for (input, want) in cases {
            let mut h = Fnv32a::new();
            h.write(input);
            assert_eq!(h.0, want);
        }
    }

    #[test]
    fn safe_encoding_uses_upstreams_alphabet() {
        // Digits map to fixed characters ('0' is byte 48, 48 % 27 = 21 -> '4'), which is why
        // upstream's hashes look like `75675f5897`.
        assert_eq!(safe_encode_string("0123456789"), "456789bcdf");
        let t: PodTemplateSpec = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.7.9"}]}
        }))
        .unwrap();
        let h = compute_hash(&t, None);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| ALPHANUMS.contains(&b)), "{h}");
        assert_eq!(h, compute_hash(&t, None));
        assert_ne!(h, compute_hash(&t, Some(1)));
        let mut other = t.clone();
        other.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.10.4".into());
        assert_ne!(h, compute_hash(&other, None));
        // An empty list is the same template as an absent one.
        let mut empty = t.clone();
        empty.spec.as_mut().unwrap().volumes = Some(vec![]);
        assert_eq!(h, compute_hash(&empty, None));
    }
}

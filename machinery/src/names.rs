//! Generated object names (`metadata.generateName`) and the random and hash-derived strings
//! upstream builds names from.
//!
//! The alphabet has no vowels (so no words appear) and no `0`, `1`, `3` (which read like
//! letters); pod names such as `web-7c9f8d6b5-x2kq4` are built from it.

use rand::Rng;

/// Upstream's `utilrand` alphabet.
pub const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The longest object name `generate_name` produces (a DNS-1123 label).
pub const MAX_NAME_LENGTH: usize = 63;

/// Length of the random suffix `generate_name` appends.
pub const RANDOM_LENGTH: usize = 5;

/// The longest base kept by `generate_name`; longer ones are cut.
pub const MAX_GENERATED_NAME_LENGTH: usize = MAX_NAME_LENGTH - RANDOM_LENGTH;

/// A name for an object created with `metadata.generateName: base`: the base (cut to
/// [`MAX_GENERATED_NAME_LENGTH`] bytes) followed by five random characters, as upstream's
/// `SimpleNameGenerator`. The caller retries on a name collision.
pub fn generate_name(base: &str) -> String {
    let mut cut = base.len().min(MAX_GENERATED_NAME_LENGTH);
    // Upstream cuts bytes; a cut inside a multi-byte character would make an invalid name
    // either way, so cut before the character instead.
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = String::with_capacity(cut + RANDOM_LENGTH);
    name.push_str(base.get(..cut).unwrap_or_default());
    name.push_str(&random_string(RANDOM_LENGTH));
    name
}

/// `n` random characters from [`ALPHANUMS`].
pub fn random_string(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            let i = rng.random_range(0..ALPHANUMS.len());
            char::from(ALPHANUMS.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// Maps each character of `s` onto [`ALPHANUMS`], as upstream's `rand.SafeEncodeString`.
/// The deployment controller names ReplicaSets `<deployment>-<safe_encode_string(hash)>`
/// (the `pod-template-hash` label), so the mapping must stay exactly upstream's.
pub fn safe_encode_string(s: &str) -> String {
    s.chars()
        .map(|c| {
            let i = (c as usize) % ALPHANUMS.len();
            char::from(ALPHANUMS.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::validation::dns1123_subdomain_errors;

    #[test]
    fn generated_names_keep_the_base_and_add_five_characters() {
        // (base, kept prefix)
        let long = "a".repeat(70);
        let cases = [
            ("", ""),
            ("web-", "web-"),
            ("web-7c9f8d6b5-", "web-7c9f8d6b5-"),
            (long.as_str(), &long[..58]),
            ("é".repeat(40).as_str(), &"é".repeat(29)),
        ]
        .map(|(base, kept)| (base.to_string(), kept.to_string()));
        for (base, kept) in cases {
            let name = generate_name(&base);
            assert!(name.starts_with(&kept), "{name:?} from {base:?}");
            assert_eq!(name.len(), kept.len() + RANDOM_LENGTH, "{name:?}");
            assert!(name.len() <= MAX_NAME_LENGTH);
            let suffix = &name[kept.len()..];
            assert!(suffix.bytes().all(|b| ALPHANUMS.contains(&b)), "{suffix:?}");
        }
    }

    #[test]
    fn generated_names_are_valid_and_vary() {
        let names: std::collections::HashSet<String> =
            (0..50).map(|_| generate_name("job-")).collect();
        assert!(names.len() > 45, "suffixes should rarely collide");
        for name in &names {
            assert!(dns1123_subdomain_errors(name).is_empty(), "{name}");
        }
        let long = generate_name(&"x".repeat(100));
        assert_eq!(long.len(), MAX_NAME_LENGTH);
    }

    #[test]
    fn random_strings_use_the_alphabet() {
        for n in [0, 1, 5, 64] {
            let s = random_string(n);
            assert_eq!(s.len(), n);
            assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)), "{s}");
        }
    }

    #[test]
    fn safe_encoding_matches_upstream() {
        // Each character maps to ALPHANUMS[code point % 27].
        let cases = [
            ("", ""),
            ("0123456789", "456789bcdf"),
            ("3141592653", "75859f6b97"),
            ("a", "v"),
        ];
        for (input, encoded) in cases {
            assert_eq!(safe_encode_string(input), encoded, "{input}");
        }
    }
}

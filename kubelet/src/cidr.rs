//! Pod CIDRs for nodes that have no spec.podCIDR yet: a single node uses `--pod-cidr` as
//! is (upstream's meaning of the flag); N simulated nodes split it into N equal subnets, /24
//! where the range allows, smaller blocks when it must hold more nodes.

use ipnet::IpNet;

/// The subnet for node `index` of `count` carved out of `range`; `None` when the range is
/// too small to give every node at least 4 addresses.
pub fn node_subnet(range: IpNet, index: usize, count: usize) -> Option<IpNet> {
    if count <= 1 {
        return Some(range);
    }
    let needed_bits = usize::BITS - (count - 1).leading_zeros();
    let needed_bits = u8::try_from(needed_bits).ok()?;
    let preferred = if range.max_prefix_len() == 32 { 24 } else { 64 };
    let prefix = range
        .prefix_len()
        .checked_add(needed_bits)?
        .max(preferred.max(range.prefix_len()));
    if prefix > range.max_prefix_len().saturating_sub(2) {
        return None;
    }
    range.subnets(prefix).ok()?.nth(index)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn subnets_per_node() {
        let cases: &[(&str, usize, usize, Option<&str>)] = &[
            ("10.244.0.0/16", 0, 1, Some("10.244.0.0/16")),
            ("10.244.0.0/16", 0, 100, Some("10.244.0.0/24")),
            ("10.244.0.0/16", 99, 100, Some("10.244.99.0/24")),
            // 5,000 nodes do not fit as /24s in a /16: /29s (8 addresses) instead.
            ("10.244.0.0/16", 4999, 5000, Some("10.244.156.56/29")),
            ("10.0.0.0/8", 4999, 5000, Some("10.19.135.0/24")),
            ("10.244.0.0/24", 0, 100, None),
        ];
        for (range, index, count, want) in cases {
            let got = node_subnet(range.parse().unwrap(), *index, *count);
            assert_eq!(
                got.map(|n| n.to_string()).as_deref(),
                *want,
                "{range} {index}/{count}"
            );
        }
    }
}

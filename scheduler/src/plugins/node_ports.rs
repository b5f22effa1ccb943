//! NodePorts: a pod's `hostPort`s must be free on the node (same protocol and port clash
//! when either side binds all addresses or both bind the same one).

use crate::framework::{CycleState, FilterPlugin, Status};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "NodePorts";
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

impl FilterPlugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let clash = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if clash {
            Err(Status::unschedulable(ERR_REASON))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use crate::types::HostPort;
    use std::sync::Arc;

    fn hp(protocol: &str, ip: &str, port: i32) -> HostPort {
        HostPort {
            protocol: protocol.into(),
            ip: ip.into(),
            port,
        }
    }

    #[test]
    fn host_port_conflicts() {
        let cases = [
            (
                "same port, all addresses",
                hp("TCP", "0.0.0.0", 80),
                hp("TCP", "0.0.0.0", 80),
                false,
            ),
            (
                "other port",
                hp("TCP", "0.0.0.0", 80),
                hp("TCP", "0.0.0.0", 81),
                true,
            ),
            (
                "other protocol",
                hp("TCP", "0.0.0.0", 53),
                hp("UDP", "0.0.0.0", 53),
                true,
            ),
            (
                "used on all addresses, wanted on one",
                hp("TCP", "0.0.0.0", 80),
                hp("TCP", "10.0.0.1", 80),
                false,
            ),
            (
                "used on one, wanted on all",
                hp("TCP", "10.0.0.1", 80),
                hp("TCP", "0.0.0.0", 80),
                false,
            ),
            (
                "different addresses",
                hp("TCP", "10.0.0.1", 80),
                hp("TCP", "10.0.0.2", 80),
                true,
            ),
        ];
        for (name, used, wanted, fits) in cases {
            let mut n = node("n", 1000, 1 << 30);
            let mut existing = pod("existing");
            existing.host_ports = vec![used];
            n.add_pod(Arc::new(existing));
            let mut p = pod("p");
            p.host_ports = vec![wanted];
            let got = NodePorts.filter(&CycleState::default(), &p, &n);
            assert_eq!(got.is_ok(), fits, "{name}");
        }
    }
}

//! NodeRuntime (ferrokube's own filter): the `process` runtime runs a container's `command`
//! as a host process and has no image store, so a container without a command (one that
//! relies on its image's entrypoint, such as `nginx`) could only sit Waiting there. Nodes say
//! their runtime in the `ferrokube.io/runtime` label; pods that need an image entrypoint go to
//! nodes whose runtime can provide one (simulated nodes, future CRI nodes), and a cluster with
//! only process nodes reports why in FailedScheduling instead of binding pods that cannot run.

use crate::framework::{CycleState, FilterPlugin, Status};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "NodeRuntime";
pub const RUNTIME_LABEL: &str = "ferrokube.io/runtime";
/// The runtime value that cannot start image entrypoints.
pub const PROCESS_RUNTIME: &str = "process";
pub const ERR_REASON: &str =
    "node(s) had the process runtime, which cannot run a container without a command";

pub struct NodeRuntime;

impl FilterPlugin for NodeRuntime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if pod.needs_image_entrypoint
            && node.node.labels.get(RUNTIME_LABEL).map(String::as_str) == Some(PROCESS_RUNTIME)
        {
            return Err(Status::unresolvable(ERR_REASON));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with_labels, pod};

    #[test]
    fn image_only_pods_avoid_process_nodes() {
        let cases = [
            (
                "command-only pod, process node",
                false,
                Some("process"),
                true,
            ),
            ("image pod, process node", true, Some("process"), false),
            ("image pod, simulated node", true, Some("simulated"), true),
            ("image pod, unlabelled node", true, None, true),
        ];
        for (name, needs_image, runtime, want) in cases {
            let labels: Vec<(&str, &str)> =
                runtime.map(|r| (RUNTIME_LABEL, r)).into_iter().collect();
            let n = node_with_labels("n", &labels);
            let mut p = pod("p");
            p.needs_image_entrypoint = needs_image;
            let got = NodeRuntime.filter(&CycleState::default(), &p, &n);
            assert_eq!(got.is_ok(), want, "{name}");
            if let Err(s) = got {
                assert_eq!(s, Status::unresolvable(ERR_REASON), "{name}");
            }
        }
    }
}

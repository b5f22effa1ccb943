//! What every ferrokube component shares, in the spirit of Kubernetes' k8s.io/component-base:
//! a client built from a kubeconfig, leader election on a Lease, the /healthz and /metrics
//! endpoints, and logging set-up.

pub mod client;
pub mod leaderelection;
pub mod logging;
pub mod serve;

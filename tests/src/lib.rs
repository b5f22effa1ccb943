//! End-to-end test helpers.

pub mod apiserver;
pub mod cluster;
pub mod controllers;
pub mod etcd;
pub mod kubelet;

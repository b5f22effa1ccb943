//! End-to-end test helpers.

pub mod apiserver;
pub mod etcd;

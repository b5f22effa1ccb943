//! End-to-end test helpers.

pub mod apiserver;
pub mod etcd;
pub mod cluster;
pub mod controllers;

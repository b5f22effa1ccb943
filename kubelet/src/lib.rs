//! Node agent: filled by the kubelet issue. Nothing here yet.

//! Protobuf on the wire (Kubernetes protobuf encoding, CRI client): filled by the kubectl-compatibility and kubelet issues.

//! Controller-manager: filled by the controller-manager issue. Nothing here yet.

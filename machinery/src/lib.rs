//! ferrokube's shared API machinery (the part `kube-core` plays for kube-rs): the resource
//! table, Status errors, field validation, label and field selectors, patches and names. No IO.

pub mod managedfields;
pub mod names;
pub mod patch;
pub mod quantity;
pub mod resources;
pub mod schema;
pub mod selector;
pub mod status;
pub mod validation;

pub use resources::{ResourceInfo, ResourceTable, Subresource};
pub use status::{ApiError, GroupKind, GroupResource};
pub use validation::FieldError;

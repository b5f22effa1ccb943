//! The registry: one generic store for every resource, plus one Strategy module per kind.

pub mod allocator;
pub mod apply;
pub mod decode;
pub mod kinds;
pub mod meta;
pub mod store;
pub mod strategy;
pub mod table;

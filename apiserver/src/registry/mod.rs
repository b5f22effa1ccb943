//! The registry: one generic store for every resource, plus one Strategy module per kind.

pub mod strategy;

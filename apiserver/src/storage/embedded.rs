//! embedded backend

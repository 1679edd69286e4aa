//! experimental

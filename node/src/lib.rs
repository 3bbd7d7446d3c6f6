//! lienthong-node: the daemon each agency runs.

pub mod store;

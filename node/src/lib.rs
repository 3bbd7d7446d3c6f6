//! lienthong-node: the daemon each agency runs.

//! lienthong's end-to-end tests: real processes on loopback (`tests/loopback.rs`).
//!
//! The process harness lives in `lienthong-simulations`, which the benchmarks share.

pub use lienthong_simulations::process::*;

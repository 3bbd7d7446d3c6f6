//! lienthong's end-to-end tests: real processes on loopback (`tests/loopback.rs`).
//!
//! [`attacker`] is a wire-level peer for the attack tests. The process harness lives in `lienthong-simulations`, which the benchmarks share.

pub mod attacker;
pub mod axis_sdk;

pub use lienthong_simulations::process::*;

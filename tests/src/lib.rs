//! lienthong's end-to-end tests: real processes on loopback (`tests/loopback.rs`).
//!
//! [`attacker`] is a wire-level peer for the attack tests; [`flood`] floods a port with
//! connections; [`browser`] drives headless Chromium; [`mail`] drives the loopback Postfix and
//! Dovecot of the official-email tests. The process harness lives in `lienthong-simulations`,
//! which the benchmarks share.

pub mod attacker;
pub mod axis_bridge;
pub mod axis_sdk;
pub mod browser;
pub mod flood;
pub mod mail;
pub mod tls_front;
pub mod tsa;

pub use lienthong_simulations::process::*;

//! lienthong-simulations: federations on one machine, for tests and benchmarks.
//!
//! # Layout
//!
//! - [`process`]: federations of real `lienthong` processes on loopback.
//! - [`bench`]: `lienthong-sim bench`, every figure beside the limit it is measured against.

pub mod bench;
pub mod process;

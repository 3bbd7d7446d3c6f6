//! lienthong-simulations: federations on one machine, for tests and benchmarks.
//!
//! # Layout
//!
//! - [`process`]: federations of real `lienthong` processes on loopback.
//! - [`netns`]: separate networks in network namespaces, for relays and partitions.
//! - [`bench`]: `lienthong-sim bench`, every figure beside the limit it is measured against.

pub mod bench;
pub mod netns;
pub mod process;

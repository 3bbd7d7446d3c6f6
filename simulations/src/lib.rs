//! lienthong-simulations: federations on one machine, for tests and benchmarks.
//!
//! # Layout
//!
//! - [`process`]: federations of real `lienthong` processes on loopback.
//! - [`netns`]: separate networks in network namespaces, for relays and partitions.
//! - [`province`]: seed 000's province (LAN, tax network, relays) in namespaces.
//! - [`bench`]: `lienthong-sim bench`, every figure beside the limit it is measured against.

pub mod bench;
pub mod netns;
pub mod process;
pub mod province;

//! lienthong-simulations: federations on one machine, for tests and benchmarks.
//!
//! # Layout
//!
//! - [`axis`]: `lienthong-sim axis`, a test national axis with many agencies and switches to
//!   misbehave.
//! - [`process`]: federations of real `lienthong` processes on loopback.
//! - [`netns`]: separate networks in network namespaces, for relays and partitions.
//! - [`province`]: seed 000's province (LAN, tax network, relays) in namespaces.
//! - [`bench`]: `lienthong-sim bench`, every figure beside the limit it is measured against.
//! - [`sim`]: `lienthong-sim run SCENARIO.toml`, whole provinces with faults, and their report.
//! - [`soak`]: `lienthong-sim soak`, rounds of kill -9 under traffic, every promise checked.

pub mod axis;
pub mod bench;
pub mod netns;
pub mod process;
pub mod province;
pub mod sim;
pub mod soak;

//! `lienthong-sim run`: a scenario of agencies, relays, traffic and faults, run with the
//! daemon's own node code, and a report of what arrived, how fast, and what was lost.

pub mod plots;
pub mod scenario;

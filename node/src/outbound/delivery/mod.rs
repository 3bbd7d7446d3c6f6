//! Delivery of outgoing packages: a per-recipient outbox, direct sends, retries with
//! backoff, and the receipt 01 that ends a delivery.
//!
//! The decisions (when to retry, what is due, what a reconnect wakes) live in the sans-IO
//! [`policy`] and [`schedule`] modules; [`engine`] drives them with the store and the network;
//! `prepared.rs` keeps what submit held for the first attempts. [`stuck`] lists the
//! recipients without receipt 01 after their deadline. [`DeliveryHandle`] is what the rest
//! of the node asks of the engine. `axis_path.rs` hands a package to the national axis for a
//! recipient that is not a member.

mod axis_path;
mod email_path;
pub mod engine;
mod handle;
pub mod policy;
mod prepared;
pub mod schedule;
pub mod stuck;

pub use engine::DeliveryEngine;
pub use handle::{DeliveryCommand, DeliveryHandle};

//! Delivery of outgoing packages: a per-recipient outbox, direct sends, retries with
//! backoff, and the receipt 01 that ends a delivery.
//!
//! The decisions (when to retry, what is due, what a reconnect wakes) live in the sans-IO
//! [`policy`] and [`schedule`] modules; [`engine`] drives them with the store and the network.

pub mod engine;
mod handle;
pub mod policy;
mod prepared;
pub mod schedule;

pub use engine::DeliveryEngine;
pub use handle::{DeliveryCommand, DeliveryHandle};

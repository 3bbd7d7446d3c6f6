//! When to retry, and when a missing receipt makes a document stuck. Pure functions, so the
//! rules are tested without clocks or networks.

use std::time::Duration;

use lienthong_protocol::edxml::Priority;

use crate::config::DeliveryConfig;

/// How long to wait before attempt number `attempts + 1`, after `attempts` failures:
/// `initial · 2^(attempts-1)`, capped at `max`, then scaled by a jitter factor in
/// `[0.5, 1.0)` so that many senders retrying the same recipient after an outage do not
/// arrive in step ("equal jitter").
///
/// `jitter` is a uniform sample in `[0, 1)`; the caller draws it, so tests can fix it.
pub fn retry_delay(config: &DeliveryConfig, attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let base = config
        .retry_initial
        .checked_mul(1u32 << exponent)
        .unwrap_or(config.retry_max)
        .min(config.retry_max);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// How long after submission receipt 01 is due for a document of this priority: shorter for
/// urgent and flash (Hỏa tốc) documents.
pub fn receipt_deadline(config: &DeliveryConfig, priority: Priority) -> Duration {
    match priority {
        Priority::Normal => config.receipt_deadline,
        Priority::Urgent | Priority::VeryUrgent => config.urgent_receipt_deadline,
        Priority::Flash | Priority::ScheduledFlash => config.flash_receipt_deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_the_cap_with_jitter_below_one() {
        let config = DeliveryConfig {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            ..DeliveryConfig::default()
        };
        let full = |attempts| retry_delay(&config, attempts, 0.999_999);
        assert_eq!(full(1).as_secs(), 0, "just under 1 s");
        assert!(full(1) > Duration::from_millis(999));
        assert!(full(4) > Duration::from_millis(7999) && full(4) <= Duration::from_secs(8));
        assert!(full(50) <= Duration::from_secs(60));
        // The jitter never shortens a wait below half.
        assert_eq!(retry_delay(&config, 3, 0.0), Duration::from_secs(2));
        assert_eq!(retry_delay(&config, u32::MAX, 0.0), Duration::from_secs(30));
    }

    #[test]
    fn flash_documents_are_due_first() {
        let config = DeliveryConfig::default();
        let normal = receipt_deadline(&config, Priority::Normal);
        let urgent = receipt_deadline(&config, Priority::VeryUrgent);
        let flash = receipt_deadline(&config, Priority::Flash);
        assert!(flash < urgent && urgent < normal);
    }
}

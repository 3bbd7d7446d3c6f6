//! At most one log line per period for a condition that repeats.
//!
//! A flood of connections repeats the same refusal thousands of times a second; a line for
//! each would bury what the operator needs to see and fill the disk the store lives on. The
//! condition is worth one WARN per period, saying how often it happened since the last.

use std::time::{Duration, Instant};

/// How often a repeated condition may be logged: one line a minute says a flood is going on
/// without drowning the rest of the log.
pub(crate) const PERIOD: Duration = Duration::from_secs(60);

/// Counts occurrences of one condition and lets one through to the log per period.
#[derive(Debug)]
pub(crate) struct Throttle {
    period: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    /// A throttle that lets one occurrence through per `period`.
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period,
            last: None,
            held: 0,
        }
    }

    /// Notes one occurrence at `now`. `Some(n)` when it is to be logged, `n` counting the
    /// occurrences since the last one logged (this one included); `None` when it is held
    /// back.
    pub(crate) fn note(&mut self, now: Instant) -> Option<u64> {
        self.held = self.held.saturating_add(1);
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.period);
        if !due {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(PERIOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_counting_what_was_held_back() {
        let mut throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();

        assert_eq!(throttle.note(start), Some(1), "the first one is logged");
        for second in 1..60 {
            assert_eq!(throttle.note(start + Duration::from_secs(second)), None);
        }
        assert_eq!(
            throttle.note(start + Duration::from_secs(60)),
            Some(60),
            "a period later: the 59 held back and this one"
        );
        assert_eq!(throttle.note(start + Duration::from_secs(61)), None);
        assert_eq!(throttle.note(start + Duration::from_secs(600)), Some(2));
    }

    #[test]
    fn a_million_refusals_in_two_minutes_are_two_lines() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        let logged = (0..1_000_000u64)
            .filter_map(|i| throttle.note(start + Duration::from_micros(i * 120)))
            .count();
        assert_eq!(logged, 2, "at 0 s and 60 s; the next would be at 120 s");
    }
}

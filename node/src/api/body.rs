//! Reading request bodies: bounded in size, and in time.
//!
//! The server closes a connection whose request head does not arrive (`server.rs`), but
//! once the head is in, hyper waits for the body as long as the client likes. A client
//! that declares a length and stops sending, or sends a byte now and then, would hold its
//! connection, its task and its buffer for ever. So every body is read against a deadline:
//! the next bytes must come within [`BODY_STALL`], and the whole must keep to
//! [`MIN_BODY_RATE`] on average, after a [`BODY_GRACE`] that lets a slow start pass.
//! Otherwise the answer is 408, and hyper closes the connection, since the rest of the body
//! was not read. A QLVB on the agency's network sends thousands of times faster than that.

use axum::body::{Body, HttpBody as _};
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::time::{Duration, Instant};

use super::ApiState;
use super::error::ApiError;

/// How long a body may go without a byte.
pub(crate) const BODY_STALL: Duration = Duration::from_secs(10);

/// The slowest a body may arrive on average, in bytes per second, once its grace is over.
pub(crate) const MIN_BODY_RATE: u64 = 8 * 1024;

/// The time every body has on top of what [`MIN_BODY_RATE`] allows for its bytes.
pub(crate) const BODY_GRACE: Duration = Duration::from_secs(10);

/// How much of an oversized body is read and thrown away before answering 413. Reading
/// it lets an ordinary HTTP client, still sending, receive the answer instead of a broken
/// connection; beyond this the connection is simply closed.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

/// Reads the body up to the node's package limit. An oversized body is refused with 413
/// without ever being held in memory.
pub(super) async fn read_body(state: &ApiState, body: Body) -> Result<Bytes, ApiError> {
    let limit =
        usize::try_from(state.ctx.config.limits.max_package_size.as_u64()).unwrap_or(usize::MAX);
    read_limited(body, limit).await
}

/// Reads the body up to `limit` bytes; a larger one is refused with 413 without ever being
/// held in memory, one that stalls or trickles with 408.
pub(super) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = body.size_hint().exact();
    // The declared length, reserved once the first bytes have come: a large scan grows the
    // buffer once instead of copying itself at every doubling.
    let reserve = declared
        .and_then(|len| usize::try_from(len).ok())
        .filter(|&len| len <= limit);
    let mut stream = body.into_data_stream();
    let mut pace = Pace::new(Instant::now());
    let mut buffer = BytesMut::new();
    let mut total = 0usize;
    loop {
        let next = tokio::time::timeout_at(pace.deadline(Instant::now()), stream.next()).await;
        let Ok(next) = next else {
            return Err(too_slow(&pace, declared));
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        pace.arrived(chunk.len());
        total = total.saturating_add(chunk.len());
        if total <= limit {
            if let Some(len) = reserve
                && buffer.is_empty()
            {
                buffer.reserve(len);
            }
            buffer.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        } else {
            buffer = BytesMut::new();
        }
    }
    if total > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the message is {total} bytes or more, larger than this node's limit of {limit} bytes"
            ),
        ));
    }
    Ok(buffer.freeze())
}

/// The 408 for a body that did not keep to the pace.
fn too_slow(pace: &Pace, declared: Option<u64>) -> ApiError {
    let of = declared.map_or_else(String::new, |len| format!(" of the {len} declared"));
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        format!(
            "the request body stopped arriving: {} bytes{of} came in {:.1} s; this node waits {} s at most for the next bytes, and takes a body no slower than {} KiB/s after its first {} s",
            pace.received,
            pace.elapsed(Instant::now()).as_secs_f64(),
            BODY_STALL.as_secs(),
            MIN_BODY_RATE / 1024,
            BODY_GRACE.as_secs(),
        ),
    )
}

/// The deadline a body's next bytes must meet.
#[derive(Debug, Clone, Copy)]
struct Pace {
    started: Instant,
    received: u64,
}

impl Pace {
    fn new(started: Instant) -> Pace {
        Pace {
            started,
            received: 0,
        }
    }

    fn arrived(&mut self, bytes: usize) {
        self.received = self.received.saturating_add(bytes as u64);
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// Waiting from `now`: [`BODY_STALL`] at most, and no later than the bytes received so
    /// far allow at [`MIN_BODY_RATE`] after [`BODY_GRACE`].
    fn deadline(&self, now: Instant) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / MIN_BODY_RATE as f64);
        let by_rate = self.started + BODY_GRACE + earned;
        (now + BODY_STALL).min(by_rate)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// A body that sends `chunks`, `every` apart, then nothing, never ending.
    fn body(chunks: Vec<&'static [u8]>, every: Duration) -> Body {
        let sent = futures::stream::iter(chunks).then(move |chunk| async move {
            tokio::time::sleep(every).await;
            Ok::<_, Infallible>(Bytes::from_static(chunk))
        });
        Body::from_stream(sent.chain(futures::stream::pending()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_is_answered_408_after_the_stall() {
        let start = Instant::now();
        let error = read_limited(body(vec![b"<edXML>"], Duration::ZERO), 1 << 20)
            .await
            .expect_err("never completes");
        assert_eq!(error.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(error.kind(), "timeout");
        assert!(error.message().contains("7 bytes"), "{}", error.message());
        // Paused time: the deadline itself, to the timer's millisecond.
        let took = start.elapsed();
        assert!(
            took >= BODY_STALL && took < BODY_STALL + Duration::from_millis(10),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_body_is_answered_408_once_its_grace_is_spent() {
        let start = Instant::now();
        let trickle = vec![&b"x"[..]; 10_000];
        let error = read_limited(body(trickle, Duration::from_secs(1)), 1 << 20)
            .await
            .expect_err("too slow");
        assert_eq!(error.status(), StatusCode::REQUEST_TIMEOUT);
        // A byte a second earns almost nothing: the grace, and not a second more than it
        // took to see the rate fall short.
        let took = start.elapsed();
        assert!(
            took >= BODY_GRACE && took <= BODY_GRACE + Duration::from_secs(1),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_a_steady_pace_is_read_whole() {
        // 64 KiB a second, slower than any real client but above the minimum rate, for
        // longer than the grace.
        let chunk: &'static [u8] = &[b'a'; 64 * 1024];
        let chunks = vec![chunk; 30];
        let sent = futures::stream::iter(chunks).then(|chunk| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, Infallible>(Bytes::from_static(chunk))
        });
        let read = read_limited(Body::from_stream(sent), 4 << 20)
            .await
            .expect("read");
        assert_eq!(read.len(), 30 * 64 * 1024);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let error = read_limited(Body::from(vec![0u8; 100]), 99)
            .await
            .expect_err("too large");
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(read_limited(Body::from(vec![0u8; 99]), 99).await.is_ok());
    }
}

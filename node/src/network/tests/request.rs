//! Requests and responses between two in-memory nodes.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use libp2p::PeerId;
use tokio::sync::broadcast;

use super::{BUSY, TestNode, within};
use crate::network::{NetworkEvent, Options, RequestError};

/// A deterministic payload that catches reordered or shifted bytes.
pub(super) fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn request_returns_the_routers_response() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| [b"receipt for ".as_slice(), &request].concat().into());
    a.knows(&b).await;

    let response = within("response", a.handle.request(b.peer_id(), "package".into()))
        .await
        .expect("request");

    assert_eq!(response, Bytes::from_static(b"receipt for package"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_megabyte_payload_round_trips_byte_exact() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    a.knows(&b).await;
    let payload = pattern(20 * 1024 * 1024);

    let response = within("20 MB echo", a.handle.request(b.peer_id(), payload.clone()))
        .await
        .expect("request");

    assert_eq!(response.len(), payload.len());
    assert!(response == payload, "echoed bytes differ");
}

/// Every event `events` holds right now, without waiting.
fn drain(events: &mut broadcast::Receiver<NetworkEvent>) -> Vec<NetworkEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

#[tokio::test]
async fn oversized_request_is_refused_locally_and_the_connection_stays_usable() {
    let a = TestNode::start(
        "a",
        Options {
            max_frame_size: 1024,
            ..Options::memory()
        },
    )
    .await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    a.knows(&b).await;
    let mut events = a.handle.subscribe();
    within("first request", a.handle.request(b.peer_id(), pattern(10)))
        .await
        .expect("connects");

    let error = within("refusal", a.handle.request(b.peer_id(), pattern(2048)))
        .await
        .expect_err("a 2048-byte frame is above the limit");
    match &error {
        RequestError::Io { reason } => {
            assert_eq!(reason, "frame of 2048 bytes exceeds the 1024-byte limit");
        }
        other => panic!("expected an i/o error naming the limit, got {other:?}"),
    }

    let response = within(
        "normal request",
        a.handle.request(b.peer_id(), pattern(1024)),
    )
    .await
    .expect("a frame at the limit goes through");
    assert_eq!(response, pattern(1024));
    assert_eq!(
        drain(&mut events),
        vec![NetworkEvent::PeerConnected(b.peer_id())],
        "one connection throughout"
    );
}

#[tokio::test]
async fn peer_refuses_a_frame_above_its_limit_and_the_connection_stays_usable() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::start(
        "b",
        Options {
            max_frame_size: 1024,
            ..Options::memory()
        },
    )
    .await;
    b.serve(|request| request);
    a.knows(&b).await;
    let mut events = a.handle.subscribe();
    within("first request", a.handle.request(b.peer_id(), pattern(10)))
        .await
        .expect("connects");

    // B refuses on reading the length and drops the stream, so A only sees the stream end
    // (B logs the reason: it is the only side that knows it).
    let refused = within("refusal", a.handle.request(b.peer_id(), pattern(4096))).await;
    assert!(
        matches!(refused, Err(RequestError::Io { .. })),
        "B must refuse a frame over its limit: {refused:?}"
    );

    let response = within(
        "normal request",
        a.handle.request(b.peer_id(), pattern(100)),
    )
    .await
    .expect("a small frame goes through afterwards");
    assert_eq!(response, pattern(100));
    assert_eq!(
        drain(&mut events),
        vec![NetworkEvent::PeerConnected(b.peer_id())],
        "one connection throughout"
    );
}

#[tokio::test]
async fn response_above_the_responders_limit_fails_the_request() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::start(
        "b",
        Options {
            max_frame_size: 1024,
            ..Options::memory()
        },
    )
    .await;
    b.serve(|_| pattern(2048));
    a.knows(&b).await;

    let result = within("failure", a.handle.request(b.peer_id(), pattern(10))).await;

    assert!(matches!(result, Err(RequestError::Io { .. })), "{result:?}");
}

#[tokio::test]
async fn request_to_a_peer_without_address_fails_at_once_with_dial_failure() {
    let a = TestNode::memory("a").await;

    let error = within(
        "dial failure",
        a.handle.request(PeerId::random(), "x".into()),
    )
    .await
    .expect_err("no address known");

    assert!(
        matches!(error, RequestError::DialFailure { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn request_to_an_address_nobody_listens_on_fails_with_dial_failure() {
    let a = TestNode::memory("a").await;
    let b = TestNode::memory("b").await;
    let (peer, addrs) = (b.peer_id(), b.addrs.clone());
    b.stop().await;
    a.handle
        .add_addresses(peer, addrs.clone())
        .await
        .expect("add");

    let error = within("dial failure", a.handle.request(peer, "x".into()))
        .await
        .expect_err("b is gone");

    match error {
        RequestError::DialFailure { reason } => {
            assert!(
                reason.contains(&addrs[0].to_string()),
                "names the address: {reason}"
            );
        }
        other => panic!("expected a dial failure, got {other:?}"),
    }
}

#[tokio::test]
async fn router_dropping_the_reply_fails_the_request_without_waiting_for_the_timeout() {
    let a = TestNode::memory("a").await; // request timeout: 60 s
    let mut b = TestNode::memory("b").await;
    let mut inbound = b.inbound.take().expect("inbound");
    tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            drop(request.reply);
        }
    });
    a.knows(&b).await;

    let result = within("failure", a.handle.request(b.peer_id(), "x".into())).await;

    let error = result.expect_err("no answer");
    assert_ne!(error, RequestError::Timeout);
}

#[tokio::test]
async fn router_that_never_answers_makes_the_request_time_out() {
    let short = Options {
        request_timeout: Duration::from_secs(1),
        ..Options::memory()
    };
    let a = TestNode::start("a", short.clone()).await;
    let mut b = TestNode::start("b", short).await;
    let mut inbound = b.inbound.take().expect("inbound");
    let (held_tx, mut held) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            // Keep the reply alive and unanswered.
            let _ = held_tx.send(request).await;
        }
    });
    a.knows(&b).await;

    let error = within("timeout", a.handle.request(b.peer_id(), "x".into()))
        .await
        .expect_err("never answered");

    assert_eq!(error, RequestError::Timeout);
    assert!(
        held.recv().await.is_some(),
        "the request did reach B's router"
    );
}

#[tokio::test]
async fn full_inbound_queue_answers_busy() {
    let a = TestNode::memory("a").await;
    let b = TestNode::start(
        "b",
        Options {
            inbound_queue: 1,
            ..Options::memory()
        },
    )
    .await;
    // B's router never reads (`b.inbound` stays unread): the first request fills the queue.
    a.knows(&b).await;

    let mut requests: FuturesUnordered<_> = (0..2)
        .map(|i| a.handle.request(b.peer_id(), format!("request {i}").into()))
        .collect();
    let first = within("busy answer", requests.next()).await;

    assert_eq!(first, Some(Ok(BUSY)));
}

#[tokio::test]
async fn request_to_self_is_refused() {
    let a = TestNode::memory("a").await;

    let error = within("refusal", a.handle.request(a.peer_id(), "x".into()))
        .await
        .expect_err("self");

    assert!(
        matches!(error, RequestError::DialFailure { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn handles_answer_shutting_down_once_the_loop_stopped() {
    let a = TestNode::memory("a").await;
    let handle = a.handle.clone();
    let mut events = handle.subscribe();
    a.stop().await;

    assert_eq!(
        handle.request(PeerId::random(), "x".into()).await,
        Err(RequestError::ShuttingDown)
    );
    assert!(matches!(
        handle.listen_addrs().await,
        Err(crate::network::NetworkError::ShuttingDown)
    ));
    assert!(matches!(
        events.recv().await,
        Err(tokio::sync::broadcast::error::RecvError::Closed)
    ));
    assert!(matches!(
        handle.subscribe().recv().await,
        Err(tokio::sync::broadcast::error::RecvError::Closed)
    ));
}

#[tokio::test]
async fn event_loop_stops_when_every_handle_is_dropped() {
    let TestNode { handle, task, .. } = TestNode::memory("a").await;

    drop(handle);

    within("event loop to stop", task).await.expect("no panic");
}

#[tokio::test]
async fn routes_for_many_peers_go_in_at_once_and_an_unusable_circuit_is_skipped() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    let mut routes = crate::network::Routes::to(b.peer_id());
    routes.direct = b.addrs.clone();
    // A circuit through the peer itself cannot be used; the rest still goes in.
    routes.relayed.push((b.peer_id(), b.addrs[0].clone()));
    let unusable = within("add routes", a.handle.add_routes(vec![routes]))
        .await
        .expect("add routes");
    assert_eq!(unusable.len(), 1);

    let response = within("response", a.handle.request(b.peer_id(), "package".into()))
        .await
        .expect("request over the route given");
    assert_eq!(response, Bytes::from_static(b"package"));
}

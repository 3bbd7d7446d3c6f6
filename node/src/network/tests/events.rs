//! Connection events and the peer list.

use super::{TestNode, next_matching, within};
use crate::network::NetworkEvent;

#[tokio::test]
async fn subscriber_sees_peer_connected_then_disconnected_when_the_peer_shuts_down() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    let mut events = a.handle.subscribe();
    a.knows(&b).await;
    let b_id = b.peer_id();

    within("request", a.handle.request(b_id, "hello".into()))
        .await
        .expect("request");
    let connected = next_matching(&mut events, |event| {
        matches!(event, NetworkEvent::PeerConnected(_))
    })
    .await;
    assert_eq!(connected, NetworkEvent::PeerConnected(b_id));

    b.stop().await;
    let disconnected = next_matching(&mut events, |event| {
        matches!(event, NetworkEvent::PeerDisconnected(_))
    })
    .await;
    assert_eq!(disconnected, NetworkEvent::PeerDisconnected(b_id));
}

#[tokio::test]
async fn peer_list_tracks_connection_and_disconnect() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    let mut events = a.handle.subscribe();
    a.knows(&b).await;
    let b_id = b.peer_id();

    let before = a.handle.known_peers().await.expect("peers");
    let info = before
        .iter()
        .find(|info| info.peer_id == b_id)
        .expect("b known");
    assert!(!info.connected, "known from the hint but not connected yet");
    assert_eq!(info.addresses, b.addrs);

    within("request", a.handle.request(b_id, "hello".into()))
        .await
        .expect("request");
    let during = a.handle.connected_peers().await.expect("peers");
    assert!(
        during
            .iter()
            .any(|info| info.peer_id == b_id && info.connected)
    );

    a.handle.disconnect(b_id).await.expect("disconnect");
    next_matching(&mut events, |event| {
        *event == NetworkEvent::PeerDisconnected(b_id)
    })
    .await;
    let after = a.handle.known_peers().await.expect("peers");
    assert!(
        after
            .iter()
            .any(|info| info.peer_id == b_id && !info.connected)
    );
    let connected = a.handle.connected_peers().await.expect("peers");
    assert!(
        connected.iter().all(|info| info.peer_id != b_id),
        "only peers connected now: {connected:?}"
    );
}

#[tokio::test]
async fn reconnects_on_demand_after_a_disconnect() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    let mut events = a.handle.subscribe();
    a.knows(&b).await;
    let b_id = b.peer_id();
    within("request", a.handle.request(b_id, "one".into()))
        .await
        .expect("first request");
    a.handle.disconnect(b_id).await.expect("disconnect");
    next_matching(&mut events, |event| {
        *event == NetworkEvent::PeerDisconnected(b_id)
    })
    .await;

    let response = within("request", a.handle.request(b_id, "two".into()))
        .await
        .expect("second request dials again");

    assert_eq!(&response[..], b"two");
}

#[tokio::test]
async fn oversized_request_frame_is_reported_as_a_protocol_violation() {
    let mut a = TestNode::start(
        "a",
        crate::network::Options {
            max_frame_size: 1024,
            ..crate::network::Options::memory()
        },
    )
    .await;
    a.serve(|request| request);
    let b = TestNode::memory("b").await; // limit: 64 MiB, so B sends it
    b.knows(&a).await;
    let mut events = a.handle.subscribe();

    let result = within(
        "refusal",
        b.handle.request(a.peer_id(), vec![7; 4096].into()),
    )
    .await;
    assert!(result.is_err(), "{result:?}");

    let violation = next_matching(&mut events, |event| {
        matches!(event, NetworkEvent::ProtocolViolation { .. })
    })
    .await;
    assert_eq!(
        violation,
        NetworkEvent::ProtocolViolation {
            peer: b.peer_id(),
            reason: "frame of 4096 bytes exceeds the 1024-byte limit".to_owned(),
        }
    );
}

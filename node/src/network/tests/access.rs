//! The allow list (federation membership) and the temporary block list.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::broadcast;

use super::{TestNode, next_matching, within};
use crate::network::{NetworkEvent, RefusedReason, RequestError};

/// An in-memory node whose router echoes every request.
async fn echo(name: &str) -> TestNode {
    let mut node = TestNode::memory(name).await;
    node.serve(|request| request);
    node
}

async fn refused(
    events: &mut broadcast::Receiver<NetworkEvent>,
    peer: libp2p::PeerId,
    reason: RefusedReason,
) {
    let wanted = NetworkEvent::ConnectionRefused { peer, reason };
    next_matching(events, |event| *event == wanted).await;
}

async fn disconnected(events: &mut broadcast::Receiver<NetworkEvent>, peer: libp2p::PeerId) {
    next_matching(events, |event| {
        *event == NetworkEvent::PeerDisconnected(peer)
    })
    .await;
}

#[tokio::test]
async fn allow_list_refuses_non_members_until_it_is_lifted() {
    let a = echo("a").await;
    let b = echo("b").await;
    let c = echo("c").await;
    b.knows(&a).await;
    c.knows(&a).await;
    let mut a_events = a.handle.subscribe();

    a.handle
        .set_allowed(Some(HashSet::from([b.peer_id()])))
        .await
        .expect("set allowed");

    let from_c = within("c's request", c.handle.request(a.peer_id(), "c".into())).await;
    assert!(from_c.is_err(), "A refuses C's connection: {from_c:?}");
    refused(&mut a_events, c.peer_id(), RefusedReason::NotAllowed).await;
    let to_c = within("a's request", a.handle.request(c.peer_id(), "a".into())).await;
    assert_eq!(
        to_c,
        Err(RequestError::NotAllowed),
        "refused without dialing"
    );
    let from_b = within("b's request", b.handle.request(a.peer_id(), "b".into())).await;
    assert_eq!(
        from_b.as_deref(),
        Ok(&b"b"[..]),
        "members still get through"
    );

    a.handle.set_allowed(None).await.expect("set allowed");
    let from_c = within(
        "c's request",
        c.handle.request(a.peer_id(), "c again".into()),
    )
    .await;
    assert_eq!(
        from_c.as_deref(),
        Ok(&b"c again"[..]),
        "everyone allowed again"
    );
}

#[tokio::test]
async fn switching_the_allow_list_on_disconnects_connected_non_members() {
    let a = echo("a").await;
    let b = echo("b").await;
    b.knows(&a).await;
    within("request", b.handle.request(a.peer_id(), "x".into()))
        .await
        .expect("connected");
    let mut a_events = a.handle.subscribe();

    a.handle
        .set_allowed(Some(HashSet::new()))
        .await
        .expect("set allowed");

    refused(&mut a_events, b.peer_id(), RefusedReason::NotAllowed).await;
    disconnected(&mut a_events, b.peer_id()).await;
}

#[tokio::test]
async fn removing_a_connected_member_disconnects_it_and_keeps_the_others() {
    let a = echo("a").await;
    let b = echo("b").await;
    let c = echo("c").await;
    b.knows(&a).await;
    c.knows(&a).await;
    let both = HashSet::from([b.peer_id(), c.peer_id()]);
    a.handle.set_allowed(Some(both)).await.expect("set allowed");
    for node in [&b, &c] {
        within("request", node.handle.request(a.peer_id(), "x".into()))
            .await
            .expect("members connect");
    }
    let mut a_events = a.handle.subscribe();

    a.handle
        .set_allowed(Some(HashSet::from([c.peer_id()])))
        .await
        .expect("set allowed");

    refused(&mut a_events, b.peer_id(), RefusedReason::NotAllowed).await;
    disconnected(&mut a_events, b.peer_id()).await;
    let peers = a.handle.connected_peers().await.expect("peers");
    assert!(
        peers
            .iter()
            .any(|info| info.peer_id == c.peer_id() && info.connected),
        "C stays connected: {peers:?}"
    );
}

#[tokio::test]
async fn blocked_peer_is_cut_off_until_the_block_expires() {
    // Long enough for the refusals below on a loaded two-core machine; the wait for the
    // expiry is on the `PeerUnblocked` event, not on a clock.
    const BLOCK: Duration = Duration::from_secs(2);
    let a = echo("a").await;
    let b = echo("b").await;
    b.knows(&a).await;
    a.knows(&b).await;
    within("request", b.handle.request(a.peer_id(), "x".into()))
        .await
        .expect("connected");
    let mut a_events = a.handle.subscribe();
    let mut b_events = b.handle.subscribe();

    a.handle.block(b.peer_id(), BLOCK).await.expect("block");

    refused(&mut a_events, b.peer_id(), RefusedReason::Blocked).await;
    disconnected(&mut b_events, a.peer_id()).await;
    let from_b = within("b's request", b.handle.request(a.peer_id(), "y".into())).await;
    assert!(from_b.is_err(), "A refuses B's new connection: {from_b:?}");
    refused(&mut a_events, b.peer_id(), RefusedReason::Blocked).await;
    let to_b = within("a's request", a.handle.request(b.peer_id(), "z".into())).await;
    assert_eq!(to_b, Err(RequestError::Blocked));
    let blocked = a.handle.blocked().await.expect("blocked");
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].0, b.peer_id());
    assert!(blocked[0].1 <= BLOCK);

    next_matching(&mut a_events, |event| {
        *event == NetworkEvent::PeerUnblocked(b.peer_id())
    })
    .await;

    assert_eq!(a.handle.blocked().await.expect("blocked"), vec![]);
    let from_b = within("b's request", b.handle.request(a.peer_id(), "w".into())).await;
    assert_eq!(from_b.as_deref(), Ok(&b"w"[..]), "B gets through again");
}

#[tokio::test]
async fn blocking_again_extends_the_block() {
    let a = TestNode::memory("a").await;
    let b = libp2p::PeerId::random();

    a.handle
        .block(b, Duration::from_secs(1))
        .await
        .expect("block");
    a.handle
        .block(b, Duration::from_secs(3600))
        .await
        .expect("block");
    a.handle
        .block(b, Duration::from_secs(1))
        .await
        .expect("block");

    let blocked = a.handle.blocked().await.expect("blocked");
    assert_eq!(blocked.len(), 1);
    assert!(blocked[0].1 > Duration::from_secs(3000), "{blocked:?}");
}

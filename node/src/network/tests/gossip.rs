//! Gossip along a line of three nodes, A – B – C: what C publishes reaches A only through B,
//! and only once B's node has accepted it.

use std::collections::HashSet;

use libp2p::PeerId;
use tokio::sync::broadcast;
use tokio::sync::mpsc::error::TryRecvError;

use super::{TestNode, next_matching, within};
use crate::network::{GossipAcceptance, GossipMessage, NetworkEvent, Options};

const TOPIC: &str = "lienthong/roster/1";

/// A node subscribed to [`TOPIC`]. Kademlia off, so A and C never find each other and the
/// line stays a line.
async fn subscriber(name: &str) -> TestNode {
    TestNode::start(
        name,
        Options {
            gossip_topics: vec![TOPIC.to_owned()],
            kademlia: false,
            ..Options::memory()
        },
    )
    .await
}

/// Waits until every one of `peers` has subscribed to [`TOPIC`], as `events` reports.
async fn subscribed(events: &mut broadcast::Receiver<NetworkEvent>, peers: &[PeerId]) {
    let mut waiting: HashSet<PeerId> = peers.iter().copied().collect();
    while !waiting.is_empty() {
        let event = next_matching(
            events,
            |event| matches!(event, NetworkEvent::TopicSubscribed { topic, .. } if topic == TOPIC),
        )
        .await;
        if let NetworkEvent::TopicSubscribed { peer, .. } = event {
            waiting.remove(&peer);
        }
    }
}

/// Starts A – B – C and waits until the mesh is up: B has both subscriptions, A and C have
/// B's (a subscriber joins the mesh as its subscription arrives).
async fn line() -> (TestNode, TestNode, TestNode) {
    let a = subscriber("a").await;
    let b = subscriber("b").await;
    let c = subscriber("c").await;
    let (mut a_events, mut b_events, mut c_events) = (
        a.handle.subscribe(),
        b.handle.subscribe(),
        c.handle.subscribe(),
    );
    for end in [&a, &c] {
        end.knows(&b).await;
        end.handle
            .connect(b.peer_id())
            .await
            .expect("loop running")
            .expect("dial starts");
    }
    subscribed(&mut b_events, &[a.peer_id(), c.peer_id()]).await;
    subscribed(&mut a_events, &[b.peer_id()]).await;
    subscribed(&mut c_events, &[b.peer_id()]).await;
    (a, b, c)
}

async fn next_gossip(node: &mut TestNode, what: &str) -> GossipMessage {
    within(what, node.gossip.recv())
        .await
        .expect("gossip queue open")
}

#[tokio::test]
async fn message_reaches_the_far_end_only_after_the_middle_node_accepts_it() {
    let (mut a, mut b, c) = line().await;
    b.serve(|request| request);
    a.knows(&b).await;

    c.handle
        .publish(TOPIC, "roster v1".into())
        .await
        .expect("publish");
    let at_b = next_gossip(&mut b, "gossip at b").await;
    assert_eq!(at_b.topic, TOPIC);
    assert_eq!(at_b.source, c.peer_id());
    assert_eq!(at_b.author, Some(c.peer_id()));
    assert_eq!(&at_b.data[..], b"roster v1");

    // Held at B. A round trip between A and B leaves a forward, had B sent one, time to land.
    within("round trip", a.handle.request(b.peer_id(), "ping".into()))
        .await
        .expect("request");
    assert!(
        matches!(a.gossip.try_recv(), Err(TryRecvError::Empty)),
        "nothing forwarded before B's verdict"
    );

    b.handle
        .report_gossip(at_b.id, at_b.source, GossipAcceptance::Accept)
        .await
        .expect("report");
    let at_a = next_gossip(&mut a, "gossip at a").await;

    assert_eq!(at_a.source, b.peer_id(), "forwarded by B");
    assert_eq!(at_a.author, Some(c.peer_id()), "still signed by C");
    assert_eq!(&at_a.data[..], b"roster v1");
}

#[tokio::test]
async fn rejected_message_is_not_forwarded_past_the_middle_node() {
    let (mut a, mut b, c) = line().await;

    c.handle
        .publish(TOPIC, "forged roster".into())
        .await
        .expect("publish");
    let forged = next_gossip(&mut b, "forged gossip at b").await;
    assert_eq!(&forged.data[..], b"forged roster");
    b.handle
        .report_gossip(forged.id, forged.source, GossipAcceptance::Reject)
        .await
        .expect("report");

    // B forwards in order on one stream: had it forwarded the rejected message, A would get
    // it before this one.
    c.handle
        .publish(TOPIC, "genuine roster".into())
        .await
        .expect("publish");
    let genuine = next_gossip(&mut b, "genuine gossip at b").await;
    b.handle
        .report_gossip(genuine.id, genuine.source, GossipAcceptance::Accept)
        .await
        .expect("report");
    let at_a = next_gossip(&mut a, "gossip at a").await;

    assert_eq!(&at_a.data[..], b"genuine roster");
    assert!(matches!(a.gossip.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn publishing_with_no_subscriber_is_not_an_error() {
    let a = subscriber("a").await;

    let published = a.handle.publish(TOPIC, "alone".into()).await;

    assert!(published.is_ok(), "{published:?}");
}

#[tokio::test]
async fn publishing_above_the_size_limit_fails_even_with_no_subscriber() {
    let a = subscriber("a").await;
    let limit = Options::default().gossip_max_message_size;

    let published = a.handle.publish(TOPIC, vec![0; limit + 1].into()).await;

    assert!(
        matches!(published, Err(crate::network::NetworkError::Publish { .. })),
        "{published:?}"
    );
}

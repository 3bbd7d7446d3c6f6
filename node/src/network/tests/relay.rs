//! Circuit relay v2 and DCUtR over loopback TCP.
//!
//! The relay R listens on 127.0.0.1; the units M (the one reached through R) and S (the
//! sender) listen on nothing, as on networks no one can dial into: everything they get goes
//! through connections they open, and R's circuits. That also makes hole punching fail
//! deterministically (nothing listens on their observed ports), so every test sees
//! relayed connections only.

use bytes::Bytes;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::broadcast;

use super::request::pattern;
use super::{TestNode, next_matching, within};
use crate::network::{NetworkEvent, Options, RelayMembers, RelayServerOptions, RequestError};

/// A unit on a network no one can dial into.
fn unreachable_unit() -> Options {
    Options {
        listen: Vec::new(),
        mdns: false,
        ..Options::default()
    }
}

/// A relay on 127.0.0.1:`port` (0: any) serving `members`.
fn relay(members: &RelayMembers, port: u16) -> Options {
    relay_with(
        RelayServerOptions {
            members: members.clone(),
            circuit_sources: members.clone(),
            ..RelayServerOptions::default()
        },
        port,
    )
}

fn relay_with(server: RelayServerOptions, port: u16) -> Options {
    Options {
        listen: vec![
            Multiaddr::empty()
                .with(Protocol::Ip4([127, 0, 0, 1].into()))
                .with(Protocol::Tcp(port)),
        ],
        mdns: false,
        relay_server: Some(server),
        ..Options::default()
    }
}

fn peer_id(keypair: &Keypair) -> PeerId {
    keypair.public().to_peer_id()
}

/// Waits until `relay` has accepted a reservation of the node behind `events`, failing on
/// a `ReservationLost` before that.
async fn accepted(events: &mut broadcast::Receiver<NetworkEvent>, relay: PeerId) {
    let outcome = next_matching(events, |event| {
        matches!(event, NetworkEvent::ReservationAccepted { relay: r } | NetworkEvent::ReservationLost { relay: r, .. } if *r == relay)
    })
    .await;
    assert_eq!(outcome, NetworkEvent::ReservationAccepted { relay });
}

/// The relay R, the unit M holding a reservation on it, and the sender S, both members.
struct Bridge {
    r: TestNode,
    m: TestNode,
    s: TestNode,
}

impl Bridge {
    /// Starts R, M and S; M reserves on R and answers `receipt for <request>`; S knows M
    /// only by its relayed address.
    async fn start(server: RelayServerOptions) -> Self {
        let (m_key, s_key) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
        // M reserves; S, a member of the federation, opens circuits.
        server.members.set([peer_id(&m_key)].into());
        server
            .circuit_sources
            .set([peer_id(&m_key), peer_id(&s_key)].into());
        let r = TestNode::start("r", relay_with(server, 0)).await;
        let mut m = TestNode::start_with("m", m_key, unreachable_unit()).await;
        m.serve(|request| [b"receipt for ".as_slice(), &request].concat().into());
        let s = TestNode::start_with("s", s_key, unreachable_unit()).await;

        let mut m_events = m.handle.subscribe();
        m.handle
            .listen_via_relay(r.peer_id(), r.addrs.clone())
            .await
            .expect("listen via relay");
        accepted(&mut m_events, r.peer_id()).await;
        s.handle
            .add_relayed_address(m.peer_id(), r.peer_id(), r.addrs[0].clone())
            .await
            .expect("relayed address");
        Self { r, m, s }
    }
}

#[tokio::test]
async fn member_reaches_a_member_through_the_relay_and_hole_punching_is_harmless() {
    let bridge = Bridge::start(RelayServerOptions::default()).await;
    let Bridge { r, m, s } = &bridge;
    assert_eq!(
        m.handle.reservations().await.expect("reservations"),
        [r.peer_id()]
    );
    let mut m_events = m.handle.subscribe();

    let response = within(
        "response through the relay",
        s.handle.request(m.peer_id(), "package".into()),
    )
    .await
    .expect("request through the relay");

    assert_eq!(response, Bytes::from_static(b"receipt for package"));
    let peers = s.handle.connected_peers().await.expect("peers");
    let info = peers
        .iter()
        .find(|info| info.peer_id == m.peer_id())
        .expect("m known");
    assert!(info.connected && info.relayed, "{info:?}");
    assert!(
        info.addresses
            .iter()
            .all(|addr| addr.iter().any(|p| p == Protocol::P2pCircuit)),
        "only relayed addresses: {:?}",
        info.addresses
    );

    // M, the listening side of the circuit, starts DCUtR; with nothing listening on either
    // side's observed ports it fails, and the circuit carries on.
    let upgrade = next_matching(&mut m_events, |event| {
        matches!(event, NetworkEvent::DirectUpgrade { .. })
    })
    .await;
    assert_eq!(
        upgrade,
        NetworkEvent::DirectUpgrade {
            peer: s.peer_id(),
            succeeded: false
        }
    );
    let again = within(
        "second response",
        s.handle.request(m.peer_id(), "more".into()),
    )
    .await
    .expect("the relayed connection still works");
    assert_eq!(again, Bytes::from_static(b"receipt for more"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_mebibytes_cross_the_circuit_byte_exact() {
    let bridge = Bridge::start(RelayServerOptions::default()).await;
    let payload = pattern(4 * 1024 * 1024);

    let response = within(
        "4 MiB through the relay",
        bridge.s.handle.request(bridge.m.peer_id(), payload.clone()),
    )
    .await
    .expect("request through the relay");

    assert_eq!(response.len(), b"receipt for ".len() + payload.len());
    assert!(response[b"receipt for ".len()..] == payload, "bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_a_small_byte_limit_cuts_a_large_transfer() {
    // What libp2p's default (128 KiB per circuit) would do to a document.
    let bridge = Bridge::start(RelayServerOptions {
        max_circuit_bytes: 128 * 1024,
        ..RelayServerOptions::default()
    })
    .await;

    let result = within(
        "the circuit to be cut",
        bridge
            .s
            .handle
            .request(bridge.m.peer_id(), pattern(4 * 1024 * 1024)),
    )
    .await;

    // The relay closes the circuit ("max circuit bytes reached") under the request.
    assert!(
        matches!(
            result,
            Err(RequestError::ConnectionClosed | RequestError::Io { .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn non_member_can_neither_reserve_nor_reach_a_member_through_the_relay() {
    let m_key = Keypair::generate_ed25519();
    let members = RelayMembers::new([peer_id(&m_key)].into());
    let r = TestNode::start("r", relay(&members, 0)).await;
    let mut r_events = r.handle.subscribe();
    let mut m = TestNode::start_with("m", m_key, unreachable_unit()).await;
    m.serve(|request| request);
    let n = TestNode::start("n", unreachable_unit()).await;
    let mut m_events = m.handle.subscribe();
    m.handle
        .listen_via_relay(r.peer_id(), r.addrs.clone())
        .await
        .expect("listen via relay");
    accepted(&mut m_events, r.peer_id()).await;

    // N asks for a reservation: refused, and retried (then stopped).
    let mut n_events = n.handle.subscribe();
    n.handle
        .listen_via_relay(r.peer_id(), r.addrs.clone())
        .await
        .expect("the attempt starts");
    let outcome = next_matching(&mut n_events, |event| {
        matches!(
            event,
            NetworkEvent::ReservationAccepted { .. } | NetworkEvent::ReservationLost { .. }
        )
    })
    .await;
    match outcome {
        NetworkEvent::ReservationLost { relay, reason } => {
            assert_eq!(relay, r.peer_id());
            assert!(reason.contains("resource limit"), "{reason}");
        }
        other => panic!("a non-member got a reservation: {other:?}"),
    }
    let refused = next_matching(&mut r_events, |event| {
        matches!(event, NetworkEvent::RelayRefused { .. })
    })
    .await;
    assert_eq!(
        refused,
        NetworkEvent::RelayRefused {
            peer: n.peer_id(),
            what: "reservation"
        }
    );
    assert!(
        n.handle
            .reservations()
            .await
            .expect("reservations")
            .is_empty()
    );
    n.handle
        .stop_listening_via_relay(r.peer_id())
        .await
        .expect("stop");

    // N tries to reach M through R: no circuit for a non-member.
    n.handle
        .add_relayed_address(m.peer_id(), r.peer_id(), r.addrs[0].clone())
        .await
        .expect("relayed address");
    let error = within("refusal", n.handle.request(m.peer_id(), "x".into()))
        .await
        .expect_err("no circuit for a non-member");
    assert!(
        matches!(error, RequestError::DialFailure { .. }),
        "{error:?}"
    );
    next_matching(&mut r_events, |event| {
        *event
            == NetworkEvent::RelayRefused {
                peer: n.peer_id(),
                what: "circuit",
            }
    })
    .await;
}

#[tokio::test]
async fn reservation_comes_back_by_itself_after_the_relay_restarts() {
    let r_key = Keypair::generate_ed25519();
    let m = TestNode::start("m", unreachable_unit()).await;
    let members = RelayMembers::new([m.peer_id()].into());
    let r = TestNode::start_with("r", r_key.clone(), relay(&members, 0)).await;
    let (r_id, r_addrs) = (r.peer_id(), r.addrs.clone());
    let Some(Protocol::Tcp(port)) = r_addrs[0].iter().nth(1) else {
        panic!("not a tcp address: {r_addrs:?}");
    };
    let mut m_events = m.handle.subscribe();
    m.handle
        .listen_via_relay(r_id, r_addrs.clone())
        .await
        .expect("listen via relay");
    accepted(&mut m_events, r_id).await;

    r.stop().await;
    next_matching(
        &mut m_events,
        |event| matches!(event, NetworkEvent::ReservationLost { relay, .. } if *relay == r_id),
    )
    .await;
    assert!(
        m.handle
            .reservations()
            .await
            .expect("reservations")
            .is_empty()
    );
    let r = TestNode::start_with("r again", r_key, relay(&members, port)).await;
    assert_eq!(r.addrs, r_addrs, "same address");

    // Failed attempts while R was down may come first; the acceptance must follow.
    next_matching(&mut m_events, |event| {
        *event == NetworkEvent::ReservationAccepted { relay: r_id }
    })
    .await;
    assert_eq!(m.handle.reservations().await.expect("reservations"), [r_id]);
}

#[tokio::test]
async fn stop_listening_via_relay_ends_the_reservation() {
    let bridge = Bridge::start(RelayServerOptions::default()).await;
    let Bridge { r, m, s } = &bridge;
    let mut m_events = m.handle.subscribe();

    m.handle
        .stop_listening_via_relay(r.peer_id())
        .await
        .expect("stop");

    let lost = next_matching(&mut m_events, |event| {
        matches!(event, NetworkEvent::ReservationLost { .. })
    })
    .await;
    assert_eq!(
        lost,
        NetworkEvent::ReservationLost {
            relay: r.peer_id(),
            reason: "stopped listening via this relay".to_owned()
        }
    );
    assert!(
        m.handle
            .reservations()
            .await
            .expect("reservations")
            .is_empty()
    );
    // R still forwards circuits until the reservation expires; M refuses them.
    let result = within("refusal", s.handle.request(m.peer_id(), "x".into())).await;
    assert!(
        matches!(result, Err(RequestError::DialFailure { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn relay_arguments_are_checked() {
    let a = TestNode::start("a", unreachable_unit()).await;
    let (peer, relay) = (PeerId::random(), PeerId::random());
    let other_peers: Multiaddr = format!("/ip4/127.0.0.1/tcp/1/p2p/{peer}")
        .parse()
        .expect("multiaddr");

    assert!(
        a.handle
            .listen_via_relay(a.peer_id(), vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()])
            .await
            .is_err()
    );
    assert!(a.handle.listen_via_relay(relay, Vec::new()).await.is_err());
    assert!(
        a.handle
            .listen_via_relay(relay, vec![other_peers.clone()])
            .await
            .is_err()
    );
    assert!(
        a.handle
            .add_relayed_address(peer, peer, "/ip4/127.0.0.1/tcp/1".parse().unwrap())
            .await
            .is_err()
    );
    assert!(
        a.handle
            .add_relayed_address(peer, relay, other_peers)
            .await
            .is_err()
    );
    assert!(
        a.handle
            .reservations()
            .await
            .expect("reservations")
            .is_empty()
    );
}

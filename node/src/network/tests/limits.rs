//! The connection limits and the handshake timeout, on a whole swarm.

use std::collections::HashSet;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{TestNode, within};
use crate::network::{ConnectionLimits, Options};

/// An in-memory node whose router echoes every request.
async fn echo(name: &str, options: Options) -> TestNode {
    let mut node = TestNode::start(name, options).await;
    node.serve(|request| request);
    node
}

fn one_inbound() -> Options {
    Options {
        connection_limits: ConnectionLimits {
            established_inbound: 1,
            ..ConnectionLimits::default()
        },
        ..Options::memory()
    }
}

#[tokio::test]
async fn a_full_node_refuses_newcomers_and_keeps_the_peer_it_has() {
    let a = echo("a", one_inbound()).await;
    let b = echo("b", Options::memory()).await;
    let c = echo("c", Options::memory()).await;
    b.knows(&a).await;
    c.knows(&a).await;

    let from_b = within("b's request", b.handle.request(a.peer_id(), "b".into())).await;
    assert_eq!(from_b.as_deref(), Ok(&b"b"[..]));
    let from_c = within("c's request", c.handle.request(a.peer_id(), "c".into())).await;
    assert!(from_c.is_err(), "no room for C: {from_c:?}");
    let again = within("b's request", b.handle.request(a.peer_id(), "b2".into())).await;
    assert_eq!(again.as_deref(), Ok(&b"b2"[..]), "B's connection is kept");
}

#[tokio::test]
async fn strangers_refused_by_the_allow_list_take_no_established_slot() {
    let a = echo("a", one_inbound()).await;
    let member = echo("member", Options::memory()).await;
    let stranger = echo("stranger", Options::memory()).await;
    member.knows(&a).await;
    stranger.knows(&a).await;
    a.handle
        .set_allowed(Some(HashSet::from([member.peer_id()])))
        .await
        .expect("set allowed");

    for n in 0..3 {
        let request = stranger.handle.request(a.peer_id(), format!("{n}").into());
        assert!(within("the stranger's request", request).await.is_err());
    }
    let from_member = within(
        "the member's request",
        member.handle.request(a.peer_id(), "m".into()),
    )
    .await;
    assert_eq!(
        from_member.as_deref(),
        Ok(&b"m"[..]),
        "the one slot is the member's"
    );
}

/// Waits until the node closes `stream`: end of stream or a reset, not a timeout.
async fn closed_by_the_node(mut stream: tokio::net::TcpStream) {
    let mut buf = [0u8; 256];
    loop {
        match within("the node to drop the connection", stream.read(&mut buf)).await {
            // The node's own half of the negotiation, before it gives up.
            Ok(n) if n > 0 => continue,
            Ok(_) | Err(_) => return,
        }
    }
}

#[tokio::test]
async fn silent_and_stalled_handshakes_are_dropped_after_the_handshake_timeout() {
    let a = TestNode::start(
        "a",
        Options {
            mdns: false,
            handshake_timeout: Duration::from_secs(1),
            ..Options::default()
        },
    )
    .await;
    let port = a
        .addrs
        .iter()
        .flat_map(|addr| addr.iter())
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP port");

    let silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    // Protocol negotiation and the Noise proposal, then nothing.
    stalled
        .write_all(b"\x13/multistream/1.0.0\n\x07/noise\n")
        .await
        .expect("write");

    closed_by_the_node(silent).await;
    closed_by_the_node(stalled).await;
    a.stop().await;
}

//! The real stack on loopback: TCP + Noise + Yamux on 127.0.0.1, port 0.

use libp2p::multiaddr::Protocol;

use super::{TestNode, within};
use crate::network::{NetworkError, Options, spawn};

fn loopback() -> Options {
    // mDNS off: multicast on a test machine's loopback is not something to depend on.
    Options {
        mdns: false,
        ..Options::default()
    }
}

#[tokio::test]
async fn tcp_nodes_report_bound_ports_and_exchange_a_request() {
    let a = TestNode::start("a", loopback()).await;
    let mut b = TestNode::start("b", loopback()).await;

    for addrs in [&a.addrs, &b.addrs] {
        assert_eq!(addrs.len(), 1, "{addrs:?}");
        let mut parts = addrs[0].iter();
        assert_eq!(parts.next(), Some(Protocol::Ip4([127, 0, 0, 1].into())));
        assert!(
            matches!(parts.next(), Some(Protocol::Tcp(port)) if port != 0),
            "{addrs:?}"
        );
    }

    b.serve(|request| [b"ack:".as_slice(), &request].concat().into());
    a.knows(&b).await;
    let response = within(
        "response over tcp",
        a.handle.request(b.peer_id(), "doc".into()),
    )
    .await
    .expect("request");

    assert_eq!(&response[..], b"ack:doc");
}

#[tokio::test]
async fn spawn_refuses_a_zero_capacity_queue() {
    let options = Options {
        inbound_queue: 0,
        ..loopback()
    };

    let result = spawn(
        libp2p::identity::Keypair::generate_ed25519(),
        options,
        tokio_util::sync::CancellationToken::new(),
    )
    .await;

    assert!(matches!(
        result,
        Err(NetworkError::InvalidOption {
            option: "inbound_queue",
            ..
        })
    ));
}

#[tokio::test]
async fn spawn_refuses_an_address_the_transport_cannot_listen_on() {
    let options = Options {
        listen: vec!["/memory/1234".parse().expect("multiaddr")],
        ..loopback()
    };

    let result = spawn(
        libp2p::identity::Keypair::generate_ed25519(),
        options,
        tokio_util::sync::CancellationToken::new(),
    )
    .await;

    assert!(matches!(result, Err(NetworkError::Listen { .. })));
}

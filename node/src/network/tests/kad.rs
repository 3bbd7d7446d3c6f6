//! Kademlia records between in-memory nodes.

use super::{TestNode, within};
use crate::network::{NetworkError, Options};

#[tokio::test]
async fn record_put_on_one_node_is_found_on_a_connected_node() {
    let a = TestNode::memory("a").await;
    let mut b = TestNode::memory("b").await;
    b.serve(|request| request);
    a.knows(&b).await;
    within("request", a.handle.request(b.peer_id(), "hello".into()))
        .await
        .expect("a and b connected");

    within(
        "put",
        a.handle
            .kad_put(b"000.00.00.G22".to_vec(), b"peer+addrs".to_vec()),
    )
    .await
    .expect("put replicated to b");
    let found = within("get", b.handle.kad_get(b"000.00.00.G22".to_vec()))
        .await
        .expect("get");

    assert_eq!(found.as_deref(), Some(&b"peer+addrs"[..]));
}

#[tokio::test]
async fn get_fetches_a_record_only_a_remote_peer_holds() {
    let a = TestNode::memory("a").await;
    let c = TestNode::memory("c").await;

    // Alone, A keeps the record but cannot replicate it: said so, not hidden.
    let put = within("put", a.handle.kad_put(b"key".to_vec(), b"value".to_vec())).await;
    assert!(matches!(put, Err(NetworkError::KadQuorumFailed)), "{put:?}");

    c.knows(&a).await;
    let found = within("get", c.handle.kad_get(b"key".to_vec()))
        .await
        .expect("get");

    assert_eq!(found.as_deref(), Some(&b"value"[..]));
}

#[tokio::test]
async fn get_of_an_unknown_key_returns_none_once_the_query_finishes() {
    let a = TestNode::memory("a").await;
    let b = TestNode::memory("b").await;
    b.knows(&a).await;

    let alone = within("get", a.handle.kad_get(b"nobody".to_vec())).await;
    let asked_a = within("get", b.handle.kad_get(b"nobody".to_vec())).await;

    assert!(matches!(alone, Ok(None)), "{alone:?}");
    assert!(matches!(asked_a, Ok(None)), "{asked_a:?}");
}

#[tokio::test]
async fn kademlia_operations_fail_when_it_is_disabled() {
    let a = TestNode::start(
        "a",
        Options {
            kademlia: false,
            ..Options::memory()
        },
    )
    .await;

    let put = a.handle.kad_put(b"k".to_vec(), b"v".to_vec()).await;
    let get = a.handle.kad_get(b"k".to_vec()).await;

    assert!(
        matches!(put, Err(NetworkError::KademliaDisabled)),
        "{put:?}"
    );
    assert!(
        matches!(get, Err(NetworkError::KademliaDisabled)),
        "{get:?}"
    );
}

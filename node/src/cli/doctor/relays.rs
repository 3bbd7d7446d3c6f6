//! Reachability of the relays this agency names in the roster: a TCP connection to each
//! address the roster gives for them, and, when the daemon runs, whether it is connected
//! to them and holds a reservation (`GET /api/v1/peers`).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use lienthong_node::clock;
use lienthong_node::config::Config;
use lienthong_node::roster::membership::Membership;
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::{MemberStatus, Role};
use serde_json::Value;

use super::Check;
use crate::cli::client::Running;

/// How long one connection attempt may take: a relay on the province's network answers in
/// milliseconds; a firewall that drops packets never answers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// One check per relay this agency names (none when it names none).
pub(super) fn check(
    config: &Config,
    membership: &Membership,
    running: Option<&Running>,
) -> Vec<Check> {
    let Some(member) = membership.member(&config.organ_id) else {
        return Vec::new();
    };
    let peers: Option<Vec<Value>> = running.and_then(|r| r.client.get_json("/api/v1/peers").ok());
    member
        .record
        .relays
        .iter()
        .map(|relay| relay_check(relay, membership, peers.as_deref(), config.relay.reserve))
        .collect()
}

fn relay_check(
    relay: &OrganId,
    membership: &Membership,
    peers: Option<&[Value]>,
    reserve: bool,
) -> Check {
    let name = format!("relay {relay}");
    let Some(member) = membership.member(relay) else {
        return Check::fail(
            name,
            "this agency names it as its relay, but the roster does not list it",
            "ask your authority to admit the relay, or to name another one for this agency",
        );
    };
    let status = member.record.status_at(clock::now());
    if member.record.role != Role::Relay || status != MemberStatus::Active {
        return Check::fail(
            name,
            format!(
                "it is no active relay in the roster (role {:?}, {status})",
                member.record.role
            ),
            "ask your authority to name an active relay for this agency",
        );
    }
    let endpoints: Vec<(String, Vec<SocketAddr>)> = member
        .record
        .addresses
        .iter()
        .filter_map(|a| Some((a.clone(), socket_addrs(&a.parse().ok()?))))
        .filter(|(_, addrs)| !addrs.is_empty())
        .collect();
    if endpoints.is_empty() {
        return Check::fail(
            name,
            format!(
                "the roster gives no address to reach it at ({:?})",
                member.record.addresses
            ),
            "the relay's operator admits it again while it runs (lienthong federation admit), so the roster records where it listens",
        );
    }
    let mut failures = Vec::new();
    let mut reached = None;
    'endpoints: for (address, addrs) in &endpoints {
        for addr in addrs {
            match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
                Ok(_) => {
                    reached = Some(address.clone());
                    break 'endpoints;
                }
                Err(error) => failures.push(format!("{address} ({error})")),
            }
        }
    }
    let Some(reached) = reached else {
        return Check::fail(
            name,
            format!("unreachable: {}", failures.join(", ")),
            "check that the relay runs, and that this server's firewall and routes let it reach those addresses over TCP",
        );
    };
    let Some(peers) = peers else {
        return Check::ok(
            name,
            format!(
                "reachable at {reached} (the node's own connection was not checked: it is not running)"
            ),
        );
    };
    let seen = peers.iter().find(|p| p["organ_id"] == relay.as_str());
    let connected = seen.is_some_and(|p| p["connected"] == true);
    let reservation = seen.is_some_and(|p| p["reservation"] == true);
    match (connected, reservation || !reserve) {
        (true, true) => Check::ok(
            name,
            format!(
                "reachable at {reached}; connected{}",
                if reservation {
                    ", reservation held"
                } else {
                    ""
                }
            ),
        ),
        (true, false) => Check::warning(
            name,
            format!(
                "reachable at {reached} and connected, but the node holds no reservation there"
            ),
            "the node renews it by itself within a minute; if it stays so, ask the relay's operator whether the relay lists this agency",
        ),
        (false, _) => Check::warning(
            name,
            format!("reachable at {reached}, but the node is not connected to it"),
            "the node reconnects by itself; if it stays so, read `journalctl -u lienthong` for why",
        ),
    }
}

/// The TCP socket addresses a multiaddr names; none for an address that cannot be dialled
/// (port 0, an unspecified address, a relayed circuit).
fn socket_addrs(address: &Multiaddr) -> Vec<SocketAddr> {
    let mut host = None;
    let mut port = None;
    for protocol in address.iter() {
        match protocol {
            Protocol::Ip4(ip) => host = Some(ip.to_string()),
            Protocol::Ip6(ip) => host = Some(ip.to_string()),
            Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
                host = Some(name.to_string());
            }
            Protocol::Tcp(p) => port = Some(p),
            Protocol::P2pCircuit => return Vec::new(),
            _ => {}
        }
    }
    let (Some(host), Some(port)) = (host, port.filter(|p| *p != 0)) else {
        return Vec::new();
    };
    (host.as_str(), port)
        .to_socket_addrs()
        .map(|addrs| addrs.filter(|a| !a.ip().is_unspecified()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use lienthong_node::data_dir::DataDir;
    use lienthong_node::roster::federation::FederationDir;

    use super::super::Verdict;
    use super::*;

    const RELAY: &str = "000.00.20.H53";
    const MEMBER: &str = "000.00.01.H53";

    fn init(dir: &std::path::Path, organ: &str, listen: &str, role: Role) {
        lienthong_node::init::init(
            dir,
            &lienthong_node::init::InitOptions {
                organ_id: organ.parse().expect("id"),
                name: organ.to_owned(),
                listen: vec![listen.to_owned()],
                api: None,
                role,
                mdns: false,
            },
        )
        .expect("init");
    }

    /// A relay listening at `port` (per the roster) and a member naming it.
    fn roster(port: u16) -> (tempfile::TempDir, Config, Membership) {
        let dir = tempfile::tempdir().expect("tempdir");
        let federation = FederationDir::new(dir.path().join("fed"));
        federation.create("Liên thông thử").expect("federation");
        let relay = dir.path().join("relay");
        init(
            &relay,
            RELAY,
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            Role::Relay,
        );
        federation.admit(&relay, &[]).expect("admit relay");
        let member = dir.path().join("member");
        init(&member, MEMBER, "/ip4/127.0.0.1/tcp/0", Role::Agency);
        federation
            .admit(&member, &[RELAY.parse().expect("id")])
            .expect("admit member");
        let data = DataDir::new(&member);
        let config = Config::load(&data.config()).expect("config");
        let wire = std::fs::read(data.roster()).expect("roster");
        let root =
            lienthong_node::roster::federation::read_public_key(&data.root_key()).expect("root");
        let bundle =
            lienthong_protocol::roster::RosterBundle::from_wire(wire.into(), &root, clock::now())
                .expect("verifies");
        (dir, config, Membership::new(bundle).expect("membership"))
    }

    #[test]
    fn a_relay_that_accepts_connections_is_reachable() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (_dir, config, membership) = roster(port);
        let checks = check(&config, &membership, None);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].verdict, Verdict::Ok, "{:?}", checks[0]);
        assert!(
            checks[0].message.contains("reachable at"),
            "{:?}",
            checks[0]
        );
    }

    #[test]
    fn a_relay_nothing_answers_at_is_unreachable() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let (_dir, config, membership) = roster(port);
        let checks = check(&config, &membership, None);
        assert_eq!(checks[0].verdict, Verdict::Fail, "{:?}", checks[0]);
        assert!(
            checks[0].message.starts_with("unreachable"),
            "{:?}",
            checks[0]
        );
        assert!(
            checks[0].message.contains(&port.to_string()),
            "{:?}",
            checks[0]
        );
    }

    #[test]
    fn the_node_s_connection_and_reservation_are_judged() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (_dir, _config, membership) = roster(port);
        let relay: OrganId = RELAY.parse().expect("id");
        let peer = |connected, reservation| {
            vec![serde_json::json!({
                "organ_id": RELAY, "connected": connected, "reservation": reservation
            })]
        };
        let judged = |peers: Vec<Value>, reserve| {
            relay_check(&relay, &membership, Some(&peers), reserve).verdict
        };
        assert_eq!(judged(peer(true, true), true), Verdict::Ok);
        assert_eq!(judged(peer(true, false), true), Verdict::Warning);
        assert_eq!(judged(peer(true, false), false), Verdict::Ok);
        assert_eq!(judged(peer(false, false), true), Verdict::Warning);
    }

    #[test]
    fn only_dialable_addresses_count() {
        let parse = |a: &str| socket_addrs(&a.parse().expect("multiaddr"));
        assert_eq!(parse("/ip4/127.0.0.1/tcp/7100").len(), 1);
        assert!(parse("/ip4/127.0.0.1/tcp/0").is_empty());
        assert!(parse("/ip4/0.0.0.0/tcp/7100").is_empty());
        assert!(parse("/ip4/127.0.0.1/udp/7100/quic-v1").is_empty());
    }
}

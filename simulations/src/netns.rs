//! Separate networks on one machine: Linux network namespaces that a test creates, wires
//! with veth pairs and bridges, and removes when it is done.
//!
//! A province is modelled the way seed 000 describes it: agencies on the provincial LAN, a
//! tax department on its own sector network, and a provincial relay with a leg in each.
//! Every host is its own namespace with no default route, so a node reaches exactly the
//! networks it is attached to and nothing else on the machine or beyond.
//!
//! Each network is a namespace holding one bridge; attaching a host creates a veth pair
//! between the host and that bridge. The test process itself stays in the machine's own
//! namespace and reaches each node's HTTP API over a private /30 management link
//! (`10.99.0.0/16`), which the node never uses for libp2p: nodes listen only on their
//! network addresses, and only those go into the roster.
//!
//! Names carry the test process's id (`lt<pid>-…`), so concurrent runs do not collide and
//! a later run removes what a killed run left behind ([`Lab::new`]). [`Lab`]'s `Drop`
//! removes everything it created.
//!
//! This needs `CAP_NET_ADMIN` (root in CI) and `ip` from iproute2; without them
//! [`Lab::new`] fails with a message saying so, never skips.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::process::ProcessNode;

/// The management links' range: host `k` of lab `l` gets the /30 at
/// `10.99.0.0 + (l * 64 + k) * 4`.
const MANAGEMENT_SECOND_OCTET: u8 = 99;
/// Hosts per lab, bounded by the management addressing.
const MAX_HOSTS: u32 = 63;

/// Runs `ip` with arguments.
///
/// # Errors
/// When `ip` is missing or fails; the error holds its output.
pub fn ip(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("ip").args(args).output().with_context(|| {
        "running `ip` from iproute2 (install it: apt-get install -y iproute2)".to_owned()
    })?;
    if !output.status.success() {
        bail!(
            "ip {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A set of namespaces, networks and links created by one test; removed on drop.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    index: u32,
    namespaces: Vec<String>,
    management_links: Vec<String>,
    hosts: u32,
}

/// A network: a namespace holding the bridge its hosts attach to.
#[derive(Debug, Clone)]
pub struct Network {
    namespace: String,
    /// The first three octets of the network's /24.
    subnet: [u8; 3],
    ports: u32,
}

/// A host: a namespace a node runs in.
#[derive(Debug, Clone)]
pub struct Host {
    name: String,
    namespace: String,
    management: Ipv4Addr,
    links: Vec<(String, String)>,
}

impl Lab {
    /// A new, empty lab. Removes namespaces left by earlier test processes that are gone.
    ///
    /// # Errors
    /// When this process may not create network namespaces, or `ip` is missing: the
    /// message says what is needed.
    pub fn new() -> anyhow::Result<Lab> {
        ip(&["-V"])?;
        remove_stale()?;
        let pid = std::process::id();
        let prefix = format!("lt{pid}");
        // Labs in one process get different indices; processes differ by pid.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let index = (pid.wrapping_mul(7).wrapping_add(serial)) % 256;
        let mut lab = Lab {
            prefix: format!("{prefix}-{serial}"),
            index,
            namespaces: Vec::new(),
            management_links: Vec::new(),
            hosts: 0,
        };
        let probe = lab.namespace("probe").context(
            "creating a network namespace failed: the relay tests need root (CAP_NET_ADMIN) \
             and iproute2",
        )?;
        lab.remove_namespace(&probe);
        Ok(lab)
    }

    fn namespace(&mut self, role: &str) -> anyhow::Result<String> {
        let name = format!("{}-{role}", self.prefix);
        ip(&["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        Ok(name)
    }

    fn remove_namespace(&mut self, name: &str) {
        let _ = ip(&["netns", "del", name]);
        self.namespaces.retain(|n| n != name);
    }

    /// A network with the /24 `a.b.c.0`, e.g. `[10, 53, 1]`.
    ///
    /// # Errors
    /// When the namespace or bridge cannot be created.
    pub fn network(&mut self, name: &str, subnet: [u8; 3]) -> anyhow::Result<Network> {
        let namespace = self.namespace(&format!("net-{name}"))?;
        ip(&["-n", &namespace, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &namespace, "link", "set", "br0", "up"])?;
        Ok(Network {
            namespace,
            subnet,
            ports: 0,
        })
    }

    /// A host with its management link from this process's namespace.
    ///
    /// # Errors
    /// When the namespace or link cannot be created, or the lab is full.
    pub fn host(&mut self, name: &str) -> anyhow::Result<Host> {
        if self.hosts >= MAX_HOSTS {
            bail!("a lab holds at most {MAX_HOSTS} hosts");
        }
        let k = self.hosts;
        self.hosts += 1;
        let namespace = self.namespace(&format!("h{k}"))?;
        let base = (self.index * 64 + k + 1) * 4;
        let third = u8::try_from(base / 256).context("management range")?;
        let fourth = u8::try_from(base % 256).context("management range")?;
        let outside = Ipv4Addr::new(10, MANAGEMENT_SECOND_OCTET, third, fourth + 1);
        let inside = Ipv4Addr::new(10, MANAGEMENT_SECOND_OCTET, third, fourth + 2);
        let link = format!("{}m{k}", self.prefix);
        if link.len() > 15 {
            bail!("interface name {link} is too long");
        }
        ip(&[
            "link", "add", &link, "type", "veth", "peer", "name", "mgmt", "netns", &namespace,
        ])?;
        self.management_links.push(link.clone());
        ip(&["addr", "add", &format!("{outside}/30"), "dev", &link])?;
        ip(&["link", "set", &link, "up"])?;
        ip(&[
            "-n",
            &namespace,
            "addr",
            "add",
            &format!("{inside}/30"),
            "dev",
            "mgmt",
        ])?;
        ip(&["-n", &namespace, "link", "set", "mgmt", "up"])?;
        Ok(Host {
            name: name.to_owned(),
            namespace,
            management: inside,
            links: Vec::new(),
        })
    }

    /// Attaches `host` to `network` as `a.b.c.octet` and returns that address.
    ///
    /// # Errors
    /// When the link cannot be created.
    pub fn attach(
        &mut self,
        host: &mut Host,
        network: &mut Network,
        octet: u8,
    ) -> anyhow::Result<Ipv4Addr> {
        let [a, b, c] = network.subnet;
        let address = Ipv4Addr::new(a, b, c, octet);
        let inside = format!("eth{}", host.links.len());
        let port = format!("p{}", network.ports);
        network.ports += 1;
        ip(&[
            "-n",
            &host.namespace,
            "link",
            "add",
            &inside,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &network.namespace,
        ])?;
        ip(&[
            "-n",
            &network.namespace,
            "link",
            "set",
            &port,
            "master",
            "br0",
        ])?;
        ip(&["-n", &network.namespace, "link", "set", &port, "up"])?;
        ip(&[
            "-n",
            &host.namespace,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            &inside,
        ])?;
        ip(&["-n", &host.namespace, "link", "set", &inside, "up"])?;
        host.links.push((inside, network.namespace.clone()));
        Ok(address)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for link in &self.management_links {
            let _ = ip(&["link", "del", link]);
        }
        for namespace in self.namespaces.drain(..).rev() {
            let _ = ip(&["netns", "del", &namespace]);
        }
    }
}

impl Host {
    /// The name the test gave it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's name, for `ip netns exec`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The host's management address: where its node's API listens.
    pub fn management(&self) -> Ipv4Addr {
        self.management
    }

    /// Starts the node of `dir` inside this host.
    ///
    /// # Errors
    /// As [`ProcessNode::start_in`].
    pub fn start(&self, dir: &Path) -> anyhow::Result<ProcessNode> {
        ProcessNode::start_in(dir, Some(&self.namespace))
    }

    /// Starts the node of `dir` inside this host with a log filter (`RUST_LOG` syntax).
    ///
    /// # Errors
    /// As [`ProcessNode::start_in`].
    pub fn start_with_log(&self, dir: &Path, filter: &str) -> anyhow::Result<ProcessNode> {
        ProcessNode::start_in_with_log(dir, Some(&self.namespace), filter)
    }

    /// Whether a TCP connection from this host to `address:port` opens within 2 s.
    ///
    /// # Errors
    /// When the probe cannot be run.
    pub fn can_connect(&self, address: Ipv4Addr, port: u16) -> anyhow::Result<bool> {
        let status = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.namespace,
                "timeout",
                "2",
                "bash",
                "-c",
            ])
            .arg(format!("exec 3<>/dev/tcp/{address}/{port}"))
            .stderr(std::process::Stdio::null())
            .status()
            .context("probing a connection with bash in the namespace")?;
        Ok(status.success())
    }

    /// Takes the host off every network it is attached to (its cable pulled); its
    /// management link stays up.
    ///
    /// # Errors
    /// When a link cannot be changed.
    pub fn disconnect(&self) -> anyhow::Result<()> {
        self.set_links("down")
    }

    /// Puts the host back on its networks.
    ///
    /// # Errors
    /// When a link cannot be changed.
    pub fn reconnect(&self) -> anyhow::Result<()> {
        self.set_links("up")
    }

    fn set_links(&self, state: &str) -> anyhow::Result<()> {
        for (inside, _) in &self.links {
            ip(&["-n", &self.namespace, "link", "set", inside, state])?;
        }
        Ok(())
    }
}

/// Removes namespaces and management links named `lt<pid>-…` whose process is gone.
fn remove_stale() -> anyhow::Result<()> {
    let alive = |pid: &str| Path::new("/proc").join(pid).exists();
    for line in ip(&["netns", "list"])?.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if let Some(pid) = lab_pid(name)
            && !alive(pid)
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
    for line in ip(&["-o", "link", "show"])?.lines() {
        // "7: lt123-0m1@if2: <...>"
        let Some(name) = line.split(": ").nth(1) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or_default();
        if let Some(pid) = lab_pid(name)
            && !alive(pid)
        {
            let _ = ip(&["link", "del", name]);
        }
    }
    Ok(())
}

/// The pid in a lab name `lt<pid>-…`.
fn lab_pid(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("lt")?;
    let (pid, _) = rest.split_once('-')?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::lab_pid;

    #[test]
    fn lab_names_carry_their_pid() {
        assert_eq!(lab_pid("lt4242-0-h3"), Some("4242"));
        assert_eq!(lab_pid("lt4242-0m3"), Some("4242"));
        assert_eq!(lab_pid("lo"), None);
        assert_eq!(lab_pid("ltx-0"), None);
        assert_eq!(lab_pid("lt-0"), None);
    }
}

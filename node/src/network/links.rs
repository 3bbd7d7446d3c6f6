//! Simulated links between in-process nodes: which node may reach which, and what happens
//! to the bytes on the way. `lienthong demo` uses it to put the tax department on a network
//! of its own and cut it; simulations partition networks, cut a node off, drop or delay
//! traffic, and count what crosses the wire. Every node above runs the daemon's own
//! transport upgrades (Noise, Yamux) and code.
//!
//! Only the dialling side of a memory connection is watched: it knows both ends (its own
//! listen port and the port it dialled), and when it fails a transfer the whole
//! connection closes, so the other side sees it too.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite, FutureExt as _};
use libp2p::Multiaddr;
use libp2p::core::ConnectedPoint;
use libp2p::core::Transport as _;
use libp2p::core::transport::memory::Channel;
use libp2p::core::transport::{
    DialOpts, ListenerId, MemoryTransport, TransportError, TransportEvent,
};
use libp2p::multiaddr::Protocol;

/// What a simulated link does with one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFate {
    /// The bytes pass.
    Pass,
    /// The connection is reset, as when a network drops packets until TCP gives up or a
    /// partition cuts a connection.
    Reset,
    /// The bytes pass after this long.
    Delay(Duration),
}

/// Decides, for the simulation, what links exist and how they behave. Nodes are named by
/// the memory port they listen on.
pub trait LinkControl: Send + Sync + fmt::Debug + 'static {
    /// Whether the node listening on `from` may open a connection to `to` now.
    fn may_connect(&self, from: u64, to: u64) -> bool;
    /// The fate of `bytes` bytes that `from` writes on a connection it dialled to `to`:
    /// drops and delays are decided per write, roughly one per frame.
    fn transfer(&self, from: u64, to: u64, bytes: usize) -> LinkFate;
    /// `bytes` bytes arrived from `to` on a connection `from` dialled; `false` resets the
    /// connection (the link is cut).
    fn received(&self, from: u64, to: u64, bytes: usize) -> bool;
}

/// The link layer of one node: its own memory port and the simulation's control.
#[derive(Debug, Clone)]
pub struct Links {
    /// The memory port this node listens on, which names it to the control.
    pub local: u64,
    /// The simulation's decisions.
    pub control: Arc<dyn LinkControl>,
}

impl Links {
    /// Wraps a freshly established memory connection: the dialling side checks the link
    /// and watches every transfer; the listening side passes through.
    pub(crate) fn attach(
        &self,
        channel: Channel<Vec<u8>>,
        endpoint: &ConnectedPoint,
    ) -> io::Result<LinkedStream> {
        let ConnectedPoint::Dialer { address, .. } = endpoint else {
            return Ok(LinkedStream {
                inner: channel,
                watch: None,
            });
        };
        let to = memory_port(address).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{address} is not a memory address"),
            )
        })?;
        if !self.control.may_connect(self.local, to) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("no simulated link from /memory/{} to {address}", self.local),
            ));
        }
        Ok(LinkedStream {
            inner: channel,
            watch: Some(Watch {
                from: self.local,
                to,
                control: self.control.clone(),
                write_delay: None,
                write_cleared: false,
            }),
        })
    }
}

/// libp2p's memory transport keeps a listener's port registered until the listener is
/// removed, even when the transport is dropped; a node that crashed could then never listen
/// on its port again. This wrapper removes its listeners when it is dropped, as the kernel
/// frees a dead process's sockets.
#[derive(Default)]
pub(crate) struct ReleasingMemory {
    inner: MemoryTransport,
    listeners: Vec<ListenerId>,
}

impl Drop for ReleasingMemory {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.listeners) {
            self.inner.remove_listener(id);
        }
    }
}

impl libp2p::core::Transport for ReleasingMemory {
    type Output = <MemoryTransport as libp2p::core::Transport>::Output;
    type Error = <MemoryTransport as libp2p::core::Transport>::Error;
    type ListenerUpgrade = <MemoryTransport as libp2p::core::Transport>::ListenerUpgrade;
    type Dial = <MemoryTransport as libp2p::core::Transport>::Dial;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        self.inner.listen_on(id, addr)?;
        self.listeners.push(id);
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        self.listeners.retain(|l| *l != id);
        self.inner.remove_listener(id)
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        self.inner.dial(addr, opts)
    }

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

fn memory_port(address: &Multiaddr) -> Option<u64> {
    address.iter().find_map(|p| match p {
        Protocol::Memory(port) => Some(port),
        _ => None,
    })
}

/// A memory connection seen through the simulated link.
pub(crate) struct LinkedStream {
    inner: Channel<Vec<u8>>,
    watch: Option<Watch>,
}

impl fmt::Debug for LinkedStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedStream")
            .field("watched", &self.watch.is_some())
            .finish()
    }
}

struct Watch {
    from: u64,
    to: u64,
    control: Arc<dyn LinkControl>,
    /// A delay being served before the pending write goes out.
    write_delay: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The pending write was already judged (and its delay served).
    write_cleared: bool,
}

fn reset(watch: &Watch) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        format!(
            "the simulated link /memory/{} → /memory/{} dropped the connection",
            watch.from, watch.to
        ),
    )
}

fn serve(delay: &mut Option<Pin<Box<tokio::time::Sleep>>>, cx: &mut Context<'_>) -> Poll<()> {
    if let Some(sleep) = delay {
        ready!(sleep.poll_unpin(cx));
        *delay = None;
    }
    Poll::Ready(())
}

impl AsyncRead for LinkedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(watch) = &mut this.watch else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if n > 0 && !watch.control.received(watch.from, watch.to, n) {
            return Poll::Ready(Err(reset(watch)));
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for LinkedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(watch) = &mut this.watch else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        if !watch.write_cleared {
            match watch.control.transfer(watch.from, watch.to, buf.len()) {
                LinkFate::Pass => {}
                LinkFate::Reset => return Poll::Ready(Err(reset(watch))),
                LinkFate::Delay(d) => watch.write_delay = Some(Box::pin(tokio::time::sleep(d))),
            }
            watch.write_cleared = true;
        }
        ready!(serve(&mut watch.write_delay, cx));
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf));
        watch.write_cleared = false;
        Poll::Ready(written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::{AsyncReadExt as _, AsyncWriteExt as _};
    use libp2p::core::Endpoint;
    use libp2p::core::transport::PortUse;

    use super::*;

    #[derive(Debug, Default)]
    struct Control {
        cut: Mutex<bool>,
        fate: Mutex<Option<LinkFate>>,
        bytes: AtomicUsize,
    }

    impl LinkControl for Control {
        fn may_connect(&self, _: u64, _: u64) -> bool {
            !*self.cut.lock().unwrap()
        }
        fn transfer(&self, _: u64, _: u64, bytes: usize) -> LinkFate {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            if *self.cut.lock().unwrap() {
                return LinkFate::Reset;
            }
            self.fate.lock().unwrap().unwrap_or(LinkFate::Pass)
        }
        fn received(&self, _: u64, _: u64, bytes: usize) -> bool {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            !*self.cut.lock().unwrap()
        }
    }

    fn opts() -> DialOpts {
        DialOpts {
            role: Endpoint::Dialer,
            port_use: PortUse::New,
        }
    }

    /// A listener on a fresh port and a dialled, watched connection to it.
    async fn pair(control: Arc<Control>) -> io::Result<(LinkedStream, Channel<Vec<u8>>)> {
        let mut listener = MemoryTransport::new();
        let port = 40_000 + u64::from(rand::random::<u16>());
        let addr: Multiaddr = format!("/memory/{port}").parse().unwrap();
        listener
            .listen_on(ListenerId::next(), addr.clone())
            .unwrap();
        let links = Links { local: 1, control };
        let dial = MemoryTransport::new().dial(addr.clone(), opts()).unwrap();
        let accept = async {
            loop {
                let event = futures::future::poll_fn(|cx| Pin::new(&mut listener).poll(cx)).await;
                match event {
                    TransportEvent::Incoming { upgrade, .. } => return upgrade.await.unwrap(),
                    _ => continue,
                }
            }
        };
        let (dialled, accepted) = tokio::join!(dial, accept);
        let endpoint = ConnectedPoint::Dialer {
            address: addr,
            role_override: Endpoint::Dialer,
            port_use: PortUse::New,
        };
        Ok((links.attach(dialled.unwrap(), &endpoint)?, accepted))
    }

    #[tokio::test]
    async fn bytes_pass_and_are_counted() {
        let control = Arc::new(Control::default());
        let (mut a, mut b) = pair(control.clone()).await.unwrap();
        a.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).await.unwrap();
        b.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        a.read_exact(&mut back).await.unwrap();
        assert_eq!((&buf, &back), (b"hello", b"back"));
        assert_eq!(control.bytes.load(Ordering::Relaxed), 9);
    }

    #[tokio::test]
    async fn a_cut_link_refuses_new_connections_and_resets_open_ones() {
        let control = Arc::new(Control::default());
        let (mut a, _b) = pair(control.clone()).await.unwrap();
        *control.cut.lock().unwrap() = true;
        let e = a.write_all(b"x").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        let Err(e) = pair(control).await else {
            panic!("a cut link must refuse the connection")
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_dropped_transport_frees_its_port() {
        let addr: Multiaddr = format!("/memory/{}", 50_000 + u64::from(rand::random::<u16>()))
            .parse()
            .unwrap();
        let mut first = ReleasingMemory::default();
        first.listen_on(ListenerId::next(), addr.clone()).unwrap();
        let mut second = ReleasingMemory::default();
        assert!(second.listen_on(ListenerId::next(), addr.clone()).is_err());
        drop(first);
        second.listen_on(ListenerId::next(), addr).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_link_holds_writes_back() {
        let control = Arc::new(Control::default());
        *control.fate.lock().unwrap() = Some(LinkFate::Delay(Duration::from_secs(5)));
        let (mut a, mut b) = pair(control).await.unwrap();
        let start = tokio::time::Instant::now();
        a.write_all(b"late").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(5));
    }
}

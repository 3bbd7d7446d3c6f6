//! A running node: opens the store, loads the identity and roster, starts the network, the
//! inbound handler, the delivery engine, the roster watcher and the API, and stops them
//! in order.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use libp2p::Multiaddr;
use lienthong_protocol::wire::Response;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::api::submit::{self, Submission, SubmitError};
use crate::api::{self, ApiState};
use crate::config::Config;
use crate::context::{NodeContext, envelope_limits};
use crate::data_dir::{self, DataDir};
use crate::inbound::{self, Inbound, Opening, gossip as gossip_router};
use crate::network;
use crate::ops::descriptors::{self, Budget};
use crate::ops::metrics::Metrics;
use crate::outbound::Outbound;
use crate::outbound::delivery::DeliveryEngine;
use crate::outbound::delivery::DeliveryHandle;
use crate::outbound::delivery::stuck;
use crate::outbound::{discovery, presence};
use crate::receipts::ReceiptsHandle;
use crate::relay::{self, RelayServer};
use crate::roster::federation::DaemonInfo;
use crate::roster::membership::{self, RosterKeeper};
use crate::roster::{rotation, sync as roster_sync};
use crate::store::Store;
use crate::tasks::{Stage, Stopped, Tasks, blocking};
use crate::{init, receipts};
use lienthong_protocol::roster::Role;

/// Set in a node's environment by `lienthong-sim bench` alone, to measure the evidence
/// log's cost beside the same build without it (`store::stop_logging_for_benchmark`).
pub const BENCH_WITHOUT_EVIDENCE_LOG: &str = "LIENTHONG_BENCH_WITHOUT_EVIDENCE_LOG";

/// Extra room above the package limit for the envelope and frame around the edXML.
const FRAME_OVERHEAD: usize = 1024 * 1024;

/// How a node is started beyond its data directory: tests and simulations swap the
/// transport.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Use this network transport instead of TCP.
    pub transport: Option<network::Transport>,
    /// Listen here instead of the config's `network.listen`.
    pub listen: Option<Vec<Multiaddr>>,
    /// Serve the API here instead of the config's `api.listen`.
    pub api_listen: Option<SocketAddr>,
    /// How many connections of each kind to hold; `None`: derived from the process's
    /// open-file limit, as the daemon does. Simulations run many nodes in one process, over
    /// connections that cost no descriptor, and size each node's budget themselves.
    pub connection_budget: Option<Budget>,
}

/// A running node. Dropping it without [`Node::shutdown`] aborts its tasks.
#[must_use = "a Node stops when dropped; call shutdown() to stop it cleanly"]
#[derive(Debug)]
pub struct Node {
    handle: NodeHandle,
    tasks: Tasks,
    info: DaemonInfo,
    data: DataDir,
}

impl Node {
    /// Starts the node of the data directory `dir` and returns once its listeners are bound
    /// and `daemon.json` is written.
    ///
    /// # Errors
    /// When the config, key, store or roster cannot be used, or a port cannot be bound.
    pub async fn spawn(dir: &std::path::Path, options: NodeOptions) -> anyhow::Result<Node> {
        let data = DataDir::new(dir);
        let config = Config::load(&data.config())?;
        let span = info_span!("node", organ = %config.organ_id);
        Node::start(data, config, options).instrument(span).await
    }

    async fn start(data: DataDir, config: Config, options: NodeOptions) -> anyhow::Result<Node> {
        let token = data_dir::read_secret(&data.api_token())
            .with_context(|| format!("reading {}", data.api_token().display()))?
            .trim()
            .to_owned();
        if std::env::var_os(BENCH_WITHOUT_EVIDENCE_LOG).is_some() {
            crate::store::stop_logging_for_benchmark();
            warn!(
                "{BENCH_WITHOUT_EVIDENCE_LOG} is set: this node keeps no evidence log, so it \
                 can prove nothing of what it sends and receives; it is for lienthong-sim \
                 bench only"
            );
        }
        let store = {
            let path = data.store();
            let cache = config.limits.store_cache.as_u64();
            blocking(move || Store::open_with_cache(&path, cache))
                .await?
                .with_context(|| format!("opening the store in {}", data.store().display()))?
        };
        let (keeper, roster_rx) = {
            let data = data.clone();
            blocking(move || RosterKeeper::load(data)).await??
        };
        match roster_rx.borrow().as_ref() {
            Some(m) => info!(version = %m.version(), members = m.members().len(), "roster loaded"),
            // Info: starting before the admission is how a node gets its bound addresses
            // into the roster; the roster is picked up within a second of `federation
            // admit`, and `lienthong doctor` says if it is still missing.
            None => info!(
                "no federation roster yet: the node sends and accepts nothing until its authority admits it"
            ),
        }
        let identity = {
            let data = data.clone();
            let organ = config.organ_id.clone();
            let membership = roster_rx.borrow().clone();
            blocking(move || rotation::switch_if_rotated(&data, &organ, membership.as_deref()))
                .await??
        };
        if let Err(e) = rotation::publish_encryption_key(&data, &identity) {
            warn!(error = %e, "cannot publish the encryption key in identity.json");
        }
        let limits = envelope_limits(&config);
        {
            let store = store.clone();
            let key = identity.clone_key();
            blocking(move || rotation::resign_queued(&store, &key, &limits)).await??;
        }

        let budget = options.connection_budget.unwrap_or_else(process_budget);
        log_budget(&budget);

        let shutdown = CancellationToken::new();
        let tasks = Tasks::new(tracing::Span::current(), &shutdown);
        let listen = match options.listen {
            Some(listen) => listen,
            None => config
                .network
                .listen
                .iter()
                .map(|a| a.parse::<Multiaddr>())
                .collect::<Result<_, _>>()
                .context("network.listen")?,
        };
        let mut network_options = network::Options {
            listen,
            mdns: config.network.mdns,
            kademlia: config.network.dht,
            max_frame_size: usize::try_from(config.limits.max_package_size.as_u64())
                .unwrap_or(usize::MAX)
                .saturating_add(FRAME_OVERHEAD),
            request_timeout: config.network.request_timeout,
            idle_connection_timeout: config.network.idle_connection_timeout,
            connection_limits: budget.network,
            ping_interval: config.network.ping_interval,
            busy_response: Response::Busy.encode(),
            gossip_topics: {
                let mut topics = vec![
                    roster_sync::ROSTER_TOPIC.to_owned(),
                    crate::evidence::announce::topic(&config.organ_id),
                ];
                if config.receipts.gossip {
                    topics.extend(receipts::gossip::subscriptions(
                        &config.organ_id,
                        config.receipts.national,
                    ));
                }
                topics
            },
            ..network::Options::default()
        };
        if let Some(transport) = options.transport {
            network_options.transport = transport;
        }
        let relay_server = (config.role == Role::Relay).then(|| Arc::new(RelayServer::default()));
        if let Some(server) = &relay_server {
            let relay = &config.relay;
            network_options.relay_server = Some(network::RelayServerOptions {
                max_reservations: relay.server_max_reservations,
                max_circuits: relay.server_max_circuits,
                max_circuits_per_peer: relay.server_max_circuits_per_peer,
                reservation_duration: relay.server_reservation_duration,
                max_circuit_duration: relay.server_max_circuit_duration,
                max_circuit_bytes: relay.server_max_circuit_bytes.as_u64(),
                members: server.members.clone(),
                circuit_sources: server.circuit_sources.clone(),
            });
        }
        let timestamper = crate::evidence::Timestamper::from_config(&config.evidence)
            .context("setting up the timestamp authority ([evidence] timestamp_url)")?;
        match &timestamper {
            Some(t) => info!(tsa = %t.tsa(), "checkpoints are timestamped by the TSA"),
            None => debug!("no timestamp authority configured: checkpoints are not timestamped"),
        }
        let opening = {
            let old = data.old_agency_key();
            let previous = old
                .exists()
                .then(|| crate::identity::Identity::load(&old))
                .transpose()
                .with_context(|| format!("reading {}", old.display()))?;
            Opening::new(
                identity.agency_key(),
                previous.as_ref().map(|p| p.agency_key()),
            )
        };
        let (network, inbound_rx, gossip_rx) =
            network::start(identity.keypair(), network_options, &tasks).await?;
        let listen_addrs = network.listen_addrs().await?;
        for addr in &listen_addrs {
            info!(%addr, peer = %identity.peer_id(), "listening for peers");
        }

        let organ_id = config.organ_id.clone();
        let api_listen = options.api_listen.unwrap_or(config.api.listen);
        let ctx = Arc::new(NodeContext {
            organ_id: organ_id.clone(),
            identity,
            config,
            limits,
            store,
            network,
            membership: roster_rx,
            keeper: Arc::new(keeper),
            metrics: Arc::new(Metrics::new()),
            tasks: tasks.clone(),
        });
        // The features, each on the floor and owning its state.
        let receipts = ReceiptsHandle::default();
        let outbound = Outbound::new(ctx.clone());
        let evidence = match &timestamper {
            Some(t) => crate::evidence::EvidenceHandle::default().with_tsa(t.certificate()),
            None => crate::evidence::EvidenceHandle::default(),
        };
        let inbound = Arc::new(Inbound::new(
            ctx.clone(),
            opening,
            relay_server.clone(),
            receipts.clone(),
        ));
        let axis = crate::outbound::axis::bridge::client(&ctx);
        let email = crate::outbound::email::account(&ctx);
        let (delivery, engine) = DeliveryEngine::new(
            outbound.clone(),
            inbound.clone(),
            axis.clone(),
            email.clone(),
        );
        let probation = Arc::new(roster_sync::Probation::default());
        // Every way to every member, before anything sends: later rosters' routes are given
        // when they are taken (`presence`).
        if let Some(roster) = ctx.roster() {
            outbound.push_routes(&roster).await?;
        }

        let listener = TcpListener::bind(api_listen)
            .await
            .with_context(|| format!("binding the API to {api_listen}"))?;
        let api_addr = listener.local_addr()?;

        let work = tasks.token(Stage::Work);
        tasks.spawn(
            Stage::Inbound,
            "inbound",
            inbound::serve(inbound.clone(), inbound_rx, tasks.token(Stage::Inbound)),
        );
        tasks.spawn(
            Stage::Engine,
            "delivery engine",
            engine.run(tasks.token(Stage::Engine)),
        );
        if let Some(client) = axis.clone() {
            tasks.spawn(
                Stage::Work,
                "axis directory",
                crate::outbound::axis::bridge::keep_directory(
                    client.clone(),
                    ctx.store.clone(),
                    ctx.config.axis.directory_refresh,
                    ctx.config.axis.poll_interval,
                    work.clone(),
                ),
            );
            tasks.spawn(
                Stage::Work,
                "axis inbound",
                crate::inbound::axis::AxisInbound::new(
                    ctx.clone(),
                    client.clone(),
                    delivery.clone(),
                    receipts.clone(),
                )
                .poll(ctx.config.axis.poll_interval, work.clone()),
            );
            tasks.spawn(
                Stage::Work,
                "axis statuses",
                crate::outbound::axis::bridge::follow_sends(
                    client,
                    ctx.store.clone(),
                    ctx.config.axis.poll_interval,
                    work.clone(),
                ),
            );
        }
        if let Some(account) = email {
            tasks.spawn(
                Stage::Work,
                "email inbound",
                crate::inbound::email::EmailInbound::new(ctx.clone(), account, receipts.clone())
                    .poll(ctx.config.email.poll_interval, work.clone()),
            );
        }
        tasks.spawn(
            Stage::Work,
            "presence",
            presence::announce(outbound.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "discovery",
            discovery::publish(ctx.clone(), work.clone()),
        );
        let gossip = gossip_router::spawn(ctx.clone(), gossip_rx, work.clone());
        tasks.spawn(
            Stage::Work,
            "roster gossip",
            roster_sync::gossip(ctx.clone(), gossip.rosters, work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "receipt gossip in",
            receipts::gossip::receive(ctx.clone(), gossip.receipts, work.clone()),
        );
        let heads = crate::evidence::heads::Heads::default();
        tasks.spawn(
            Stage::Work,
            "checkpoint gossip in",
            crate::evidence::heads::receive(
                ctx.clone(),
                heads.clone(),
                inbound.witness_desk(),
                gossip.checkpoints,
                work.clone(),
            ),
        );
        tasks.spawn(
            Stage::Work,
            "checkpoint catch-up",
            crate::evidence::heads::catch_up(ctx.clone(), outbound.clone(), heads, work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "receipt gossip out",
            receipts::gossip::publish(ctx.clone(), receipts.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "receipt handover",
            receipts::deliver::run(
                ctx.clone(),
                outbound.clone(),
                receipts.clone(),
                work.clone(),
            ),
        );
        tasks.spawn(
            Stage::Work,
            "receipt catch-up",
            receipts::sync::run(ctx.clone(), outbound.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "evidence checkpoints",
            crate::evidence::run(ctx.clone(), evidence.clone(), work.clone()),
        );
        if let Some(timestamper) = timestamper {
            tasks.spawn(
                Stage::Work,
                "evidence timestamps",
                crate::evidence::timestamping::run(
                    ctx.clone(),
                    Arc::new(timestamper),
                    evidence.clone(),
                    work.clone(),
                ),
            );
        }
        tasks.spawn(
            Stage::Work,
            "evidence witnessing",
            crate::evidence::witnessing::run(
                ctx.clone(),
                outbound.clone(),
                evidence.clone(),
                work.clone(),
            ),
        );
        tasks.spawn(
            Stage::Work,
            "scheduled backups and archives",
            crate::ops::archive::schedule::run(ctx.clone(), evidence.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "stuck",
            stuck::watch(ctx.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "roster on connect",
            roster_sync::on_connections(ctx.clone(), probation.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "roster enforce",
            roster_sync::enforce(ctx.clone(), probation.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "relay reservations",
            inbound::keep_reservations(ctx.clone(), work.clone()),
        );
        tasks.spawn(
            Stage::Work,
            "mailbox pull",
            inbound::pull(inbound.clone(), outbound.clone(), work.clone()),
        );
        if let Some(server) = &relay_server {
            tasks.spawn(
                Stage::Work,
                "relay members",
                relay::keep_members(ctx.clone(), server.clone(), work.clone()),
            );
            tasks.spawn(
                Stage::Work,
                "relay forward",
                relay::forward(outbound.clone(), server.clone(), work.clone()),
            );
        }
        {
            let refused_ctx = ctx.clone();
            let taken_ctx = ctx.clone();
            tasks.spawn(
                Stage::Work,
                "roster file",
                roster_sync::watch_roster_file(
                    ctx.keeper.clone(),
                    ctx.config.federation.roster_poll_interval,
                    move |e| roster_sync::refused(&refused_ctx, e, membership::RosterSource::File),
                    move |m| {
                        taken_ctx.metrics.roster_updates.inc();
                        let ctx = taken_ctx.clone();
                        taken_ctx
                            .tasks
                            .spawn(Stage::Work, "roster publish", async move {
                                roster_sync::publish(&ctx, &m).await;
                            });
                    },
                    work.clone(),
                ),
            );
        }
        let api_state = ApiState {
            ctx: ctx.clone(),
            delivery: delivery.clone(),
            receipts: receipts.clone(),
            evidence: evidence.clone(),
            token: Arc::from(token),
        };
        let api_tasks = tasks.clone();
        tasks.spawn(Stage::Api, "api", async move {
            let connections = usize::try_from(budget.api_connections).unwrap_or(usize::MAX);
            if let Err(e) = api::serve(listener, api_state, connections, &api_tasks).await {
                warn!(error = %e, "API server stopped");
            }
        });

        let info = DaemonInfo {
            organ_id,
            peer_id: ctx.network.local_peer_id().to_string(),
            listen_addrs: listen_addrs.iter().map(ToString::to_string).collect(),
            api_addr: api_addr.to_string(),
            pid: std::process::id(),
        };
        data_dir::write_atomic(&data.daemon(), &serde_json::to_vec_pretty(&info)?, 0o644)
            .with_context(|| format!("writing {}", data.daemon().display()))?;
        info!(api = %api_addr, "node ready");
        // The link with the token is printed on `lienthong run`'s terminal, never logged:
        // log files and journald are read by more people than the node's API may be.
        info!(
            url = %format_args!("http://{api_addr}/"),
            token_file = %data.api_token().display(),
            "dashboard: sign in with the API token in token_file"
        );
        Ok(Node {
            handle: NodeHandle {
                ctx,
                delivery,
                receipts,
            },
            tasks,
            info,
            data,
        })
    }

    /// What `daemon.json` says: peer id, bound addresses, API address.
    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    /// The shared state, for in-process tests and simulations.
    pub fn context(&self) -> &Arc<NodeContext> {
        &self.handle.ctx
    }

    /// What embedding code (simulations, tests) drives the node with, as QLVB does through
    /// the API.
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// How many of the node's tasks are running now.
    pub fn running_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Stops the node in order and waits for it: the API stops taking work, the delivery
    /// engine finishes or parks its attempts (an attempt cut short stays queued in the
    /// store and is tried again at the next start), the other workers stop, inbound
    /// requests are answered, the network closes, and the store flushes. Removes
    /// `daemon.json`. Says how many tasks had to be aborted and how many are left (none).
    pub async fn shutdown(self) -> Stopped {
        let stopped = self.tasks.shutdown().await;
        let store = self.handle.ctx.store.clone();
        if let Err(e) = store.call(|store| store.flush()).await {
            warn!(error = %e, "the store could not be flushed");
        }
        let _ = std::fs::remove_file(self.data.daemon());
        info!(
            target: "lienthong::events::stopped",
            aborted = stopped.aborted,
            panicked = stopped.panicked,
            tasks_left = stopped.left,
            "node stopped"
        );
        stopped
    }
}

/// A running node as the API sees it: its floor, and the features QLVB's requests reach.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    ctx: Arc<NodeContext>,
    delivery: DeliveryHandle,
    receipts: ReceiptsHandle,
}

impl NodeHandle {
    /// The node's floor: store, network, roster.
    pub fn context(&self) -> &Arc<NodeContext> {
        &self.ctx
    }

    /// What the delivery engine says about deliveries in progress.
    pub fn delivery(&self) -> &DeliveryHandle {
        &self.delivery
    }

    /// Accepts an edXML message as `POST /api/v1/packages` does: checks, signs and durably
    /// stores it, then hands it to the delivery engine. Blocking: call it from a blocking
    /// thread.
    ///
    /// # Errors
    /// [`SubmitError`]; nothing is stored then.
    pub fn submit(&self, body: bytes::Bytes) -> Result<Submission, SubmitError> {
        submit::submit(&self.ctx, &self.delivery, &self.receipts, body)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// The budget of the process's open-file limit as it stands (the daemon raised it at start).
fn process_budget() -> Budget {
    let open_files = descriptors::open_files().unwrap_or_else(|e| {
        warn!(error = %e, "sizing connections as for 1024 open files");
        1024
    });
    Budget::for_open_files(open_files)
}

/// Says what the node holds at most, and warns when that is too little to work well.
fn log_budget(budget: &Budget) {
    let n = &budget.network;
    info!(
        open_files = budget.open_files,
        api = budget.api_connections,
        pending_inbound = n.pending_inbound,
        pending_inbound_per_address = n.pending_inbound_per_address,
        established_inbound = n.established_inbound,
        pending_outbound = n.pending_outbound,
        established_outbound = n.established_outbound,
        per_peer = n.per_peer,
        "connection limits"
    );
    if budget.open_files < descriptors::MIN_OPEN_FILES {
        warn!(
            open_files = budget.open_files,
            wanted = descriptors::MIN_OPEN_FILES,
            "the open-file limit is too low for a node: raise LimitNOFILE (see docs/operations.md)"
        );
    }
}

/// The development default: `./lienthong-data`, initialised on first start as a one-node
/// federation (its own authority in `./lienthong-data/federation`), so that `lienthong run`
/// with no arguments gives a working node.
///
/// # Errors
/// When the directory cannot be created.
pub fn ensure_dev_node(dir: &std::path::Path) -> anyhow::Result<bool> {
    let data = DataDir::new(dir);
    if data.config().exists() {
        return Ok(false);
    }
    let public = init::init(
        dir,
        &init::InitOptions {
            organ_id: "000.00.00.H99".parse().context("dev organ id")?,
            name: "lienthong dev node".to_owned(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            api: None,
            role: lienthong_protocol::roster::Role::Agency,
            mdns: true,
        },
    )?;
    let federation = crate::roster::federation::FederationDir::new(dir.join("federation"));
    federation.create("lienthong dev federation")?;
    federation.admit(dir, &[])?;
    info!(organ = %public.organ_id, "development node initialised");
    Ok(true)
}

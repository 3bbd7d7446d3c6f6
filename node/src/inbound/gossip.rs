//! Splits the gossip the network hands over by topic: rosters to `roster::sync`, receipt
//! summaries to `receipts::gossip`, checkpoint announcements to `evidence::heads`. A message on a topic nobody here handles is reported
//! `Ignore`, so it is neither held nor passed on.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::context::NodeContext;
use crate::evidence::announce;
use crate::network::{GossipAcceptance, GossipMessage};
use crate::receipts;
use crate::roster::sync as roster_sync;
use crate::tasks::Stage;

/// Queue length towards each consumer.
const QUEUE: usize = 256;

/// The consumers' queues, and the task that fills them.
pub(crate) struct Routes {
    pub(crate) rosters: mpsc::Receiver<GossipMessage>,
    pub(crate) receipts: mpsc::Receiver<GossipMessage>,
    pub(crate) checkpoints: mpsc::Receiver<GossipMessage>,
}

/// Starts routing `gossip`; runs until `shutdown` or the network stops.
pub(crate) fn spawn(
    ctx: Arc<NodeContext>,
    mut gossip: mpsc::Receiver<GossipMessage>,
    shutdown: CancellationToken,
) -> Routes {
    let (rosters_tx, rosters) = mpsc::channel(QUEUE);
    let (receipts_tx, receipts) = mpsc::channel(QUEUE);
    let (checkpoints_tx, checkpoints) = mpsc::channel(QUEUE);
    let network = ctx.network.clone();
    ctx.tasks.spawn(Stage::Work, "gossip router", async move {
        while let Some(Some(message)) = shutdown.run_until_cancelled(gossip.recv()).await {
            let target = if message.topic == roster_sync::ROSTER_TOPIC {
                &rosters_tx
            } else if message.topic.starts_with(receipts::gossip::TOPIC_PREFIX) {
                &receipts_tx
            } else if message.topic.starts_with(announce::TOPIC_PREFIX) {
                &checkpoints_tx
            } else {
                let _ = network
                    .report_gossip(message.id, message.source, GossipAcceptance::Ignore)
                    .await;
                continue;
            };
            if let Err(error) = target.try_send(message) {
                // Full: the consumer is behind; dropping is what gossipsub expects of a
                // node that cannot check a message in time.
                let message = error.into_inner();
                let _ = network
                    .report_gossip(message.id, message.source, GossipAcceptance::Ignore)
                    .await;
            }
        }
    });
    Routes {
        rosters,
        receipts,
        checkpoints,
    }
}

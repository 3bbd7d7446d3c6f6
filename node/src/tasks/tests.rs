use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Span;

use super::{Stage, Tasks, Wake, Woken};

fn tasks() -> Tasks {
    Tasks::new(Span::none(), &CancellationToken::new())
}

#[tokio::test]
async fn stages_stop_in_order_each_after_the_one_before_has_ended() {
    let tasks = tasks();
    let stopped = Arc::new(Mutex::new(Vec::new()));
    // Spawned in reverse, so that the order seen is shutdown's, not the spawns'.
    for stage in Stage::ORDER.into_iter().rev() {
        let token = tasks.token(stage);
        let stopped = stopped.clone();
        tasks.spawn(stage, "worker", async move {
            token.cancelled().await;
            // A stage that takes a while to stop still comes before the next.
            tokio::time::sleep(Duration::from_millis(20)).await;
            stopped.lock().expect("lock").push(stage);
        });
    }
    assert_eq!(tasks.len(), 5);
    let report = tasks.shutdown().await;
    assert_eq!(*stopped.lock().expect("lock"), Stage::ORDER.to_vec());
    assert_eq!(report.aborted, 0);
    assert_eq!(report.left, 0);
    assert!(tasks.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ignores_shutdown_is_aborted_after_its_grace_and_counted() {
    let tasks = tasks();
    tasks.spawn(Stage::Work, "stubborn", std::future::pending());
    tasks.spawn(Stage::Work, "polite", {
        let token = tasks.token(Stage::Work);
        async move { token.cancelled().await }
    });
    let report = tasks.shutdown().await;
    assert_eq!(report.aborted, 1);
    assert_eq!(report.left, 0);
}

#[tokio::test]
async fn nothing_starts_in_a_stage_that_has_stopped() {
    let tasks = tasks();
    let _ = tasks.shutdown().await;
    tasks.spawn(Stage::Inbound, "late", std::future::pending());
    assert_eq!(tasks.len(), 0);
}

#[tokio::test]
async fn a_panic_is_counted_and_the_set_goes_on() {
    let tasks = tasks();
    tasks.spawn(Stage::Work, "panics", async { panic!("broken invariant") });
    tokio::task::yield_now().await;
    tasks.spawn(Stage::Work, "fine", async {});
    let report = tasks.shutdown().await;
    assert_eq!(report.panicked, 1);
    assert_eq!(report.left, 0);
}

#[tokio::test]
async fn finished_tasks_are_not_counted() {
    let tasks = tasks();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tasks.spawn(Stage::Engine, "short", async move {
        let _ = rx.await;
    });
    assert_eq!(tasks.len(), 1);
    drop(tx);
    tokio::time::timeout(Duration::from_secs(5), async {
        while !tasks.is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the finished task is reaped");
}

#[tokio::test(start_paused = true)]
async fn wake_runs_at_start_on_ticks_and_notifications_until_shutdown() {
    let shutdown = CancellationToken::new();
    let notify = Arc::new(tokio::sync::Notify::new());
    let mut wake = Wake::until(shutdown.clone())
        .every_after(Duration::from_secs(60))
        .on_notify(notify.clone())
        .at_start();
    assert!(matches!(wake.next().await, Some(Woken::Start)));
    // A notification given while the round runs is kept for the next wait.
    notify.notify_one();
    assert!(matches!(wake.next().await, Some(Woken::Notified)));
    assert!(matches!(wake.next().await, Some(Woken::Tick)));
    shutdown.cancel();
    assert!(wake.next().await.is_none());
}

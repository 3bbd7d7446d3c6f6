//! Work on the blocking pool: signature checks, edXML parsing, and above all the store,
//! whose every write waits for an fsync.

use tracing::Span;

/// A blocking call that did not return: it panicked, or the runtime is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the blocking task did not finish")]
pub struct TaskFailed(#[source] pub tokio::task::JoinError);

/// Runs `f` on the blocking pool, in the caller's span (so what it logs is the node's), and
/// returns what it returned.
///
/// # Errors
/// [`TaskFailed`] when `f` panicked or the runtime shut down first.
///
/// # Cancel safety
/// Dropping the future does not stop `f`: it runs to the end, and its result is dropped.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, TaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let span = Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(TaskFailed)
}

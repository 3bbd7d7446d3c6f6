//! The node's file descriptors: the process's open-file limit, raised at start, and how it
//! is shared out so that connections never take what the store and the API need.
//!
//! Every peer connection, API connection, store file and log costs one descriptor, and
//! running out of them is not local: the store's next write fails ("Too many open files"),
//! whoever caused it. So the daemon raises its soft limit to the hard one
//! ([`raise_open_files`]), and derives from what it has a [`Budget`]: how many connections
//! of each kind it holds at once, with a reserve no connection can use.
//!
//! - `limit`: reading and raising `RLIMIT_NOFILE`.
//! - `budget`: the pure function from a limit to a [`Budget`].

mod budget;
mod limit;

pub use budget::{Budget, MIN_OPEN_FILES, RESERVED};
pub use limit::{OpenFiles, OpenFilesError, open_files, raise_open_files};

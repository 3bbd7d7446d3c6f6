//! The process's open-file limit (`RLIMIT_NOFILE`).
//!
//! The soft limit is what the process may have open; it may raise it, up to the hard limit,
//! without privilege. Login shells and units without `LimitNOFILE` start daemons with a soft
//! limit of 1024 and a much higher hard one, so a daemon that keeps its soft limit runs out
//! long before it has to.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The open-file limit after [`raise_open_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit in force now: how many descriptors the process may have open.
    pub limit: u64,
    /// The soft limit before, when [`raise_open_files`] raised it.
    pub raised_from: Option<u64>,
}

/// Why the open-file limit could not be read or raised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenFilesError {
    /// `getrlimit` failed.
    #[error("cannot read the open-file limit")]
    Read {
        /// What the system said.
        #[source]
        source: nix::Error,
    },
    /// `setrlimit` refused to raise the soft limit to the hard one (e.g. a hard limit of
    /// "unlimited", which Linux does not allow for open files).
    #[error("cannot raise the open-file limit from {soft} to {hard}")]
    Raise {
        /// The soft limit, which stays in force.
        soft: u64,
        /// The hard limit asked for.
        hard: u64,
        /// What the system said.
        #[source]
        source: nix::Error,
    },
}

/// The soft open-file limit in force.
///
/// # Errors
/// [`OpenFilesError::Read`] when it cannot be read.
pub fn open_files() -> Result<u64, OpenFilesError> {
    let (soft, _) =
        getrlimit(Resource::RLIMIT_NOFILE).map_err(|source| OpenFilesError::Read { source })?;
    Ok(soft)
}

/// Raises the process's soft open-file limit to its hard limit, for the whole process.
/// Meant for the daemon, once at start; does nothing when the two are equal already.
///
/// # Errors
/// [`OpenFilesError::Read`] when the limit cannot be read, [`OpenFilesError::Raise`] when it
/// cannot be raised (the soft limit then stays in force).
pub fn raise_open_files() -> Result<OpenFiles, OpenFilesError> {
    let (soft, hard) =
        getrlimit(Resource::RLIMIT_NOFILE).map_err(|source| OpenFilesError::Read { source })?;
    if soft >= hard {
        return Ok(OpenFiles {
            limit: soft,
            raised_from: None,
        });
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(|source| OpenFilesError::Raise {
        soft,
        hard,
        source,
    })?;
    Ok(OpenFiles {
        limit: hard,
        raised_from: Some(soft),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_leaves_the_soft_limit_at_the_hard_one() {
        // Raising is what every daemon does at start; in a test process it is harmless.
        let raised = raise_open_files().expect("raise");
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("read");
        assert_eq!((raised.limit, soft), (hard, hard));
        assert_eq!(open_files().expect("read"), hard);
        assert_eq!(
            raise_open_files().expect("again").raised_from,
            None,
            "a second call has nothing to raise"
        );
    }
}

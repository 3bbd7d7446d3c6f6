//! lienthong-node: the daemon each agency runs, as a library.
//!
//! # Layout
//!
//! - [`config`]: `config.toml`, its defaults and documentation.
//! - [`data_dir`]: the files of a node's data directory, written atomically.
//! - [`identity`]: the agency key, which is also the libp2p identity.
//! - [`federation`]: the authority's operations: create a federation, admit nodes.
//! - [`init`]: creating a node's data directory.
//! - [`clock`]: the wall clock as protocol timestamps.

#![warn(missing_docs)]

pub mod clock;
pub mod config;
pub mod data_dir;
pub mod federation;
pub mod identity;
pub mod init;

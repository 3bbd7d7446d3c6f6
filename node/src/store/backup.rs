//! Online backup: a consistent copy of every tree while the node runs.

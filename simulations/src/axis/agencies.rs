//! The agencies a test axis serves: each its code (`systemid`), name and secret.
//!
//! ```toml
//! [[agency]]
//! code = "000.00.01.H53"
//! name = "Sở Tư pháp"
//! secret = "a-secret-as-text"
//! ```

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One agency with an account on the axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisAgency {
    /// Its code, which is also its `systemid`.
    pub code: String,
    /// Its name, as `getAgenciesList` gives it.
    #[serde(default)]
    pub name: String,
    /// Its secret, as text (the SDK never decodes it).
    pub secret: String,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    agency: Vec<AxisAgency>,
}

/// Reads an agencies file.
///
/// # Errors
/// It does not read, or two agencies share a code.
pub fn load_agencies(path: &Path) -> anyhow::Result<Vec<AxisAgency>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    for (n, agency) in file.agency.iter().enumerate() {
        if file.agency[..n].iter().any(|a| a.code == agency.code) {
            anyhow::bail!("{}: agency {} is listed twice", path.display(), agency.code);
        }
        if agency.secret.trim().is_empty() {
            anyhow::bail!("{}: agency {} has no secret", path.display(), agency.code);
        }
    }
    Ok(file.agency)
}

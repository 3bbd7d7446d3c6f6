//! Settings given as dotted keys (`delivery.retry_max`) and TOML values (`"3s"`), applied on
//! top of a data directory's `config.toml`: how `lienthong demo` and the simulations tune
//! nodes they create (short retries, short deadlines) with the same checks as a file.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::Config;

/// Sets `settings` in `dir/config.toml`, then checks the result is a valid node config.
///
/// # Errors
/// When the file cannot be read or written, or a setting is no TOML value, names no key,
/// or makes the config invalid.
pub fn apply(dir: &Path, settings: &[(String, String)]) -> anyhow::Result<()> {
    let path = dir.join("config.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let text = applied(&text, settings, &path.display().to_string())?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `text` (a `config.toml`) with `settings` applied, checked as a node config; `origin`
/// names where the settings came from in errors.
///
/// # Errors
/// The first setting that is no TOML value, names no key, or makes the config invalid.
pub fn applied(text: &str, settings: &[(String, String)], origin: &str) -> anyhow::Result<String> {
    let mut table: toml::Table = toml::from_str(text)?;
    for (key, value) in settings {
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .with_context(|| format!("{origin}: {key}: {value} is not a TOML value"))?
            .remove("v")
            .context("value")?;
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().context("empty key")?;
        let mut at = &mut table;
        for part in parts {
            at = at
                .get_mut(part)
                .and_then(toml::Value::as_table_mut)
                .with_context(|| format!("{origin}: {key}: no section {part}"))?;
        }
        if !at.contains_key(last) {
            bail!("{origin}: {key}: the node config has no such key");
        }
        at.insert(last.to_owned(), value);
    }
    let text = toml::to_string(&table)?;
    Config::parse(&text, origin)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> String {
        Config::new("000.00.01.H19".parse().unwrap(), "t").to_documented_toml()
    }

    #[test]
    fn a_setting_replaces_the_value() {
        let text = applied(
            &config(),
            &[("receipts.monitor".to_owned(), "true".to_owned())],
            "t",
        )
        .unwrap();
        assert!(Config::parse(&text, "t").unwrap().receipts.monitor);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let unknown = applied(
            &config(),
            &[("receipts.nope".to_owned(), "1".to_owned())],
            "t",
        );
        assert!(unknown.unwrap_err().to_string().contains("no such key"));
        let bad = applied(
            &config(),
            &[("delivery.retry_max".to_owned(), "\"soon\"".to_owned())],
            "t",
        );
        assert!(bad.is_err());
    }
}

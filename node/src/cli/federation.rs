//! `lienthong federation …`: the authorities' commands.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;
use lienthong_node::clock;
use lienthong_node::roster::federation::FederationDir;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::organ_id::LevelOne;
use lienthong_protocol::roster::{EmailUnit, Role, RosterBundle, SignedSection};

/// `lienthong federation …`
#[derive(Debug, Subcommand)]
pub(crate) enum FederationCommand {
    /// Create a federation's root authority: its key and a roster with its empty section.
    New {
        /// The authority directory (created). Keep authority.key in it safe and offline.
        #[arg(long)]
        dir: PathBuf,
        /// The federation's name.
        #[arg(long)]
        name: String,
    },
    /// Delegate the agencies under a level-1 code (e.g. H53) to a provincial authority,
    /// made in a new directory with its own key. Run by the root authority.
    Delegate {
        /// The root authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The new authority's directory (created): hand it to the province securely.
        #[arg(long)]
        out: PathBuf,
        /// The provincial authority's name, e.g. "UBND tỉnh Tây Ninh".
        #[arg(long)]
        name: String,
        /// The level-1 code it may admit agencies under, e.g. H53 (or *.H53).
        #[arg(long)]
        scope: LevelOne,
        /// Also let it designate relays.
        #[arg(long)]
        relays: bool,
        /// End of the delegation, e.g. "365d" from now; without it the delegation lasts
        /// until withdrawn.
        #[arg(long, value_parser = humantime::parse_duration)]
        valid_for: Option<Duration>,
    },
    /// Admit a node (or refresh its record): add its agency to this authority's section,
    /// re-sign it, and install the roster in the node's data directory. Admitting a member
    /// again re-installs the current roster.
    Admit {
        /// The authority directory.
        #[arg(long)]
        dir: PathBuf,
        /// The node's data directory (lienthong init made it).
        #[arg(long)]
        data_dir: PathBuf,
        /// A relay that holds packages for this agency; repeat for two.
        #[arg(long = "relay", value_name = "ORGAN_ID")]
        relays: Vec<OrganId>,
        /// End the membership after this long, e.g. "90d" (a pilot, a temporary unit).
        #[arg(long, value_parser = humantime::parse_duration)]
        valid_for: Option<Duration>,
    },
    /// Revoke an agency: nothing it signs is accepted any more, its node is refused.
    Revoke {
        /// The authority directory that admitted it.
        #[arg(long)]
        dir: PathBuf,
        /// The agency.
        #[arg(long)]
        organ_id: OrganId,
        /// Why (shown to operators whose nodes refuse it).
        #[arg(long, default_value = "revoked by its authority")]
        reason: String,
    },
    /// List a unit that has no node as reached by official email (or update its entry):
    /// members mail it documents and take its mail as documents from it.
    ListEmailUnit {
        /// The authority directory.
        #[arg(long)]
        dir: PathBuf,
        /// The unit's id, as QLVB addresses it.
        #[arg(long)]
        organ_id: OrganId,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its official email address.
        #[arg(long)]
        address: String,
        /// Its S/MIME certificate (a PEM file), if it has one.
        #[arg(long, value_name = "FILE")]
        smime_certificate: Option<PathBuf>,
    },
    /// Take a unit off the units reached by official email.
    UnlistEmailUnit {
        /// The authority directory.
        #[arg(long)]
        dir: PathBuf,
        /// The unit.
        #[arg(long)]
        organ_id: OrganId,
    },
    /// Rotate an agency's key to the one its node prepared (lienthong key rotate); the old
    /// key stays accepted for the grace period.
    Rotate {
        /// The authority directory that admitted it.
        #[arg(long)]
        dir: PathBuf,
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// How long the old key stays accepted, e.g. "7d".
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        grace: Duration,
    },
    /// Show the roster: every section, delegation and agency with its standing.
    Show {
        /// The authority directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print the roster as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn add(at: Timestamp, duration: Duration) -> Timestamp {
    Timestamp::from_millis(
        at.as_millis()
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
    )
}

pub(crate) fn run(command: FederationCommand) -> anyhow::Result<()> {
    match command {
        FederationCommand::New { dir, name } => {
            let bundle = FederationDir::new(&dir).create(&name)?;
            println!("created federation {name:?} in {}", dir.display());
            println!("  root key  {}", bundle.root().signer());
        }
        FederationCommand::Delegate {
            dir,
            out,
            name,
            scope,
            relays,
            valid_for,
        } => {
            let valid_until = valid_for.map(|d| add(clock::now(), d));
            let bundle =
                FederationDir::new(&dir).delegate(&out, &name, scope, relays, valid_until)?;
            let province = bundle
                .roster()
                .delegations
                .iter()
                .find(|d| d.scope == scope)
                .context("the delegation is in the roster")?;
            println!(
                "delegated *.{scope} to {name} (key {}) in {}{}",
                province.authority_key.fmt_short(),
                out.display(),
                if relays { ", with relays" } else { "" }
            );
        }
        FederationCommand::Admit {
            dir,
            data_dir,
            relays,
            valid_for,
        } => {
            let federation = FederationDir::new(&dir);
            let valid_until = valid_for.map(|d| add(clock::now(), d));
            let record = federation.admit_until(&data_dir, &relays, valid_until)?;
            let bundle = federation.bundle()?;
            println!(
                "admitted {} ({}) as peer {}; roster {} installed in {}",
                record.organ_id,
                record.name,
                record.peer_id,
                bundle.version(),
                data_dir.display()
            );
        }
        FederationCommand::Revoke {
            dir,
            organ_id,
            reason,
        } => {
            let bundle = FederationDir::new(&dir).revoke(&organ_id, &reason)?;
            println!("revoked {organ_id}; roster {}", bundle.version());
        }
        FederationCommand::ListEmailUnit {
            dir,
            organ_id,
            name,
            address,
            smime_certificate,
        } => {
            let smime_certificate = smime_certificate
                .map(|file| {
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))
                })
                .transpose()?;
            let unit = EmailUnit {
                organ_id: organ_id.clone(),
                name,
                address: address.clone(),
                smime_certificate,
            };
            let bundle = FederationDir::new(&dir).list_email_unit(unit)?;
            println!(
                "listed {organ_id} as reached by email at {address}; roster {}",
                bundle.version()
            );
        }
        FederationCommand::UnlistEmailUnit { dir, organ_id } => {
            let bundle = FederationDir::new(&dir).unlist_email_unit(&organ_id)?;
            println!(
                "{organ_id} is no longer reached by email; roster {}",
                bundle.version()
            );
        }
        FederationCommand::Rotate {
            dir,
            data_dir,
            grace,
        } => {
            let plan = FederationDir::new(&dir).rotate(&data_dir, grace)?;
            println!(
                "rotated {} to key {} (peer {}); the old key is accepted for {}; roster {}",
                plan.organ_id,
                plan.record.public_key.fmt_short(),
                plan.record.peer_id,
                humantime::format_duration(grace),
                plan.bundle.version()
            );
            println!("restart the node to switch to its new key");
        }
        FederationCommand::Show { dir, json } => {
            let federation = FederationDir::new(&dir);
            let bundle = federation.bundle()?;
            let info = federation.info()?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&show_json(&bundle, &info.name, info.scope))?
                );
                return Ok(());
            }
            show_text(&bundle);
        }
    }
    Ok(())
}

fn section_json(section: &SignedSection) -> serde_json::Value {
    serde_json::json!({
        "signer": section.signer(),
        "section": section.section(),
    })
}

fn show_json(bundle: &RosterBundle, authority: &str, scope: Option<LevelOne>) -> serde_json::Value {
    let now = clock::now();
    let roster = bundle.roster();
    serde_json::json!({
        "root_key": bundle.root().signer(),
        "this_authority": authority,
        "this_scope": scope,
        "version": bundle.version(),
        "roster": {
            "federation": roster.federation,
            "serial": roster.root_serial,
            "delegations": roster.delegations,
            "email_units": roster.email_units,
            "agencies": roster.agencies.iter().map(|a| {
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["status"] = serde_json::Value::String(a.status_at(now).to_string());
                v
            }).collect::<Vec<_>>(),
        },
        "sections": std::iter::once(bundle.root()).chain(bundle.delegated()).map(section_json).collect::<Vec<_>>(),
    })
}

fn show_text(bundle: &RosterBundle) {
    let now = clock::now();
    let roster = bundle.roster();
    println!("federation  {}", roster.federation);
    println!("root key    {}", bundle.root().signer());
    println!("version     {}", bundle.version());
    for d in &roster.delegations {
        println!(
            "delegation  *.{} to {} (key {}){}{}",
            d.scope,
            d.name,
            d.authority_key.fmt_short(),
            if d.relays { ", relays" } else { "" },
            d.valid_until
                .map(|u| format!(", until {u}"))
                .unwrap_or_default()
        );
    }
    for section in std::iter::once(bundle.root()).chain(bundle.delegated()) {
        let s = section.section();
        println!(
            "section of {} (key {}), serial {}, signed {}: {} agencies",
            s.authority,
            section.signer().fmt_short(),
            s.serial,
            s.issued_at,
            s.agencies.len()
        );
        for a in &s.agencies {
            let role = match a.role {
                Role::Agency => "agency",
                Role::Relay => "relay",
            };
            let relays: Vec<String> = a.relays.iter().map(ToString::to_string).collect();
            println!(
                "  {:<16} {:<6} {}  key {}  {}{}",
                a.organ_id.as_str(),
                role,
                a.name,
                a.public_key.fmt_short(),
                a.status_at(now),
                if relays.is_empty() {
                    String::new()
                } else {
                    format!("  relays {}", relays.join(","))
                }
            );
            for addr in &a.addresses {
                println!("  {:<16}        at {addr}", "");
            }
        }
        for u in &s.email_units {
            println!(
                "  {:<16} email  {}  at {}{}",
                u.organ_id.as_str(),
                u.name,
                u.address,
                if u.smime_certificate.is_some() {
                    "  (S/MIME)"
                } else {
                    ""
                }
            );
        }
    }
}

//! The roster: present, verifying against the pinned root key, listing this agency as an
//! active member with this node's key, and not about to expire.

use std::time::Duration;

use bytes::Bytes;
use lienthong_node::clock;
use lienthong_node::config::Config;
use lienthong_node::data_dir::DataDir;
use lienthong_node::identity::Identity;
use lienthong_node::roster::federation::read_public_key;
use lienthong_node::roster::membership::Membership;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::roster::{MemberStatus, RosterBundle, RosterError};

use super::Check;

/// A membership or delegation ending sooner than this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);

/// The roster's check, and the verified roster for the relay checks.
pub(super) fn check(
    data: &DataDir,
    config: Option<&Config>,
    key: Option<&PublicKey>,
) -> (Check, Option<Membership>) {
    let membership = match load(data) {
        Ok(membership) => membership,
        Err(check) => return (check, None),
    };
    let check = match config {
        Some(config) => standing(data, &membership, config, key),
        None => Check::warning(
            "roster",
            format!(
                "version {}; this agency's place in it is unknown without a config",
                membership.version()
            ),
            "fix config.toml first",
        ),
    };
    (check, Some(membership))
}

/// Reads and verifies the roster as the node does (`roster.current`, then `roster.bin`
/// merged in), without writing anything.
fn load(data: &DataDir) -> Result<Membership, Check> {
    let (current, installed) = (data.current_roster(), data.roster());
    if !current.exists() && !installed.exists() {
        return Err(Check::fail(
            "roster",
            format!(
                "no roster in {}: this node is not admitted yet",
                data.root().display()
            ),
            "send identity.json to your federation authority; `lienthong federation admit` installs root.pub and roster.bin",
        ));
    }
    let root = read_public_key(&data.root_key()).map_err(|e| {
        Check::fail(
            "roster",
            format!("{e:#}"),
            "the authority installs root.pub with the roster (lienthong federation admit); restore it from a backup",
        )
    })?;
    let now = clock::now();
    let mut bundle: Option<RosterBundle> = None;
    for path in [current, installed] {
        let Ok(wire) = std::fs::read(&path) else {
            continue;
        };
        let offered = RosterBundle::from_wire(Bytes::from(wire), &root, now).map_err(|e| {
            Check::fail(
                "roster",
                format!("{} does not verify against root.pub: {e}", path.display()),
                "ask your authority to install the current roster again (lienthong federation admit)",
            )
        })?;
        bundle = Some(match bundle {
            None => offered,
            Some(held) => match held.merge(&offered, &root, now) {
                Ok(merged) => merged,
                Err(RosterError::NotNewer(_)) => held,
                Err(e) => {
                    return Err(Check::fail(
                        "roster",
                        format!("{} does not merge with roster.current: {e}", path.display()),
                        "ask your authority to install the current roster again",
                    ));
                }
            },
        });
    }
    let bundle = bundle.ok_or_else(|| {
        Check::fail(
            "roster",
            "the roster files cannot be read",
            "check their permissions: the node's user must read them",
        )
    })?;
    Membership::new(bundle).map_err(|e| {
        Check::fail(
            "roster",
            e.to_string(),
            "ask your authority to fix the record and publish the roster again",
        )
    })
}

/// This agency in the roster: listed, active, with this node's key, not about to expire.
fn standing(
    data: &DataDir,
    membership: &Membership,
    config: &Config,
    key: Option<&PublicKey>,
) -> Check {
    let organ = &config.organ_id;
    let version = membership.version();
    let now = clock::now();
    let Some(member) = membership.member(organ) else {
        return Check::fail(
            "roster",
            format!("the roster (version {version}) does not list {organ}"),
            "ask your authority to admit this node: send it identity.json",
        );
    };
    let record = &member.record;
    let status = record.status_at(now);
    if status != MemberStatus::Active {
        return Check::fail(
            "roster",
            format!("{organ} is {status} in the roster (version {version})"),
            "ask your authority why, and to admit the agency again if it should be a member",
        );
    }
    if let Some(key) = key.filter(|key| **key != record.public_key) {
        let next = Identity::load(&data.next_agency_key())
            .ok()
            .map(|next| next.public_key());
        if next.as_ref() == Some(&record.public_key) {
            return Check::warning(
                "roster",
                "the roster lists the key prepared in agency.key.next: the rotation is published",
                "restart the node (systemctl restart lienthong): it switches to the new key at start",
            );
        }
        return Check::fail(
            "roster",
            format!(
                "the roster lists key {} for {organ}, but agency.key holds {key}",
                record.public_key
            ),
            "put back the agency key the authority admitted (restore a backup), or have the authority rotate to this key",
        );
    }
    if let Some((what, until)) = ending(membership, organ, record.valid_until)
        && until.as_millis() < now.as_millis().saturating_add(millis(EXPIRY_WARNING))
    {
        return Check::warning(
            "roster",
            format!("{what} ends at {until}"),
            "ask your authority to renew it before then, or the node stops exchanging",
        );
    }
    Check::ok(
        "roster",
        format!(
            "version {version}, {} members; {organ} is active with this node's key",
            membership.members().len()
        ),
    )
}

/// The first end of this agency's membership: its own record's, or the delegation of the
/// authority that admitted it.
fn ending(
    membership: &Membership,
    organ: &lienthong_protocol::OrganId,
    record_until: Option<Timestamp>,
) -> Option<(&'static str, Timestamp)> {
    let bundle = membership.bundle();
    let delegation_until = bundle
        .delegated()
        .iter()
        .find(|section| section.section().agency(organ).is_some())
        .and_then(|section| {
            bundle
                .roster()
                .delegations
                .iter()
                .find(|d| d.authority_key == *section.signer())
        })
        .and_then(|d| d.valid_until);
    match (record_until, delegation_until) {
        (Some(own), Some(delegation)) if delegation < own => Some((
            "the delegation of the authority that admitted this agency",
            delegation,
        )),
        (Some(own), _) => Some(("this agency's membership", own)),
        (None, Some(delegation)) => Some((
            "the delegation of the authority that admitted this agency",
            delegation,
        )),
        (None, None) => None,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use lienthong_node::roster::federation::FederationDir;

    use super::super::Verdict;
    use super::*;

    struct World {
        _dir: tempfile::TempDir,
        federation: FederationDir,
        data: DataDir,
        config: Config,
        key: PublicKey,
    }

    /// A federation and one initialised node, not admitted yet.
    fn world() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let federation = FederationDir::new(dir.path().join("fed"));
        federation.create("Liên thông thử").expect("federation");
        let data = DataDir::new(dir.path().join("node"));
        lienthong_node::init::init(
            data.root(),
            &lienthong_node::init::InitOptions {
                organ_id: "000.00.01.H53".parse().expect("id"),
                name: "Sở Nội vụ".to_owned(),
                listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
                api: None,
                role: lienthong_protocol::roster::Role::Agency,
                mdns: false,
            },
        )
        .expect("init");
        let config = Config::load(&data.config()).expect("config");
        let key = Identity::load(&data.agency_key())
            .expect("key")
            .public_key();
        World {
            _dir: dir,
            federation,
            data,
            config,
            key,
        }
    }

    fn verdict(w: &World) -> Check {
        check(&w.data, Some(&w.config), Some(&w.key)).0
    }

    #[test]
    fn a_node_not_admitted_fails() {
        let w = world();
        let check = verdict(&w);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("not admitted"), "{check:?}");
    }

    #[test]
    fn an_admitted_node_is_ok() {
        let w = world();
        w.federation.admit(w.data.root(), &[]).expect("admit");
        let check = verdict(&w);
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
        assert!(
            check.message.contains("active with this node's key"),
            "{check:?}"
        );
    }

    #[test]
    fn a_roster_that_does_not_list_this_agency_fails() {
        let w = world();
        w.federation.admit(w.data.root(), &[]).expect("admit");
        let mut config = w.config.clone();
        config.organ_id = "000.00.02.H53".parse().expect("id");
        let check = check(&w.data, Some(&config), Some(&w.key)).0;
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.message.contains("does not list 000.00.02.H53"),
            "{check:?}"
        );
    }

    #[test]
    fn another_key_than_the_admitted_one_fails() {
        let w = world();
        w.federation.admit(w.data.root(), &[]).expect("admit");
        let other = Identity::generate().expect("key").public_key();
        let check = check(&w.data, Some(&w.config), Some(&other)).0;
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("but agency.key holds"), "{check:?}");
    }

    #[test]
    fn a_revoked_or_soon_ending_membership_is_reported() {
        let w = world();
        let soon = Timestamp::from_millis(clock::now().as_millis() + 86_400_000);
        w.federation
            .admit_until(w.data.root(), &[], Some(soon))
            .expect("admit");
        let check = verdict(&w);
        assert_eq!(check.verdict, Verdict::Warning, "{check:?}");
        assert!(check.message.contains("membership ends"), "{check:?}");

        w.federation
            .revoke(&w.config.organ_id, "thử thu hồi")
            .expect("revoke");
        let check = verdict(&w);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.message.contains("revoked"), "{check:?}");
    }

    #[test]
    fn a_tampered_roster_fails() {
        let w = world();
        w.federation.admit(w.data.root(), &[]).expect("admit");
        let mut wire = std::fs::read(w.data.roster()).expect("roster");
        let last = wire.len() - 1;
        wire[last] ^= 1;
        std::fs::write(w.data.roster(), wire).expect("tamper");
        let _ = std::fs::remove_file(w.data.current_roster());
        let check = verdict(&w);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.message.contains("does not verify"), "{check:?}");
    }
}

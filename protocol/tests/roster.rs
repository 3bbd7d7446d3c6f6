//! The roster: delegation, validity, revocation, rotation, merging, and the ways a forged or
//! stale roster is refused.

use bytes::Bytes;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::AgencyKey;
use lienthong_protocol::roster::{
    AgencyRecord, Delegation, EmailUnit, MemberStatus, PreviousKey, Revocation, Role, RosterBundle,
    RosterError, RosterSection, SignedSection,
};

const T0: u64 = 1_763_700_000_000;
const DAY: u64 = 86_400_000;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn key() -> AgencyKey {
    AgencyKey::generate().expect("key")
}

fn record(id: &str, key: &AgencyKey) -> AgencyRecord {
    AgencyRecord::new(
        id.parse().expect("id"),
        format!("Cơ quan {id}"),
        key.public_key(),
        format!("peer-{id}"),
    )
}

struct Setup {
    root: AgencyKey,
    province: AgencyKey,
    root_section: RosterSection,
    province_section: RosterSection,
}

/// The Government Office as root, admitting one ministry itself and delegating `*.H53` to
/// Tây Ninh, which admits two agencies and a relay.
fn setup() -> Setup {
    let root = key();
    let province = key();
    let mut root_section = RosterSection::new("Liên thông quốc gia", "Văn phòng Chính phủ", t(T0));
    root_section.serial = 1;
    root_section.upsert(record("000.00.00.G22", &key()));
    root_section.delegations.push(Delegation {
        name: "UBND tỉnh Tây Ninh".to_owned(),
        authority_key: province.public_key(),
        scope: "H53".parse().expect("scope"),
        relays: true,
        valid_from: t(T0),
        valid_until: Some(t(T0 + 365 * DAY)),
    });
    let mut province_section =
        RosterSection::new("Liên thông quốc gia", "UBND tỉnh Tây Ninh", t(T0));
    province_section.serial = 1;
    let mut relay = record("000.00.90.H53", &key());
    relay.role = Role::Relay;
    province_section.upsert(relay);
    let mut tax = record("000.00.22.H53", &key());
    tax.relays = vec!["000.00.90.H53".parse().expect("id")];
    province_section.upsert(tax);
    province_section.upsert(record("000.00.11.H53", &key()));
    Setup {
        root,
        province,
        root_section,
        province_section,
    }
}

fn bundle(s: &Setup, now: Timestamp) -> Result<RosterBundle, RosterError> {
    RosterBundle::verify(
        SignedSection::sign(&s.root, s.root_section.clone())?,
        vec![SignedSection::sign(
            &s.province,
            s.province_section.clone(),
        )?],
        &s.root.public_key(),
        now,
    )
}

#[test]
fn a_delegated_province_admits_agencies_under_its_code() {
    let s = setup();
    let b = bundle(&s, t(T0 + DAY)).expect("verifies");
    let roster = b.roster();
    assert_eq!(roster.agencies.len(), 4);
    assert!(
        roster
            .agency(&"000.00.22.H53".parse().expect("id"))
            .is_some()
    );
    let read = RosterBundle::from_wire(b.to_wire(), &s.root.public_key(), t(T0 + DAY))
        .expect("reads back");
    assert_eq!(read.version(), b.version());
    assert_eq!(read.delegated().len(), 1);
}

#[test]
fn a_province_cannot_admit_outside_its_code() {
    let mut s = setup();
    s.province_section.upsert(record("000.00.01.H41", &key()));
    let err = bundle(&s, t(T0 + DAY)).expect_err("out of scope");
    assert!(
        matches!(&err, RosterError::OutOfScope { organ_id, .. } if organ_id == "000.00.01.H41"),
        "{err}"
    );
}

#[test]
fn relays_need_the_right_to_designate_them() {
    let mut s = setup();
    s.root_section.delegations[0].relays = false;
    let err = bundle(&s, t(T0 + DAY)).expect_err("no relay right");
    assert!(err.to_string().contains("relays"), "{err}");
}

#[test]
fn an_expired_or_unknown_delegation_backs_nothing() {
    let s = setup();
    let err = bundle(&s, t(T0 + 400 * DAY)).expect_err("expired");
    assert!(matches!(err, RosterError::NotDelegated { .. }), "{err}");
    let stranger = key();
    let err = RosterBundle::verify(
        SignedSection::sign(&s.root, s.root_section.clone()).expect("signs"),
        vec![SignedSection::sign(&stranger, s.province_section.clone()).expect("signs")],
        &s.root.public_key(),
        t(T0 + DAY),
    )
    .expect_err("not delegated");
    assert!(matches!(err, RosterError::NotDelegated { .. }), "{err}");
}

#[test]
fn a_roster_signed_by_the_wrong_root_is_refused() {
    let s = setup();
    let wire = bundle(&s, t(T0)).expect("verifies").to_wire();
    let err = RosterBundle::from_wire(wire, &key().public_key(), t(T0)).expect_err("wrong root");
    assert!(matches!(err, RosterError::WrongSigner { .. }), "{err}");
}

#[test]
fn any_changed_byte_or_truncation_is_refused() {
    let s = setup();
    let wire = bundle(&s, t(T0)).expect("verifies").to_wire();
    let root = s.root.public_key();
    for i in (0..wire.len()).step_by(7) {
        let mut tampered = wire.to_vec();
        tampered[i] ^= 0x20;
        assert!(
            RosterBundle::from_wire(Bytes::from(tampered), &root, t(T0)).is_err(),
            "byte {i}"
        );
    }
    for end in (0..wire.len()).step_by(11) {
        assert!(
            RosterBundle::from_wire(wire.slice(..end), &root, t(T0)).is_err(),
            "cut at {end}"
        );
    }
}

#[test]
fn merging_takes_each_sections_newest_and_refuses_replays() {
    let s = setup();
    let root_key = s.root.public_key();
    let old = bundle(&s, t(T0)).expect("verifies");

    // The province admits one more agency: only its section changes.
    let mut province = s.province_section.clone();
    province.serial = 2;
    province.upsert(record("000.00.12.H53", &key()));
    let newer_province = old
        .with_section(
            SignedSection::sign(&s.province, province).expect("signs"),
            &root_key,
            t(T0),
        )
        .expect("verifies");
    // The root changes its own section independently, from the old bundle.
    let mut root_section = s.root_section.clone();
    root_section.serial = 2;
    root_section.upsert(record("000.00.00.G09", &key()));
    let newer_root = old
        .with_section(
            SignedSection::sign(&s.root, root_section).expect("signs"),
            &root_key,
            t(T0),
        )
        .expect("verifies");

    let merged = newer_province
        .merge(&newer_root, &root_key, t(T0))
        .expect("merges");
    assert_eq!(merged.roster().agencies.len(), 6, "both changes are kept");
    assert_eq!(merged.roster().root_serial, 2);

    // Offering the old roster again changes nothing and says so.
    let err = merged.merge(&old, &root_key, t(T0)).expect_err("a replay");
    assert!(matches!(err, RosterError::NotNewer(_)), "{err}");
    let err = merged
        .merge(&merged, &root_key, t(T0))
        .expect_err("the same");
    assert!(matches!(err, RosterError::NotNewer(_)), "{err}");
}

#[test]
fn an_authority_signing_two_versions_under_one_serial_is_a_conflict() {
    let s = setup();
    let root_key = s.root.public_key();
    let base = bundle(&s, t(T0)).expect("verifies");
    let mut a = s.province_section.clone();
    a.serial = 5;
    a.upsert(record("000.00.13.H53", &key()));
    let mut b = s.province_section.clone();
    b.serial = 5;
    b.upsert(record("000.00.14.H53", &key()));
    let one = base
        .with_section(
            SignedSection::sign(&s.province, a).expect("signs"),
            &root_key,
            t(T0),
        )
        .expect("ok");
    let mut two = base
        .with_section(
            SignedSection::sign(&s.province, b).expect("signs"),
            &root_key,
            t(T0),
        )
        .expect("ok");
    // Give the second a newer root so that it is not simply "not newer".
    let mut root_section = s.root_section.clone();
    root_section.serial = 9;
    two = two
        .with_section(
            SignedSection::sign(&s.root, root_section).expect("signs"),
            &root_key,
            t(T0),
        )
        .expect("ok");
    let err = one.merge(&two, &root_key, t(T0)).expect_err("equivocation");
    assert!(matches!(err, RosterError::Conflict(_)), "{err}");
}

#[test]
fn withdrawing_a_delegation_drops_its_section() {
    let s = setup();
    let root_key = s.root.public_key();
    let base = bundle(&s, t(T0)).expect("verifies");
    let mut root_section = s.root_section.clone();
    root_section.serial = 2;
    root_section.delegations.clear();
    let withdrawn = RosterBundle::of_root(
        SignedSection::sign(&s.root, root_section).expect("signs"),
        &root_key,
        t(T0),
    )
    .expect("verifies");
    let merged = base.merge(&withdrawn, &root_key, t(T0)).expect("merges");
    assert!(merged.delegated().is_empty());
    assert_eq!(merged.roster().agencies.len(), 1);
}

#[test]
fn records_have_windows_revocations_and_grace_for_old_keys() {
    let old = key();
    let new = key();
    let mut r = record("000.00.11.H53", &new);
    r.valid_from = Some(t(T0));
    r.valid_until = Some(t(T0 + 10 * DAY));
    r.previous_keys.push(PreviousKey {
        public_key: old.public_key(),
        peer_id: "peer-old".to_owned(),
        until: t(T0 + 2 * DAY),
    });
    assert_eq!(r.status_at(t(T0 - 1)), MemberStatus::NotYetValid(t(T0)));
    assert_eq!(r.status_at(t(T0 + DAY)), MemberStatus::Active);
    assert_eq!(
        r.status_at(t(T0 + 10 * DAY)),
        MemberStatus::Expired(t(T0 + 10 * DAY))
    );
    assert!(r.accepts_key(&new.public_key(), t(T0 + DAY)));
    assert!(
        r.accepts_key(&old.public_key(), t(T0 + DAY)),
        "the old key within its grace"
    );
    assert!(
        !r.accepts_key(&old.public_key(), t(T0 + 3 * DAY)),
        "not after it"
    );
    r.revoked = Some(Revocation {
        at: t(T0 + DAY),
        reason: "máy chủ bị xâm nhập".to_owned(),
    });
    let status = r.status_at(t(T0 + DAY));
    assert!(matches!(status, MemberStatus::Revoked(_)));
    assert!(status.to_string().contains("máy chủ bị xâm nhập"));
}

#[test]
fn two_authorities_cannot_list_the_same_agency() {
    let mut s = setup();
    let mut dup = record("000.00.11.H53", &key());
    dup.name = "again".to_owned();
    s.root_section.upsert(dup);
    let err = bundle(&s, t(T0)).expect_err("listed twice");
    assert!(matches!(err, RosterError::Conflict(_)), "{err}");
}

fn email_unit(id: &str, address: &str) -> EmailUnit {
    EmailUnit {
        organ_id: id.parse().expect("id"),
        name: format!("Đơn vị {id}"),
        address: address.to_owned(),
        smime_certificate: None,
    }
}

#[test]
fn a_province_lists_units_on_official_email_under_its_code_and_members_find_them() {
    let mut s = setup();
    s.province_section
        .email_units
        .push(email_unit("000.00.31.H53", "vanthu@xa-a.tayninh.gov.vn"));
    let verified = bundle(&s, t(T0 + DAY)).expect("verifies");
    let roster = verified.roster();
    let unit = roster
        .email_unit(&"000.00.31.H53".parse().expect("id"))
        .expect("listed");
    assert_eq!(unit.address, "vanthu@xa-a.tayninh.gov.vn");
    assert_eq!(
        roster
            .email_unit_by_address("VANTHU@xa-a.tayninh.gov.vn")
            .map(|u| u.organ_id.as_str()),
        Some("000.00.31.H53")
    );
    assert!(roster.agency(&unit.organ_id).is_none(), "not a member");

    // Outside its code, it may not.
    let mut s = setup();
    s.province_section
        .email_units
        .push(email_unit("000.00.31.H41", "vanthu@xa-b.nghean.gov.vn"));
    let err = bundle(&s, t(T0 + DAY)).expect_err("out of scope");
    assert!(
        matches!(&err, RosterError::OutOfScope { organ_id, .. } if organ_id == "000.00.31.H41"),
        "{err}"
    );
}

#[test]
fn an_email_unit_cannot_also_be_a_member_or_share_an_address() {
    // A member listed again as an email unit, in another section.
    let mut s = setup();
    s.root_section
        .email_units
        .push(email_unit("000.00.11.H53", "vanthu@so-a.tayninh.gov.vn"));
    let err = bundle(&s, t(T0 + DAY)).expect_err("listed twice");
    assert!(matches!(err, RosterError::Conflict(_)), "{err}");

    // Two units, one address, in one section: refused at signing, naming the unit.
    let mut s = setup();
    s.province_section
        .email_units
        .push(email_unit("000.00.31.H53", "vanthu@xa-a.tayninh.gov.vn"));
    s.province_section
        .email_units
        .push(email_unit("000.00.32.H53", "VanThu@xa-a.tayninh.gov.vn"));
    let err = SignedSection::sign(&s.province, s.province_section.clone()).expect_err("shared");
    assert!(err.to_string().contains("000.00.32.H53"), "{err}");

    // An address a mail server would not take: refused at signing.
    let mut s = setup();
    s.province_section
        .email_units
        .push(email_unit("000.00.31.H53", "văn thư@xa-a"));
    let err = SignedSection::sign(&s.province, s.province_section.clone()).expect_err("bad");
    assert!(err.to_string().contains("not a mail address"), "{err}");
}

#[test]
fn a_roster_signed_before_email_units_existed_reads_the_same() {
    // Sections without units serialise without the field, so their signed bytes, and
    // every signature over them, are unchanged.
    let s = setup();
    let signed = SignedSection::sign(&s.root, s.root_section.clone()).expect("signs");
    let json = String::from_utf8_lossy(signed.to_wire().as_ref()).into_owned();
    assert!(!json.contains("email_units"), "{json}");
}

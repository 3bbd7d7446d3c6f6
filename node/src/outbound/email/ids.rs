//! The ids a copy is mailed under, and reading them back from what returns.
//!
//! A copy's DSN envelope id is `<package id hex>.<unit's OrganId>`; its Message-ID is the
//! same at the agency's mail domain. Both carry everything needed to find the copy again,
//! so a delivery report, a read receipt or the agency's own copy is matched without an
//! index, and a copy sent again after a crash has the same Message-ID.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::PackageId;

/// The DSN envelope id of `recipient`'s copy of `package_id`.
pub fn envelope_id(package_id: &PackageId, recipient: &OrganId) -> String {
    format!("{package_id}.{recipient}")
}

/// The Message-ID (without brackets) of that copy, mailed from `own_address`.
pub fn message_id(package_id: &PackageId, recipient: &OrganId, own_address: &str) -> String {
    let domain = own_address
        .rsplit_once('@')
        .map_or("lienthong.invalid", |(_, d)| d);
    format!("{}@{domain}", envelope_id(package_id, recipient))
}

/// The copy an envelope id or a Message-ID (with or without brackets) names, when it is
/// one of this scheme's.
pub fn copy_of(id: &str) -> Option<(PackageId, OrganId)> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let local = id.split_once('@').map_or(id, |(local, _)| local);
    let (package, recipient) = local.split_once('.')?;
    Some((package.parse().ok()?, recipient.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_found_again_from_its_envelope_id_and_its_message_id() {
        let package = PackageId::from_bytes([7; 32]);
        let unit: OrganId = "000.00.31.H10".parse().expect("organ id");
        let envelope = envelope_id(&package, &unit);
        let message = message_id(&package, &unit, "vanthu@stp.binhthuan.gov.vn");
        assert!(message.ends_with("@stp.binhthuan.gov.vn"));
        for id in [envelope.clone(), message.clone(), format!("<{message}>")] {
            assert_eq!(copy_of(&id), Some((package, unit.clone())), "{id}");
        }
        assert_eq!(copy_of("CAF=abc@mail.gmail.com"), None);
        assert_eq!(copy_of("zz.000.00.31.H10@x"), None);
    }
}

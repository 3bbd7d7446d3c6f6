//! Units on official email: listed by an authority so members can reach them, though they
//! run no node.
//!
//! Many units still send and receive official documents only by official email (thư điện
//! tử công vụ). An authority lists each one with its official address; a member's node
//! then accepts it as a recipient and mails it the document through the agency's own mail
//! server, and takes mail from that address as documents from the unit. Nothing from a
//! unit is signed: what it sends, and what mail servers report of it, is always shown as
//! reported by mail.

use serde::{Deserialize, Serialize};

use super::RosterError;
use crate::organ_id::OrganId;

/// A unit reached by official email, with no node of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailUnit {
    /// The unit's id, as QLVB addresses it.
    pub organ_id: OrganId,
    /// Its name, for people and for the mail's greeting.
    pub name: String,
    /// Its official address (`vanthu@sotuphap.binhthuan.gov.vn`): where documents are
    /// mailed, and the only sender whose mail is taken as the unit's.
    pub address: String,
    /// Its S/MIME certificate (PEM), when it has one; kept for the unit's correspondents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smime_certificate: Option<String>,
}

impl EmailUnit {
    /// Whether `address` is this unit's, as mail systems compare addresses: the domain
    /// without regard to case, the local part as written (RFC 5321 §2.4), except that
    /// official mail systems treat it case-blind too, so it is compared case-blind.
    pub fn has_address(&self, address: &str) -> bool {
        self.address.eq_ignore_ascii_case(address.trim())
    }

    /// What a signature cannot check: a name, and an address a mail server would take.
    ///
    /// # Errors
    /// [`RosterError::Invalid`] naming the unit and the problem.
    pub fn validate(&self) -> Result<(), RosterError> {
        let invalid = |problem: String| RosterError::Invalid {
            organ_id: Some(self.organ_id.to_string()),
            problem,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("the email unit has no name".to_owned()));
        }
        check_address(&self.address).map_err(|why| {
            invalid(format!(
                "its address {:?} is not a mail address: {why}",
                self.address
            ))
        })?;
        if let Some(pem) = &self.smime_certificate
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(invalid(
                "its S/MIME certificate is not a PEM certificate".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A plain `local@domain` address: what an authority types, without display names or
/// angle brackets, each part non-empty, ASCII, no spaces or controls, and a dotted domain.
fn check_address(address: &str) -> Result<(), &'static str> {
    if address.len() > 254 {
        return Err("longer than 254 characters");
    }
    if !address.is_ascii() {
        return Err("not ASCII");
    }
    if address
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"<>()[],;:\"\\".contains(&b))
    {
        return Err("it holds spaces, brackets or other characters an address cannot");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Err("no @");
    };
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ is empty or longer than 64 characters");
    }
    if domain.contains('@') {
        return Err("more than one @");
    }
    if !domain.contains('.')
        || domain
            .split('.')
            .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return Err("the domain is not a dotted host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(address: &str) -> EmailUnit {
        EmailUnit {
            organ_id: "000.00.31.H10".parse().expect("organ id"),
            name: "Phòng Tư pháp huyện Tuy Phong".to_owned(),
            address: address.to_owned(),
            smime_certificate: None,
        }
    }

    #[test]
    fn an_official_address_is_taken_and_compared_case_blind() {
        let unit = unit("vanthu@tuyphong.binhthuan.gov.vn");
        unit.validate().expect("valid");
        assert!(unit.has_address("VanThu@TuyPhong.BinhThuan.gov.vn "));
        assert!(!unit.has_address("other@tuyphong.binhthuan.gov.vn"));
    }

    #[test]
    fn addresses_a_mail_server_would_refuse_are_refused_with_why() {
        for (address, why) in [
            ("", "no @"),
            ("vanthu", "no @"),
            ("@binhthuan.gov.vn", "empty"),
            ("vanthu@", "dotted"),
            ("vanthu@localhost", "dotted"),
            ("Văn thư <vanthu@binhthuan.gov.vn>", "ASCII"),
            ("van thu@binhthuan.gov.vn", "spaces"),
            ("a@b@binhthuan.gov.vn", "more than one @"),
        ] {
            let error = unit(address).validate().expect_err(address).to_string();
            assert!(error.contains(why), "{address}: {error}");
            assert!(error.contains("000.00.31.H10"), "{error}");
        }
    }
}

//! The signed form of a roster: JSON bytes and the authority's signature over them.

use bytes::Bytes;

use super::{Roster, RosterError};
use crate::keys::{AgencyKey, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};

/// Signing domain of rosters, so no other signed object can be passed off as one.
pub const ROSTER_DOMAIN: &str = "lienthong/roster/v1";
/// First four bytes of a signed roster.
pub const ROSTER_MAGIC: &[u8; 4] = b"LTRS";
const VERSION: u8 = 1;
const PREFIX_LEN: usize = 4 + 1 + PUBLIC_KEY_LEN + SIGNATURE_LEN + 4;

/// A roster with the authority's signature over its exact JSON bytes.
///
/// Wire form: `magic "LTRS" ‖ version 1 ‖ signer key (32) ‖ signature (64) ‖ u32 BE length ‖
/// JSON`. The signature covers `u32 BE length of the domain ‖ domain ‖ JSON`.
#[derive(Debug, Clone)]
pub struct SignedRoster {
    roster: Roster,
    signer: PublicKey,
    wire: Bytes,
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(4 + ROSTER_DOMAIN.len() + payload.len());
    message.extend_from_slice(&(ROSTER_DOMAIN.len() as u32).to_be_bytes());
    message.extend_from_slice(ROSTER_DOMAIN.as_bytes());
    message.extend_from_slice(payload);
    message
}

impl SignedRoster {
    /// Validates and signs a roster.
    ///
    /// # Errors
    /// [`RosterError::Invalid`] when the roster does not validate.
    pub fn sign(authority: &AgencyKey, roster: Roster) -> Result<Self, RosterError> {
        roster.validate()?;
        let payload = serde_json::to_vec_pretty(&roster).map_err(RosterError::Payload)?;
        let signer = authority.public_key();
        let signature = authority.sign(&signed_message(&payload));
        let mut wire = Vec::with_capacity(PREFIX_LEN + payload.len());
        wire.extend_from_slice(ROSTER_MAGIC);
        wire.push(VERSION);
        wire.extend_from_slice(signer.as_bytes());
        wire.extend_from_slice(signature.as_bytes());
        wire.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        wire.extend_from_slice(&payload);
        Ok(SignedRoster {
            roster,
            signer,
            wire: Bytes::from(wire),
        })
    }

    /// Reads a signed roster and accepts it only if `root` signed it. The signature is
    /// checked before the JSON is parsed.
    ///
    /// # Errors
    /// [`RosterError`] saying what was wrong.
    pub fn from_wire(wire: Bytes, root: &PublicKey) -> Result<Self, RosterError> {
        if wire.len() < 4 || &wire[..4] != ROSTER_MAGIC {
            return Err(RosterError::BadMagic);
        }
        if wire.len() < PREFIX_LEN {
            return Err(RosterError::Truncated("the header is incomplete"));
        }
        if wire[4] != VERSION {
            return Err(RosterError::UnsupportedVersion(wire[4]));
        }
        let mut signer = [0u8; PUBLIC_KEY_LEN];
        signer.copy_from_slice(&wire[5..5 + PUBLIC_KEY_LEN]);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&wire[5 + PUBLIC_KEY_LEN..5 + PUBLIC_KEY_LEN + SIGNATURE_LEN]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&wire[PREFIX_LEN - 4..PREFIX_LEN]);
        let len = u32::from_be_bytes(len) as usize;
        let payload = &wire[PREFIX_LEN..];
        if payload.len() != len {
            return Err(RosterError::Truncated("the payload length does not match"));
        }
        let signer = PublicKey::from_bytes(&signer).map_err(|_| RosterError::BadSignerKey)?;
        if &signer != root {
            return Err(RosterError::WrongSigner {
                found: signer.fmt_short().to_string(),
                expected: root.fmt_short().to_string(),
            });
        }
        signer
            .verify(&signed_message(payload), &Signature::from_bytes(&signature))
            .map_err(RosterError::BadSignature)?;
        let roster: Roster = serde_json::from_slice(payload).map_err(RosterError::Payload)?;
        roster.validate()?;
        Ok(SignedRoster {
            roster,
            signer,
            wire,
        })
    }

    /// The wire form, as written to `roster.bin` and sent to peers.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The key that signed it.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Timestamp;
    use crate::roster::{AgencyRecord, Role};

    fn record(id: &str, key: &AgencyKey) -> AgencyRecord {
        AgencyRecord {
            organ_id: id.parse().expect("id"),
            name: format!("Agency {id}"),
            public_key: key.public_key(),
            peer_id: "12D3KooWtest".to_owned(),
            addresses: vec!["/ip4/127.0.0.1/tcp/7100".to_owned()],
            relays: Vec::new(),
            role: Role::Agency,
        }
    }

    fn roster() -> Roster {
        let mut roster = Roster::new("Tây Ninh", Timestamp::from_millis(1_700_000_000_000));
        roster.serial = 3;
        let a = AgencyKey::generate().expect("key");
        let b = AgencyKey::generate().expect("key");
        roster.upsert(record("000.00.01.H53", &a));
        roster.upsert(record("000.00.02.H53", &b));
        roster
    }

    #[test]
    fn signed_roster_round_trips_for_its_root() {
        let root = AgencyKey::generate().expect("key");
        let signed = SignedRoster::sign(&root, roster()).expect("signs");
        let read = SignedRoster::from_wire(signed.to_wire(), &root.public_key()).expect("reads");
        assert_eq!(read.roster(), signed.roster());
        assert_eq!(read.roster().serial, 3);
        assert_eq!(read.signer(), &root.public_key());
    }

    #[test]
    fn another_root_is_refused() {
        let root = AgencyKey::generate().expect("key");
        let other = AgencyKey::generate().expect("key");
        let signed = SignedRoster::sign(&other, roster()).expect("signs");
        let err =
            SignedRoster::from_wire(signed.to_wire(), &root.public_key()).expect_err("refused");
        assert!(matches!(err, RosterError::WrongSigner { .. }), "{err}");
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let root = AgencyKey::generate().expect("key");
        let wire = SignedRoster::sign(&root, roster())
            .expect("signs")
            .to_wire();
        for i in 0..wire.len() {
            let mut tampered = wire.to_vec();
            tampered[i] ^= 0x01;
            assert!(
                SignedRoster::from_wire(Bytes::from(tampered), &root.public_key()).is_err(),
                "byte {i} changed and still accepted"
            );
        }
        for end in 0..wire.len() {
            assert!(SignedRoster::from_wire(wire.slice(..end), &root.public_key()).is_err());
        }
    }

    #[test]
    fn invalid_rosters_are_not_signed() {
        let root = AgencyKey::generate().expect("key");
        let mut r = roster();
        let dup = r.agencies[0].clone();
        r.agencies.push(dup);
        assert!(matches!(
            SignedRoster::sign(&root, r),
            Err(RosterError::Invalid { .. })
        ));

        let mut r = roster();
        r.agencies[1].public_key = r.agencies[0].public_key;
        let err = SignedRoster::sign(&root, r).expect_err("shared key");
        assert!(err.to_string().contains("already another member"), "{err}");

        let mut r = roster();
        r.agencies[0].relays = vec!["000.00.02.H53".parse().expect("id")];
        let err = SignedRoster::sign(&root, r).expect_err("not a relay");
        assert!(err.to_string().contains("relay role"), "{err}");
    }
}

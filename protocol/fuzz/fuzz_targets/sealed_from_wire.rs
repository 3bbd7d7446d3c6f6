//! Sealed packages and hold acknowledgements, read from untrusted bytes.
//!
//! The first byte picks what the rest is:
//!
//! - 0: raw bytes for [`SealedPackage::from_wire`] and [`SignedHold::from_wire`]: an error
//!   or a value that encodes back to the same bytes, never a panic; a sealed package read is
//!   also opened.
//! - 1: the fields of a sealed header after its domain (length-prefixed) and a ciphertext;
//!   the target adds the ciphertext length and hash, signs it like a sender would and
//!   assembles the wire form, so the strict decoding after the signature check and `open`
//!   see arbitrary input too.
//! - 2: the same for a hold body.
//! - 3: the content and fields of a real package, sealed, carried and opened: the round
//!   trip must give back the package.

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use lienthong_protocol::envelope::{EnvelopeLimits, PackageFields, SignedPackage, Timestamp};
use lienthong_protocol::seal::{HOLD_DOMAIN, SEALED_DOMAIN};
use lienthong_protocol::{
    AgencyKey, EncryptionSecret, MessageKind, OrganId, SealedPackage, SignedHold,
};
use sha2::{Digest as _, Sha256};

struct Keys {
    sender: AgencyKey,
    recipient: EncryptionSecret,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        sender: AgencyKey::from_bytes(&[1; 32]),
        recipient: EncryptionSecret::derive(&AgencyKey::from_bytes(&[2; 32])),
    })
}

fn assemble(magic: &[u8; 4], signed: &[u8], rest: &[u8]) -> Bytes {
    let key = &keys().sender;
    let mut wire = Vec::with_capacity(105 + signed.len() + rest.len());
    wire.extend_from_slice(magic);
    wire.push(1);
    wire.extend_from_slice(key.public_key().as_bytes());
    wire.extend_from_slice(key.sign(signed).as_bytes());
    wire.extend_from_slice(&(signed.len() as u32).to_be_bytes());
    wire.extend_from_slice(signed);
    wire.extend_from_slice(rest);
    Bytes::from(wire)
}

fn domain(domain: &str) -> Vec<u8> {
    let mut out = (domain.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(domain.as_bytes());
    out
}

fn read(wire: Bytes, limits: &EnvelopeLimits) {
    if let Ok(sealed) = SealedPackage::from_wire(wire.clone(), limits) {
        assert_eq!(sealed.to_wire(), wire);
        if let Ok(package) = sealed.open(&keys().recipient, limits) {
            assert_eq!(package.id(), sealed.id());
            assert!(package.recipients().contains(sealed.recipient()));
        }
    }
    if let Ok(hold) = SignedHold::from_wire(wire.clone()) {
        assert_eq!(hold.to_wire(), wire);
    }
}

/// `len (u16 BE) ‖ len bytes ‖ rest`.
fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
    Some(rest.split_at(len))
}

fuzz_target!(|data: &[u8]| {
    let limits = EnvelopeLimits::default();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => read(Bytes::copy_from_slice(rest), &limits),
        1 => {
            let Some((fields, ciphertext)) = split(rest) else {
                return;
            };
            let mut header = domain(SEALED_DOMAIN);
            header.extend_from_slice(fields);
            header.extend_from_slice(&(ciphertext.len() as u64).to_be_bytes());
            header.extend_from_slice(&Sha256::digest(ciphertext));
            read(assemble(b"LTSP", &header, ciphertext), &limits);
        }
        2 => {
            let mut body = domain(HOLD_DOMAIN);
            body.extend_from_slice(rest);
            read(assemble(b"LTHD", &body, &[]), &limits);
        }
        _ => {
            let Some((head, content)) = rest.split_first_chunk::<9>() else {
                return;
            };
            let recipients = [
                OrganId::parse("000.00.00.H53").expect("valid"),
                OrganId::parse("000.01.02.H41").expect("valid"),
            ];
            let package = SignedPackage::sign(
                &keys().sender,
                PackageFields {
                    sender: OrganId::parse("000.00.00.G22").expect("valid"),
                    recipients: recipients.to_vec(),
                    kind: MessageKind::Edoc,
                    created_at: Timestamp::from_millis(u64::from_be_bytes(
                        head[1..].try_into().expect("8 bytes"),
                    )),
                },
                Bytes::copy_from_slice(content),
                &limits,
            )
            .expect("a small package signs");
            let recipient = &recipients[usize::from(head[0] % 2)];
            let sealed = SealedPackage::seal(
                &keys().sender,
                &package,
                recipient,
                &keys().recipient.public(),
                &limits,
            )
            .expect("seals");
            let carried = SealedPackage::from_wire(sealed.to_wire(), &limits).expect("reads");
            assert_eq!(carried, sealed);
            let opened = carried
                .open(&keys().recipient, &limits)
                .expect("opens");
            assert_eq!(opened, package);
        }
    }
});

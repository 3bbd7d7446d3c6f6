//! Checking a kept token, offline, against the note it dates and the TSA's certificate.

use super::tst_info::TstInfo;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::oid::db::rfc5280::{ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_TIME_STAMPING};
use der::oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use der::oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_CE_EXT_KEY_USAGE,
    ID_EC_PUBLIC_KEY, ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SECP_256_R_1,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};

use super::{ID_CT_TSTINFO, TimestampError, TimestampInfo, check_len};

/// A TSA's certificate, checked to be one: its extended key usage is critical and names
/// id-kp-timeStamping, and its key is RSA or P-256.
#[derive(Clone)]
pub struct TsaCertificate {
    cert: Certificate,
    key: TsaKey,
    subject: String,
    /// The certificates given after the TSA's own (its chain): the only others a token
    /// may carry.
    chain: Vec<Certificate>,
}

#[derive(Clone)]
enum TsaKey {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl std::fmt::Debug for TsaCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaCertificate")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl TsaCertificate {
    /// The first certificate of a PEM file.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Certificate`] when it is not PEM X.509, and the errors of
    /// [`TsaCertificate::from_der`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, TimestampError> {
        let mut certs = Certificate::load_pem_chain(pem)
            .map_err(|source| TimestampError::Certificate { source })?
            .into_iter();
        let cert = certs.next().ok_or(TimestampError::Certificate {
            source: der::ErrorKind::Length {
                tag: der::Tag::Sequence,
            }
            .into(),
        })?;
        // A file with the chain after the TSA's own certificate.
        let mut tsa = Self::new(cert)?;
        tsa.chain = certs.collect();
        Ok(tsa)
    }

    /// A DER certificate.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Certificate`] when it is not X.509,
    /// [`TimestampError::NotTimeStamping`] without the critical id-kp-timeStamping usage,
    /// [`TimestampError::KeyAlgorithm`] or [`TimestampError::BadKey`] for its key.
    pub fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        let cert =
            Certificate::from_der(der).map_err(|source| TimestampError::Certificate { source })?;
        Self::new(cert)
    }

    fn new(cert: Certificate) -> Result<Self, TimestampError> {
        let tbs = &cert.tbs_certificate;
        let time_stamping = tbs
            .extensions
            .iter()
            .flatten()
            .filter(|ext| ext.extn_id == ID_CE_EXT_KEY_USAGE && ext.critical)
            .filter_map(|ext| ExtendedKeyUsage::from_der(ext.extn_value.as_bytes()).ok())
            .any(|eku| eku.0.contains(&ID_KP_TIME_STAMPING));
        if !time_stamping {
            return Err(TimestampError::NotTimeStamping);
        }
        let spki = &tbs.subject_public_key_info;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(TimestampError::BadKey)?;
        let key = match spki.algorithm.oid {
            RSA_ENCRYPTION => TsaKey::Rsa(
                RsaPublicKey::from_pkcs1_der(key_bytes).map_err(|_| TimestampError::BadKey)?,
            ),
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                if curve != Some(SECP_256_R_1) {
                    return Err(TimestampError::KeyAlgorithm {
                        algorithm: curve.unwrap_or(ID_EC_PUBLIC_KEY),
                    });
                }
                TsaKey::P256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map_err(|_| TimestampError::BadKey)?,
                )
            }
            algorithm => return Err(TimestampError::KeyAlgorithm { algorithm }),
        };
        let subject = tbs.subject.to_string();
        Ok(Self {
            cert,
            key,
            subject,
            chain: Vec::new(),
        })
    }

    /// The certificate's subject, as an RFC 4514 string.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's DER bytes.
    ///
    /// # Errors
    ///
    /// Never in practice: it was decoded from DER.
    pub fn to_der(&self) -> Result<Vec<u8>, TimestampError> {
        self.cert
            .to_der()
            .map_err(|source| TimestampError::Certificate { source })
    }

    fn names(&self, sid: &SignerIdentifier) -> bool {
        let tbs = &self.cert.tbs_certificate;
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer,
                serial_number,
            }) => *issuer == tbs.issuer && *serial_number == tbs.serial_number,
            SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                .extensions
                .iter()
                .flatten()
                .filter(|ext| ext.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
                .filter_map(|ext| SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok())
                .any(|own| own == *ski),
        }
    }
}

/// Checks a timestamp token against the exact bytes of the note it dates and the TSA's
/// certificate, and says what it dates.
///
/// In order: the token is CMS `SignedData` over an `id-ct-TSTInfo`, its message imprint is
/// the SHA-256 of `note`, it has one signer and that signer is `tsa`'s certificate, the
/// certificates the token carries include `tsa`'s unchanged, the
/// signed attributes say `id-ct-TSTInfo` and carry the hash of the encapsulated `TSTInfo`,
/// the signature over the DER of the signed attributes verifies with the certificate's key,
/// and `genTime` is within the certificate's validity. The certificate's usage was checked
/// when `tsa` was made.
///
/// # Errors
///
/// The first [`TimestampError`] that did not hold.
pub fn verify_token(
    token: &[u8],
    note: &[u8],
    tsa: &TsaCertificate,
) -> Result<TimestampInfo, TimestampError> {
    let (tst_bytes, signed) = open(token)?;
    let info = tst_info(&tst_bytes)?;
    check_imprint(&info, &Sha256::digest(note).into())?;
    let signers = signed.signer_infos.0.as_slice();
    let [signer] = signers else {
        return Err(TimestampError::SignerCount {
            count: signers.len(),
        });
    };
    if !tsa.names(&signer.sid) {
        return Err(TimestampError::SignerMismatch);
    }
    check_embedded(&signed, tsa)?;
    check_structure(&signed, signer)?;
    let digest = DigestAlgorithm::of(signer)?;
    let signed_attrs = check_attributes(signer, digest, &tst_bytes)?;
    check_signature(signer, digest, &signed_attrs, &tsa.key)?;

    let gen_time = info.gen_time.to_system_time();
    let validity = &tsa.cert.tbs_certificate.validity;
    if gen_time < validity.not_before.to_system_time()
        || gen_time > validity.not_after.to_system_time()
    {
        return Err(TimestampError::OutsideValidity);
    }
    Ok(TimestampInfo {
        gen_time,
        serial: hex::encode(info.serial_number.as_bytes()),
        tsa: tsa.subject.clone(),
    })
}

/// The certificates a token carries are outside its signature, so a changed byte in them
/// would go unseen: when the token carries any, the TSA's own certificate must be among
/// them exactly as the verifier has it. Further certificates (a chain some TSAs add) are
/// not looked at; the verifier trusts `tsa`, never what the token brings.
fn check_embedded(signed: &SignedData, tsa: &TsaCertificate) -> Result<(), TimestampError> {
    let Some(set) = &signed.certificates else {
        return Ok(());
    };
    let known = |choice: &CertificateChoices| match choice {
        CertificateChoices::Certificate(cert) => {
            *cert == tsa.cert || tsa.chain.iter().any(|given| given == cert)
        }
        CertificateChoices::Other(_) => false,
    };
    if set.0.iter().all(known) {
        Ok(())
    } else {
        Err(TimestampError::EmbeddedCertificateMismatch)
    }
}

/// The parts of the token outside the signature that say how it is made must say it the
/// one way RFC 5652 and RFC 3161 allow, so that no byte of them can change unseen:
/// `SignedData` version 3, `SignerInfo` version 1 (issuer and serial) or 3 (key
/// identifier), the digest algorithms listed being exactly the signer's, and no
/// parameters on a digest algorithm but an absent or NULL one.
fn check_structure(signed: &SignedData, signer: &SignerInfo) -> Result<(), TimestampError> {
    let malformed = |what: &'static str| TimestampError::Structure { what };
    if signed.version != CmsVersion::V3 {
        return Err(malformed("SignedData version is not 3"));
    }
    let expected = match signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if signer.version != expected {
        return Err(malformed(
            "SignerInfo version does not match its identifier",
        ));
    }
    let listed: Vec<_> = signed.digest_algorithms.iter().collect();
    if listed != [&signer.digest_alg] {
        return Err(malformed(
            "the digest algorithms listed are not the signer's",
        ));
    }
    for algorithm in [&signer.digest_alg, &signer.signature_algorithm] {
        if let Some(parameters) = &algorithm.parameters
            && *parameters != der::Any::null()
        {
            return Err(malformed("an algorithm has parameters other than NULL"));
        }
    }
    Ok(())
}

/// The encapsulated `TSTInfo`'s DER bytes and the `SignedData` around them.
pub(super) fn open(token: &[u8]) -> Result<(Vec<u8>, SignedData), TimestampError> {
    check_len("timestamp token", token)?;
    let info = ContentInfo::from_der(token).map_err(TimestampError::malformed("ContentInfo"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(TimestampError::NotSignedData {
            content_type: info.content_type,
        });
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(TimestampError::malformed("SignedData"))?;
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_CT_TSTINFO {
        return Err(TimestampError::NotTstInfo {
            content_type: encap.econtent_type,
        });
    }
    let content = encap.econtent.as_ref().ok_or(TimestampError::NoContent)?;
    let content: OctetString = content
        .decode_as()
        .map_err(TimestampError::malformed("encapsulated content"))?;
    Ok((content.into_bytes(), signed))
}

pub(super) fn tst_info(der: &[u8]) -> Result<TstInfo, TimestampError> {
    TstInfo::from_der(der).map_err(TimestampError::malformed("TSTInfo"))
}

pub(super) fn check_imprint(info: &TstInfo, hash: &[u8; 32]) -> Result<(), TimestampError> {
    let imprint = &info.message_imprint;
    if imprint.hash_algorithm.oid != ID_SHA_256 {
        return Err(TimestampError::ImprintAlgorithm {
            algorithm: imprint.hash_algorithm.oid,
        });
    }
    if imprint.hashed_message.as_bytes() != hash {
        return Err(TimestampError::ImprintMismatch);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    fn of(signer: &SignerInfo) -> Result<Self, TimestampError> {
        match signer.digest_alg.oid {
            ID_SHA_256 => Ok(Self::Sha256),
            ID_SHA_384 => Ok(Self::Sha384),
            ID_SHA_512 => Ok(Self::Sha512),
            algorithm => Err(TimestampError::DigestAlgorithm { algorithm }),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self {
            Self::Sha256 => Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
            Self::Sha384 => Pkcs1v15Sign::new::<rsa::sha2::Sha384>(),
            Self::Sha512 => Pkcs1v15Sign::new::<rsa::sha2::Sha512>(),
        }
    }
}

/// Checks the content-type and message-digest attributes; answers the DER of the signed
/// attributes, which is what the signature covers.
fn check_attributes(
    signer: &SignerInfo,
    digest: DigestAlgorithm,
    tst_bytes: &[u8],
) -> Result<Vec<u8>, TimestampError> {
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(TimestampError::NoSignedAttributes)?;
    let single = |oid: ObjectIdentifier, name: &'static str| {
        let mut found = attrs.iter().filter(|attr| attr.oid == oid);
        match (found.next(), found.next()) {
            (Some(attr), None) => match attr.values.as_slice() {
                [value] => Ok(value),
                _ => Err(TimestampError::Attribute { name }),
            },
            _ => Err(TimestampError::Attribute { name }),
        }
    };
    let content_type: ObjectIdentifier = single(ID_CONTENT_TYPE, "content-type")?
        .decode_as()
        .map_err(|_| TimestampError::Attribute {
            name: "content-type",
        })?;
    if content_type != ID_CT_TSTINFO {
        return Err(TimestampError::ContentTypeAttribute { content_type });
    }
    let message_digest: OctetString = single(ID_MESSAGE_DIGEST, "message-digest")?
        .decode_as()
        .map_err(|_| TimestampError::Attribute {
            name: "message-digest",
        })?;
    if message_digest.as_bytes() != digest.hash(tst_bytes).as_slice() {
        return Err(TimestampError::MessageDigestMismatch);
    }
    // Signed as a SET OF (RFC 5652 section 5.4), not under the [0] tag it travels with.
    attrs
        .to_der()
        .map_err(TimestampError::malformed("signed attributes"))
}

fn check_signature(
    signer: &SignerInfo,
    digest: DigestAlgorithm,
    signed_attrs: &[u8],
    key: &TsaKey,
) -> Result<(), TimestampError> {
    let algorithm = signer.signature_algorithm.oid;
    let signature = signer.signature.as_bytes();
    let hashed = digest.hash(signed_attrs);
    match algorithm {
        RSA_ENCRYPTION
        | SHA_256_WITH_RSA_ENCRYPTION
        | SHA_384_WITH_RSA_ENCRYPTION
        | SHA_512_WITH_RSA_ENCRYPTION => {
            let TsaKey::Rsa(key) = key else {
                return Err(TimestampError::KeyMismatch { algorithm });
            };
            key.verify(digest.pkcs1v15(), &hashed, signature)
                .map_err(|_| TimestampError::BadSignature)
        }
        ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512 => {
            let TsaKey::P256(key) = key else {
                return Err(TimestampError::KeyMismatch { algorithm });
            };
            let signature = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| TimestampError::BadSignature)?;
            key.verify_prehash(&hashed, &signature)
                .map_err(|_| TimestampError::BadSignature)
        }
        algorithm => Err(TimestampError::SignatureAlgorithm { algorithm }),
    }
}

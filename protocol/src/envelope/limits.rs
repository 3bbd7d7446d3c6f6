//! Size limits, checked before anything is hashed, verified or allocated.

use crate::organ_id::MAX_ORGAN_ID_LEN;

use super::encoding::{FIELD_PREFIX_LEN, PREFIX_LEN};
use super::receipt::MAX_DOCUMENT_ID_LEN;
use super::{PACKAGE_DOMAIN, RECEIPT_DOMAIN};

/// How large an envelope a node accepts (and lets itself sign, so that it never produces
/// one its peers would refuse).
///
/// The defaults fit the traffic of the national axis: documents with their attachments
/// rarely pass a few MiB, and the largest broadcast lists are a few thousand agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeLimits {
    /// Largest package content (the edXML bytes), in bytes. Default 64 MiB.
    pub max_content_len: u64,
    /// Most recipients one package may name. Default 10 000.
    pub max_recipients: usize,
    /// Longest receipt description, in characters (as QLVB forms count them; each is at
    /// most 4 bytes on the wire). Default 2000.
    pub max_description_len: usize,
}

impl Default for EnvelopeLimits {
    fn default() -> Self {
        EnvelopeLimits {
            max_content_len: 64 * 1024 * 1024,
            max_recipients: 10_000,
            max_description_len: 2000,
        }
    }
}

impl EnvelopeLimits {
    /// Longest signed package header these limits allow: every recipient at the longest
    /// agency id.
    pub fn max_package_header_len(&self) -> usize {
        let organ_id = FIELD_PREFIX_LEN + MAX_ORGAN_ID_LEN;
        (FIELD_PREFIX_LEN + PACKAGE_DOMAIN.len())
            .saturating_add(8 + 32) // content length, content sha-256
            .saturating_add(organ_id) // sender
            .saturating_add(4) // recipient count
            .saturating_add(self.max_recipients.saturating_mul(organ_id))
            .saturating_add(1 + 8) // kind, created at
    }

    /// Longest package wire encoding these limits allow; a transport can cap its reads here.
    pub fn max_package_len(&self) -> u64 {
        (PREFIX_LEN as u64)
            .saturating_add(self.max_package_header_len() as u64)
            .saturating_add(self.max_content_len)
    }

    /// Longest signed receipt body these limits allow.
    pub fn max_receipt_body_len(&self) -> usize {
        let organ_id = FIELD_PREFIX_LEN + MAX_ORGAN_ID_LEN;
        (FIELD_PREFIX_LEN + RECEIPT_DOMAIN.len())
            .saturating_add(32) // package id
            .saturating_add(2 * organ_id) // sender, recipient
            .saturating_add(1 + FIELD_PREFIX_LEN + MAX_DOCUMENT_ID_LEN)
            .saturating_add(1 + 8) // code, issued at
            .saturating_add(1 + FIELD_PREFIX_LEN)
            .saturating_add(self.max_description_len.saturating_mul(4))
    }

    /// Longest receipt wire encoding these limits allow.
    pub fn max_receipt_len(&self) -> usize {
        PREFIX_LEN.saturating_add(self.max_receipt_body_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_leave_room_for_large_broadcasts() {
        let limits = EnvelopeLimits::default();
        assert_eq!(limits.max_content_len, 64 << 20);
        // 10 000 recipients at 68 bytes each, plus the fixed fields.
        assert_eq!(
            limits.max_package_header_len(),
            24 + 40 + 68 + 4 + 680_000 + 9
        );
        assert!(limits.max_receipt_len() < 9000);
    }

    #[test]
    fn huge_limits_saturate_instead_of_overflowing() {
        let limits = EnvelopeLimits {
            max_content_len: u64::MAX,
            max_recipients: usize::MAX,
            max_description_len: usize::MAX,
        };
        assert_eq!(limits.max_package_header_len(), usize::MAX);
        assert_eq!(limits.max_package_len(), u64::MAX);
        assert_eq!(limits.max_receipt_len(), usize::MAX);
    }
}

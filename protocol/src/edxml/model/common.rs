//! Parts shared by documents and status messages.

use serde::Serialize;

use super::EdxmlDate;
use crate::OrganId;

/// An agency as `From` and `To` describe it. Only `OrganId` is required; the rest is what
/// the sender's software filled in about the agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    /// `OrganId`.
    pub organ_id: OrganId,
    /// `OrganizationInCharge`: the directly supervising body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_in_charge: Option<String>,
    /// `OrganName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organ_name: Option<String>,
    /// `OrganAdd`: postal address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organ_add: Option<String>,
    /// `Email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Telephone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    /// `Fax`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// `Website`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

impl Organization {
    /// An agency known only by its id.
    pub fn new(organ_id: OrganId) -> Self {
        Organization {
            organ_id,
            organization_in_charge: None,
            organ_name: None,
            organ_add: None,
            email: None,
            telephone: None,
            fax: None,
            website: None,
        }
    }
}

/// `StaffInfo`: the clerk who handled the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StaffInfo {
    /// `Department`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `Staff`: the person's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// `Email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Mobile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

impl StaffInfo {
    /// `true` when no field is filled (producers often send `<StaffInfo/>` with empty parts).
    pub fn is_empty(&self) -> bool {
        self.department.is_none()
            && self.staff.is_none()
            && self.email.is_none()
            && self.mobile.is_none()
    }
}

/// `ResponseFor`: which earlier document a message refers to. A document may reply to
/// several (văn bản phúc đáp); a status message names exactly the one it is about, and its
/// `OrganId` is the agency the status is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseFor {
    /// `OrganId`: the agency that issued the referred document.
    pub organ_id: OrganId,
    /// `Code`: number and notation in one string, e.g. `7816/VPCP-TTĐT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `PromulgationDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promulgation_date: Option<EdxmlDate>,
    /// `DocumentId` of the referred document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
}

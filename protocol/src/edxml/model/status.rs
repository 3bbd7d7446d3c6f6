//! The status message (`messagetype=status`) and the status codes.

use std::fmt;

use serde::{Serialize, Serializer};

use super::{EdxmlDateTime, Organization, ResponseFor, StaffInfo};
use crate::OrganId;

/// A status message: one agency's statement about a document it received (or, for code 13,
/// sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `From`: the agency making the statement.
    pub from: Organization,
    /// `ResponseFor`: the document, and the agency the status is addressed to.
    pub response_for: ResponseFor,
    /// `StaffInfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffInfo>,
    /// `StatusCode`.
    pub code: StatusCode,
    /// `Description`: free text, a reason for 02, 13 and 16.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Timestamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<EdxmlDateTime>,
}

impl Status {
    /// `from`'s status `code` about the document `document_id` that `document_sender` sent
    /// it (or, for 13, that `from` sent to `document_sender`), naming the document by its
    /// `DocumentId` alone, as most QLVB software does; `description` is the reason a 02,
    /// 13 or 16 gives.
    pub fn about_document(
        from: Organization,
        document_sender: OrganId,
        document_id: impl Into<String>,
        code: StatusCode,
        description: Option<String>,
    ) -> Status {
        Status {
            from,
            response_for: ResponseFor {
                organ_id: document_sender,
                code: None,
                promulgation_date: None,
                document_id: Some(document_id.into()),
            },
            staff: None,
            code,
            description,
            timestamp: None,
        }
    }
}

/// The status codes of QCVN 102:2016. Codes 07–12 and 14 are defined nowhere; 14 appears in
/// one SDK's sample for "agree to update or take back" and is read as 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusCode {
    /// 01 Đã đến: the recipient's node stored the document.
    Arrived,
    /// 02 Từ chối tiếp nhận: the recipient refused it (reason in the description).
    Rejected,
    /// 03 Đã tiếp nhận: registered in the incoming book.
    Accepted,
    /// 04 Phân công: assigned for handling.
    Assigned,
    /// 05 Đang xử lý: being handled.
    Processing,
    /// 06 Hoàn thành: handling finished.
    Completed,
    /// 13 Yêu cầu lấy lại: the sender asks to take the document back.
    TakeBackRequested,
    /// 15 Đồng ý cập nhật/lấy lại: the recipient agrees to the take-back or update.
    ChangeAccepted,
    /// 16 Từ chối cập nhật/lấy lại: the recipient refuses it.
    ChangeRefused,
}

/// A status code outside the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("status code {0:02} is not one of 01-06, 13, 15, 16")]
pub struct UnknownStatusCode(pub u8);

impl StatusCode {
    /// Every code, in numeric order.
    pub const ALL: [StatusCode; 9] = [
        StatusCode::Arrived,
        StatusCode::Rejected,
        StatusCode::Accepted,
        StatusCode::Assigned,
        StatusCode::Processing,
        StatusCode::Completed,
        StatusCode::TakeBackRequested,
        StatusCode::ChangeAccepted,
        StatusCode::ChangeRefused,
    ];

    /// From the numeric value. 14 is not accepted here; the reader maps it with a warning.
    ///
    /// # Errors
    /// [`UnknownStatusCode`] for values outside the table.
    pub fn from_number(n: u8) -> Result<Self, UnknownStatusCode> {
        Ok(match n {
            1 => StatusCode::Arrived,
            2 => StatusCode::Rejected,
            3 => StatusCode::Accepted,
            4 => StatusCode::Assigned,
            5 => StatusCode::Processing,
            6 => StatusCode::Completed,
            13 => StatusCode::TakeBackRequested,
            15 => StatusCode::ChangeAccepted,
            16 => StatusCode::ChangeRefused,
            other => return Err(UnknownStatusCode(other)),
        })
    }

    /// The numeric value.
    pub fn number(self) -> u8 {
        match self {
            StatusCode::Arrived => 1,
            StatusCode::Rejected => 2,
            StatusCode::Accepted => 3,
            StatusCode::Assigned => 4,
            StatusCode::Processing => 5,
            StatusCode::Completed => 6,
            StatusCode::TakeBackRequested => 13,
            StatusCode::ChangeAccepted => 15,
            StatusCode::ChangeRefused => 16,
        }
    }

    /// The two-digit form written on the wire: `"05"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Arrived => "01",
            StatusCode::Rejected => "02",
            StatusCode::Accepted => "03",
            StatusCode::Assigned => "04",
            StatusCode::Processing => "05",
            StatusCode::Completed => "06",
            StatusCode::TakeBackRequested => "13",
            StatusCode::ChangeAccepted => "15",
            StatusCode::ChangeRefused => "16",
        }
    }

    /// Whether the statement is made by the document's sender (only 13) rather than by a
    /// recipient. Decides whose key must sign a receipt with this code.
    pub fn is_from_sender(self) -> bool {
        self == StatusCode::TakeBackRequested
    }

    /// The Vietnamese label QLVB software shows.
    pub fn label_vi(self) -> &'static str {
        match self {
            StatusCode::Arrived => "Đã đến",
            StatusCode::Rejected => "Từ chối tiếp nhận",
            StatusCode::Accepted => "Đã tiếp nhận",
            StatusCode::Assigned => "Phân công xử lý",
            StatusCode::Processing => "Đang xử lý",
            StatusCode::Completed => "Hoàn thành",
            StatusCode::TakeBackRequested => "Yêu cầu lấy lại",
            StatusCode::ChangeAccepted => "Đồng ý cập nhật, lấy lại",
            StatusCode::ChangeRefused => "Từ chối cập nhật, lấy lại",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StatusCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_numbers() {
        for code in StatusCode::ALL {
            assert_eq!(StatusCode::from_number(code.number()), Ok(code));
            assert_eq!(code.as_str().parse::<u8>().ok(), Some(code.number()));
        }
        assert_eq!(StatusCode::from_number(14), Err(UnknownStatusCode(14)));
        assert_eq!(StatusCode::from_number(7), Err(UnknownStatusCode(7)));
    }
}

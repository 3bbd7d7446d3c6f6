//! `POST /registerAgency` and `POST /deleteAgency`: refused. On the axis they add or remove
//! an agency of the directory; in a lienthong federation the roster decides who is a member,
//! and only the federation's authorities sign it (`lienthong federation admit`,
//! `lienthong federation revoke`). The answer is the SDK's FAIL envelope, saying so.

use super::envelope::{AxisResult, Fail};
use super::params::Params;

pub(super) async fn refuse(params: Params) -> AxisResult {
    // The parameters are read (so the body is consumed) but change nothing.
    let agency = params.get("AgencyCode")?;
    Err(Fail::forbidden(format!(
        "agencies join and leave a lienthong federation through its authority, not through the axis API: the authority admits one with `lienthong federation admit` and removes one with `lienthong federation revoke`{}",
        agency.map_or_else(String::new, |a| format!(" (asked about {a})"))
    )))
}

//! Conversion of the parts both message kinds share.

use super::super::error::{EdxmlError, ErrorKind, WarningKind};
use super::super::model::{Organization, ResponseFor, StaffInfo};
use super::context::Ctx;
use super::tree::Element;

/// `From` or `To`: an agency. `OrganId` is required.
pub(crate) fn organization<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
) -> Result<Organization, EdxmlError> {
    ctx.enter(el);
    let mut organ_id = None;
    let [
        mut in_charge,
        mut name,
        mut add,
        mut email,
        mut telephone,
        mut fax,
        mut website,
    ] = [None, None, None, None, None, None, None];
    for child in el.children() {
        match child.name() {
            "OrganId" => {
                if organ_id.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("OrganId"), child));
                }
                organ_id = Some(ctx.organ_id(child, "OrganId")?);
            }
            "OrganizationInCharge" => ctx.set_text(&mut in_charge, child, "OrganizationInCharge"),
            "OrganName" => ctx.set_text(&mut name, child, "OrganName"),
            "OrganAdd" => ctx.set_text(&mut add, child, "OrganAdd"),
            "Email" => ctx.set_text(&mut email, child, "Email"),
            "Telephone" => ctx.set_text(&mut telephone, child, "Telephone"),
            "Fax" => ctx.set_text(&mut fax, child, "Fax"),
            "Website" => ctx.set_text(&mut website, child, "Website"),
            _ => ctx.unknown(child),
        }
    }
    let Some(organ_id) = organ_id else {
        return Err(ctx.error_here(ErrorKind::Missing("OrganId"), el.offset()));
    };
    ctx.leave();
    Ok(Organization {
        organ_id,
        organization_in_charge: in_charge,
        organ_name: name,
        organ_add: add,
        email,
        telephone,
        fax,
        website,
    })
}

/// `StaffInfo`; `None` (with warnings) when every part is empty.
pub(crate) fn staff_info<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<StaffInfo> {
    ctx.enter(el);
    let mut staff = StaffInfo::default();
    for child in el.children() {
        match child.name() {
            "Department" => ctx.set_text(&mut staff.department, child, "Department"),
            "Staff" => ctx.set_text(&mut staff.staff, child, "Staff"),
            "Email" => ctx.set_text(&mut staff.email, child, "Email"),
            "Mobile" => ctx.set_text(&mut staff.mobile, child, "Mobile"),
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    (!staff.is_empty()).then_some(staff)
}

/// `ResponseFor`. In a document every part may be empty (the reply links nothing, and the
/// whole element is then dropped with a warning); in a status message `OrganId` and
/// `DocumentId` are required, checked by the caller.
pub(crate) fn response_for<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
    required: bool,
) -> Result<Option<ResponseFor>, EdxmlError> {
    ctx.enter(el);
    let mut organ_id = None;
    let mut code = None;
    let mut promulgation_date = None;
    let mut document_id = None;
    for child in el.children() {
        match child.name() {
            "OrganId" => {
                if organ_id.is_some() {
                    ctx.warn(WarningKind::DuplicateIgnored("OrganId"), child);
                } else if required {
                    organ_id = Some(ctx.organ_id(child, "OrganId")?);
                } else {
                    organ_id = ctx.optional_organ_id(child, "OrganId");
                }
            }
            "Code" => ctx.set_text(&mut code, child, "Code"),
            "PromulgationDate" => {
                if promulgation_date.is_none() {
                    promulgation_date = ctx.optional_date(child, "PromulgationDate");
                }
            }
            "DocumentId" => ctx.set_text(&mut document_id, child, "DocumentId"),
            _ => ctx.unknown(child),
        }
    }
    let result = match organ_id {
        Some(organ_id) => Some(ResponseFor {
            organ_id,
            code,
            promulgation_date,
            document_id,
        }),
        None if required => return Err(ctx.error_here(ErrorKind::Missing("OrganId"), el.offset())),
        None => {
            if code.is_some() || document_id.is_some() {
                ctx.warn_here(WarningKind::MissingRecommended("OrganId"), el.offset());
            }
            None
        }
    };
    ctx.leave();
    Ok(result)
}

//! Conversion of a status message's `MessageHeader`.

use super::super::error::{EdxmlError, ErrorKind, WarningKind};
use super::super::model::{Status, StatusCode};
use super::common::{organization, response_for, staff_info};
use super::context::{Ctx, shorten};
use super::tree::Element;

/// A status message's `MessageHeader`: `From`, `ResponseFor` (with `OrganId` and
/// `DocumentId`) and `StatusCode` are required.
pub(crate) fn message_header<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Result<Status, EdxmlError> {
    ctx.enter(el);
    let mut from = None;
    let mut target = None;
    let mut staff = None;
    let mut code = None;
    let mut description = None;
    let mut timestamp = None;
    for child in el.children() {
        match child.name() {
            "From" => {
                if from.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("From"), child));
                }
                from = Some(organization(ctx, child)?);
            }
            "ResponseFor" => {
                if target.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("ResponseFor"), child));
                }
                let rf = response_for(ctx, child, true)?;
                if rf.as_ref().is_some_and(|r| r.document_id.is_none()) {
                    ctx.enter(child);
                    return Err(ctx.error_here(ErrorKind::Missing("DocumentId"), child.offset()));
                }
                target = rf;
            }
            "StaffInfo" => staff = staff_info(ctx, child),
            "StatusCode" => {
                if code.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("StatusCode"), child));
                }
                code = Some(status_code(ctx, child)?);
            }
            "Description" => ctx.set_text(&mut description, child, "Description"),
            "Timestamp" => {
                if timestamp.is_none() {
                    timestamp = ctx.optional_date_time(child, "Timestamp");
                }
            }
            _ => ctx.unknown(child),
        }
    }
    let Some(from) = from else {
        return Err(ctx.error_here(ErrorKind::Missing("From"), el.offset()));
    };
    let Some(response_for) = target else {
        return Err(ctx.error_here(ErrorKind::Missing("ResponseFor"), el.offset()));
    };
    let Some(code) = code else {
        return Err(ctx.error_here(ErrorKind::Missing("StatusCode"), el.offset()));
    };
    if timestamp.is_none() {
        ctx.warn_here(WarningKind::MissingRecommended("Timestamp"), el.offset());
    }
    ctx.leave();
    Ok(Status {
        from,
        response_for,
        staff,
        code,
        description,
        timestamp,
    })
}

fn status_code<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Result<StatusCode, EdxmlError> {
    let text = ctx.required_text(el, "StatusCode")?;
    let number = (text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<u8>().ok())
        .flatten();
    match number {
        Some(14) => {
            ctx.warn(WarningKind::StatusCode14, el);
            Ok(StatusCode::ChangeAccepted)
        }
        Some(n) => StatusCode::from_number(n).map_err(|e| {
            ctx.error(
                ErrorKind::Invalid {
                    element: "StatusCode",
                    value: shorten(&text),
                    reason: e.to_string(),
                },
                el,
            )
        }),
        None => Err(ctx.error(
            ErrorKind::Invalid {
                element: "StatusCode",
                value: shorten(&text),
                reason: "expected a two-digit status code (01-06, 13, 15, 16)".to_owned(),
            },
            el,
        )),
    }
}

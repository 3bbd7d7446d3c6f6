use super::*;

#[test]
fn blocks_split_at_blank_lines_and_fields_unfold() {
    let body = b"Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b\r\nDiagnostic-Code: smtp; 550 one\r\n    two\r\n  \r\n\r\nFinal-Recipient: rfc822;c@d\n";
    let blocks = field_blocks(body);
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        field(&blocks[0], "reporting-mta").as_deref(),
        Some("dns; mx")
    );
    assert_eq!(
        field(&blocks[1], "Diagnostic-Code").as_deref(),
        Some("smtp; 550 one two")
    );
    assert_eq!(
        field(&blocks[2], "Final-Recipient").as_deref(),
        Some("rfc822;c@d")
    );
    assert_eq!(field(&blocks[2], "Action"), None);
}

#[test]
fn address_types_and_diagnostic_types_are_dropped() {
    assert_eq!(
        address_of("rfc822; box-b@lienthong.test"),
        "box-b@lienthong.test"
    );
    assert_eq!(
        address_of("rfc822;<box-b@lienthong.test>"),
        "box-b@lienthong.test"
    );
    assert_eq!(address_of("box-b@lienthong.test"), "box-b@lienthong.test");
    assert_eq!(
        after_type("X-Postfix; unknown user: \"x\""),
        "unknown user: \"x\""
    );
    assert_eq!(after_type("no type here; really"), "no type here; really");
}

#[test]
fn the_disposition_type_is_after_the_semicolon() {
    assert_eq!(
        disposition_type("manual-action/MDN-sent-manually; displayed"),
        "displayed"
    );
    assert_eq!(
        disposition_type("automatic-action/MDN-sent-automatically; deleted"),
        "deleted"
    );
    assert_eq!(
        disposition_type("manual-action/MDN-sent-manually; displayed/error"),
        "displayed"
    );
}

#[test]
fn an_ordinary_mail_is_not_a_report() {
    let raw = b"From: a@b.test\r\nTo: c@d.test\r\nSubject: hi\r\n\r\nhello\r\n";
    assert_eq!(read_report(raw), Ok(None));
    let other = b"From: a@b.test\r\nContent-Type: multipart/report; report-type=other; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n";
    assert_eq!(read_report(other), Ok(None));
}

#[test]
fn bytes_without_headers_are_not_a_message() {
    for raw in [&b""[..], b"\r\n\r\n", b"\x00\xff\xfe garbage"] {
        let result = read_report(raw);
        assert!(
            matches!(result, Err(MailError::NotAMessage { .. }) | Ok(None)),
            "{raw:?}: {result:?}"
        );
    }
    assert!(matches!(
        read_report(b""),
        Err(MailError::NotAMessage { .. })
    ));
}

#[test]
fn a_report_without_its_report_part_is_malformed() {
    let raw = b"From: MAILER-DAEMON@x.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--x--\r\n";
    let err = read_report(raw).unwrap_err();
    assert!(
        matches!(&err, MailError::MalformedReport { reason, .. } if reason.contains("no message/delivery-status part")),
        "{err}"
    );
}

#[test]
fn an_unknown_action_is_named() {
    let raw = b"From: MAILER-DAEMON@x.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x.test\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\nAction: bounced\r\nStatus: 5.0.0\r\n\r\n--x--\r\n";
    let err = read_report(raw).unwrap_err();
    assert!(
        err.to_string().contains("block 1 has Action \"bounced\""),
        "{err}"
    );
}

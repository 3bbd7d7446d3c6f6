//! Any bytes given to the edXML reader give a message or an error, never a panic, and a
//! message the reader accepted can be written and read back equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_protocol::edxml;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = edxml::read(data.to_vec()) else {
        return;
    };
    // What the lenient reader accepted, the strict writer either refuses with a reason or
    // writes in a form that reads back to the same message.
    if let Ok(written) = edxml::write(&parsed.message) {
        let again = edxml::read(written.clone()).expect("the writer's output reads");
        assert_eq!(again.message, parsed.message);
        // The writer writes every carriage return the message holds as `&#xD;`, so the file
        // saved with Windows line ends reads the same. Only the parts kept byte for byte
        // (the signature, base64 text) may hold literal line breaks of their own.
        if !has_raw_line_breaks(&parsed.message) {
            let mut windows = Vec::with_capacity(written.len() + written.len() / 16);
            for &b in &written {
                if b == b'\n' {
                    windows.push(b'\r');
                }
                windows.push(b);
            }
            let windows = edxml::read(windows).expect("the writer's output reads with CR LF");
            assert_eq!(windows.message, parsed.message);
        }
    }
});

fn has_raw_line_breaks(message: &edxml::Message) -> bool {
    let Some(doc) = message.as_document() else {
        return false;
    };
    doc.signature.is_some()
        || doc.attachments.iter().any(|a| {
            a.content
                .encoded()
                .iter()
                .any(|b| matches!(b, b'\n' | b'\r'))
        })
}

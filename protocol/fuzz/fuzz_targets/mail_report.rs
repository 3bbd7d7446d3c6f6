//! Any bytes read as a report from the agency's mailbox give a report, "not a report" or an
//! error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_protocol::mail;

fuzz_target!(|data: &[u8]| {
    let _ = mail::read_report(data);
});

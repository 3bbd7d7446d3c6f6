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
        let again = edxml::read(written).expect("the writer's output reads");
        assert_eq!(again.message, parsed.message);
    }
});

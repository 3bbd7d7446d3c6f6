//! Any bytes given to the request and response frame decoders give a message or an error,
//! never a panic; a decoded frame encodes back to the same bytes. This covers the relay
//! mailbox messages too (deposit, sealed delivery, fetch, acknowledgements, held, mailbox)
//! and receipt catch-up (receipts since a cursor, a page of receipts).

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use lienthong_protocol::envelope::EnvelopeLimits;
use lienthong_protocol::wire::{Request, Response};

fuzz_target!(|data: &[u8]| {
    let limits = EnvelopeLimits::default();
    let frame = Bytes::copy_from_slice(data);
    if let Ok(request) = Request::decode(frame.clone(), &limits) {
        assert_eq!(request.encode(), frame);
    }
    if let Ok(response) = Response::decode(frame.clone(), &limits) {
        // Rejection details are cut to 1024 bytes when encoded; everything else is exact.
        if !matches!(response, Response::Rejected(_)) {
            assert_eq!(response.encode(), frame);
        }
    }
});

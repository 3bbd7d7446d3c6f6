//! Any bytes given to the package and receipt decoders give a verified envelope or an error,
//! never a panic; a decoded envelope encodes back to the same bytes.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use lienthong_protocol::envelope::{EnvelopeLimits, SignedPackage, SignedReceipt};

fuzz_target!(|data: &[u8]| {
    let limits = EnvelopeLimits::default();
    let input = Bytes::copy_from_slice(data);
    if let Ok(package) = SignedPackage::from_wire(input.clone(), &limits) {
        assert_eq!(package.to_wire(), input);
    }
    if let Ok(receipt) = SignedReceipt::from_wire(input.clone(), &limits) {
        assert_eq!(receipt.to_wire(), input);
    }
});

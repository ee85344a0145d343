//! SystemMessageFormats decoder (serializer 22).
#![no_main]

use artery_wire::sysmsg::SystemMessage;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = SystemMessage::decode(Bytes::copy_from_slice(data)) {
        if !matches!(msg, SystemMessage::Other(_)) {
            assert_eq!(SystemMessage::decode(msg.encode()).expect("round trip"), msg);
        }
    }
});

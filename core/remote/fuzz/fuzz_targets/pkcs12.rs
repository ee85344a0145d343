//! Key store bytes as `ssl.config-ssl-engine` reads them: the PKCS12 decoder, and the key-store
//! and trust-store readers (which tell PKCS12, JKS and JCEKS apart by the first bytes). Any input
//! gives a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekko_remote::keystore;

fuzz_target!(|data: &[u8]| {
    let _ = keystore::parse_pkcs12(data, "changeit", "key-store", "key-store-password", "fuzz");
    let _ = keystore::key_entry_from_bytes(data, "changeit", "changeit", "fuzz");
    let _ = keystore::trusted_from_bytes(data, "changeit", "fuzz");
});

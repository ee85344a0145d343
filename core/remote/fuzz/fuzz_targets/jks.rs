//! The JKS reader. The input is read three ways: as a whole store, as a protected private key
//! (Sun's key protector), and as the body of a store (after the magic number) to which the
//! target appends the right integrity digest, so that the fuzzer reaches the entries and the
//! key recovery behind the digest check. A digest where the entries end is never refused when
//! it is the appended one; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekko_remote::keystore::{self, jks};

const PASSWORD: &str = "changeit";

fuzz_target!(|data: &[u8]| {
    let _ = jks::parse(data, PASSWORD);
    let _ = jks::recover_key("fuzz", data, PASSWORD);

    let mut store = jks::JKS_MAGIC.to_vec();
    store.extend_from_slice(data);
    let digest = jks::integrity_digest(PASSWORD, &store);
    store.extend_from_slice(&digest);
    match jks::parse(&store, PASSWORD) {
        // Where the entries end exactly before the appended digest, it is the right one.
        Err(e @ jks::JksError::Integrity { offset }) if offset + 20 == store.len() => {
            panic!("right digest refused: {e}")
        }
        Err(_) => {}
        Ok(parsed) => {
            for entry in &parsed.entries {
                if let jks::JksEntryKind::PrivateKey { protected_key, .. } = entry.kind {
                    let _ = jks::recover_key(&entry.alias, protected_key, PASSWORD);
                }
            }
        }
    }
    let _ = keystore::key_entry_from_bytes(&store, PASSWORD, PASSWORD, "fuzz");
    let _ = keystore::trusted_from_bytes(&store, PASSWORD, "fuzz");
});

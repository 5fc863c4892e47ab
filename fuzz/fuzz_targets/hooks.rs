//! The hook file parser: any bytes give hooks or an error naming the file,
//! never a panic; and every accepted hook is already in its normal form.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use oci_add_hooks::hooks;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("/etc/oci-add-hooks/hooks.d/fuzz.json");
    match hooks::parse(file, data) {
        Ok(parsed) => {
            for h in &parsed.hooks {
                assert_eq!(hooks::validate_hook(&h.hook, "h").as_ref(), Ok(&h.hook));
            }
        }
        Err(e) => assert!(e.to_string().starts_with("/etc/oci-add-hooks/hooks.d/fuzz.json: ")),
    }
});

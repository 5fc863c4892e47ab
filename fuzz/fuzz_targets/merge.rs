//! The merge: input is a hook file, a NUL byte, then a spec. Whatever the
//! bytes, parse, merge and write back never panic; a merged spec parses
//! again, keeps every member other than hooks, and merging again changes
//! nothing.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use oci_add_hooks::{hooks, spec};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (hook_bytes, spec_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"{\"hooks\":{\"prestart\":[{\"path\":\"/fuzz\"}]}}"[..], data),
    };
    let Ok(file) = hooks::parse(Path::new("/fuzz.json"), hook_bytes) else { return };
    let additions = || file.hooks.iter().flat_map(|h| h.stages.iter().map(move |s| (*s, &h.hook)));
    let Ok(mut parsed) = spec::parse(spec_bytes) else { return };
    let Ok(true) = spec::merge(&mut parsed, additions()) else { return };
    let out = spec::to_bytes(&parsed);

    let mut again = spec::parse(&out).expect("a merged spec parses");
    assert_eq!(spec::merge(&mut again, additions()), Ok(false), "merging twice changes nothing");
    // Members other than hooks are as they were (when serde_json can hold
    // the document as a tree at all: it stops at 128 levels of nesting).
    if let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
        (serde_json::from_slice::<Value>(spec_bytes), serde_json::from_slice::<Value>(&out))
    {
        let others = |m: &serde_json::Map<String, Value>| {
            m.iter().filter(|(k, _)| *k != "hooks").map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
        };
        assert_eq!(others(&before), others(&after));
    }
});

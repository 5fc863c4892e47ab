//! The shim's command line and the runtime's: any argv (split at NUL bytes,
//! as argv can hold every other byte) is split, walked and searched for a
//! bundle without panicking, and the runtime's part is always the tail of
//! argv, unchanged.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use libfuzzer_sys::fuzz_target;
use oci_add_hooks::{args, bundle, runtime_log};

fuzz_target!(|data: &[u8]| {
    let argv: Vec<OsString> = data.split(|&b| b == 0).map(|a| OsString::from_vec(a.to_vec())).collect();
    let Ok(args::Mode::Runtime(inv)) = args::parse(argv.clone()) else { return };
    assert!(argv.ends_with(&inv.runtime_args), "the runtime's arguments are argv's tail");
    let call = bundle::parse_call(&inv.runtime_args);
    if let Some((sub, rest)) = call.subcommand {
        assert!(inv.runtime_args.iter().any(|a| a.as_os_str() == sub));
        assert!(inv.runtime_args.ends_with(rest));
    }
    if let Some(path) = bundle::spec_path(&call) {
        assert!(!path.as_os_str().as_bytes().is_empty());
    }
    let _ = runtime_log::LogTarget::of(&call);
});

//! The suite on another architecture: `make test-aarch64` runs these tests,
//! built for aarch64, under qemu-user. They pin what the harness promises
//! there: the shim runs through the emulator, hands over to a native
//! runtime, and keeps the name it was called by; the tests that need a host
//! program to execute the shim say they were not run (`util::native_only`).

use std::os::unix::fs::symlink;

use oci_add_hooks::VERSION_LINE;

use crate::util::{self, Recorder, TempDir};

#[test]
fn the_shim_runs_natively_or_under_the_emulator() {
    if let Some(qemu) = util::emulator() {
        util::require(&[qemu]);
    }
    let out = util::shim().arg("--version").output().unwrap();
    assert!(out.status.success(), "stderr: {}", util::stderr(&out));
    assert_eq!(util::stdout(&out), format!("{VERSION_LINE}\n"));
}

#[test]
fn an_emulated_shim_hands_over_to_a_native_runtime() {
    let rec = Recorder::new();
    let out = util::shim().arg("--runtime-path").arg(&rec.path).args(["state", "ctr"]).output().unwrap();
    assert!(out.status.success(), "stderr: {}", util::stderr(&out));
    assert_eq!(rec.argv(), Some(vec!["state".to_owned(), "ctr".to_owned()]));
}

#[test]
fn a_link_name_still_reaches_the_shim() {
    // oci-add-hooks-NAME reads /etc/oci-add-hooks/NAME.d by default; a
    // missing one is an error naming it, which shows the name arrived.
    let dir = TempDir::new("link");
    let link = dir.join("oci-add-hooks-emulation-test");
    symlink(util::bin(), &link).unwrap();
    let rec = Recorder::new();
    let bundle = util::Bundle::docker();
    let out = util::create_with(util::command(&link).env_remove("OCI_ADD_HOOKS_CONFIG"), &rec, &bundle);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", util::stderr(&out));
    assert!(
        util::stderr(&out).starts_with("oci-add-hooks: /etc/oci-add-hooks/emulation-test.d: hook configuration does not exist"),
        "stderr: {}",
        util::stderr(&out)
    );
    assert!(!rec.ran());
}

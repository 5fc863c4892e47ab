//! End to end with a private node's containerd (util/node.rs, each
//! release) and `ctr`: the shim as the runc shim's `BinaryName`, configured
//! by environment alone.
//!
//! `io.containerd.runc.v2` passes no extra arguments to its runtime, so the
//! shim's hook directory and real runtime come from `OCI_ADD_HOOKS_CONFIG`
//! and `OCI_ADD_HOOKS_RUNTIME` set on containerd itself: containerd starts
//! each shim with its own environment, and the shim runs the runtime with
//! it (`ctr`'s environment never reaches either; it only talks gRPC). That
//! is what this test relies on. It runs in a node because containerd 1.x
//! puts its shims' sockets and runc's state under `/run/containerd`
//! whatever its config says: a containerd of the machine's namespace would
//! leave them there, and two releases' tests at once would share them
//! (runc: "container with given ID already exists"). The other way, a symlink `oci-add-hooks-NAME` reading
//! `/etc/oci-add-hooks/NAME.d`, would make the test create and remove files
//! in /etc; the symlink rule itself is tested in `shim.rs`.

mod install;
mod transaction;

use std::ffi::OsStr;

use serde_json::json;

use crate::util::*;

/// The README's containerd set-up, declared in the private config (with
/// `runc` beside it: a config that declares runtimes must also declare the
/// default one, or the CRI plugin refuses to load).
fn cri_runtimes() -> String {
    format!(
        "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  \
           runtime_type = \"io.containerd.runc.v2\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks]\n  \
           runtime_type = \"io.containerd.runc.v2\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks.options]\n  \
           BinaryName = {:?}\n",
        bin()
    )
}

fn ctr_run_with_the_shim_as_binary_name_runs_hooks_and_when_selects_by_annotation(release: &Release) {
    if !require(NODE_TOOLS)
        || !require_root()
        || !native_only("containerd's runc shim must execute the shim, a foreign binary to the host")
    {
        return;
    }
    let conf = TempDir::new("ctrd-hooks");
    let marks = TempDir::new("ctrd-marks");
    marker_hooks_file(conf.path(), "10-every.json", marks.path(), &["prestart", "poststop"]);
    hook_file(
        conf.path(),
        "20-gpu.json",
        &json!({
            "version": "1.0.0",
            "hook": marker_hook(marks.path(), "gpu"),
            "when": {"annotations": {"^com\\.example\\.gpu$": "^(yes|true)$"}},
            "stages": ["prestart"],
        }),
    );
    let containerd = Node::start_with_env(
        release,
        Some(&format!("version = 2\n\n{}", cri_runtimes())),
        &[("OCI_ADD_HOOKS_CONFIG", conf.path().as_os_str()), ("OCI_ADD_HOOKS_RUNTIME", OsStr::new("/usr/sbin/runc"))],
    );
    // The runtime declared as in the README is accepted by the CRI plugin.
    let plugins = stdout(&containerd.ctr(&["plugins", "ls"]));
    let cri = plugins.lines().find(|l| l.contains("io.containerd.grpc.v1") && l.contains(" cri "));
    assert!(cri.is_some_and(|l| l.trim_end().ends_with("ok")), "CRI plugin: {cri:?}\n{}", containerd.log());
    containerd.import_images();

    let run = |id: &str, annotation: &str| {
        let cgroup = format!("{}/{id}", containerd.cgroup_parent());
        let out = containerd.ctr(&[
            "run",
            "--rm",
            "--cgroup",
            &cgroup,
            "--runc-binary",
            &bin().to_string_lossy(),
            "--annotation",
            annotation,
            NODE_IMAGE,
            id,
            "/bin/echo",
            "hello from busybox",
        ]);
        assert!(out.status.success(), "ctr run: {}\n{}", stderr(&out), containerd.log());
        assert_eq!(stdout(&out), "hello from busybox\n");
    };
    // A container the `when` selects: its hook runs after the unconditional
    // one (file name order), and poststop runs when ctr deletes it.
    run("oah-gpu", "com.example.gpu=yes");
    assert_eq!(markers(marks.path()), ["prestart", "gpu", "poststop"]);
    // One it does not select.
    std::fs::remove_file(marks.join("hooks.log")).unwrap();
    run("oah-cpu", "com.example.gpu=no");
    assert_eq!(markers(marks.path()), ["prestart", "poststop"]);
}
on_each_release!(ctr_run_with_the_shim_as_binary_name_runs_hooks_and_when_selects_by_annotation);

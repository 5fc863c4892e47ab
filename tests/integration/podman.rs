//! End to end with Debian's podman (4.3) as root, the shim as its
//! `--runtime`, and podman's own reading of the same hooks.d files as the
//! reference for `when`.
//!
//! podman runs the runtime through conmon with conmon's environment, not
//! its own: `OCI_ADD_HOOKS_CONFIG` and `OCI_ADD_HOOKS_RUNTIME` reach the
//! shim through `conmon_env_vars` in containers.conf (create, start and
//! exec). `kill` and `delete` are run with no `PATH` at all; they read no
//! hook file, and the shim finds `runc` on execvp's default path.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use serde_json::{json, Value};

use crate::util::*;

const IMAGE: &str = "localhost/oah-busybox:latest";

fn podman_through_shim(conf: &Path) -> Podman {
    let p = Podman::new(&[
        ("OCI_ADD_HOOKS_CONFIG", conf.as_os_str()),
        ("OCI_ADD_HOOKS_RUNTIME", OsStr::new("/usr/sbin/runc")),
    ]);
    p.import_busybox(IMAGE);
    p
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// podman's global options that make the shim its runtime.
fn shim_as_runtime() -> [OsString; 2] {
    [OsString::from("--runtime"), bin().into()]
}

/// `podman --runtime <shim> run --rm --network none <ulimits> <args>`.
fn run_through_shim(p: &Podman, args: &[&str]) -> std::process::Output {
    let mut all = os(&["run", "--rm", "--network", "none"]);
    all.extend(os(&PODMAN_ULIMITS));
    all.extend(os(args));
    p.run(&shim_as_runtime(), &all)
}

/// podman, conmon and runc are here, and podman can execute the shim
/// (not under qemu-user: conmon runs it as the runtime).
fn podman_here() -> bool {
    require(&["podman", "conmon", "runc"])
        && native_only("podman's conmon must execute the shim, a foreign binary to the host")
}

#[test]
fn podman_run_exec_stop_and_rm_work_through_the_shim_and_hooks_run() {
    if !podman_here() {
        return;
    }
    let conf = TempDir::new("podman-hooks");
    let marks = TempDir::new("podman-marks");
    marker_hooks_file(conf.path(), "10-mark.json", marks.path(), &["prestart", "poststop"]);
    let p = podman_through_shim(conf.path());
    let shim = shim_as_runtime();

    let out = run_through_shim(&p, &[IMAGE, "/bin/echo", "hello from busybox"]);
    assert!(out.status.success(), "podman run: {}", stderr(&out));
    assert_eq!(stdout(&out), "hello from busybox\n");
    assert_eq!(markers(marks.path()), ["prestart", "poststop"]);

    // A long-running container: exec, stop and rm each call the runtime
    // (exec, kill, delete) through the shim, which hands them over.
    std::fs::remove_file(marks.join("hooks.log")).unwrap();
    let mut args = os(&["run", "--detach", "--name", "oah-long", "--network", "none"]);
    args.extend(os(&PODMAN_ULIMITS));
    args.extend(os(&[IMAGE, "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]));
    let out = p.run(&shim, &args);
    assert!(out.status.success(), "podman run -d: {}", stderr(&out));
    assert_eq!(markers(marks.path()), ["prestart"]);
    let out = p.run(&shim, &os(&["exec", "oah-long", "/bin/cat", "/proc/1/cmdline"]));
    assert!(out.status.success(), "podman exec: {}", stderr(&out));
    assert!(stdout(&out).contains("trap"), "exec ran in the container: {}", stdout(&out));
    let out = p.run(&shim, &os(&["stop", "--time", "10", "oah-long"]));
    assert!(out.status.success(), "podman stop: {}", stderr(&out));
    assert!(!stderr(&out).contains("resorting to SIGKILL"), "SIGTERM reached the container: {}", stderr(&out));
    let out = p.run(&shim, &os(&["rm", "oah-long"]));
    assert!(out.status.success(), "podman rm: {}", stderr(&out));
    // runc ran the container's poststop hook on delete: the hook the shim
    // merged was still in its config.
    assert_eq!(markers(marks.path()), ["prestart", "poststop"]);
    let out = p.run(&[] as &[OsString], &os(&["ps", "--all", "--quiet"]));
    assert_eq!(stdout(&out), "", "no container left");
}

#[test]
fn a_broken_hook_file_fails_podman_run_with_the_shims_reason() {
    if !podman_here() {
        return;
    }
    let conf = TempDir::new("podman-hooks");
    let marks = TempDir::new("podman-marks");
    let file = hook_file(
        conf.path(),
        "10-gpu.json",
        &json!({"version": "1.0.0", "hook": marker_hook(marks.path(), "gpu"), "when": {"commands": ["(echo"]}, "stages": ["prestart"]}),
    );
    let p = podman_through_shim(conf.path());
    let out = run_through_shim(&p, &[IMAGE, "/bin/echo", "never"]);
    assert!(!out.status.success());
    eprintln!("podman run error as the user sees it: {}", stderr(&out));
    let reason = format!("oci-add-hooks: {}: when.commands[0]: pattern \"(echo\" is not a valid regex", file.display());
    assert!(stderr(&out).contains(&reason), "podman run's error lacks the shim's reason: {}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(markers(marks.path()), Vec::<String>::new());
}

/// `podman <global> run --rm --network none <ulimits> <args>`, which must
/// succeed, and the markers its hooks wrote to `marks`.
fn markers_of_run(p: &Podman, global: &[OsString], marks: &Path, args: &[&str]) -> Vec<String> {
    let mut all = os(&["run", "--rm", "--network", "none"]);
    all.extend(os(&PODMAN_ULIMITS));
    all.extend(os(args));
    let _ = std::fs::remove_file(marks.join("hooks.log"));
    let out = p.run(global, &all);
    assert!(out.status.success(), "podman {global:?} run: {}", stderr(&out));
    markers(marks)
}

/// podman's global options to read the hooks.d files of `dir` itself and
/// run plain runc: no shim anywhere.
fn plain_runc_reading(dir: &Path) -> [OsString; 4] {
    [OsString::from("--hooks-dir"), dir.into(), "--runtime".into(), "/usr/sbin/runc".into()]
}

/// The markers of one container run by podman reading `hooks_dir` itself,
/// then of the same container run through the shim (which reads the
/// configuration `p` was made with).
fn both_ways(p: &Podman, hooks_dir: &Path, marks: &Path, args: &[&str]) -> (Vec<String>, Vec<String>) {
    (markers_of_run(p, &plain_runc_reading(hooks_dir), marks, args), markers_of_run(p, &shim_as_runtime(), marks, args))
}

/// The conditions compared: one hooks.d file per case, each a marker.
fn when_cases(marks: &Path) -> Vec<(&'static str, Value)> {
    let file = |label: &str, when: Value| json!({"version": "1.0.0", "hook": marker_hook(marks, label), "when": when, "stages": ["prestart"]});
    vec![
        ("10-gpu-yes", file("gpu-yes", json!({"annotations": {"^com\\.example\\.gpu$": "^yes$"}}))),
        ("20-gpu-no", file("gpu-no", json!({"annotations": {"^com\\.example\\.gpu$": "^no$"}}))),
        ("30-echo", file("echo", json!({"commands": ["^/bin/echo$"]}))),
        ("40-init", file("init", json!({"commands": [".*/init$", ".*/systemd$"]}))),
        ("50-never", file("never", json!({"always": false, "commands": ["."]}))),
        ("60-both", file("both", json!({"annotations": {"gpu": "yes"}, "commands": ["echo"]}))),
        ("70-bind", file("bind", json!({"hasBindMounts": true}))),
        ("80-always", file("always", json!({"always": true}))),
    ]
}

#[test]
fn the_same_hooks_d_files_select_the_same_containers_through_podman_and_the_shim() {
    if !podman_here() {
        return;
    }
    let marks = TempDir::new("podman-marks");
    let dir = TempDir::new("podman-hooks-d");
    for (name, config) in when_cases(marks.path()) {
        hook_file(dir.path(), &format!("{name}.json"), &config);
    }
    let p = podman_through_shim(dir.path());
    let volume = TempDir::new("podman-volume");
    let volume_arg = format!("{}:/vol", volume.path().display());

    // Each container is run twice: podman reading the directory itself
    // (`--hooks-dir`, plain runc), then through the shim reading it.
    let both_ways = |args: &[&str]| both_ways(&p, dir.path(), marks.path(), args);

    let (podman, shim) = both_ways(&["--annotation", "com.example.gpu=yes", IMAGE, "/bin/echo", "x"]);
    assert_eq!(podman, ["gpu-yes", "echo", "both", "always"], "podman's own answer");
    // The one documented difference: podman's hasBindMounts means "the user
    // asked for volumes", while a runtime shim only sees the spec, where
    // podman bind-mounts /etc/hosts, /etc/resolv.conf and more into every
    // container.
    assert_eq!(shim, ["gpu-yes", "echo", "both", "bind", "always"]);

    let (podman, shim) =
        both_ways(&["--annotation", "com.example.gpu=no", "-v", &volume_arg, IMAGE, "/bin/sh", "-c", "true"]);
    assert_eq!(podman, ["gpu-no", "bind", "always"], "podman's own answer");
    assert_eq!(shim, podman);

    let (podman, shim) = both_ways(&[IMAGE, "/bin/echo", "no annotation"]);
    assert_eq!(podman, ["echo", "always"], "podman's own answer");
    assert_eq!(shim, ["echo", "bind", "always"]);
}

/// One hook set in both formats for the CRI-O test: hooks in four stages,
/// file names whose byte order (the shim's) differs from their lowercased
/// order (containers/common's), a hook the shim adds once, and a hooks.d
/// file that applies only to an annotated container. Each hook appends its
/// label to `marks`/hooks.log.
fn crio_hook_set(src: &Path, marks: &Path) {
    let m = |label: &str| marker_hook(marks, label);
    hook_file(
        src,
        "10-all.json",
        &json!({"hooks": {
            "createRuntime": [m("10-createRuntime")],
            "prestart": [m("10-prestart-0"), m("10-prestart-1")],
            "poststart": [m("10-poststart")],
            "poststop": [m("10-poststop")],
        }}),
    );
    hook_file(src, "B-net.json", &json!({"hooks": {"prestart": [m("B-prestart")], "poststop": [m("B-poststop")]}}));
    hook_file(
        src,
        "C-gpu.json",
        &json!({"version": "1.0.0", "hook": m("C-gpu"), "when": {"annotations": {"^com\\.example\\.gpu$": "^yes$"}},
                "stages": ["prestart", "poststop"]}),
    );
    // The same hook as 10-all.json's first: the shim adds it once.
    hook_file(src, "D-again.json", &json!({"hooks": {"prestart": [m("10-prestart-0")]}}));
    hook_file(
        src,
        "a-log.json",
        &json!({"hooks": {"prestart": [m("a-prestart")], "createRuntime": [m("a-createRuntime")]}}),
    );
}

#[test]
fn install_crio_files_run_in_podman_with_plain_runc_in_the_order_the_shim_runs_them() {
    if !podman_here() {
        return;
    }
    let marks = TempDir::new("podman-marks");
    let src = TempDir::new("crio-src");
    crio_hook_set(src.path(), marks.path());
    let host = TempDir::new("crio-host");
    let out = command(bin())
        .args(["install", "--host-root"])
        .arg(host.path())
        .args(["--no-docker", "--crio", "--crio-hooks-dir", "/etc/containers/oci/hooks.d", "--hooks"])
        .arg(src.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "install: {}{}", stdout(&out), stderr(&out));
    let hooks_dir = host.join("etc/containers/oci/hooks.d");
    let mut names: Vec<String> =
        std::fs::read_dir(&hooks_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    eprintln!("installed for podman: {names:?}");

    // podman reads the installed files itself, with plain runc; the shim
    // reads the hook files given to install.
    let p = podman_through_shim(src.path());
    let both_ways = |args: &[&str]| both_ways(&p, &hooks_dir, marks.path(), args);

    // runc runs the prestart hooks, then createRuntime, poststart on start,
    // and poststop on delete. podman runs hooks.d poststop hooks itself
    // (an extension stage), in the same call that runs runc delete
    // (libpod `Container.delete`, then `postDeleteHooks`), so both ways
    // they have run when `podman run --rm` returns.
    let (native, shim) = both_ways(&["--annotation", "com.example.gpu=yes", IMAGE, "/bin/true"]);
    let want = [
        "10-prestart-0",
        "10-prestart-1",
        "B-prestart",
        "C-gpu",
        "a-prestart",
        "10-createRuntime",
        "a-createRuntime",
        "10-poststart",
        "10-poststop",
        "B-poststop",
        "C-gpu",
    ];
    assert_eq!(shim, want, "through the shim");
    assert_eq!(native, want, "podman reading the installed hooks.d files, without the shim");

    let (native, shim) = both_ways(&[IMAGE, "/bin/true"]);
    let want: Vec<&str> = want.into_iter().filter(|m| *m != "C-gpu").collect();
    assert_eq!(shim, want, "through the shim, no annotation");
    assert_eq!(native, want, "podman reading the installed hooks.d files, no annotation");

    // What the rank in front of each name is for: named after the source
    // alone, podman would run a-log.json's hooks before B-net.json's.
    let unranked = TempDir::new("crio-unranked");
    for name in &names {
        std::fs::copy(hooks_dir.join(name), unranked.join(&name[5..])).unwrap();
    }
    let got = markers_of_run(&p, &plain_runc_reading(unranked.path()), marks.path(), &[IMAGE, "/bin/true"]);
    assert_eq!(&got[..3], ["10-prestart-0", "10-prestart-1", "a-prestart"], "{got:?}");
}

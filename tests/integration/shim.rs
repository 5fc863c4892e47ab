//! The runtime shim, run as a container engine runs it: against a recording
//! runtime for what it passes on, and against the real runc for hooks that
//! really fire.

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::util::*;

/// A hook file with one hook per given stage, each a plain marker.
fn simple_hooks(dir: &TempDir, stages: &[&str]) -> std::path::PathBuf {
    let mut hooks = serde_json::Map::new();
    for s in stages {
        hooks.insert((*s).into(), json!([{"path": format!("/usr/bin/{s}-hook")}]));
    }
    hook_file(dir.path(), "hooks.json", &json!({ "hooks": hooks }))
}

/// A hook file with one hook per stage (`simple_hooks`), a recording
/// runtime, and the shim run against both.
struct Fixture {
    _conf: TempDir,
    hooks: PathBuf,
    rec: Recorder,
}

impl Fixture {
    fn new(stages: &[&str]) -> Fixture {
        Fixture::with(Recorder::new(), stages)
    }

    fn with(rec: Recorder, stages: &[&str]) -> Fixture {
        let conf = TempDir::new("conf");
        let hooks = simple_hooks(&conf, stages);
        Fixture { _conf: conf, hooks, rec }
    }

    /// Runs the shim with the hook file, the recorder as runtime, and `args`.
    fn run(&self, args: &[&str]) -> std::process::Output {
        run_with(&self.hooks, &self.rec.path, args)
    }
}

/// Runs the shim with `--hook-config-path H --runtime-path R` and `args`.
fn run_with(hooks: &Path, runtime: &Path, args: &[&str]) -> std::process::Output {
    shim().arg("--hook-config-path").arg(hooks).arg("--runtime-path").arg(runtime).args(args).output().unwrap()
}

#[test]
fn every_stage_runs_once_in_order_with_real_runc_and_spec_hooks_still_run_after() {
    if !require(&["runc"]) {
        return;
    }
    let marks = TempDir::new("marks");
    let bundle = Bundle::busybox(
        &["/bin/sh", "-c", &format!("echo container >> {}/hooks.log", marks.path().display())],
        marks.path(),
    );
    // A hook already in the spec, as Docker's libnetwork hook is.
    let mut spec = bundle.config();
    spec["hooks"] = json!({ "prestart": [marker_hook(marks.path(), "spec-prestart")] });
    write(&bundle.config_path(), serde_json::to_vec_pretty(&spec).unwrap(), 0o644);

    let conf = TempDir::new("conf");
    let stages = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];
    let hooks: serde_json::Map<String, Value> =
        stages.iter().map(|s| ((*s).to_owned(), json!([marker_hook(marks.path(), s)]))).collect();
    hook_file(conf.path(), "10-all.json", &json!({ "hooks": hooks }));

    let root = TempDir::new("runc-root");
    let id = format!("oah-stages-{}", std::process::id());
    let out = shim()
        .arg("--hook-config-path")
        .arg(conf.path())
        .args(["--runtime-path", "runc", "--root"])
        .arg(root.path())
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "runc run failed: {}", stderr(&out));
    let ran = markers(marks.path());
    let mut sorted = ran.clone();
    sorted.sort();
    let mut want: Vec<String> = stages.iter().map(|s| s.to_string()).collect();
    want.extend(["spec-prestart".into(), "container".into()]);
    want.sort();
    assert_eq!(sorted, want, "every hook exactly once: {ran:?}");
    // runc runs poststart from the parent while the container's init runs
    // startContainer then execs, so those two race; everything else is
    // ordered by the runtime-spec lifecycle.
    let pos = |label: &str| ran.iter().position(|l| l == label).unwrap();
    let chain =
        ["prestart", "spec-prestart", "createRuntime", "createContainer", "startContainer", "container", "poststop"];
    for pair in chain.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "{} before {}: {ran:?}", pair[0], pair[1]);
    }
    assert!(pos("createContainer") < pos("poststart") && pos("poststart") < pos("poststop"), "{ran:?}");
}

#[test]
fn arguments_reach_the_runtime_unchanged_and_hooks_are_merged() {
    let f = Fixture::new(&["prestart", "poststop"]);
    let bundle = Bundle::docker();
    let args = [
        "--root",
        "/run/docker/runtime-runc/moby",
        "--log",
        "/nonexistent/log.json",
        "--log-format",
        "json",
        "--systemd-cgroup",
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--pid-file",
        "/tmp/x.pid",
        "id",
    ];
    let out = f.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.rec.argv().unwrap(), args);
    let config = bundle.config();
    assert_eq!(
        hook_paths(&config, "prestart"),
        ["/usr/bin/prestart-hook", "/proc/5245/exe"],
        "configured hooks go before Docker's own"
    );
    assert_eq!(config["hooks"]["poststop"], json!([{"path": "/usr/bin/poststop-hook"}]));
    assert_eq!(bundle.entries(), ["config.json"]);
}

#[test]
fn every_bundle_form_is_found() {
    let f = Fixture::new(&["prestart"]);
    for form in ["--bundle X", "--bundle=X", "-b X", "-b=X", "-bundle X", "-bundle=X"] {
        for sub in ["create", "run", "restore"] {
            let bundle = Bundle::docker();
            let b = bundle.path().to_str().unwrap();
            let mut args = vec!["--root", "/r", sub];
            let filled = form.replace('X', b);
            let parts: Vec<&str> = filled.split(' ').collect();
            args.extend(&parts);
            args.push("id");
            let out = f.run(&args);
            assert!(out.status.success(), "{form} {sub}: {}", stderr(&out));
            assert_eq!(hook_paths(&bundle.config(), "prestart")[0], "/usr/bin/prestart-hook", "{form} {sub}");
        }
    }
}

#[test]
fn no_bundle_flag_means_the_current_directory() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::docker();
    let out = shim()
        .current_dir(bundle.path())
        .arg("--hook-config-path")
        .arg(&f.hooks)
        .arg("--runtime-path")
        .arg(&f.rec.path)
        .args(["create", "id"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart")[0], "/usr/bin/prestart-hook");
}

#[test]
fn crun_config_flag_names_the_spec_file() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::docker();
    write(&bundle.dir.join("other.json"), DOCKER_CONFIG, 0o644);
    let b = bundle.path().to_str().unwrap();
    // crun's global flags, then its --config.
    let out = run_with(
        &f.hooks,
        &f.rec.path,
        &[
            "--cgroup-manager",
            "cgroupfs",
            "--log",
            "file:/dev/null",
            "--log-level=debug",
            "create",
            "-b",
            b,
            "--config",
            "other.json",
            "id",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes(), "config.json is not the spec here");
    let other: Value = serde_json::from_slice(&std::fs::read(bundle.dir.join("other.json")).unwrap()).unwrap();
    assert_eq!(hook_paths(&other, "prestart")[0], "/usr/bin/prestart-hook");
}

#[test]
fn youki_short_global_flags_are_stepped_over() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::docker();
    let b = bundle.path().to_str().unwrap();
    let args = ["-r", "create", "-l", "/dev/null", "--systemd-cgroup", "create", "--bundle", b, "id"];
    let out = f.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart")[0], "/usr/bin/prestart-hook");
    assert_eq!(f.rec.argv().unwrap(), args);
}

#[test]
fn passthrough_subcommands_read_no_file() {
    let rec = Recorder::new();
    // Neither the hook path nor the bundle exists: a subcommand that reads
    // nothing cannot notice.
    for sub in [
        "start",
        "state",
        "kill",
        "delete",
        "exec",
        "features",
        "ps",
        "pause",
        "resume",
        "events",
        "update",
        "checkpoint",
    ] {
        let out = shim()
            .args(["--hook-config-path", "/nonexistent/hooks.d", "--runtime-path"])
            .arg(&rec.path)
            .args(["--root", "/r", sub, "--bundle", "/nonexistent/bundle", "id"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub}: {}", stderr(&out));
        assert_eq!(rec.argv().unwrap(), ["--root", "/r", sub, "--bundle", "/nonexistent/bundle", "id"]);
    }
}

#[test]
fn exit_status_stdin_pid_and_extra_fds_belong_to_the_runtime() {
    let rec = Recorder::new();
    let data = TempDir::new("fds");
    write(&data.join("extra"), "x", 0o644);
    // The shell opens fds 3 and 4 (not close-on-exec), then execs the shim,
    // as runc --preserve-fds callers do.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec 3<{extra} 4<{extra}; exec {emulator}{bin} --runtime-path {rt} state id",
            extra = data.join("extra").display(),
            emulator = emulator().map(|q| format!("{q} ")).unwrap_or_default(),
            bin = bin().display(),
            rt = rec.path.display()
        ))
        .env("RECORD_STDIN", "1")
        .env("RECORD_EXIT", "7")
        .env_remove("OCI_ADD_HOOKS_RUNTIME")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"state on stdin\n").unwrap();
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(rec.read("stdin"), "state on stdin\n");
    assert_eq!(rec.read("pid").trim(), pid.to_string(), "the runtime took over the shim's process");
    let fds: Vec<String> = rec.read("fds").lines().map(str::to_owned).collect();
    for fd in ["0", "1", "2", "3", "4"] {
        assert!(fds.contains(&fd.to_owned()), "fd {fd} not inherited: {fds:?}");
    }
}

#[test]
fn version_alone_and_version_handed_to_the_runtime() {
    let out = shim().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out), format!("oci-add-hooks {}\n", env!("CARGO_PKG_VERSION")));

    let rec = Recorder::new();
    let out = shim().arg("--runtime-path").arg(&rec.path).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out), format!("oci-add-hooks {}\nrecording-runtime version 1\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(rec.argv().unwrap(), ["--version"]);
}

#[test]
fn help_lists_the_options() {
    let out = shim().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for opt in ["--hook-config-path", "--runtime-path", "OCI_ADD_HOOKS_CONFIG", "OCI_ADD_HOOKS_RUNTIME"] {
        assert!(text.contains(opt), "{opt} missing from --help");
    }
}

#[test]
fn environment_configures_hooks_and_runtime_when_no_options_are_given() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::docker();
    let out = shim()
        .env("OCI_ADD_HOOKS_CONFIG", &f.hooks)
        .env("OCI_ADD_HOOKS_RUNTIME", &f.rec.path)
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg("id")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(f.rec.ran());
    assert_eq!(hook_paths(&bundle.config(), "prestart")[0], "/usr/bin/prestart-hook");

    // Options win over the environment.
    let other = Recorder::new();
    let out = shim()
        .env("OCI_ADD_HOOKS_CONFIG", "/nonexistent")
        .env("OCI_ADD_HOOKS_RUNTIME", "/nonexistent")
        .arg("--hook-config-path")
        .arg(&f.hooks)
        .arg("--runtime-path")
        .arg(&other.path)
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg("id")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(other.ran());
}

#[test]
fn directory_files_apply_in_name_order_and_non_json_files_are_ignored() {
    let conf = TempDir::new("conf");
    hook_file(conf.path(), "20-b.json", &json!({"hooks": {"prestart": [{"path": "/b"}]}}));
    hook_file(conf.path(), "10-a.json", &json!({"hooks": {"prestart": [{"path": "/a1"}, {"path": "/a2"}]}}));
    write(&conf.join("README"), "not a hook file", 0o644);
    write(&conf.join("30-c.json.disabled"), "{", 0o644);
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let out = run_with(conf.path(), &rec.path, &["create", "-b", bundle.path().to_str().unwrap(), "id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart"), ["/a1", "/a2", "/b", "/proc/5245/exe"]);
}

#[test]
fn an_empty_hook_directory_adds_nothing_and_writes_nothing() {
    let conf = TempDir::new("conf");
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let before = std::fs::metadata(bundle.config_path()).unwrap();
    let out = run_with(conf.path(), &rec.path, &["create", "-b", bundle.path().to_str().unwrap(), "id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::metadata(bundle.config_path()).unwrap();
    assert_eq!((before.ino(), before.mtime_nsec()), (after.ino(), after.mtime_nsec()));
}

#[test]
fn running_twice_gives_the_same_file_as_running_once_and_the_second_run_does_not_write() {
    let f = Fixture::new(&["prestart", "createRuntime", "poststop"]);
    let bundle = Bundle::docker();
    let args = ["create", "--bundle", bundle.path().to_str().unwrap(), "id"];
    assert!(f.run(&args).status.success());
    let once = bundle.config_bytes();
    let inode = std::fs::metadata(bundle.config_path()).unwrap().ino();
    assert!(f.run(&args).status.success());
    assert_eq!(bundle.config_bytes(), once);
    assert_eq!(std::fs::metadata(bundle.config_path()).unwrap().ino(), inode, "rewritten with nothing to add");
}

#[test]
fn the_docker_config_keeps_every_other_key_in_order_and_its_mode() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::docker();
    std::fs::set_permissions(bundle.config_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(f.run(&["create", "-b", bundle.path().to_str().unwrap(), "id"]).status.success());
    let before: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
    let mut after = bundle.config();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&before), keys(&after));
    // Take the added hook out again: everything else is as Docker wrote it.
    after["hooks"]["prestart"].as_array_mut().unwrap().remove(0);
    assert_eq!(serde_json::to_string(&after).unwrap(), serde_json::to_string(&before).unwrap());
    assert_eq!(std::fs::metadata(bundle.config_path()).unwrap().mode() & 0o7777, 0o600);
}

// Regression tests for the Go original's defects (see the core issue).

#[test]
fn regression_bare_runtime_name_is_looked_up_in_path() {
    let f = Fixture::with(Recorder::named("fake-runc"), &["prestart"]);
    let path = format!("{}:/usr/bin:/bin", f.rec.dir.path().display());
    let bundle = Bundle::docker();
    let out = shim()
        .env("PATH", path)
        .arg("--hook-config-path")
        .arg(&f.hooks)
        .args(["--runtime-path", "fake-runc", "create", "-b", bundle.path().to_str().unwrap(), "id"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(f.rec.ran());
}

#[test]
fn regression_shim_installed_as_runc_earlier_in_path_does_not_loop() {
    if !native_only("under qemu-user, /proc/self/exe stats as the emulator, not the shim") {
        return;
    }
    let rec = Recorder::named("runc");
    let shadow = TempDir::new("shadow");
    symlink(bin(), shadow.join("runc")).unwrap();
    let path = format!("{}:{}", shadow.path().display(), rec.dir.path().display());
    let out = shim().env("PATH", &path).args(["state", "id"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rec.argv().unwrap(), ["state", "id"]);

    // Named as a path, the shim itself is refused rather than exec'd forever.
    let out = shim().arg("--runtime-path").arg(shadow.join("runc")).args(["state", "id"]).output().unwrap();
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: runtime {}: is oci-add-hooks itself; point --runtime-path or OCI_ADD_HOOKS_RUNTIME at the real runtime",
            shadow.join("runc").display()
        ),
    );
}

#[test]
fn regression_failed_runtime_resolution_leaves_no_hooks_behind() {
    let conf = TempDir::new("conf");
    let hooks = simple_hooks(&conf, &["prestart"]);
    let bundle = Bundle::docker();
    let out = shim()
        .env("PATH", "/nonexistent")
        .arg("--hook-config-path")
        .arg(&hooks)
        .args(["--runtime-path", "runc", "create", "-b", bundle.path().to_str().unwrap(), "id"])
        .output()
        .unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: runtime \"runc\": not found in PATH (/nonexistent); set --runtime-path or OCI_ADD_HOOKS_RUNTIME",
    );
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes());
    assert_eq!(bundle.entries(), ["config.json"]);
}

#[test]
fn regression_hooks_null_is_fine() {
    let f = Fixture::new(&["poststart"]);
    let bundle = Bundle::with_config(r#"{"ociVersion":"1.0.2","hooks":null,"z":1}"#);
    assert!(f.run(&["create", "-b", bundle.path().to_str().unwrap(), "id"]).status.success());
    assert_eq!(
        String::from_utf8(bundle.config_bytes()).unwrap(),
        r#"{"ociVersion":"1.0.2","hooks":{"poststart":[{"path":"/usr/bin/poststart-hook"}]},"z":1}"#
    );
}

#[test]
fn regression_keys_not_sorted_no_angle_bracket_escapes_no_empty_stages() {
    let f = Fixture::new(&["prestart"]);
    let bundle = Bundle::with_config(r#"{"z":"<b>&</b>","a":{"y":18446744073709551615,"b":-1}}"#);
    assert!(f.run(&["create", "-b", bundle.path().to_str().unwrap(), "id"]).status.success());
    assert_eq!(
        String::from_utf8(bundle.config_bytes()).unwrap(),
        r#"{"z":"<b>&</b>","a":{"y":18446744073709551615,"b":-1},"hooks":{"prestart":[{"path":"/usr/bin/prestart-hook"}]}}"#
    );
}

#[test]
fn regression_own_options_are_recognised_in_any_order_and_number() {
    let conf = TempDir::new("conf");
    let a = hook_file(conf.path(), "a.json", &json!({"hooks": {"prestart": [{"path": "/a"}]}}));
    let b = hook_file(conf.path(), "b.json", &json!({"hooks": {"prestart": [{"path": "/b"}]}}));
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let out = shim()
        .arg(format!("--runtime-path={}", rec.path.display()))
        .arg("--hook-config-path")
        .arg(&a)
        .arg(format!("--hook-config-path={}", b.display()))
        .args(["--", "create", "-b", bundle.path().to_str().unwrap(), "id"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart"), ["/a", "/b", "/proc/5245/exe"]);
    assert_eq!(rec.argv().unwrap()[0], "create", "-- is not passed on");
}

// Errors: the message, the exit status, the runtime not run, and the bundle
// exactly as it was.

struct Case {
    name: &'static str,
    hook_file: Option<&'static str>,
    config: &'static str,
    want: &'static str,
}

#[test]
fn every_error_is_one_line_exit_1_and_leaves_the_bundle_untouched() {
    let cases = [
        Case { name: "relative path", hook_file: Some(r#"{"hooks":{"prestart":[{"path":"/a"},{"path":"hook"}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.prestart[1].path: must be an absolute path" },
        Case { name: "unknown stage", hook_file: Some(r#"{"hooks":{"preStart":[{"path":"/a"}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.preStart: unknown stage; must be one of prestart, createRuntime, createContainer, startContainer, poststart, poststop" },
        Case { name: "bad json", hook_file: Some("{\"hooks\": {\n\"prestart\": [}"), config: DOCKER_CONFIG, want: "{hooks}: not valid JSON: expected value at line 2 column 14" },
        Case { name: "missing path", hook_file: Some(r#"{"hooks":{"poststop":[{"args":[]}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.poststop[0].path: missing" },
        Case { name: "wrong type", hook_file: Some(r#"{"hooks":{"poststop":[{"path":"/a","args":"x"}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.poststop[0].args: must be an array of strings" },
        Case { name: "timeout", hook_file: Some(r#"{"hooks":{"poststop":[{"path":"/a","timeout":0}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.poststop[0].timeout: must be a whole number of seconds greater than 0, not 0" },
        Case { name: "env", hook_file: Some(r#"{"hooks":{"poststop":[{"path":"/a","env":["X"]}]}}"#), config: DOCKER_CONFIG, want: "{hooks}: hooks.poststop[0].env[0]: \"X\" must be KEY=VALUE" },
        Case { name: "spec not object", hook_file: None, config: "[1]", want: "{config}: must be a JSON object" },
        Case { name: "spec bad json", hook_file: None, config: "{\"a\":", want: "{config}: not valid JSON: EOF while parsing a value at line 1 column 5" },
        Case { name: "spec hooks type", hook_file: None, config: r#"{"hooks":"x"}"#, want: "{config}: hooks: must be an object or null" },
        Case { name: "spec stage type", hook_file: None, config: r#"{"hooks":{"prestart":{}}}"#, want: "{config}: hooks.prestart: must be an array or null" },
    ];
    let good = r#"{"hooks":{"prestart":[{"path":"/good"}]}}"#;
    for case in cases {
        let conf = TempDir::new("conf");
        let hooks = conf.join("10-hooks.json");
        write(&hooks, case.hook_file.unwrap_or(good), 0o644);
        let rec = Recorder::new();
        let bundle = Bundle::with_config(case.config);
        let out = run_with(&hooks, &rec.path, &["create", "--bundle", bundle.path().to_str().unwrap(), "id"]);
        let want = case
            .want
            .replace("{hooks}", &hooks.display().to_string())
            .replace("{config}", &bundle.config_path().display().to_string());
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        assert_eq!(stderr(&out), format!("oci-add-hooks: {want}\n"), "{}", case.name);
        assert!(!rec.ran(), "{}: the runtime ran", case.name);
        assert_eq!(bundle.config_bytes(), case.config.as_bytes(), "{}", case.name);
        assert_eq!(bundle.entries(), ["config.json"], "{}", case.name);
    }
}

#[test]
fn unsafe_hook_files_and_directories_are_refused() {
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let b = bundle.path().to_str().unwrap().to_owned();

    let conf = TempDir::new("conf");
    let hooks = hook_file(conf.path(), "h.json", &json!({"hooks": {"prestart": [{"path": "/a"}]}}));
    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = run_with(&hooks, &rec.path, &["create", "-b", &b, "id"]);
    assert_fails_with(&out, &format!("oci-add-hooks: {}: writable by group or others (mode 0664); hooks run as root, so only the owner may write hook files and directories (chmod go-w)", hooks.display()));

    // The same file read from a directory is checked too.
    let out = run_with(conf.path(), &rec.path, &["create", "-b", &b, "id"]);
    assert_fails_with(&out, &format!("oci-add-hooks: {}: writable by group or others (mode 0664); hooks run as root, so only the owner may write hook files and directories (chmod go-w)", hooks.display()));

    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(conf.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_with(conf.path(), &rec.path, &["create", "-b", &b, "id"]);
    assert_fails_with(&out, &format!("oci-add-hooks: {}: writable by group or others (mode 0777); hooks run as root, so only the owner may write hook files and directories (chmod go-w)", conf.path().display()));
    std::fs::set_permissions(conf.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    std::os::unix::fs::chown(&hooks, Some(65534), None).unwrap();
    let out = run_with(&hooks, &rec.path, &["create", "-b", &b, "id"]);
    assert_fails_with(&out, &format!("oci-add-hooks: {}: owned by uid 65534; hooks run as root, so hook files and directories must be owned by root", hooks.display()));

    assert!(!rec.ran());
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes());
}

#[test]
fn missing_configuration_paths_are_errors_that_say_where_they_came_from() {
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let b = bundle.path().to_str().unwrap().to_owned();
    let out = run_with(Path::new("/nonexistent/hooks.json"), &rec.path, &["create", "-b", &b, "id"]);
    assert_fails_with(
        &out,
        "oci-add-hooks: /nonexistent/hooks.json: hook configuration does not exist (given with --hook-config-path)",
    );

    let out = shim()
        .env("OCI_ADD_HOOKS_CONFIG", "/nonexistent/env.d")
        .arg("--runtime-path")
        .arg(&rec.path)
        .args(["create", "-b", &b, "id"])
        .output()
        .unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: /nonexistent/env.d: hook configuration does not exist (named by OCI_ADD_HOOKS_CONFIG)",
    );

    // The default directory, through a name whose hook set does not exist.
    let links = TempDir::new("links");
    let named = links.join("oci-add-hooks-no-such-set");
    symlink(bin(), &named).unwrap();
    let out = command(&named)
        .env_remove("OCI_ADD_HOOKS_CONFIG")
        .arg("--runtime-path")
        .arg(&rec.path)
        .args(["create", "-b", &b, "id"])
        .output()
        .unwrap();
    assert_fails_with(&out, "oci-add-hooks: /etc/oci-add-hooks/no-such-set.d: hook configuration does not exist (the default; create it, or name hook files with --hook-config-path or OCI_ADD_HOOKS_CONFIG)");
    assert!(!rec.ran());
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes());
}

#[test]
fn argument_errors() {
    let out = shim().arg("--runtime-path").output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: --runtime-path: missing value (see oci-add-hooks --help)");
    let out = shim().args(["--runtime-path=a", "--runtime-path", "b", "state"]).output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: --runtime-path: given more than once (see oci-add-hooks --help)");
    let out = shim().args(["--hook-config-path=", "state"]).output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: --hook-config-path: value must not be empty (see oci-add-hooks --help)");
    let out = shim().args(["--runtime-path", "/etc/passwd", "state"]).output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: runtime /etc/passwd: not an executable file");
}

#[test]
fn errors_reach_the_runtime_log_in_its_format() {
    let conf = TempDir::new("conf");
    let hooks = hook_file(conf.path(), "bad.json", &json!({"hooks": {"prestart": [{"path": "rel"}]}}));
    let rec = Recorder::new();
    let bundle = Bundle::docker();
    let b = bundle.path().to_str().unwrap().to_owned();
    let logs = TempDir::new("logs");
    let want = format!("oci-add-hooks: {}: hooks.prestart[0].path: must be an absolute path", hooks.display());

    let json_log = logs.join("log.json");
    write(&json_log, "{\"level\":\"info\",\"msg\":\"earlier\"}\n", 0o644);
    let out = run_with(
        &hooks,
        &rec.path,
        &["--root", "/r", "--log", json_log.to_str().unwrap(), "--log-format", "json", "create", "--bundle", &b, "id"],
    );
    assert_fails_with(&out, &want);
    let text = std::fs::read_to_string(&json_log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "appended, not overwritten: {text}");
    let entry: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(entry["level"], "error");
    assert_eq!(entry["msg"], want.as_str());
    assert!(entry["time"].as_str().unwrap().ends_with('Z'));

    let text_log = logs.join("log.txt");
    let out = run_with(&hooks, &rec.path, &[&format!("--log={}", text_log.display()), "create", "--bundle", &b, "id"]);
    assert_fails_with(&out, &want);
    let text = std::fs::read_to_string(&text_log).unwrap();
    assert!(text.starts_with("time=\""), "{text}");
    assert!(text.ends_with(&format!(" level=error msg=\"{want}\"\n")), "{text}");

    // crun's file: backend.
    let crun_log = logs.join("crun.log");
    let out = run_with(
        &hooks,
        &rec.path,
        &["--log", &format!("file:{}", crun_log.display()), "--log-format=json", "create", "--bundle", &b, "id"],
    );
    assert_fails_with(&out, &want);
    assert!(std::fs::read_to_string(&crun_log).unwrap().contains("\"level\":\"error\""));
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes());
}

//! `oci-add-hooks install` and `uninstall`, run as an operator or the
//! installer image runs them: into a temporary host root, and end to end
//! as a container of the installer image against a private dockerd.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

/// A host root with an `/etc/docker/daemon.json` and a hook file to install
/// (outside the root, as a ConfigMap is outside the host).
struct Host {
    root: TempDir,
    src: TempDir,
}

const DAEMON_JSON: &str = "{\n    \"log-level\": \"warn\",\n    \"storage-driver\": \"overlay2\",\n    \"runtimes\": {\n        \"nvidia\": {\n            \"path\": \"nvidia-container-runtime\"\n        }\n    },\n    \"debug\": false\n}\n";

impl Host {
    fn new() -> Host {
        let h = Host { root: TempDir::new("host"), src: TempDir::new("hook-src") };
        write(&h.daemon_json(), DAEMON_JSON, 0o640);
        hook_file(h.src.path(), "10-mark.json", &json!({"hooks": {"prestart": [{"path": "/bin/true"}]}}));
        h
    }

    fn path(&self, host_path: &str) -> PathBuf {
        self.root.join(host_path.trim_start_matches('/'))
    }

    /// Puts this machine's containerd into the root, with the loader and
    /// libraries it links (`ldd`), so that install can run its `config
    /// dump` chrooted there, as on a host. False (the test skips) without
    /// containerd.
    fn with_containerd(&self) -> bool {
        if !require(&["containerd", "ldd"]) {
            return false;
        }
        let ldd = Command::new("ldd").arg("/usr/bin/containerd").output().unwrap();
        let libs = stdout(&ldd);
        let files = libs.split_whitespace().filter(|w| w.starts_with('/')).chain(["/usr/bin/containerd"]);
        for file in files {
            let real = std::fs::canonicalize(file).unwrap();
            write(&self.path(file), std::fs::read(&real).unwrap(), 0o755);
        }
        true
    }

    fn daemon_json(&self) -> PathBuf {
        self.path("/etc/docker/daemon.json")
    }

    fn config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.daemon_json()).unwrap()).unwrap()
    }

    fn hook_src(&self) -> PathBuf {
        self.src.join("10-mark.json")
    }

    /// Runs `install`/`uninstall` with `--host-root` and `args`.
    fn run(&self, action: &str, args: &[&str]) -> Output {
        self.run_binary(bin(), action, args)
    }

    /// The same, with the binary at `binary`.
    fn run_binary(&self, binary: &Path, action: &str, args: &[&str]) -> Output {
        Command::new(binary)
            .arg(action)
            .arg("--host-root")
            .arg(self.root.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn install(&self, args: &[&str]) -> Output {
        let out = self.run("install", args);
        assert!(out.status.success(), "install {args:?}: {}{}", stdout(&out), stderr(&out));
        out
    }

    fn uninstall(&self, args: &[&str]) -> Output {
        let out = self.run("uninstall", args);
        assert!(out.status.success(), "uninstall {args:?}: {}{}", stdout(&out), stderr(&out));
        out
    }

    /// Every path below the root (relative), with its mode, sorted.
    fn tree(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let m = p.symlink_metadata().unwrap();
                out.push(format!("{} {:o}", p.strip_prefix(root).unwrap().display(), m.mode() & 0o7777));
                if m.is_dir() {
                    walk(&p, root, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), self.root.path(), &mut out);
        out.sort();
        out
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_owned).collect()
}

/// (inode, mtime) of a file: a file not written keeps both.
fn stamp(p: &Path) -> (u64, i64, i64) {
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

fn sha256sum(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

#[test]
fn install_merges_and_installs_a_second_install_writes_nothing_and_uninstall_reverses_exactly() {
    let h = Host::new();
    let before = h.tree();
    let src = h.hook_src();
    let out = h.install(&["--hooks", s(&src)]);
    let root = h.root.path().display();
    let bin_path = h.path("/usr/local/bin/oci-add-hooks");
    assert_eq!(
        lines(&out),
        [
            format!(
                "containerd: neither {root}/etc/containerd/config.toml nor {root}/run/containerd/containerd.sock \
                 exists: containerd is not set up here, skipped (--no-containerd says so quietly)"
            ),
            format!("created directory {root}/usr"),
            format!("created directory {root}/usr/local"),
            format!("created directory {root}/usr/local/bin"),
            format!("created directory {root}/etc/oci-add-hooks"),
            format!("created directory {root}/etc/oci-add-hooks/hooks.d"),
            format!("installed {} (sha256 {})", bin_path.display(), sha256sum(bin())),
            format!("installed {root}/etc/oci-add-hooks/hooks.d/10-mark.json (from {})", src.display()),
            format!("backed up {root}/etc/docker/daemon.json to {root}/etc/docker/daemon.json.oci-add-hooks.bak"),
            format!("{root}/etc/docker/daemon.json: added runtimes.oci-add-hooks"),
            format!("dockerd: not running (no pidfile {root}/var/run/docker.pid): it loads daemon.json when it starts"),
        ]
    );
    // The binary is this executable, 0755; the hook file as given, 0644.
    assert_eq!(std::fs::read(&bin_path).unwrap(), std::fs::read(bin()).unwrap());
    assert_eq!(std::fs::metadata(&bin_path).unwrap().mode() & 0o7777, 0o755);
    let hook = h.path("/etc/oci-add-hooks/hooks.d/10-mark.json");
    assert_eq!(std::fs::read(&hook).unwrap(), std::fs::read(&src).unwrap());
    assert_eq!(std::fs::metadata(&hook).unwrap().mode() & 0o7777, 0o644);
    // daemon.json: merged, key order and everything else kept, mode kept.
    let want = DAEMON_JSON.replace(
        "            \"path\": \"nvidia-container-runtime\"\n        }\n",
        "            \"path\": \"nvidia-container-runtime\"\n        },\n        \"oci-add-hooks\": {\n            \"path\": \"/usr/local/bin/oci-add-hooks\",\n            \"runtimeArgs\": [\n                \"--hook-config-path\",\n                \"/etc/oci-add-hooks/hooks.d\",\n                \"--runtime-path\",\n                \"runc\"\n            ]\n        }\n",
    );
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), want);
    assert_eq!(std::fs::metadata(h.daemon_json()).unwrap().mode() & 0o7777, 0o640);
    let keys: Vec<String> = h.config().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["log-level", "storage-driver", "runtimes", "debug"]);
    // The backup is the file as it was, with its mode.
    let bak = h.path("/etc/docker/daemon.json.oci-add-hooks.bak");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), DAEMON_JSON);
    assert_eq!(std::fs::metadata(&bak).unwrap().mode() & 0o7777, 0o640);
    // The shim, as installed, reads the installed hook file.
    let bundle = Bundle::docker();
    let rec = Recorder::new();
    let run = shim()
        .args(["--hook-config-path", s(&h.path("/etc/oci-add-hooks/hooks.d")), "--runtime-path", s(&rec.path)])
        .args(["create", "--bundle", s(bundle.path()), "x"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(bundle.config()["hooks"]["prestart"][0], json!({"path": "/bin/true"}));

    // A second install changes nothing: no file is written at all.
    let files =
        [h.daemon_json(), bin_path.clone(), hook.clone(), h.path("/etc/oci-add-hooks/installed.json"), bak.clone()];
    let stamps: Vec<_> = files.iter().map(|f| stamp(f)).collect();
    let tree = h.tree();
    std::thread::sleep(Duration::from_millis(20));
    let out = h.install(&["--hooks", s(&src)]);
    assert_eq!(files.iter().map(|f| stamp(f)).collect::<Vec<_>>(), stamps);
    assert_eq!(h.tree(), tree);
    assert!(stdout(&out).contains("daemon.json: already as wanted, unchanged"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("oci-add-hooks: already installed (sha256 {}), unchanged", sha256sum(bin()))),
        "{}",
        stdout(&out)
    );

    // A hook file someone else put in hooks.d is not install's to remove.
    write(&h.path("/etc/oci-add-hooks/hooks.d/50-theirs.json"), r#"{"hooks": {}}"#, 0o644);

    let out = h.uninstall(&[]);
    assert_eq!(
        lines(&out),
        [
            format!("{root}/etc/docker/daemon.json: removed runtimes.oci-add-hooks"),
            format!(
                "removed the backup {root}/etc/docker/daemon.json.oci-add-hooks.bak: {root}/etc/docker/daemon.json is \
                 byte for byte as it was before install"
            ),
            format!("dockerd: not running (no pidfile {root}/var/run/docker.pid): it loads daemon.json when it starts"),
            format!("removed {root}/etc/oci-add-hooks/hooks.d/10-mark.json"),
            format!("removed {}", bin_path.display()),
            format!("removed {root}/etc/oci-add-hooks/installed.json"),
            format!("{root}/etc/oci-add-hooks/hooks.d: not empty, left in place"),
            format!("{root}/etc/oci-add-hooks: not empty, left in place"),
            format!("removed directory {root}/usr/local/bin (install had created it)"),
            format!("removed directory {root}/usr/local (install had created it)"),
            format!("removed directory {root}/usr (install had created it)"),
        ]
    );
    // daemon.json is byte for byte what it was, so its backup went; only
    // their hook file remains of all this.
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), DAEMON_JSON);
    let mut want_tree = before.clone();
    want_tree.extend([
        "etc/oci-add-hooks 755".to_owned(),
        "etc/oci-add-hooks/hooks.d 755".into(),
        "etc/oci-add-hooks/hooks.d/50-theirs.json 644".into(),
    ]);
    want_tree.sort();
    assert_eq!(h.tree(), want_tree);

    // Idempotent: a second uninstall changes nothing.
    let tree = h.tree();
    let stamp_before = stamp(&h.daemon_json());
    h.uninstall(&[]);
    assert_eq!(h.tree(), tree);
    assert_eq!(stamp(&h.daemon_json()), stamp_before);
}

#[test]
fn an_unparseable_daemon_json_is_refused_and_nothing_on_the_host_changes() {
    let cases = [
        ("{\n  // the registry mirror\n  \"debug\": true\n}\n", "key must be a string at line 2 column 3"),
        ("{\"debug\": true}\n}\n", "trailing characters at line 2 column 1"),
        ("{\"debug\": true,}", "trailing comma at line 1 column 16"),
        ("[]", ""),
    ];
    for (text, why) in cases {
        let reason = if why.is_empty() {
            "(top level): must be a JSON object".to_owned()
        } else {
            format!(
                "not valid JSON ({why}); dockerd accepts only plain JSON (no comments, nothing after the object), \
                 so it would not start with this file either: fix it, then run install again"
            )
        };
        daemon_json_is_refused(text, &reason);
    }
}

/// Install with `text` as daemon.json fails saying `reason`, and leaves the
/// host as it was: the file byte for byte, and not a directory, binary,
/// backup or temporary file more.
fn daemon_json_is_refused(text: &str, reason: &str) {
    let h = Host::new();
    write(&h.daemon_json(), text, 0o644);
    let tree = h.tree();
    let out = h.run("install", &["--hooks", s(&h.hook_src())]);
    assert_fails_with(
        &out,
        &format!("oci-add-hooks: {}: {reason} (the file is left unchanged)", h.daemon_json().display()),
    );
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), text);
    assert_eq!(h.tree(), tree, "{text:?}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn refusals_name_the_file_the_field_and_why_and_change_nothing() {
    let h = Host::new();
    let bad_hook = hook_file(h.src.path(), "20-bad.json", &json!({"hooks": {"prestart": [{"path": "relative"}]}}));
    let pid_of_sleep = Command::new("sleep").arg("60").spawn().unwrap();
    let mut cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--hooks".into(), s(&bad_hook).into()],
            format!("oci-add-hooks: {}: hooks.prestart[0].path: must be an absolute path", bad_hook.display()),
        ),
        (
            vec!["--hooks".into(), s(&h.src.join("missing.json")).into()],
            format!("oci-add-hooks: {}: cannot read hook file: No such file or directory (os error 2)", h.src.join("missing.json").display()),
        ),
        (
            vec!["--bin-dir".into(), "usr/bin".into()],
            "oci-add-hooks: install: --bin-dir: \"usr/bin\": must be an absolute path (as the host sees it) (see oci-add-hooks install --help)".into(),
        ),
        (
            vec!["--docker-config".into(), "/etc/docker/types.json".into()],
            format!(
                "oci-add-hooks: {}: runtimes: must be an object of runtime name to {{\"path\", \"runtimeArgs\"}}, not [] (the file is left unchanged)",
                h.path("/etc/docker/types.json").display()
            ),
        ),
        (
            vec!["--docker-pidfile".into(), "/run/other.pid".into()],
            format!(
                "oci-add-hooks: {}: pid {} is \"sleep\", not dockerd (a stale pidfile?); not signalled: fix the pidfile or give --docker-pidfile, or --no-reload",
                h.path("/run/other.pid").display(),
                pid_of_sleep.id()
            ),
        ),
    ];
    write(&h.path("/etc/docker/types.json"), r#"{"runtimes": []}"#, 0o644);
    write(&h.path("/run/other.pid"), format!("{}\n", pid_of_sleep.id()), 0o644);
    // A hook file of the same name that install did not put there.
    write(&h.path("/etc/oci-add-hooks/hooks.d/10-mark.json"), r#"{"hooks": {}}"#, 0o644);
    cases.push((
        vec!["--hooks".into(), s(&h.hook_src()).into()],
        format!(
            "oci-add-hooks: {}: exists and was not put there by install (it is not in {}); not replaced with {}: remove it, or give the hook file another name",
            h.path("/etc/oci-add-hooks/hooks.d/10-mark.json").display(),
            h.path("/etc/oci-add-hooks/installed.json").display(),
            h.hook_src().display()
        ),
    ));
    for (args, message) in cases {
        let tree = h.tree();
        let daemon_json = std::fs::read(h.daemon_json()).unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = h.run("install", &args);
        assert_fails_with(&out, &message);
        assert_eq!(h.tree(), tree, "{args:?}");
        assert_eq!(std::fs::read(h.daemon_json()).unwrap(), daemon_json);
    }
    let mut sleep = pid_of_sleep;
    sleep.kill().unwrap();
    sleep.wait().unwrap();

    // A binary of another program where install would put its own.
    let foreign = h.path("/usr/local/bin/oci-add-hooks");
    write(&foreign, "#!/bin/sh\n", 0o755);
    let tree = h.tree();
    let out = h.run("install", &["--no-docker"]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: exists and was not put there by install (it is not in {}); not replaced with this executable: remove it, or give another --bin-dir",
            foreign.display(),
            h.path("/etc/oci-add-hooks/installed.json").display()
        ),
    );
    assert_eq!(h.tree(), tree);
    assert_eq!(std::fs::read(&foreign).unwrap(), b"#!/bin/sh\n");
}

/// The installed binary is far above a small file size limit: install must
/// fail with a message, not be killed by SIGXFSZ mid-write and leave its
/// temporary file (as `replace`, the shim's write, already did not).
#[test]
fn regression_a_file_size_limit_killed_install_and_left_a_temporary_file() {
    if !require(&["prlimit"]) {
        return;
    }
    let h = Host::new();
    let out = Command::new("prlimit")
        .arg("--fsize=4096")
        .arg(bin())
        .args(["install", "--no-docker", "--host-root"])
        .arg(h.root.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let bin_dir = h.path("/usr/local/bin");
    let len = std::fs::metadata(bin()).unwrap().len();
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}/oci-add-hooks: cannot write: the new file's {len} bytes exceed the file size limit (RLIMIT_FSIZE, ulimit -f) of 4096 bytes",
            bin_dir.display()
        ),
    );
    let left: Vec<_> = std::fs::read_dir(&bin_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn help_lists_every_option_and_its_default() {
    for action in ["install", "uninstall"] {
        let out = Command::new(bin()).args([action, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = stdout(&out);
        for opt in [
            "--host-root DIR",
            "--bin-dir DIR",
            "--config-dir DIR",
            "--hooks PATH",
            "--runtime-path NAME",
            "--runtime-name NAME",
            "--set-default",
            "--no-docker",
            "--docker-config FILE",
            "--docker-pidfile FILE",
            "--docker-socket FILE",
            "--no-reload",
            "--containerd",
            "--no-containerd",
            "--containerd-config-file FILE\n",
            "--containerd-socket FILE\n",
            "--containerd-bin FILE",
            "--containerd-restart MODE\n",
            "--containerd-timeout SECONDS\n",
            "--wait",
            "--help",
        ] {
            // An option and its value, then its text, or its text on the
            // next line.
            let shown = if opt.ends_with('\n') { format!("  {opt}") } else { format!("  {opt} ") };
            assert!(help.contains(&shown), "{opt}: {help}");
        }
        assert!(help.contains("  --pod-annotations PATTERN\n"), "{help}");
    }
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(stdout(&out).contains("oci-add-hooks install|uninstall [OPTIONS]"));
    let out = Command::new(bin()).args(["uninstall", "--set-default"]).output().unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: uninstall: --set-default: an install option (uninstall removes what install recorded) (see oci-add-hooks uninstall --help)",
    );
}

#[test]
fn set_default_records_the_previous_default_and_uninstall_puts_it_back() {
    let h = Host::new();
    let text = "{\"default-runtime\": \"nvidia\", \"runtimes\": {\"nvidia\": {\"path\": \"/usr/bin/nvidia-container-runtime\"}}}";
    write(&h.daemon_json(), text, 0o644);
    let out = h.install(&["--set-default"]);
    assert!(
        stdout(&out).contains("daemon.json: set default-runtime to \"oci-add-hooks\" (was \"nvidia\")"),
        "{}",
        stdout(&out)
    );
    assert_eq!(h.config()["default-runtime"], "oci-add-hooks");
    // Installing again without --set-default gives the default back.
    let out = h.install(&[]);
    assert!(stdout(&out).contains("daemon.json: reset default-runtime to \"nvidia\""), "{}", stdout(&out));
    assert_eq!(h.config()["default-runtime"], "nvidia");
    h.install(&["--set-default"]);
    let out = h.uninstall(&[]);
    assert!(stdout(&out).contains("daemon.json: reset default-runtime to \"nvidia\""), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_to_string(h.daemon_json()).unwrap(),
        "{\"default-runtime\":\"nvidia\",\"runtimes\":{\"nvidia\":{\"path\":\"/usr/bin/nvidia-container-runtime\"}}}"
    );
}

#[test]
fn a_later_install_removes_the_hook_files_and_binary_it_no_longer_wants() {
    let h = Host::new();
    let b = hook_file(h.src.path(), "20-b.json", &json!({"hooks": {"poststop": [{"path": "/bin/true"}]}}));
    h.install(&["--hooks", s(h.src.path())]);
    assert!(h.path("/etc/oci-add-hooks/hooks.d/10-mark.json").exists());
    assert!(h.path("/etc/oci-add-hooks/hooks.d/20-b.json").exists());
    let out = h.install(&["--hooks", s(&b), "--bin-dir", "/opt/bin"]);
    assert!(!h.path("/etc/oci-add-hooks/hooks.d/10-mark.json").exists());
    assert!(!h.path("/usr/local/bin/oci-add-hooks").exists());
    assert!(h.path("/opt/bin/oci-add-hooks").exists());
    assert!(stdout(&out).contains("daemon.json: replaced runtimes.oci-add-hooks"), "{}", stdout(&out));
    assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/opt/bin/oci-add-hooks");
    h.uninstall(&[]);
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), DAEMON_JSON);
    assert!(!h.path("/opt/bin/oci-add-hooks").exists());
    assert!(!h.path("/etc/oci-add-hooks/hooks.d/20-b.json").exists());
    assert!(!h.path("/etc/oci-add-hooks").exists());
}

/// CRI-O's configuration as OpenShift's machine-config-operator lays it out:
/// a drop-in without a `.conf` suffix naming three hooks directories.
const CRIO_DROPIN: &str = "[crio]\ninternal_wipe = true\n\n[crio.runtime]\nhooks_dir = [\n    \"/etc/containers/oci/hooks.d\",\n    \"/run/containers/oci/hooks.d\",\n    \"/usr/share/containers/oci/hooks.d\",\n]\n";

/// The CRI-O directory's files, by name, with their bytes.
fn crio_files(h: &Host) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(h.path("/etc/containers/oci/hooks.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn install_crio_converts_into_cri_os_hooks_dir_a_second_install_writes_nothing_and_uninstall_removes_exactly_those() {
    let h = Host::new();
    write(
        &h.path("/etc/crio/crio.conf"),
        "[crio.runtime]\nhooks_dir = [\"/usr/share/containers/oci/hooks.d\"]\n",
        0o644,
    );
    write(&h.path("/etc/crio/crio.conf.d/00-default"), CRIO_DROPIN, 0o644);
    let theirs = "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/bin/true\"}, \"when\": {\"always\": true}, \"stages\": [\"prestart\"]}";
    write(&h.path("/etc/containers/oci/hooks.d/oci-systemd-hook.json"), theirs, 0o644);
    let gpu = hook_file(
        h.src.path(),
        "20-gpu.json",
        &json!({"version": "1.0.0", "hook": {"path": "/bin/false"}, "when": {"annotations": {"^gpu$": "^yes$"}}, "stages": ["poststop"]}),
    );
    let before = h.tree();
    let root = h.root.path().display();
    let dir = format!("{root}/etc/containers/oci/hooks.d");

    let out = h.install(&["--no-docker", "--hooks", s(h.src.path())]);
    let mark = h.hook_src();
    for line in [
        format!("installed {dir}/0001-10-mark-prestart-0.json (from {} hooks.prestart[0])", mark.display()),
        format!("installed {dir}/0002-20-gpu.json (from {})", gpu.display()),
        format!(
            "CRI-O: hooks.d files in /etc/containers/oci/hooks.d (the first of crio.runtime.hooks_dir in \
             {root}/etc/crio/crio.conf.d/00-default); CRI-O reads them again on every change there and podman at \
             each container start: nothing registered, edited or signalled"
        ),
    ] {
        assert!(lines(&out).contains(&line), "{line}\nnot in:\n{}", stdout(&out));
    }
    let files = crio_files(&h);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0001-10-mark-prestart-0.json", "0002-20-gpu.json", "oci-systemd-hook.json"]);
    assert_eq!(
        files[0].1,
        "{\n  \"version\": \"1.0.0\",\n  \"hook\": {\n    \"path\": \"/bin/true\"\n  },\n  \"when\": {\n    \"always\": true\n  },\n  \"stages\": [\n    \"prestart\"\n  ]\n}\n"
    );
    assert_eq!(
        std::fs::metadata(h.path("/etc/containers/oci/hooks.d/0002-20-gpu.json")).unwrap().mode() & 0o7777,
        0o644
    );
    // validate --engine crio, on the installed hooks.d, prints exactly these
    // files.
    let v = shim()
        .args(["validate", "--engine", "crio", "--hook-config-path", s(&h.path("/etc/oci-add-hooks/hooks.d"))])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", stderr(&v));
    for (name, bytes) in &files[..2] {
        let shown: String = bytes.lines().map(|l| format!("    {l}\n")).collect();
        assert!(stdout(&v).contains(&format!("  {name}\n    from {}", h.path("/etc/oci-add-hooks/hooks.d").display())));
        assert!(stdout(&v).contains(&shown), "{name} as written:\n{bytes}\nnot in:\n{}", stdout(&v));
    }
    // Nothing of CRI-O's configuration changed; the record names the files.
    assert_eq!(std::fs::read_to_string(h.path("/etc/crio/crio.conf.d/00-default")).unwrap(), CRIO_DROPIN);
    let record: Value =
        serde_json::from_slice(&std::fs::read(h.path("/etc/oci-add-hooks/installed.json")).unwrap()).unwrap();
    assert_eq!(
        record["crio"],
        json!([{"hooks-dir": "/etc/containers/oci/hooks.d", "files": ["0001-10-mark-prestart-0.json", "0002-20-gpu.json"]}])
    );

    // A second install writes nothing.
    let paths: Vec<PathBuf> = ["0001-10-mark-prestart-0.json", "0002-20-gpu.json"]
        .iter()
        .map(|n| h.path(&format!("/etc/containers/oci/hooks.d/{n}")))
        .chain([h.path("/etc/oci-add-hooks/installed.json")])
        .collect();
    let stamps: Vec<_> = paths.iter().map(|p| stamp(p)).collect();
    let tree = h.tree();
    std::thread::sleep(Duration::from_millis(20));
    let out = h.install(&["--no-docker", "--hooks", s(h.src.path())]);
    assert_eq!(paths.iter().map(|p| stamp(p)).collect::<Vec<_>>(), stamps);
    assert_eq!(h.tree(), tree);
    assert!(lines(&out).contains(&format!("{dir}/0002-20-gpu.json: already installed, unchanged")), "{}", stdout(&out));

    // One hook file fewer: its hooks.d file goes, the other is renamed.
    let out = h.install(&["--no-docker", "--hooks", s(&gpu)]);
    assert!(lines(&out).contains(&format!("removed {dir}/0001-10-mark-prestart-0.json")), "{}", stdout(&out));
    let names: Vec<String> = crio_files(&h).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0001-20-gpu.json", "oci-systemd-hook.json"]);

    // Uninstall removes what install put there and nothing else.
    let out = h.uninstall(&[]);
    assert!(lines(&out).contains(&format!("removed {dir}/0001-20-gpu.json")), "{}", stdout(&out));
    assert_eq!(h.tree(), before);
    assert_eq!(std::fs::read_to_string(h.path("/etc/containers/oci/hooks.d/oci-systemd-hook.json")).unwrap(), theirs);
}

#[test]
fn install_crio_refuses_what_it_cannot_put_faithfully_before_writing_anything() {
    let h = Host::new();
    write(&h.path("/etc/crio/crio.conf.d/00-default"), CRIO_DROPIN, 0o644);
    let dir = h.path("/etc/containers/oci/hooks.d");
    // A file install did not write, where it would write one.
    write(&dir.join("0001-10-mark-prestart-0.json"), "{}", 0o644);
    let tree = h.tree();
    let out = h.run("install", &["--no-docker", "--hooks", s(h.src.path())]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: exists and was not put there by install; not replaced with the hooks.d file for {} \
             hooks.prestart[0]: remove it",
            dir.join("0001-10-mark-prestart-0.json").display(),
            h.hook_src().display()
        ),
    );
    assert_eq!(h.tree(), tree);
    std::fs::remove_file(dir.join("0001-10-mark-prestart-0.json")).unwrap();

    // A drop-in CRI-O would not start with.
    let bad = h.path("/etc/crio/crio.conf.d/10-bad.conf");
    write(&bad, "[crio.runtime]\nhooks_dir = \"/etc/containers/oci/hooks.d\"\n", 0o644);
    let tree = h.tree();
    let out = h.run("install", &["--no-docker", "--hooks", s(h.src.path())]);
    assert_fails_with(
        &out,
        &format!("oci-add-hooks: {}: crio.runtime.hooks_dir: must be an array of strings, not string", bad.display()),
    );
    assert_eq!(h.tree(), tree);
    std::fs::remove_file(&bad).unwrap();

    // The same hook under other conditions: the shim adds it at one place
    // or the other, which no set of hooks.d files can say.
    let gpu = hook_file(
        h.src.path(),
        "05-gpu.json",
        &json!({"version": "1.0.0", "hook": {"path": "/bin/true"}, "when": {"annotations": {"gpu": "yes"}}, "stages": ["prestart"]}),
    );
    let tree = h.tree();
    let out = h.run("install", &["--no-docker", "--hooks", s(h.src.path())]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: hooks.prestart[0]: the same prestart hook as {}, under other conditions: the shim \
             adds it once, at the first place it applies, and CRI-O and podman would add it at both; give the two \
             the same conditions, or different args",
            h.hook_src().display(),
            gpu.display()
        ),
    );
    assert_eq!(h.tree(), tree);
    // --no-crio: the shim's files alone, which can say it.
    h.install(&["--no-docker", "--no-crio", "--hooks", s(h.src.path())]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn a_missing_daemon_json_is_created_when_dockerd_has_a_pidfile_and_removed_again() {
    let h = Host::new();
    std::fs::remove_dir_all(h.path("/etc/docker")).unwrap();
    // No daemon.json, no /etc/docker and no pidfile: Docker is not set up here.
    let out = h.install(&[]);
    assert!(stdout(&out).contains("Docker is not set up here, skipped"), "{}", stdout(&out));
    assert!(!h.daemon_json().exists());
    h.uninstall(&[]);
    // A pidfile (of a dockerd that has stopped): daemon.json is created.
    // pid 2^22+1 is above Linux's pid_max limit, so never alive.
    write(&h.path("/var/run/docker.pid"), "4194305", 0o644);
    std::fs::create_dir(h.path("/etc/docker")).unwrap();
    let out = h.install(&[]);
    assert!(stdout(&out).contains("which is not running"), "{}", stdout(&out));
    assert_eq!(std::fs::metadata(h.daemon_json()).unwrap().mode() & 0o7777, 0o644);
    assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/local/bin/oci-add-hooks");
    assert!(!h.path("/etc/docker/daemon.json.oci-add-hooks.bak").exists(), "nothing to back up");
    let out = h.uninstall(&[]);
    assert!(stdout(&out).contains("(install had created it, and it is empty now)"), "{}", stdout(&out));
    assert!(!h.daemon_json().exists());
}

#[test]
fn install_replaces_a_binary_that_is_running() {
    let h = Host::new();
    let bin_path = h.path("/usr/local/bin/oci-add-hooks");
    // Install's own binary (recorded), since then replaced by another program.
    h.install(&["--no-docker"]);
    write(&bin_path, std::fs::read("/bin/sleep").unwrap(), 0o755);
    let mut running = Command::new(&bin_path).arg("60").spawn().unwrap();
    h.install(&["--no-docker"]);
    running.kill().unwrap();
    running.wait().unwrap();
    assert_eq!(std::fs::read(&bin_path).unwrap(), std::fs::read(bin()).unwrap());
    let entries: Vec<_> =
        std::fs::read_dir(h.path("/usr/local/bin")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["oci-add-hooks"]);
}

/// The packages' postinst suggests `oci-add-hooks install --bin-dir
/// /usr/bin`: run from the packaged binary, install must neither rewrite
/// nor record it, and uninstall (with a record or without) must leave it
/// to the package. It used to be recorded as installed, and uninstall
/// removed the package's file.
#[test]
fn regression_uninstall_removed_the_packaged_binary_that_install_ran_from() {
    let h = Host::new();
    let packaged = h.path("/usr/bin/oci-add-hooks");
    write(&packaged, std::fs::read(bin()).unwrap(), 0o755);
    let before = stamp(&packaged);
    let run = |action: &str, args: &[&str]| {
        let out = h.run_binary(&packaged, action, args);
        assert!(out.status.success(), "{action} {args:?}: {}{}", stdout(&out), stderr(&out));
        lines(&out)
    };
    let said = run("install", &["--bin-dir", "/usr/bin", "--hooks", s(&h.hook_src())]);
    let left = format!(
        "{}: already this executable (sha256 {}), but not put there by install: left as it is, and uninstall leaves it",
        packaged.display(),
        sha256sum(&packaged)
    );
    assert!(said.contains(&left), "{said:#?}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(h.path("/etc/oci-add-hooks/installed.json")).unwrap()).unwrap();
    assert_eq!(record["binary"], Value::Null, "{record:#}");
    assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/bin/oci-add-hooks");
    assert!(h.path("/etc/oci-add-hooks/hooks.d/10-mark.json").is_file());

    let said = run("uninstall", &["--bin-dir", "/usr/bin"]);
    assert!(!said.iter().any(|l| l.contains("usr/bin/oci-add-hooks") && l.starts_with("removed")), "{said:#?}");
    assert!(!h.path("/etc/oci-add-hooks/installed.json").exists());
    assert!(!h.path("/etc/oci-add-hooks/hooks.d/10-mark.json").exists());
    // Without a record, uninstall removes a copy of itself, but not itself.
    let said = run("uninstall", &["--bin-dir", "/usr/bin"]);
    assert!(said[0].ends_with("no install record; removing what the options name, where it is ours"), "{said:#?}");
    assert_eq!(stamp(&packaged), before, "the packaged binary was rewritten or removed");

    // The same, run from another copy of the same program (the image's).
    let said = lines(&h.install(&["--bin-dir", "/usr/bin", "--no-docker"]));
    assert!(said.contains(&left), "{said:#?}");
    h.uninstall(&["--bin-dir", "/usr/bin", "--no-docker"]);
    assert_eq!(stamp(&packaged), before, "the packaged binary was rewritten or removed");

    // A binary install did put there stays install's when run from there.
    h.install(&["--no-docker"]);
    let copied = h.path("/usr/local/bin/oci-add-hooks");
    let said = h.run_binary(&copied, "install", &["--no-docker"]);
    assert!(
        lines(&said).contains(&format!(
            "{}: already installed (sha256 {}), unchanged",
            copied.display(),
            sha256sum(&copied)
        )),
        "{}",
        stdout(&said)
    );
    h.run_binary(&copied, "uninstall", &["--no-docker"]);
    assert!(!copied.exists());
}

/// Runs `args` (with `--wait`) until it says it waits, sends it `sig`, and
/// returns its exit code and what it printed after.
fn run_waiting(args: &[&str], sig: rustix::process::Signal) -> (Option<i32>, String) {
    let mut child =
        Command::new(bin()).args(args).arg("--wait").stdout(Stdio::piped()).stdin(Stdio::null()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("waiting for SIGTERM or SIGINT") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "exited early: {seen}");
        seen.push_str(&line);
    }
    // Still waiting a moment later.
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none());
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), sig).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    (status.code(), rest)
}

#[test]
fn wait_exits_0_on_sigterm_or_sigint_and_leaves_everything_installed() {
    use rustix::process::Signal;
    for (sig, name) in [(Signal::TERM, "SIGTERM"), (Signal::INT, "SIGINT")] {
        let h = Host::new();
        let (code, rest) = run_waiting(&["install", "--host-root", s(h.root.path())], sig);
        assert_eq!(code, Some(0), "{name}");
        assert_eq!(rest, format!("{name}: exiting; everything stays installed\n"));
        assert!(h.path("/usr/local/bin/oci-add-hooks").exists());
        assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/local/bin/oci-add-hooks");
        // The uninstaller DaemonSet's pods wait the same way, after uninstalling.
        let (code, rest) = run_waiting(&["uninstall", "--host-root", s(h.root.path())], sig);
        assert_eq!((code, rest), (Some(0), format!("{name}: exiting\n")));
        assert!(!h.path("/usr/local/bin/oci-add-hooks").exists());
        assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), DAEMON_JSON);
    }
}

/// An install from before config.toml was edited wrote a drop-in into
/// conf.d and recorded it as `"containerd": PATH`: the next install must
/// remove it (containerd 1.x replaced its whole CRI section with it, if
/// imported), and uninstall must, if the record still names it.
#[test]
fn regression_the_old_containerd_dropin_replaced_the_whole_cri_section_and_is_removed_on_upgrade() {
    let old_dropin = "# Written by `oci-add-hooks install`; `oci-add-hooks uninstall` removes it.\nversion = 2\n";
    for action in ["install", "uninstall"] {
        let h = Host::new();
        if !h.with_containerd() {
            return;
        }
        write(&h.path("/etc/containerd/config.toml"), DEBIAN_CONFIG, 0o644);
        let dropin = h.path("/etc/containerd/conf.d/99-oci-add-hooks.toml");
        write(&dropin, old_dropin, 0o644);
        let record = r#"{"installed-by": "oci-add-hooks 0.1.0", "binary": null, "hooks": [], "created-dirs": [],
            "docker": null, "containerd": "/etc/containerd/conf.d/99-oci-add-hooks.toml"}"#;
        write(&h.path("/etc/oci-add-hooks/installed.json"), record, 0o644);
        let out = h.run(action, &["--no-docker"]);
        assert!(out.status.success(), "{action}: {}{}", stdout(&out), stderr(&out));
        assert!(
            lines(&out).contains(&format!("removed {} (an earlier install's drop-in)", dropin.display())),
            "{action}: {}",
            stdout(&out)
        );
        assert!(!dropin.exists(), "{action}");
        let config = std::fs::read_to_string(h.path("/etc/containerd/config.toml")).unwrap();
        match action {
            "install" => {
                assert!(config.starts_with(DEBIAN_CONFIG) && config.contains("# BEGIN oci-add-hooks"), "{config}");
                let record: Value =
                    serde_json::from_slice(&std::fs::read(h.path("/etc/oci-add-hooks/installed.json")).unwrap())
                        .unwrap();
                assert_eq!(record["old-containerd-dropin"], Value::Null, "{record:#}");
                assert_eq!(record["containerd"]["config"], "/etc/containerd/config.toml", "{record:#}");
            }
            _ => assert_eq!(config, DEBIAN_CONFIG),
        }
    }
}

/// The static release binary for this machine's architecture, built by
/// `make static-<arch>` exactly as `make dist` ships it (cargo does nothing
/// if it is up to date), and Docker's name for the architecture.
fn static_binary() -> (PathBuf, &'static str) {
    let (arch, triple) = match std::env::consts::ARCH {
        "aarch64" => ("arm64", "aarch64-unknown-linux-musl"),
        _ => ("amd64", "x86_64-unknown-linux-musl"),
    };
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut make = Command::new("make");
    make.arg("-s").arg("-C").arg(manifest_dir).arg(format!("static-{arch}"));
    if let Some(cargo) = std::env::var_os("CARGO") {
        make.arg(format!("CARGO={}", Path::new(&cargo).display()));
    }
    let out = make.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "make static-{arch} for the image: {}", stderr(&out));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest_dir.join("target"), PathBuf::from);
    (target_dir.join(triple).join("release/oci-add-hooks"), arch)
}

/// Builds the installer image from the repository's Dockerfile on `dockerd`,
/// with a build context staged as `make dist` leaves it; returns its size.
fn build_image(dockerd: &Dockerd, tag: &str) -> u64 {
    let (binary, arch) = static_binary();
    let ctx = TempDir::new("image-context");
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["Dockerfile", ".dockerignore"] {
        std::fs::copy(manifest_dir.join(f), ctx.join(f)).unwrap();
    }
    std::fs::create_dir_all(ctx.join("dist").join(arch)).unwrap();
    copy_executable(&binary, &ctx.join("dist").join(arch).join("oci-add-hooks"));
    // The classic builder: dockerd 20.10 has it, and it needs no buildx.
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .arg("-H")
        .arg(format!("unix://{}", dockerd.socket.display()))
        .args(["build", "-q", "--build-arg", &format!("TARGETARCH={arch}"), "-t", tag])
        .arg(ctx.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "docker build: {}{}", stdout(&out), stderr(&out));
    let out = dockerd.docker(&["image", "inspect", "--format", "{{.Size}}", tag]);
    stdout(&out).trim().parse().unwrap()
}

fn inspect(dockerd: &Dockerd, what: &str, format: &str) -> String {
    let out = dockerd.docker(&["inspect", "--format", format, what]);
    assert!(out.status.success(), "docker inspect {what}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn runtimes(dockerd: &Dockerd) -> Value {
    let out = dockerd.docker(&["info", "--format", "{{json .Runtimes}}"]);
    assert!(out.status.success(), "docker info: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn the_installer_image_run_as_kubernetes_runs_it_registers_the_runtime_without_a_dockerd_restart() {
    if !require(&["dockerd", "docker", "runc", "make"]) {
        return;
    }
    let dockerd = Dockerd::start(&json!({"log-level": "warn", "default-runtime": "runc"}));
    let daemon_json = std::fs::read(dockerd.config()).unwrap();
    let size = build_image(&dockerd, "oah-installer");
    eprintln!("installer image: {size} bytes");
    assert!(size <= 1 << 20, "the installer image is {size} bytes, over 1 MiB");
    dockerd.import_busybox("oah-busybox");

    // A container started before the install must run on through it.
    let out = dockerd.docker(&["run", "-d", "--name", "before", "--network", "none", "oah-busybox", "sleep", "600"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let started = inspect(&dockerd, "before", "{{.State.StartedAt}} {{.State.Pid}}");

    // The node: the binary and hooks go to real host paths under `node`
    // (dockerd runs what daemon.json names, from the host); the host's
    // daemon.json, pidfile and socket are the private dockerd's; a
    // containerd config.toml (Debian's) is there too, with no containerd
    // running, checked by this machine's containerd binary through the
    // DaemonSet's mounts.
    let node = TempDir::new("node");
    let containerd_config = node.join("etc/containerd/config.toml");
    write(&containerd_config, DEBIAN_CONFIG, 0o644);
    let marks = TempDir::new("marks");
    let hooks = TempDir::new("configmap");
    hook_file(hooks.path(), "10-mark.json", &json!({"hooks": {"prestart": [marker_hook(marks.path(), "prestart")]}}));
    let bin_dir = node.join("bin");
    let config_dir = node.join("etc/oci-add-hooks");
    let mount = |p: &Path| format!("{}:/host{}", p.display(), p.display());
    let host_args = [
        "--bin-dir".to_owned(),
        s(&bin_dir).to_owned(),
        "--config-dir".into(),
        s(&config_dir).to_owned(),
        "--docker-config".into(),
        s(&dockerd.config()).to_owned(),
        "--docker-pidfile".into(),
        s(&dockerd.pidfile()).to_owned(),
        "--docker-socket".into(),
        s(&dockerd.socket).to_owned(),
        "--containerd-config-file".into(),
        s(&containerd_config).to_owned(),
        "--containerd-socket".into(),
        s(&node.join("run/containerd.sock")).to_owned(),
    ];
    // As the DaemonSet runs it: every capability dropped but CHOWN and
    // SYS_CHROOT, a read-only root, the host's /usr, /lib and /lib64
    // read-only for containerd's binary.
    let pod = [
        "--pid=host",
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "--cap-add",
        "SYS_CHROOT",
        "--read-only",
        "--security-opt",
        "no-new-privileges",
        "-v",
        "/usr:/host/usr:ro",
        "-v",
        "/lib:/host/lib:ro",
        "-v",
        "/lib64:/host/lib64:ro",
    ];
    let mut run = vec!["run", "-d", "--name", "installer"];
    run.extend(pod);
    let (m1, m2, m3) = (mount(node.path()), mount(dockerd.dir.path()), format!("{}:/hooks:ro", hooks.path().display()));
    run.extend(["-v", &m1, "-v", &m2, "-v", &m3, "oah-installer", "--hooks", "/hooks"]);
    run.extend(host_args.iter().map(String::as_str));
    let out = dockerd.docker(&run);
    assert!(out.status.success(), "{}", stderr(&out));
    let logs = || stdout(&dockerd.docker(&["logs", "installer"]));
    wait_for("the installer to finish installing", Duration::from_secs(60), || {
        let running = inspect(&dockerd, "installer", "{{.State.Running}}") == "true";
        assert!(running || logs().contains("waiting for SIGTERM"), "installer exited: {}{}", logs(), dockerd.log());
        logs().contains("waiting for SIGTERM")
    });
    let installed = bin_dir.join("oci-add-hooks");
    let log = logs();
    eprintln!("installer log:\n{log}");
    assert!(log.contains(&format!("installed /host{} (sha256 ", installed.display())), "{log}");
    assert!(
        log.contains(&format!(
            "dockerd (pid {}): SIGHUP sent, runtime oci-add-hooks visible in GET /info",
            dockerd.pid()
        )),
        "{log}"
    );
    let shown = format!("/host{}", containerd_config.display());
    assert!(
        log.contains(&format!(
            "containerd: checked the new {shown} with `/usr/bin/containerd config dump`: containerd's whole \
             configuration as before, plus runtime oci-add-hooks\n"
        )),
        "{log}"
    );
    let declared = std::fs::read_to_string(&containerd_config).unwrap();
    assert!(
        declared.starts_with(DEBIAN_CONFIG) && declared.contains(&format!("BinaryName = \"{}\"", installed.display()))
    );

    // No restart: the same dockerd, the earlier container still running.
    assert_eq!(std::fs::read_to_string(dockerd.pidfile()).unwrap().trim(), dockerd.pid().to_string());
    assert_eq!(runtimes(&dockerd)["oci-add-hooks"]["path"], s(&installed));
    let out = dockerd.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--runtime=oci-add-hooks",
        "oah-busybox",
        "echo",
        "hooked",
    ]);
    assert!(out.status.success(), "docker run --runtime=oci-add-hooks: {}\n{}", stderr(&out), dockerd.log());
    assert_eq!(stdout(&out), "hooked\n");
    assert_eq!(markers(marks.path()), ["prestart"]);
    assert_eq!(inspect(&dockerd, "before", "{{.State.Running}}"), "true");
    assert_eq!(inspect(&dockerd, "before", "{{.State.StartedAt}} {{.State.Pid}}"), started);

    // A rolling update or eviction stops it with SIGTERM: exit 0, nothing removed.
    let out = dockerd.docker(&["stop", "--time", "20", "installer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(inspect(&dockerd, "installer", "{{.State.ExitCode}}"), "0", "{}", logs());
    assert!(logs().ends_with("SIGTERM: exiting; everything stays installed\n"), "{}", logs());
    assert_eq!(runtimes(&dockerd)["oci-add-hooks"]["path"], s(&installed));

    // uninstall, as the uninstall Job runs it: the runtime goes, dockerd
    // reloads again, daemon.json is as it was.
    let mut run = vec!["run", "--rm"];
    run.extend(pod);
    run.extend(["-v", &m1, "-v", &m2]);
    run.extend(["--entrypoint", "/oci-add-hooks", "oah-installer", "uninstall", "--host-root", "/host"]);
    run.extend(host_args.iter().map(String::as_str));
    let out = dockerd.docker(&run);
    assert!(out.status.success(), "uninstall: {}{}", stdout(&out), stderr(&out));
    eprintln!("uninstall log:\n{}", stdout(&out));
    assert!(stdout(&out).contains("SIGHUP sent, runtime oci-add-hooks gone in GET /info"), "{}", stdout(&out));
    assert!(runtimes(&dockerd).get("oci-add-hooks").is_none(), "{}", runtimes(&dockerd));
    assert_eq!(std::fs::read(dockerd.config()).unwrap(), daemon_json);
    assert_eq!(std::fs::read_to_string(&containerd_config).unwrap(), DEBIAN_CONFIG);
    assert!(!installed.exists());
    assert!(!config_dir.exists());
    assert_eq!(inspect(&dockerd, "before", "{{.State.StartedAt}} {{.State.Pid}}"), started);
    assert_eq!(inspect(&dockerd, "before", "{{.State.Running}}"), "true");
}

/// A venv with the `kubernetes` Python client, made once under target/.
fn kubernetes_python() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest_dir.join("target"), PathBuf::from);
    let venv = target_dir.join("k8s-venv");
    let python = venv.join("bin/python");
    let has_client =
        || Command::new(&python).args(["-c", "import kubernetes, yaml"]).output().is_ok_and(|o| o.status.success());
    if !has_client() {
        let out = Command::new("python3").args(["-m", "venv"]).arg(&venv).output().unwrap();
        assert!(out.status.success(), "python3 -m venv: {}", stderr(&out));
        let out = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "kubernetes==37.0.2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pip install kubernetes: {}", stderr(&out));
    }
    python
}

#[test]
fn the_kubernetes_manifests_are_valid_api_objects_that_keep_to_the_installers_policy() {
    if !require(&["python3"]) {
        return;
    }
    let python = kubernetes_python();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checker = dir.join("tests/kubernetes/check_manifests.py");
    let daemonset = dir.join("packaging/kubernetes/daemonset.yaml");
    let uninstall = dir.join("packaging/kubernetes/uninstall.yaml");
    let pod = dir.join("packaging/kubernetes/example-pod.yaml");
    let check = |files: &[&Path]| Command::new(&python).arg(&checker).args(files).output().unwrap();
    let out = check(&[&daemonset, &uninstall, &pod]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).ends_with(" passed, 0 failed\n"), "{}", stdout(&out));

    // The checker catches what the API server would drop or refuse.
    let text = std::fs::read_to_string(&daemonset).unwrap();
    let broken = TempDir::new("manifests");
    for (from, to, want) in [
        ("hostPID: true", "hostPid: true", "DaemonSet.spec.template.spec.hostPid: not a field of V1PodSpec"),
        (
            "        - name: install\n",
            "        -\n",
            "deserialises into V1DaemonSet: 1 validation error for V1Container name Input should be a valid string",
        ),
        ("type: RollingUpdate", "type: OnDelete", "FAILED: packaging"),
        (
            "            - {name: host-run, mountPath: /host/var/run, readOnly: true}\n",
            "            - {name: host-run, mountPath: /host/var/run}\n",
            "/var/run read-only",
        ),
        (
            "            - {name: host-crio, mountPath: /host/etc/crio, readOnly: true}\n",
            "            - {name: host-crio, mountPath: /host/etc/crio}\n",
            "/etc/crio read-only",
        ),
        (
            "            - {name: host-crio-hooks, mountPath: /host/usr/share/containers/oci/hooks.d}\n",
            "",
            "host paths are exactly",
        ),
        ("handler: oci-add-hooks", "handler: oci-add-hook", "a RuntimeClass with handler oci-add-hooks"),
        ("\"$(POD_ANNOTATIONS)\"", "\"$(POD_ANNOTATION)\"", "$(POD_ANNOTATION) is an environment variable"),
        ("pod-annotations: \"example.com/*\"", "pod-annotations: \"*\"", "matches pod-annotations ['*']"),
        ("add: [\"CHOWN\", \"SYS_CHROOT\"]", "add: [\"CHOWN\", \"SYS_ADMIN\"]", "every capability dropped but"),
    ] {
        assert!(text.contains(from), "{from}");
        let f = broken.join("daemonset.yaml");
        std::fs::write(&f, text.replacen(from, to, 1)).unwrap();
        let out = check(&[&f, &uninstall, &pod]);
        assert!(!out.status.success(), "{to}: {}", stdout(&out));
        let report = stdout(&out).replace(s(&f), "packaging/kubernetes/daemonset.yaml");
        let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("FAILED")).collect();
        assert!(failed.iter().any(|l| l.contains(want)), "{to}: {failed:?}");
    }
}

/// `{"runtimes":{"x":…},"runtimes":{"y":…}}` was written back with only
/// `y`, while dockerd (Go) merges both: runtime `x` vanished for dockerd.
#[test]
fn regression_duplicate_keys_in_daemon_json_were_silently_collapsed() {
    let text =
        "{\"runtimes\": {\"x\": {\"path\": \"/usr/bin/x\"}},\n \"runtimes\": {\"y\": {\"path\": \"/usr/bin/y\"}}}\n";
    daemon_json_is_refused(
        text,
        "runtimes: given more than once; dockerd (Go) merges the repeats into one, and install would keep only the \
         last: make it one key",
    );
}

/// Docker installed but never configured and stopped (`/etc/docker` and
/// the dockerd program, no daemon.json, no pidfile): install skipped
/// Docker, and the runtime was not there when dockerd next started.
#[test]
fn regression_docker_with_only_its_directory_was_skipped() {
    let h = Host::new();
    std::fs::remove_file(h.daemon_json()).unwrap();
    write(&h.path("/usr/bin/dockerd"), "#!/bin/sh\n", 0o755);
    let out = h.install(&[]);
    let root = h.root.path().display();
    assert!(
        lines(&out).contains(&format!("{root}/etc/docker/daemon.json: added runtimes.oci-add-hooks")),
        "{}",
        stdout(&out)
    );
    assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/local/bin/oci-add-hooks");
    let out = h.uninstall(&[]);
    assert!(stdout(&out).contains("(install had created it, and it is empty now)"), "{}", stdout(&out));
    assert!(!h.daemon_json().exists());
    assert!(h.path("/etc/docker").is_dir(), "Docker's directory is not install's");
}

/// The DaemonSet's hostPath mount of /etc/docker creates the directory on
/// every node, Docker or not: taken alone for Docker, it had install write
/// a daemon.json on nodes that have no Docker at all.
#[test]
fn regression_an_empty_etc_docker_without_dockerd_was_taken_for_docker() {
    let h = Host::new();
    std::fs::remove_file(h.daemon_json()).unwrap();
    let tree = h.tree();
    let out = h.install(&["--no-containerd", "--no-crio"]);
    assert!(stdout(&out).contains("Docker is not set up here, skipped"), "{}", stdout(&out));
    assert!(!h.daemon_json().exists());
    h.uninstall(&["--no-containerd"]);
    assert_eq!(h.tree(), tree);
}

/// The repro of issue 12: a chain of 41 links whose last is absolute. The
/// installer stopped following after 40 and kept the 41st in the path, which
/// the kernel then resolved from the installer's own root: a daemon.json
/// outside the host root was rewritten, and a .bak left beside it.
#[test]
fn regression_the_41st_link_led_install_out_of_the_host_root() {
    let h = Host::new();
    let outside = TempDir::new("outside");
    write(&outside.join("daemon.json"), "{}\n", 0o644);
    for i in 0..40 {
        std::os::unix::fs::symlink(format!("/l{}", i + 1), h.path(&format!("/l{i}"))).unwrap();
    }
    std::os::unix::fs::symlink(outside.path(), h.path("/l40")).unwrap();
    let tree = h.tree();
    let out = h.run("install", &["--docker-config", "/l0/daemon.json"]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot resolve below --host-root: Too many levels of symbolic links (os error 40)",
            h.path("/l0/daemon.json").display()
        ),
    );
    assert_eq!(std::fs::read_to_string(outside.join("daemon.json")).unwrap(), "{}\n");
    let left: Vec<_> = std::fs::read_dir(outside.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["daemon.json"], "no backup or temporary file outside the root");
    assert_eq!(h.tree(), tree);
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The links `/l0` .. `/l40` below the root, each to the next, the last to
/// `to`, absolute, outside the root: the shape of the 41st link's
/// regression test.
fn forty_one_links(h: &Host, to: &Path) {
    for i in 0..40 {
        std::os::unix::fs::symlink(format!("/l{}", i + 1), h.path(&format!("/l{i}"))).unwrap();
    }
    std::os::unix::fs::symlink(to, h.path("/l40")).unwrap();
}

/// The containerd step read config.toml by a name that the kernel resolved
/// from the installer's own root: a config.toml linking out of the host root
/// (its target not there below it) was read from outside, and that text,
/// with the runtime added, replaced the link, a backup of it beside. A path
/// of 41 links fell back to such a name too.
#[test]
fn regression_containerd_read_a_config_toml_outside_the_host_root() {
    let h = Host::new();
    let outside = TempDir::new("outside");
    let theirs = "version = 2\n# outside the host root\n";
    write(&outside.join("config.toml"), theirs, 0o644);
    let config = h.path("/etc/containerd/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.join("config.toml"), &config).unwrap();
    // Below the root the link names nothing, as the host's containerd sees
    // it: no configuration there.
    let out = h.install(&["--no-docker"]);
    let skipped = format!(
        "containerd: neither {} nor {} exists: containerd is not set up here, skipped (--no-containerd says so \
         quietly)",
        config.display(),
        h.path("/run/containerd/containerd.sock").display()
    );
    assert!(lines(&out).contains(&skipped), "{skipped}\nnot in:\n{}", stdout(&out));
    assert_eq!(std::fs::read_link(&config).unwrap(), outside.join("config.toml"));
    assert_eq!(names(config.parent().unwrap()), ["config.toml"], "no backup beside it");

    // 41 links, the last out of the root.
    forty_one_links(&h, outside.path());
    let tree = h.tree();
    let out = h.run("install", &["--no-docker", "--containerd-config-file", "/l0/config.toml"]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot resolve below --host-root: Too many levels of symbolic links (os error 40)",
            h.path("/l0/config.toml").display()
        ),
    );
    assert_eq!(h.tree(), tree);
    assert_eq!(std::fs::read_to_string(outside.join("config.toml")).unwrap(), theirs);
    assert_eq!(names(outside.path()), ["config.toml"], "no backup or copy outside the root");
}

/// The CRI-O step read its configuration by names that the kernel resolved
/// from the installer's own root: a drop-in linking out of the host root was
/// read from outside, and its `hooks_dir` chose where install wrote. A path
/// of 41 links fell back to such a name too. Both are refused, by name,
/// before anything is written.
#[test]
fn regression_cri_o_read_a_drop_in_outside_the_host_root() {
    let h = Host::new();
    let outside = TempDir::new("outside");
    let theirs = "[crio.runtime]\nhooks_dir = [\"/srv/elsewhere\"]\n";
    write(&outside.join("crio.conf"), theirs, 0o644);
    let dropin = h.path("/etc/crio/crio.conf.d/10-away.conf");
    std::fs::create_dir_all(dropin.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.join("crio.conf"), &dropin).unwrap();
    let tree = h.tree();
    let out = h.run("install", &["--no-docker"]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot read CRI-O's configuration: No such file or directory (os error 2)",
            dropin.display()
        ),
    );
    assert_eq!(h.tree(), tree);

    // 41 links, the last out of the root.
    std::fs::remove_file(&dropin).unwrap();
    std::os::unix::fs::symlink("/l0/crio.conf", &dropin).unwrap();
    forty_one_links(&h, outside.path());
    let tree = h.tree();
    let out = h.run("install", &["--no-docker"]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot resolve below --host-root: Too many levels of symbolic links (os error 40)",
            dropin.display()
        ),
    );
    assert_eq!(h.tree(), tree);
    assert_eq!(std::fs::read_to_string(outside.join("crio.conf")).unwrap(), theirs);
    assert_eq!(names(outside.path()), ["crio.conf"]);
}

/// A record writable by a non-root user (`{"hooks":["/etc/ssh/sshd_config"]}`)
/// made uninstall delete /etc/ssh/sshd_config: the record is now trusted only
/// as a hook file is, and names only paths install could have written.
#[test]
fn regression_uninstall_removed_whatever_the_install_record_named() {
    let h = Host::new();
    let sshd = h.path("/etc/ssh/sshd_config");
    write(&sshd, "PermitRootLogin no\n", 0o644);
    let record = h.path("/etc/oci-add-hooks/installed.json");
    write(&record, r#"{"hooks": ["/etc/ssh/sshd_config"]}"#, 0o666);
    let trusted_as_hooks = format!(
        "; {} is install's record of what uninstall removes, and is trusted only as a hook file would be: nothing is \
         changed",
        record.display()
    );
    let config_dir = h.path("/etc/oci-add-hooks");
    let writable = |p: &Path, mode: &str| {
        format!(
            "oci-add-hooks: {}: writable by group or others (mode {mode}); hooks run as root, so only the owner may \
             write hook files and directories (chmod go-w){trusted_as_hooks}",
            p.display()
        )
    };
    type Prepare<'a> = Box<dyn Fn() + 'a>;
    let cases: [(&str, Prepare, String); 4] = [
        ("mode 0666", Box::new(|| {}), writable(&record, "0666")),
        (
            "owned by nobody",
            Box::new(|| {
                std::fs::set_permissions(&record, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
                std::os::unix::fs::chown(&record, Some(65534), None).unwrap();
            }),
            format!(
                "oci-add-hooks: {}: owned by uid 65534; hooks run as root, so hook files and directories must be owned \
                 by root{trusted_as_hooks}",
                record.display()
            ),
        ),
        (
            "its directory mode 0777",
            Box::new(|| {
                std::os::unix::fs::chown(&record, Some(0), None).unwrap();
                std::fs::set_permissions(&config_dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
            }),
            writable(&config_dir, "0777"),
        ),
        (
            "trusted, but naming a path install never writes",
            Box::new(|| {
                std::fs::set_permissions(&config_dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            }),
            format!(
                "oci-add-hooks: {}: hooks[0]: \"/etc/ssh/sshd_config\": not a path install writes here (a *.json file \
                 directly in /etc/oci-add-hooks/hooks.d), so uninstall will not remove it; this is install's record of \
                 what it put on the host, so nothing is changed until it is fixed or removed",
                record.display()
            ),
        ),
    ];
    for (what, prepare, message) in cases {
        prepare();
        let tree = h.tree();
        let daemon_json = std::fs::read(h.daemon_json()).unwrap();
        for action in ["uninstall", "install"] {
            let out = h.run(action, &[]);
            assert_fails_with(&out, &message);
            assert_eq!(stdout(&out), "", "{what}: {action}");
            assert_eq!(h.tree(), tree, "{what}: {action}");
            assert_eq!(std::fs::read(&sshd).unwrap(), b"PermitRootLogin no\n");
            assert_eq!(std::fs::read(h.daemon_json()).unwrap(), daemon_json);
        }
    }
}

/// A pidfile naming a process whose comm is "dockerd" (which any process
/// can set) but which runs something else got that process SIGHUP.
#[test]
fn regression_dockerd_was_identified_by_its_name_only() {
    let h = Host::new();
    let mut impostor = Command::new("/bin/sh")
        .args(["-c", "printf dockerd > /proc/$$/comm; read line; exit 0"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = impostor.id();
    wait_for("the impostor's comm", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap() == "dockerd\n"
    });
    write(&h.path("/var/run/docker.pid"), format!("{pid}\n"), 0o644);
    let tree = h.tree();
    let out = h.run("install", &[]);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: pid {pid} is called dockerd but runs {:?}, not dockerd (a stale pidfile?); not \
             signalled: fix the pidfile or give --docker-pidfile, or --no-reload",
            h.path("/var/run/docker.pid").display(),
            exe.display().to_string()
        ),
    );
    assert_eq!(h.tree(), tree);
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), DAEMON_JSON);
    drop(impostor.stdin.take());
    assert!(impostor.wait().unwrap().success(), "the impostor was signalled");
}

/// dockerd found and checked, then gone before the SIGHUP, its pid taken by
/// another process: the SIGHUP went to that process. Made deterministic in
/// a pid namespace of its own: strace stops the installer just after it
/// writes daemon.json (the 4th rename: record, binary, backup,
/// daemon.json), the fake dockerd is killed, its pid handed to a `sleep`
/// (ns_last_pid), and the installer continued.
#[test]
fn regression_a_reused_pid_got_the_sighup_meant_for_dockerd() {
    if !require(&["strace", "unshare"]) || !require_root() {
        return;
    }
    let h = Host::new();
    let work = TempDir::new("pid-reuse");
    copy_executable(Path::new("/bin/sleep"), &work.join("dockerd"));
    std::fs::create_dir_all(h.path("/var/run")).unwrap();
    let script = r#"
        set -u
        "$WORK/dockerd" 600 & fake=$!
        until [ "$(cat /proc/$fake/comm)" = dockerd ]; do :; done
        echo $fake > "$ROOT/var/run/docker.pid" || exit 2
        strace -f -o "$WORK/trace" -e trace=/^renameat2?$ -e 'inject=/^renameat2?$:signal=STOP:when=4' \
            "$BIN" install --host-root "$ROOT" > "$WORK/out" 2>&1 & tracer=$!
        # strace says so once the installer is in its group-stop.
        until grep -q 'stopped by SIGSTOP' "$WORK/trace" 2>/dev/null; do
            kill -0 $tracer 2>/dev/null || { echo "installer ended without stopping"; cat "$WORK/out"; exit 2; }
        done
        installer=$(cat /proc/$tracer/task/$tracer/children)
        kill $fake; wait $fake
        echo $((fake - 1)) > /proc/sys/kernel/ns_last_pid
        sleep 600 & victim=$!
        [ $victim = $fake ] || { echo "pid $fake not reused (got $victim)"; exit 2; }
        kill -CONT $installer; wait $tracer; echo "installer exit $?"
        cat "$WORK/out"
        if kill -0 $victim 2>/dev/null; then echo "victim alive"; kill $victim; else echo "victim killed"; fi
    "#;
    // timeout only ends a run that hangs (a stop never continued).
    let out = Command::new("timeout")
        .args(["300", "unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script])
        .env("WORK", work.path())
        .env("ROOT", h.root.path())
        .env("BIN", bin())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(said.contains("installer exit 0\n"), "{said}");
    assert!(said.ends_with("victim alive\n"), "{said}");
    assert!(
        said.contains("): has exited since it was found, not signalled: it loads daemon.json when it starts"),
        "{said}"
    );
    assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/local/bin/oci-add-hooks");
}

/// uninstall with no socket to confirm dockerd's reload wrote the original
/// daemon.json back at once; dockerd, reloading after that write, kept the
/// runtime the file no longer had. Unconfirmed, the emptied `runtimes` is
/// left for dockerd to load. Also: the socket is found from dockerd's own
/// `-H` argument, not only at the default path.
#[test]
fn regression_an_unconfirmed_reload_raced_the_write_back() {
    if !require(&["dockerd", "docker"]) {
        return;
    }
    let dockerd = Dockerd::start(&json!({"log-level": "warn"}));
    let original = std::fs::read(dockerd.config()).unwrap();
    let node = TempDir::new("node");
    let (bin_dir, config_dir, config, pidfile) =
        (node.join("bin"), node.join("etc"), dockerd.config(), dockerd.pidfile());
    // The machine's own containerd and CRI-O are not this test's.
    let args = [
        "--host-root",
        "/",
        "--no-containerd",
        "--bin-dir",
        s(&bin_dir),
        "--config-dir",
        s(&config_dir),
        "--docker-config",
        s(&config),
        "--docker-pidfile",
        s(&pidfile),
    ];
    let run = |action: &str, more: &[&str]| {
        let out = Command::new(bin()).arg(action).args(args).args(more).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{action}: {}{}", stdout(&out), stderr(&out));
        stdout(&out)
    };
    // No --docker-socket: dockerd's `-H unix://DIR/docker.sock` is found.
    let said = run("install", &["--no-crio"]);
    assert!(
        said.contains(&format!(
            "dockerd (pid {}): SIGHUP sent, runtime oci-add-hooks visible in GET /info",
            dockerd.pid()
        )),
        "{said}"
    );
    assert!(runtimes(&dockerd).get("oci-add-hooks").is_some());

    let said = run("uninstall", &["--docker-socket", "/nonexistent/docker.sock"]);
    assert!(
        said.contains(&format!(
            "dockerd (pid {}): SIGHUP sent; not confirmed (no socket /nonexistent/docker.sock)",
            dockerd.pid()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "{}: left runtimes as dockerd was shown them (harmless): its reload could not be confirmed, and writing \
             the file back now could race it, after which dockerd would keep the runtime",
            config.display()
        )),
        "{said}"
    );
    let left: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(left, json!({"log-level": "warn", "runtimes": {}}));
    assert_ne!(std::fs::read(&config).unwrap(), original);
    wait_for("dockerd to drop the runtime", Duration::from_secs(30), || {
        runtimes(&dockerd).get("oci-add-hooks").is_none()
    });
}

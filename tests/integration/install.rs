//! `oci-add-hooks install` and `uninstall`, run as an operator or the
//! installer image runs them: into a temporary host root, and end to end
//! as a container of the installer image against a private dockerd.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
        Command::new(bin())
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
    let files = [h.daemon_json(), bin_path.clone(), hook.clone(), h.path("/etc/oci-add-hooks/installed.json"), bak.clone()];
    let stamps: Vec<_> = files.iter().map(|f| stamp(f)).collect();
    let tree = h.tree();
    std::thread::sleep(Duration::from_millis(20));
    let out = h.install(&["--hooks", s(&src)]);
    assert_eq!(files.iter().map(|f| stamp(f)).collect::<Vec<_>>(), stamps);
    assert_eq!(h.tree(), tree);
    assert!(stdout(&out).contains("daemon.json: already as wanted, unchanged"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("oci-add-hooks: already installed (sha256 {}), unchanged", sha256sum(bin()))), "{}", stdout(&out));

    // A hook file someone else put in hooks.d is not install's to remove.
    write(&h.path("/etc/oci-add-hooks/hooks.d/50-theirs.json"), r#"{"hooks": {}}"#, 0o644);

    let out = h.uninstall(&[]);
    assert_eq!(
        lines(&out),
        [
            format!("{root}/etc/docker/daemon.json: removed runtimes.oci-add-hooks"),
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
    // daemon.json is byte for byte what it was; only the backup and their
    // hook file remain of all this.
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), DAEMON_JSON);
    let mut want_tree = before.clone();
    want_tree.extend([
        "etc/docker/daemon.json.oci-add-hooks.bak 640".to_owned(),
        "etc/oci-add-hooks 755".into(),
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
        let h = Host::new();
        write(&h.daemon_json(), text, 0o644);
        let tree = h.tree();
        let out = h.run("install", &["--hooks", s(&h.hook_src())]);
        let reason = if why.is_empty() {
            "(top level): must be a JSON object".to_owned()
        } else {
            format!(
                "not valid JSON ({why}); dockerd accepts only plain JSON (no comments, nothing after the object), \
                 so it would not start with this file either: fix it, then run install again"
            )
        };
        assert_fails_with(
            &out,
            &format!("oci-add-hooks: {}: {reason} (the file is left unchanged)", h.daemon_json().display()),
        );
        assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), text);
        // Not a directory, binary, backup or temporary file more.
        assert_eq!(h.tree(), tree, "{text:?}");
        assert_eq!(stdout(&out), "");
    }
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
}

#[test]
fn help_lists_every_option_and_its_default() {
    for action in ["install", "uninstall"] {
        let out = Command::new(bin()).args([action, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = stdout(&out);
        for opt in [
            "--host-root DIR", "--bin-dir DIR", "--config-dir DIR", "--hooks PATH", "--runtime-path NAME",
            "--runtime-name NAME", "--set-default", "--no-docker", "--docker-config FILE", "--docker-pidfile FILE",
            "--docker-socket FILE", "--no-reload", "--containerd-config", "--wait", "--help",
        ] {
            assert!(help.contains(&format!("  {opt} ")), "{opt}: {help}");
        }
    }
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(stdout(&out).contains("oci-add-hooks install|uninstall [OPTIONS]"));
    let out = Command::new(bin()).args(["uninstall", "--wait"]).output().unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: uninstall: --wait: an install option (uninstall removes what install recorded) (see oci-add-hooks uninstall --help)",
    );
}

#[test]
fn set_default_records_the_previous_default_and_uninstall_puts_it_back() {
    let h = Host::new();
    let text = "{\"default-runtime\": \"nvidia\", \"runtimes\": {\"nvidia\": {\"path\": \"/usr/bin/nvidia-container-runtime\"}}}";
    write(&h.daemon_json(), text, 0o644);
    let out = h.install(&["--set-default"]);
    assert!(stdout(&out).contains("daemon.json: set default-runtime to \"oci-add-hooks\" (was \"nvidia\")"), "{}", stdout(&out));
    assert_eq!(h.config()["default-runtime"], "oci-add-hooks");
    // Installing again without --set-default gives the default back.
    let out = h.install(&[]);
    assert!(stdout(&out).contains("daemon.json: reset default-runtime to \"nvidia\""), "{}", stdout(&out));
    assert_eq!(h.config()["default-runtime"], "nvidia");
    h.install(&["--set-default"]);
    let out = h.uninstall(&[]);
    assert!(stdout(&out).contains("daemon.json: reset default-runtime to \"nvidia\""), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(h.daemon_json()).unwrap(), "{\"default-runtime\":\"nvidia\",\"runtimes\":{\"nvidia\":{\"path\":\"/usr/bin/nvidia-container-runtime\"}}}");
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

#[test]
fn a_missing_daemon_json_is_created_when_dockerd_has_a_pidfile_and_removed_again() {
    let h = Host::new();
    std::fs::remove_file(h.daemon_json()).unwrap();
    // No daemon.json and no pidfile: Docker is not set up here.
    let out = h.install(&[]);
    assert!(stdout(&out).contains("Docker is not set up here, skipped"), "{}", stdout(&out));
    assert!(!h.daemon_json().exists());
    h.uninstall(&[]);
    // A pidfile (of a dockerd that has stopped): daemon.json is created.
    // pid 2^22+1 is above Linux's pid_max limit, so never alive.
    write(&h.path("/var/run/docker.pid"), "4194305", 0o644);
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
    write(&bin_path, std::fs::read("/bin/sleep").unwrap(), 0o755);
    let mut running = Command::new(&bin_path).arg("60").spawn().unwrap();
    h.install(&["--no-docker"]);
    running.kill().unwrap();
    running.wait().unwrap();
    assert_eq!(std::fs::read(&bin_path).unwrap(), std::fs::read(bin()).unwrap());
    let entries: Vec<_> = std::fs::read_dir(h.path("/usr/local/bin")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["oci-add-hooks"]);
}

#[test]
fn wait_exits_0_on_sigterm_or_sigint_and_leaves_everything_installed() {
    for sig in [rustix::process::Signal::TERM, rustix::process::Signal::INT] {
        let h = Host::new();
        let mut child = Command::new(bin())
            .args(["install", "--wait", "--host-root", s(h.root.path())])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        while !seen.contains("waiting for SIGTERM") {
            let mut line = String::new();
            assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "exited early: {seen}");
            seen.push_str(&line);
        }
        // Still waiting a moment later.
        std::thread::sleep(Duration::from_millis(200));
        assert!(child.try_wait().unwrap().is_none());
        rustix::process::kill_process(rustix::process::Pid::from_child(&child), sig).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{sig:?}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        let name = if sig == rustix::process::Signal::TERM { "SIGTERM" } else { "SIGINT" };
        assert_eq!(rest, format!("{name}: exiting; everything stays installed\n"));
        assert!(h.path("/usr/local/bin/oci-add-hooks").exists());
        assert_eq!(h.config()["runtimes"]["oci-add-hooks"]["path"], "/usr/local/bin/oci-add-hooks");
    }
}

#[test]
fn the_containerd_dropin_is_read_by_real_containerd_and_removed_by_uninstall() {
    if !require(&["containerd"]) {
        return;
    }
    let h = Host::new();
    let out = h.install(&["--containerd-config", "--no-docker", "--runtime-name", "hooked"]);
    let dropin = h.path("/etc/containerd/conf.d/99-oci-add-hooks.toml");
    assert!(stdout(&out).contains("containerd: restart it to load runtime hooked"), "{}", stdout(&out));
    assert_eq!(std::fs::metadata(&dropin).unwrap().mode() & 0o7777, 0o644);
    // containerd's own view of a config.toml that imports the drop-in.
    let main = h.path("/etc/containerd/config.toml");
    write(&main, format!("version = 2\nimports = [\"{}\"]\n", h.path("/etc/containerd/conf.d/*.toml").display()), 0o644);
    let dump = Command::new("containerd").arg("--config").arg(&main).args(["config", "dump"]).output().unwrap();
    assert!(dump.status.success(), "{}", stderr(&dump));
    let text = stdout(&dump);
    let table = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hooked]";
    let at = text.find(table).unwrap_or_else(|| panic!("no runtime in containerd's config: {text}"));
    let section = &text[at..];
    assert!(section.contains("runtime_type = \"io.containerd.runc.v2\""), "{section}");
    let options = &section[section.find(".options]").unwrap()..];
    assert!(options.contains("BinaryName = \"/usr/local/bin/oci-add-hooks\""), "{options}");
    // A second install leaves it alone; uninstall removes it (and, without
    // a record, recognises it by its header).
    let st = stamp(&dropin);
    h.install(&["--containerd-config", "--no-docker", "--runtime-name", "hooked"]);
    assert_eq!(stamp(&dropin), st);
    h.uninstall(&["--no-docker"]);
    assert!(!dropin.exists());
    h.install(&["--containerd-config", "--no-docker"]);
    std::fs::remove_file(h.path("/etc/oci-add-hooks/installed.json")).unwrap();
    h.uninstall(&["--containerd-config", "--no-docker"]);
    assert!(!dropin.exists());
    assert!(!h.path("/usr/local/bin/oci-add-hooks").exists(), "the binary is this executable: ours");
}

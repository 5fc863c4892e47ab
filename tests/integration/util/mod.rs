//! Test support shared by every integration test: the built binary, temp
//! directories, bundles (bare, or with a busybox rootfs for real runc),
//! hook files, a recording runtime, and private engines (dockerd,
//! podman) with a busybox image made on the machine, and a
//! private node for containerd (node.rs, tests only) of each containerd
//! release the tests run (release.rs, tests only).
//!
//! Real components only. A missing tool makes `require` skip the test with
//! a message, except under `CI=true`, where it fails the test: CI must
//! never go green on a test that did not run.
//!
//! The benches (benches/shim.rs and benches/docker.rs, plain programs with
//! `harness = false`) use parts of this too. rustc reports what a program
//! never uses as dead code, so rather than include all of it and silence
//! that, each bench `#[path]`-includes only the files of which it uses
//! every item:
//!
//! - basics.rs, in both benches: the binary, `require`, `TempDir`,
//!   `write`, `hook_file`;
//! - bundle.rs, in benches/shim.rs: `Bundle`, `DOCKER_CONFIG`,
//!   `large_config`;
//! - dockerd.rs, in benches/docker.rs: `Dockerd`, with what the other
//!   engines here also use (the busybox rootfs and its tar, stopping a
//!   daemon, unmounting what it left) and `stderr`.
//!
//! Everything only the tests use is in this file, including the methods of
//! `Bundle` and `Dockerd` that no bench calls, in a second `impl` of each
//! (so `Dockerd`'s pidfile and `daemon.json` are methods: a field only the
//! tests read would be dead in benches/docker.rs). A bench declares the
//! files it includes as modules of the same names at its root, so the files
//! name each other as `super::basics` there as here.

mod basics;
mod bundle;
mod dockerd;
mod node;
#[macro_use]
mod release;

pub use basics::*;
pub use bundle::*;
pub use dockerd::*;
pub use node::*;
pub use release::*;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The qemu-user emulator the binary under test needs, if the kernel cannot
/// run it directly: `cargo test --target aarch64-unknown-linux-musl` on an
/// x86_64 host runs the test binary under cargo's runner
/// (qemu-aarch64-static), but a program the tests start is run by the host
/// kernel, which without a binfmt_misc entry fails with ENOEXEC.
pub fn emulator() -> Option<&'static str> {
    static EMULATOR: OnceLock<Option<String>> = OnceLock::new();
    EMULATOR
        .get_or_init(|| {
            let direct = Command::new(bin()).arg("--version").stdin(Stdio::null()).output();
            match direct {
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOEXEC.raw_os_error()) => {
                    // By its full path: tests run the shim with a PATH of
                    // their own, which need not lead to the emulator.
                    let qemu = format!("qemu-{}-static", std::env::consts::ARCH);
                    Some(which(&qemu).map_or(qemu, |p| p.display().to_string()))
                }
                _ => None,
            }
        })
        .as_deref()
}

/// A command running `program`, a binary built for the tests' target, with
/// the emulator in front when it needs one (qemu-user passes `program` as
/// argv[0], so a link's name still reaches the shim).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    match emulator() {
        Some(qemu) => {
            let mut cmd = Command::new(qemu);
            cmd.arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Whether a test that cannot work under qemu-user emulation can run here;
/// `why` says what it needs. Chiefly: the host executing the shim itself
/// (dockerd, containerd or podman calling it as their runtime), which the
/// host kernel refuses for a foreign binary. Such a test is then not run,
/// even under CI=true, since `make test` runs it natively as well;
/// everything else runs in both.
pub fn native_only(why: &str) -> bool {
    match emulator() {
        Some(qemu) => {
            eprintln!("not run under {qemu}: {why}");
            false
        }
        None => true,
    }
}

/// Whether the tests run as root (mounts, chown). Not root under CI=true
/// fails the test; elsewhere it is skipped with a message saying so.
pub fn require_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    let msg = "needs root (mounts a file system)";
    assert!(!ci(), "{msg}");
    eprintln!("not run: {msg}");
    false
}

/// A hook that appends `<label>` to `<marker_dir>/hooks.log` (with /bin/sh,
/// which exists on the host and in the busybox rootfs alike).
pub fn marker_hook(marker_dir: &Path, label: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo {label} >> {}/hooks.log", marker_dir.display())],
    })
}

/// A hook file `name` in `dir` with one marker hook per stage, each
/// labelled with its stage's name.
pub fn marker_hooks_file(dir: &Path, name: &str, marker_dir: &Path, stages: &[&str]) -> PathBuf {
    let hooks: serde_json::Map<String, Value> =
        stages.iter().map(|s| ((*s).to_owned(), json!([marker_hook(marker_dir, s)]))).collect();
    hook_file(dir, name, &json!({ "hooks": hooks }))
}

/// The paths of the hooks of `stage` in a spec, in order.
pub fn hook_paths(config: &Value, stage: &str) -> Vec<String> {
    config["hooks"][stage]
        .as_array()
        .map(|a| a.iter().map(|h| h["path"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// The lines the marker hooks wrote, in order.
pub fn markers(marker_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(marker_dir.join("hooks.log")).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// What only the tests ask of bundles (benches/shim.rs puts its own on
/// tmpfs, with `with_config_in`).
impl Bundle {
    pub fn with_config(config: impl AsRef<[u8]>) -> Bundle {
        Bundle::with_config_in(&std::env::temp_dir(), config)
    }

    /// A bundle of the real Docker `config.json`.
    pub fn docker() -> Bundle {
        Bundle::with_config(DOCKER_CONFIG)
    }

    /// A runnable bundle: `runc spec`'s config (no terminal, running
    /// `args`), a busybox rootfs, and `marker_dir` bind-mounted at the same
    /// path so hooks inside the container write where the test reads.
    pub fn busybox(args: &[&str], marker_dir: &Path) -> Bundle {
        let dir = TempDir::new("bundle");
        let out = Command::new("runc").args(["spec", "--bundle"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "runc spec: {}", String::from_utf8_lossy(&out.stderr));
        let mut spec: Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(args);
        spec["root"]["readonly"] = json!(false);
        spec["mounts"].as_array_mut().unwrap().push(json!({
            "destination": marker_dir,
            "type": "bind",
            "source": marker_dir,
            "options": ["rbind", "rw"],
        }));
        write(&dir.join("config.json"), serde_json::to_vec_pretty(&spec).unwrap(), 0o644);
        busybox_rootfs(&dir.join("rootfs"));
        Bundle { dir }
    }

    pub fn config(&self) -> Value {
        serde_json::from_slice(&self.config_bytes()).unwrap()
    }
}

/// A mount made by a test, unmounted when dropped.
pub struct Mount {
    target: PathBuf,
}

impl Mount {
    /// A tmpfs of `size` (as mount(8) takes it: `64k`) at `target`.
    pub fn tmpfs(target: &Path, size: &str) -> Mount {
        mount(&["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"], &[target]);
        Mount { target: target.to_owned() }
    }

    /// `target` bind-mounted read-only on itself: root ignores mode bits,
    /// not a read-only mount.
    pub fn read_only(target: &Path) -> Mount {
        mount(&["--bind"], &[target, target]);
        let m = Mount { target: target.to_owned() };
        mount(&["-o", "remount,bind,ro"], &[target]);
        m
    }
}

fn mount(args: &[&str], paths: &[&Path]) {
    // -n: no /run/mount/utab, which mount(8) would otherwise make on a
    // machine that has none (tests/leftovers.sh).
    let out = Command::new("mount").arg("-n").args(args).args(paths).output().unwrap();
    assert!(out.status.success(), "mount {args:?} {paths:?}: {}", stderr(&out));
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-n").arg(&self.target).status();
    }
}

/// A runtime that records its argv (one per line), its PID and the file
/// descriptors it was given into `dir`, copies its stdin if asked, and exits
/// with `$RECORD_EXIT` (default 0).
pub struct Recorder {
    pub dir: TempDir,
    pub path: PathBuf,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::named("recording-runtime")
    }

    pub fn named(name: &str) -> Recorder {
        let dir = TempDir::new("recorder");
        let path = dir.join(name);
        let out = dir.path().display();
        write(
            &path,
            format!(
                "#!/bin/sh\n\
                 printf '%s\\n' \"$@\" > {out}/argv\n\
                 echo $$ > {out}/pid\n\
                 ls /proc/$$/fd > {out}/fds\n\
                 if [ -n \"$RECORD_STDIN\" ]; then cat > {out}/stdin; fi\n\
                 if [ \"$1\" = --version ]; then echo \"recording-runtime version 1\"; fi\n\
                 exit ${{RECORD_EXIT:-0}}\n"
            ),
            0o755,
        );
        Recorder { dir, path }
    }

    /// The arguments it was run with, or None if it never ran.
    pub fn argv(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.join("argv")).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }

    pub fn ran(&self) -> bool {
        self.dir.join("argv").exists()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

/// The shim, with no configuration from the environment this test runs in.
pub fn shim() -> Command {
    let mut cmd = command(bin());
    cmd.env_remove("OCI_ADD_HOOKS_CONFIG").env_remove("OCI_ADD_HOOKS_RUNTIME");
    cmd.stdin(Stdio::null());
    cmd
}

/// Finishes `cmd` (a shim, with any options of its own already given) as
/// a container engine's `create` of `bundle` with `runtime` behind it, and
/// runs it.
pub fn create_with(cmd: &mut Command, runtime: &Recorder, bundle: &Bundle) -> Output {
    cmd.arg("--runtime-path")
        .arg(&runtime.path)
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg("ctr")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a failure: exit 1, exactly one stderr line equal to `message`.
pub fn assert_fails_with(out: &Output, message: &str) {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    assert_eq!(stderr(out), format!("{message}\n"));
}

/// Waits until `cond` holds, or panics after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What only the tests (the installer's) ask of a private dockerd.
impl Dockerd {
    /// Its `daemon.json`.
    pub fn config(&self) -> PathBuf {
        self.dir.join(dockerd::DAEMON_JSON)
    }

    pub fn pidfile(&self) -> PathBuf {
        self.dir.join(dockerd::PIDFILE)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Podman with all of its state under a temp dir: storage (`--root`,
/// `--runroot`, vfs), its own `--tmpdir`, a `containers.conf` of its own
/// (`CONTAINERS_CONF`), cgroupfs and file events (no systemd needed), and
/// an empty `--hooks-dir` unless one is given, so no hook directory of the
/// machine is read.
pub struct Podman {
    pub dir: TempDir,
    /// Its `containers.conf`.
    conf: PathBuf,
}

/// The rlimits podman must be given here (the defaults exceed the hard
/// limit on these machines).
pub const PODMAN_ULIMITS: [&str; 4] = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

impl Podman {
    /// `runtime_env` reaches the runtime podman runs through conmon
    /// (create, start, exec): podman does not pass its own environment on.
    pub fn new(runtime_env: &[(&str, &OsStr)]) -> Podman {
        // In the system temp dir, not under `temp_root()`: podman refuses a
        // runroot path longer than 50 characters, and nothing here is a hook
        // file the shim reads (those are in temp dirs of their own).
        let dir = TempDir::new_in(&std::env::temp_dir(), "podman");
        std::fs::create_dir_all(dir.join("no-hooks")).unwrap();
        let mut vars = vec![format!("PATH={}", std::env::var("PATH").unwrap_or_default())];
        vars.extend(runtime_env.iter().map(|(k, v)| format!("{k}={}", v.to_string_lossy())));
        let conf = dir.join("containers.conf");
        write(&conf, format!("[engine]\nconmon_env_vars = {vars:?}\n"), 0o644);
        Podman { dir, conf }
    }

    /// A podman command with the isolation options; `args` follow.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", &self.conf)
            .env_remove("OCI_ADD_HOOKS_CONFIG")
            .env_remove("OCI_ADD_HOOKS_RUNTIME")
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .stdin(Stdio::null());
        cmd
    }

    /// Runs podman with `global` options (before the subcommand; the
    /// default `--hooks-dir` is an empty one) and `args`.
    pub fn run<S: AsRef<OsStr>>(&self, global: &[S], args: &[S]) -> Output {
        let mut cmd = self.command();
        let has_hooks_dir = global.iter().any(|a| a.as_ref() == "--hooks-dir");
        if !has_hooks_dir {
            cmd.arg("--hooks-dir").arg(self.dir.join("no-hooks"));
        }
        cmd.args(global).args(args).output().unwrap()
    }

    /// Imports a busybox rootfs as image `name` (`podman import`).
    pub fn import_busybox(&self, name: &str) {
        let tar = self.dir.join("busybox.tar");
        busybox_tar(&tar);
        let out = self.run(&[] as &[OsString], &["import".into(), tar.into_os_string(), name.into()]);
        assert!(out.status.success(), "podman import: {}", stderr(&out));
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&[] as &[&str], &["rm", "--all", "--force", "--time", "0"]);
        unmount_under(&[self.dir.join("runroot"), self.dir.join("root")]);
    }
}

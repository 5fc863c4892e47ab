//! Test support shared by every integration test: the built binary, temp
//! directories, bundles (bare, or with a busybox rootfs for real runc),
//! hook files, a recording runtime, and a private dockerd.
//!
//! Real components only. A missing tool makes `require` skip the test with
//! a message, except under `CI=true`, where it fails the test: CI must
//! never go green on a test that did not run.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The binary under test, built by cargo for this test run.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_oci-add-hooks"))
}

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

/// The Docker 20.10 `config.json` from shared/fixtures (it carries Docker's
/// own prestart hook).
pub const DOCKER_CONFIG: &str = include_str!("../fixtures/docker-config.json");

pub fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true")
}

/// Whether every tool is on PATH. Missing under CI=true fails the test;
/// elsewhere the test is skipped with a message saying so.
pub fn require(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| which(t).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("missing {missing:?}: run `make deps` (under CI=true this fails the test)");
    assert!(!ci(), "{msg}");
    eprintln!("not run: {msg}");
    false
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// A directory removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("oah-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Hook directories must not be group/other-writable, whatever the umask.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a file with the given mode.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>, mode: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes a hook file (mode 0644) and returns its path.
pub fn hook_file(dir: &Path, name: &str, config: &Value) -> PathBuf {
    let path = dir.join(name);
    write(&path, serde_json::to_vec_pretty(config).unwrap(), 0o644);
    path
}

/// A hook that appends `<label>` to `<marker_dir>/hooks.log` (with /bin/sh,
/// which exists on the host and in the busybox rootfs alike).
pub fn marker_hook(marker_dir: &Path, label: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo {label} >> {}/hooks.log", marker_dir.display())],
    })
}

/// The lines the marker hooks wrote, in order.
pub fn markers(marker_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(marker_dir.join("hooks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A bundle directory holding a `config.json`.
pub struct Bundle {
    pub dir: TempDir,
}

impl Bundle {
    pub fn with_config(config: impl AsRef<[u8]>) -> Bundle {
        let dir = TempDir::new("bundle");
        write(&dir.join("config.json"), config, 0o644);
        Bundle { dir }
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

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_path()).unwrap()
    }

    pub fn config(&self) -> Value {
        serde_json::from_slice(&self.config_bytes()).unwrap()
    }

    /// Every file in the bundle directory (temporary files included).
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// A root filesystem of the host's static busybox and its applets.
pub fn busybox_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.contains('/') {
            let _ = symlink("busybox", bin.join(applet));
        }
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
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

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// A private Docker engine: its own data root, exec root, socket, pidfile
/// and `daemon.json` under a temp dir; stopped (and its containers with it)
/// when dropped.
pub struct Dockerd {
    pub dir: TempDir,
    pub socket: PathBuf,
    pub pidfile: PathBuf,
    pub config: PathBuf,
    child: std::process::Child,
}

impl Dockerd {
    /// Starts dockerd with `daemon_json` and waits until it answers.
    pub fn start(daemon_json: &Value) -> Dockerd {
        let dir = TempDir::new("dockerd");
        let socket = dir.join("docker.sock");
        let pidfile = dir.join("docker.pid");
        let config = dir.join("daemon.json");
        write(&config, serde_json::to_vec_pretty(daemon_json).unwrap(), 0o644);
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--config-file")
            .arg(&config)
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut d = Dockerd { dir, socket, pidfile, config, child };
        let start = Instant::now();
        loop {
            if d.docker(&["version"]).status.success() {
                break;
            }
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("dockerd exited ({status}): {}", d.log());
            }
            assert!(start.elapsed() < Duration::from_secs(60), "dockerd did not start: {}", d.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs the docker CLI against this engine.
    pub fn docker<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Imports a busybox rootfs as image `name`.
    pub fn import_busybox(&self, name: &str) {
        let rootfs = TempDir::new("rootfs");
        busybox_rootfs(rootfs.path());
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs.path())
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(["import", "-", name])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(tar.wait().unwrap().success(), "tar of the busybox rootfs failed");
        assert!(out.status.success(), "docker import: {}", stderr(&out));
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Mounts dockerd may have left under the data root would make the
        // temp dir impossible to remove.
        for dir in ["exec", "data"] {
            let _ = Command::new("umount")
                .arg("-R")
                .arg(self.dir.join(dir))
                .stderr(Stdio::null())
                .status();
        }
    }
}

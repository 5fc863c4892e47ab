//! A private Docker engine, and what the other engines (containerd and
//! podman, in mod.rs) are also built from: a busybox root filesystem and
//! its tar, stopping a daemon and unmounting what it left; and `stderr`, for
//! the message of a command that failed. benches/docker.rs includes this
//! file (see mod.rs): everything in it must be used by that bench. The
//! methods of `Dockerd` only the tests use are in mod.rs.

use std::ffi::OsStr;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::basics::{write, TempDir};

/// A root filesystem of the host's static busybox and its applets.
pub fn busybox_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    copy_executable(Path::new("/bin/busybox"), &bin.join("busybox"));
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.contains('/') {
            let _ = symlink("busybox", bin.join(applet));
        }
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
}

/// A tar of a busybox root filesystem, written to `path` (the layer every
/// engine imports: nothing can be pulled here).
pub fn busybox_tar(path: &Path) {
    let rootfs = TempDir::new("rootfs");
    busybox_rootfs(rootfs.path());
    let out = Command::new("tar").arg("-C").arg(rootfs.path()).arg("-cf").arg(path).arg(".").output().unwrap();
    assert!(out.status.success(), "tar of the busybox rootfs: {}", stderr(&out));
}

/// Stops a daemon: SIGTERM, up to 30 s to exit, then SIGKILL.
pub fn stop_daemon(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Unmounts whatever an engine left mounted under `dirs`, so the temp dir
/// can be removed.
pub fn unmount_under(dirs: &[PathBuf]) {
    for d in dirs {
        let _ = Command::new("umount").arg("-R").arg(d).stderr(Stdio::null()).status();
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A private Docker engine: its own data root, exec root, socket, pidfile
/// and `daemon.json` under a temp dir; stopped (and its containers with it)
/// when dropped.
pub struct Dockerd {
    pub dir: TempDir,
    pub socket: PathBuf,
    pub(super) child: Child,
}

/// Its pidfile and `daemon.json`, in `dir`.
pub(super) const PIDFILE: &str = "docker.pid";
pub(super) const DAEMON_JSON: &str = "daemon.json";

impl Dockerd {
    /// Starts dockerd with `daemon_json` and waits until it answers.
    pub fn start(daemon_json: &Value) -> Dockerd {
        let dir = TempDir::new("dockerd");
        let socket = dir.join("docker.sock");
        let pidfile = dir.join(PIDFILE);
        let config = dir.join(DAEMON_JSON);
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
        let mut d = Dockerd { dir, socket, child };
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
        let tar = self.dir.join("busybox.tar");
        busybox_tar(&tar);
        let out = self.docker(&[OsStr::new("import"), tar.as_os_str(), OsStr::new(name)]);
        assert!(out.status.success(), "docker import: {}", stderr(&out));
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        stop_daemon(&mut self.child);
        // Mounts dockerd may have left under the data root would make the
        // temp dir impossible to remove.
        unmount_under(&[self.dir.join("exec"), self.dir.join("data")]);
    }
}

/// Copies the executable `from` to `to` (its mode kept) by a child process,
/// `cp`, for the reason `basics::write` gives.
pub fn copy_executable(from: &Path, to: &Path) {
    let out = std::process::Command::new("cp").arg(from).arg(to).output().unwrap();
    assert!(out.status.success(), "cp {} {}: {}", from.display(), to.display(), String::from_utf8_lossy(&out.stderr));
}

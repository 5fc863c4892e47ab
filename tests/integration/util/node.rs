//! A private node: containerd on its real default paths (`/etc/containerd`,
//! `/run/containerd`, `/var/lib/containerd`, ...) with a real-world
//! `config.toml`, under a supervisor that restarts it as systemd's
//! `Restart=always` does, while nothing it writes reaches the machine.
//! Only the tests use this file (the benches never include it).
//!
//! A holder process (`unshare --mount --propagation private sleep
//! infinity`) owns a mount namespace in which each path of `PRIVATE` is
//! covered by a directory of the node's own (a tmpfs for `/run/containerd`
//! and `/run/nri`).
//! Commands enter it with `nsenter -t HOLDER -m`. It shares the tests' PID
//! namespace, so a pid means the same inside and out (the installer finds
//! containerd by its socket's peer pid and signals it).
//!
//! Dropping a Node stops its tasks, containerd, the shims, the containers
//! and the holder, even after a failed test; with the last of them the
//! namespace goes, and every mount made in it. What must never be done
//! here: mount anything outside the holder's namespace, or touch a path of
//! the machine's containerd.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use super::basics::{write, TempDir};
use super::dockerd::{busybox_tar, stderr};
use super::release::{Release, BINARIES};

/// The paths a node makes its own, each for a reason.
const PRIVATE: &[&str] = &[
    // config.toml, which the tests write and the installer edits.
    "/etc/containerd",
    // containerd's `state`, and hard-wired in 1.6 whatever `state` says:
    // the shims' sockets (/run/containerd/s), runc's --root
    // (/run/containerd/runc/NAMESPACE) and ctr's FIFOs (/run/containerd/fifo)
    // (measured with Debian's containerd 1.6.20). A tmpfs, as /run is on a
    // real node.
    "/run/containerd",
    // NRI's socket (`/var/run/nri/nri.sock`), which 2.x serves by default
    // (measured with 2.1.9: it made /run/nri on the machine). A tmpfs too.
    "/run/nri",
    // containerd's `root`: images, snapshots, CRI's sandboxes.
    "/var/lib/containerd",
    // The opt plugin's directory in `containerd config default`'s config
    // (Debian's points it under /var/lib/containerd).
    "/opt/containerd",
    // CRI's CNI `conf_dir`, which it creates and watches.
    "/etc/cni/net.d",
    // The installer's default --bin-dir: its copy of the binary is the
    // runtime's BinaryName.
    "/usr/local/bin",
    // The installer's default --config-dir, where the shim reads hooks.d.
    "/etc/oci-add-hooks",
    // Docker's daemon.json: an install run inside without --no-docker
    // writes the node's, not the machine's (a dockerd of the machine would
    // still be found by its pidfile: the tests pass --no-docker).
    "/etc/docker",
];

/// The paths of `PRIVATE` that are a tmpfs of the node's, as on a node,
/// rather than a directory of its temp dir.
const TMPFS: &[&str] = &["/run/containerd", "/run/nri"];

/// The tools a node needs; a test checks them with `require` first (and
/// `require_root`: it mounts).
pub const NODE_TOOLS: &[&str] =
    &["unshare", "nsenter", "mount", "containerd", "ctr", "containerd-shim-runc-v2", "runc"];

/// Debian 12's `/etc/containerd/config.toml` as its containerd package
/// (1.6.20~ds1-1+deb12u3) installs it, byte for byte.
pub const DEBIAN_CONFIG: &str = "version = 2

[plugins]
  [plugins.\"io.containerd.grpc.v1.cri\"]
    [plugins.\"io.containerd.grpc.v1.cri\".cni]
      bin_dir = \"/usr/lib/cni\"
      conf_dir = \"/etc/cni/net.d\"
  [plugins.\"io.containerd.internal.v1.opt\"]
    path = \"/var/lib/containerd/opt\"
";

/// The busybox image a node imports (`import_images`), for containers and
/// pods alike.
pub const NODE_IMAGE: &str = "docker.io/library/oah-busybox:latest";

/// How long containerd, a task or the clean-up may take: generous, since
/// the machine is shared and may be loaded; every wait is a poll.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The supervisor's pause between an exit and the next start (systemd's
/// RestartSec; Debian's containerd.service has 5 s, which would only make
/// the tests slower).
const RESTART_DELAY: Duration = Duration::from_millis(100);

/// `config` with CRI's `restrict_oom_score_adj = true`, which CRI pods need
/// on this machine and not on a real node. This machine's fact: its
/// processes lack CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj to
/// the -998 CRI gives a sandbox and RunPodSandbox fails (`nsexec: failed to
/// update /proc/self/oom_score_adj: Permission denied`); restricted, the
/// sandbox keeps containerd's own (measured with containerd 1.6.20).
pub fn with_restricted_oom_score_adj(config: &str) -> String {
    if config.contains("restrict_oom_score_adj = false") {
        return config.replacen("restrict_oom_score_adj = false", "restrict_oom_score_adj = true", 1);
    }
    let header = "[plugins.\"io.containerd.grpc.v1.cri\"]\n";
    let at = config.find(header).unwrap_or_else(|| panic!("no CRI plugin table in:\n{config}")) + header.len();
    format!("{}    restrict_oom_score_adj = true\n{}", &config[..at], &config[at..])
}

/// A private node running containerd under a supervisor; see the module
/// docs. Stopped, and every trace of it removed, when dropped.
pub struct Node {
    /// The containerd release it runs.
    pub release: Release,
    /// Everything of the node's: the directories behind `PRIVATE`, the
    /// overlays' upper layers, containerd's log, the image archive.
    pub dir: TempDir,
    holder: Child,
    /// The holder's mount namespace (`mnt:[INODE]`): a process in it is the
    /// node's.
    ns: String,
    /// The cgroup (cgroupfs) under which the node's containers run.
    cgroup: String,
    supervision: Arc<Supervision>,
    supervisor: Option<JoinHandle<()>>,
    /// What containerd gets in its environment besides the tests' own.
    env: Vec<(String, OsString)>,
}

/// What the supervisor thread and the test share.
#[derive(Default)]
struct Supervision {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The containerd running now, if one is.
    pid: Option<u32>,
    /// How many times containerd has been started.
    starts: u32,
    /// Whether an exit is followed by a new start.
    restart: bool,
    /// Whether the supervisor thread runs (it clears this as it ends).
    supervising: bool,
    /// How the last containerd ended.
    last_exit: Option<ExitStatus>,
    /// Why starting containerd failed, if it did (nothing is retried).
    spawn_error: Option<String>,
}

impl Supervision {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not keep Drop from stopping containerd.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Node {
    /// A node of containerd `release` whose `/etc/containerd/config.toml`
    /// is `config_toml` (None: no config.toml, so containerd runs on its
    /// built-in defaults), with containerd started (plain `containerd`, as
    /// containerd.service runs it) and serving.
    pub fn start(release: &Release, config_toml: Option<&str>) -> Node {
        Node::start_with_env(release, config_toml, &[])
    }

    /// The same, containerd started with `env` added to its environment
    /// (which it passes on to the shims it starts, and they to the runtime).
    pub fn start_with_env(release: &Release, config_toml: Option<&str>, env: &[(&str, &OsStr)]) -> Node {
        let dir = TempDir::new("node");
        let name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut node = Node {
            release: release.clone(),
            dir,
            ns: String::new(),
            cgroup: format!("/{name}"),
            holder,
            supervision: Arc::default(),
            supervisor: None,
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        node.ns = node.wait_for_namespace();
        node.make_private();
        node.bind_release();
        if let Some(config) = config_toml {
            write(&node.etc_containerd().join("config.toml"), config, 0o644);
        }
        {
            let mut s = node.supervision.lock();
            s.restart = true;
            s.supervising = true;
        }
        node.supervise();
        node.wait_serving();
        node
    }

    /// Waits until the holder has its own mount namespace, made private (it
    /// runs `sleep` once unshare(1) has done both): a command entering it
    /// earlier would mount on the machine.
    fn wait_for_namespace(&mut self) -> String {
        let ours = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let proc = PathBuf::from(format!("/proc/{}", self.holder.id()));
        let start = Instant::now();
        loop {
            let comm = std::fs::read_to_string(proc.join("comm")).unwrap_or_default();
            let ns = std::fs::read_link(proc.join("ns/mnt")).ok();
            if comm == "sleep\n" && ns.as_ref().is_some_and(|ns| *ns != ours) {
                return ns.unwrap_or_default().to_string_lossy().into_owned();
            }
            if let Ok(Some(status)) = self.holder.try_wait() {
                panic!("unshare --mount exited ({status})");
            }
            assert!(start.elapsed() < TIMEOUT, "no private mount namespace after {TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Covers each path of `PRIVATE` inside the namespace. One that does not
    /// exist on the machine is first made creatable: its nearest existing
    /// ancestor gets an overlay whose upper layer is the node's, so the
    /// mount point is created there and not on the machine.
    ///
    /// The node's own directories (its layers, the directories behind
    /// `PRIVATE`) and the tests' other temp dirs are under the tests' temp
    /// root, which may itself be under such an ancestor (`/run`, on a fresh
    /// machine without `/run/containerd` and a clone whose `target/tmp` the
    /// shim would not trust). Seen through that overlay, a later layer
    /// would sit on an overlay (the kernel refuses it as an upper dir:
    /// "wrong fs type"), and what runs in the node would write to the
    /// overlay rather than where the tests read. So one shell does all the
    /// mounts: it opens the temp root before the first overlay, names every
    /// layer and every bind's source through that descriptor
    /// (`/proc/self/fd/3/...`, the directory itself, not the overlay's
    /// view of it; `--no-canonicalize`, or mount(8) would resolve that
    /// name back to the overlaid one), and binds the temp root back over
    /// its overlaid view. `-n`: mount(8) would otherwise make
    /// `/run/mount/utab`, before `/run` is the node's, on the machine.
    fn make_private(&self) {
        let mut ancestors: Vec<&Path> = PRIVATE
            .iter()
            .map(Path::new)
            .filter(|p| !p.exists())
            .filter_map(|p| p.ancestors().find(|a| a.exists()))
            .collect();
        // Outer first: an overlay hides what is mounted below it.
        ancestors.sort_by_key(|a| a.components().count());
        ancestors.dedup();
        let root = self.dir.path().parent().unwrap();
        let real = |p: &Path| format!("/proc/self/fd/3/{}", p.strip_prefix(root).unwrap().display());
        let mut script = format!("set -e\nexec 3< {}\n", quoted(root));
        for (i, lower) in ancestors.iter().enumerate() {
            let layer = self.dir.join(format!("overlay-{i}"));
            std::fs::create_dir_all(layer.join("upper")).unwrap();
            std::fs::create_dir_all(layer.join("work")).unwrap();
            let options = format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.display(),
                real(&layer.join("upper")),
                real(&layer.join("work"))
            );
            script += &format!("mount -n -t overlay overlay -o {} {}\n", quoted(Path::new(&options)), quoted(lower));
        }
        if ancestors.iter().any(|a| root.starts_with(a)) {
            script += &format!("mount -n --no-canonicalize --bind /proc/self/fd/3 {}\n", quoted(root));
        }
        for path in PRIVATE {
            script += &format!("mkdir -p {path}\n");
            if TMPFS.contains(path) {
                script += &format!("mount -n -t tmpfs -o mode=0711 tmpfs {path}\n");
            } else {
                let own = self.private_dir(path);
                std::fs::create_dir_all(&own).unwrap();
                script += &format!("mount -n --no-canonicalize --bind {} {path}\n", quoted(Path::new(&real(&own))));
            }
        }
        self.must(Command::new("sh").arg("-c").arg(&script));
    }

    /// The release's `BINARIES` bound over `/usr/bin`'s, where the machine's
    /// own are, so that whatever runs `containerd`, `ctr` or the shim in the
    /// node (the supervisor, the tests, the installer on `--host-root /`,
    /// containerd starting a shim) runs the release's.
    fn bind_release(&self) {
        if self.release.is_machines() {
            return;
        }
        for b in BINARIES {
            let at = Path::new("/usr/bin").join(b);
            assert!(
                at.is_file(),
                "no {} on the machine to bind containerd {}'s over",
                at.display(),
                self.release.version
            );
            self.must(Command::new("mount").args(["-n", "--bind"]).arg(self.release.bin(b)).arg(&at));
        }
        let out = self.must(Command::new("containerd").arg("--version"));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(self.release.version), "containerd in the node is not {}: {said}", self.release.version);
    }

    /// Runs `cmd` inside and asserts that it succeeded.
    fn must(&self, cmd: &mut Command) -> Output {
        let out = self.run(cmd);
        assert!(out.status.success(), "{cmd:?} in the node: {}", stderr(&out));
        out
    }

    /// The directory behind `path` (one of the paths the node makes
    /// private, e.g. `/usr/local/bin`), to read and write from outside.
    pub fn private_dir(&self, path: &str) -> PathBuf {
        assert!(PRIVATE.contains(&path) && !TMPFS.contains(&path), "{path} is not a directory of the node's");
        self.dir.join(path.trim_start_matches('/').replace('/', "-"))
    }

    /// The directory behind `/etc/containerd`.
    pub fn etc_containerd(&self) -> PathBuf {
        self.private_dir("/etc/containerd")
    }

    /// `path` as the node sees it, reachable from outside (through the
    /// holder's root), e.g. a file under `/run/containerd`.
    pub fn path(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.holder.id())).join(path.trim_start_matches('/'))
    }

    /// The cgroup (cgroupfs, `/NAME`) to run the node's containers under:
    /// unique to the node, removed with it.
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup
    }

    /// A command running `program` inside the node; the working directory is
    /// the tests' (entering a mount namespace would leave it at `/`).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.enter(None);
        cmd.arg(program);
        cmd
    }

    fn enter(&self, wd: Option<&Path>) -> Command {
        let wd = wd.map_or_else(|| std::env::current_dir().unwrap(), Path::to_owned);
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t").arg(self.holder.id().to_string()).arg("-m").arg(format!("--wd={}", wd.display())).arg("--");
        cmd
    }

    /// Runs `cmd` (its program, arguments, environment changes and working
    /// directory) inside the node, with stdin from /dev/null.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let mut inside = self.enter(cmd.get_current_dir());
        inside.arg(cmd.get_program()).args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => inside.env(k, v),
                None => inside.env_remove(k),
            };
        }
        inside.stdin(Stdio::null()).output().unwrap()
    }

    /// Runs `ctr` inside, against the node's containerd (the default socket).
    pub fn ctr<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.run(Command::new("ctr").args(args))
    }

    /// `containerd config dump` inside: the configuration containerd would
    /// run with. Fails the test when containerd refuses it (as 1.x does
    /// when there is no config.toml).
    pub fn dump(&self) -> String {
        let out = self.run(Command::new("containerd").args(["config", "dump"]));
        assert!(out.status.success(), "containerd config dump in the node: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// containerd's output, every start appended.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// The supervisor: a thread that starts containerd, waits for it to
    /// exit, and starts it again after `RESTART_DELAY` while `restart` holds.
    /// `supervising` is set before it is called.
    fn supervise(&mut self) {
        let (holder, log) = (self.holder.id(), self.dir.join("containerd.log"));
        let supervision = Arc::clone(&self.supervision);
        let mut containerd = self.enter(Some(Path::new("/")));
        // As the shims and the runtime inherit containerd's environment, the
        // shim must not find the tests' own configuration there.
        containerd.arg("containerd").env_remove("OCI_ADD_HOOKS_CONFIG").env_remove("OCI_ADD_HOOKS_RUNTIME");
        containerd.envs(self.env.iter().map(|(k, v)| (k, v)));
        self.supervisor = Some(std::thread::spawn(move || loop {
            let mut child = {
                let mut s = supervision.lock();
                if !s.restart {
                    s.supervising = false;
                    return;
                }
                let log = std::fs::OpenOptions::new().create(true).append(true).open(&log);
                // Started under the lock: whoever sees this containerd serve
                // and then asks for its pid or the starts waits for both.
                let spawned =
                    log.and_then(|log| containerd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).spawn());
                match spawned {
                    Ok(child) => {
                        s.pid = Some(child.id());
                        s.starts += 1;
                        supervision.changed.notify_all();
                        child
                    }
                    Err(e) => {
                        s.spawn_error = Some(format!("nsenter -t {holder} -m containerd: {e}"));
                        s.supervising = false;
                        supervision.changed.notify_all();
                        return;
                    }
                }
            };
            let status = child.wait().ok();
            {
                let mut s = supervision.lock();
                s.pid = None;
                s.last_exit = status;
                supervision.changed.notify_all();
            }
            std::thread::sleep(RESTART_DELAY);
        }));
    }

    /// The running containerd's pid (None between an exit and the next
    /// start, or after the last exit).
    pub fn containerd_pid(&self) -> Option<u32> {
        self.supervision.lock().pid
    }

    /// How many times containerd has been started.
    pub fn starts(&self) -> u32 {
        self.supervision.lock().starts
    }

    /// How the last containerd to exit ended.
    pub fn last_exit(&self) -> Option<ExitStatus> {
        self.supervision.lock().last_exit
    }

    /// Makes containerd's next exit final (a supervisor that gave up): for
    /// what happens when it does not come back.
    pub fn stop_restarting(&self) {
        self.supervision.lock().restart = false;
    }

    /// Restarts as before, and starts containerd now if the supervisor had
    /// stopped for good.
    pub fn resume_restarting(&mut self) {
        // Decided under the lock: a supervisor still running sees `restart`
        // before it would end; one that ended said so.
        let ended = {
            let mut s = self.supervision.lock();
            s.restart = true;
            !std::mem::replace(&mut s.supervising, true)
        };
        if ended {
            if let Some(thread) = self.supervisor.take() {
                let _ = thread.join();
            }
            self.supervise();
        }
    }

    /// Waits until the containerd the supervisor runs now serves (`ctr
    /// version` answers): the one running before and after the answer is
    /// the only containerd of the node, so the answer is its.
    pub fn wait_serving(&self) {
        let start = Instant::now();
        let starts = self.starts();
        loop {
            if let Some(pid) = self.containerd_pid() {
                if self.ctr(&["version"]).status.success() && self.containerd_pid() == Some(pid) {
                    return;
                }
            } else {
                let s = self.supervision.lock();
                assert!(s.spawn_error.is_none(), "{}", s.spawn_error.as_deref().unwrap_or_default());
                assert!(s.restart, "containerd exited ({:?}) and is not restarted:\n{}", s.last_exit, self.log());
            }
            // Exiting again and again is a config containerd cannot start with.
            assert!(self.starts() < starts + 3, "containerd keeps exiting:\n{}", self.log());
            assert!(start.elapsed() < TIMEOUT, "containerd not serving after {TIMEOUT:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a containerd other than `old` runs (the supervisor
    /// restarted it) and serves.
    pub fn wait_restarted(&self, old: u32) {
        let s = self.supervision.lock();
        let (s, timeout) = self
            .supervision
            .changed
            .wait_timeout_while(s, TIMEOUT, |s| s.pid.is_none_or(|p| p == old) && s.restart)
            .unwrap_or_else(|e| e.into_inner());
        assert!(!timeout.timed_out(), "containerd {old} not restarted after {TIMEOUT:?}:\n{}", self.log());
        drop(s);
        self.wait_serving();
    }

    /// Imports the busybox image (default command: a long sleep) as
    /// `NODE_IMAGE` into ctr's `default` namespace and CRI's `k8s.io`, and
    /// in `k8s.io` also as the sandbox (pause) image the configuration
    /// names, so that nothing is pulled and no config needs another
    /// `sandbox_image`.
    pub fn import_images(&self) {
        let archive = busybox_image_archive(&self.dir.join("image"), NODE_IMAGE, &["sleep", "1000000"]);
        let archive = archive.to_string_lossy();
        for ns in ["default", "k8s.io"] {
            let out = self.ctr(&["-n", ns, "images", "import", &archive]);
            assert!(out.status.success(), "ctr -n {ns} images import: {}", stderr(&out));
        }
        // No config.toml: containerd's defaults (1.x's `config dump` fails
        // without the file).
        let config = if self.etc_containerd().join("config.toml").exists() {
            self.dump()
        } else {
            String::from_utf8(self.must(Command::new("containerd").args(["config", "default"])).stdout).unwrap()
        };
        if let Some(pause) = sandbox_image(&config) {
            let out = self.ctr(&["-n", "k8s.io", "images", "tag", "--force", NODE_IMAGE, &pause]);
            assert!(out.status.success(), "ctr images tag {pause}: {}", stderr(&out));
        }
    }

    /// Starts a detached task `id` of `NODE_IMAGE` (a long sleep, stdio
    /// discarded) in ctr's `default` namespace, under the node's cgroup.
    pub fn run_task(&self, id: &str) {
        let cgroup = format!("{}/{id}", self.cgroup);
        let out = self.ctr(&["run", "-d", "--null-io", "--cgroup", &cgroup, NODE_IMAGE, id]);
        assert!(out.status.success(), "ctr run -d {id}: {}\n{}", stderr(&out), self.log());
    }

    /// Task `id`'s pid and status (`RUNNING`, `STOPPED`, ...) in ctr's
    /// `default` namespace, per `ctr tasks ls`; None if there is no such task.
    pub fn task(&self, id: &str) -> Option<(u32, String)> {
        self.tasks("default").into_iter().find(|(t, ..)| t == id).map(|(_, pid, status)| (pid, status))
    }

    /// Every task of `namespace`: id, pid, status.
    fn tasks(&self, namespace: &str) -> Vec<(String, u32, String)> {
        let out = self.ctr(&["-n", namespace, "tasks", "ls"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
                [id, pid, status] => Some((id.to_owned(), pid.parse().ok()?, status.to_owned())),
                _ => None,
            })
            .collect()
    }

    /// Deletes every task of every namespace (killing it first), so that
    /// the shims exit and the containers' mounts go.
    fn delete_tasks(&self) {
        let out = self.ctr(&["namespaces", "ls", "-q"]);
        for ns in String::from_utf8_lossy(&out.stdout).lines() {
            for (id, ..) in self.tasks(ns) {
                let _ = self.ctr(&["-n", ns, "tasks", "delete", "--force", &id]);
            }
        }
    }

    /// The pids of the node's processes but the holder: those in its mount
    /// namespace (containerd, the shims) and those in its cgroup (the
    /// containers, in mount namespaces of their own).
    fn processes(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let ns = std::fs::read_link(entry.path().join("ns/mnt")).unwrap_or_default();
            // An unreadable link (a process gone meanwhile) matches nothing.
            if pid != self.holder.id() as i32 && !self.ns.is_empty() && ns.to_string_lossy() == self.ns {
                pids.push(pid);
            }
        }
        for dir in cgroup_dirs(&self.cgroup) {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.parse::<i32>().ok()));
        }
        pids
    }
}

/// The sandbox (pause) image a config names: `sandbox_image` in versions
/// 1 and 2, `pinned_images`' `sandbox` in version 3 (containerd 2.x).
fn sandbox_image(config: &str) -> Option<String> {
    config.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        let value = value.trim();
        let quoted = value.len() >= 2 && (value.starts_with('"') || value.starts_with('\''));
        (matches!(key.trim(), "sandbox_image" | "sandbox") && quoted).then(|| value[1..value.len() - 1].to_owned())
    })
}

/// `path` quoted for sh.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Every directory of the cgroup `/NAME` and below it, in every hierarchy
/// (cgroup v1 controllers, `unified`, or a v2 root), deepest first.
fn cgroup_dirs(cgroup: &str) -> Vec<PathBuf> {
    let name = cgroup.trim_start_matches('/');
    let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
    roots.extend(std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten().map(|e| e.path()));
    let mut dirs = Vec::new();
    for top in roots.into_iter().map(|r| r.join(name)).filter(|d| d.is_dir()) {
        collect_dirs(&top, &mut dirs);
    }
    dirs
}

fn collect_dirs(dir: &Path, dirs: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&entry.path(), dirs);
        }
    }
    dirs.push(dir.to_owned());
}

fn kill(pid: i32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

impl Drop for Node {
    /// Never panics (it also runs while a failed test unwinds).
    fn drop(&mut self) {
        use rustix::process::Signal;
        let serving = self.containerd_pid().is_some() && self.ctr(&["version"]).status.success();
        if serving {
            self.delete_tasks();
        }
        // containerd: stopped for good, SIGKILL if SIGTERM is not enough.
        let pid = {
            let mut s = self.supervision.lock();
            s.restart = false;
            s.pid
        };
        if let Some(pid) = pid {
            kill(pid as i32, Signal::TERM);
            let s = self.supervision.lock();
            let (s, timeout) = self
                .supervision
                .changed
                .wait_timeout_while(s, TIMEOUT, |s| s.pid.is_some())
                .unwrap_or_else(|e| e.into_inner());
            drop(s);
            if timeout.timed_out() {
                kill(pid as i32, Signal::KILL);
            }
        }
        if let Some(thread) = self.supervisor.take() {
            let _ = thread.join();
        }
        // Whatever is left (shims, containers of a containerd that was down).
        let start = Instant::now();
        loop {
            let pids = self.processes();
            if pids.is_empty() || start.elapsed() > TIMEOUT {
                break;
            }
            for pid in pids {
                kill(pid, Signal::KILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        // A cgroup can be removed once its last process has left it.
        let start = Instant::now();
        loop {
            let dirs = cgroup_dirs(&self.cgroup);
            if dirs.is_empty() || start.elapsed() > TIMEOUT {
                break;
            }
            for d in dirs {
                let _ = std::fs::remove_dir(d);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The OCI name of this machine's architecture, for image configs.
pub fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A hand-built `docker save` archive of the busybox rootfs, tagged `tag`,
/// whose default command is `cmd`: what `ctr images import` reads.
pub fn busybox_image_archive(dir: &Path, tag: &str, cmd: &[&str]) -> PathBuf {
    let layout = dir.join("image");
    std::fs::create_dir_all(layout.join("layer")).unwrap();
    busybox_tar(&layout.join("layer/layer.tar"));
    let sum = Command::new("sha256sum").arg(layout.join("layer/layer.tar")).output().unwrap();
    assert!(sum.status.success(), "sha256sum: {}", stderr(&sum));
    let digest = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_owned();
    let config = json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{digest}")]},
    });
    write(&layout.join("config.json"), serde_json::to_vec(&config).unwrap(), 0o644);
    let manifest = json!([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]);
    write(&layout.join("manifest.json"), serde_json::to_vec(&manifest).unwrap(), 0o644);
    let archive = dir.join("image.tar");
    let out = Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .args(["manifest.json", "config.json", "layer/layer.tar"])
        .output()
        .unwrap();
    assert!(out.status.success(), "tar of the image: {}", stderr(&out));
    archive
}

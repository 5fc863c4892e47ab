//! Reliability: the shim never loses a `config.json`. Killed at each
//! syscall of the write in turn (strace's fault injection, no timing), it
//! leaves the old file or the complete new one, and the next run tidies
//! up; when the write fails (file size limit, read-only directory, full
//! file system) it says why and leaves the file as it was; and many
//! containers started at once through it and the real runc each get their
//! own hooks, once.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::*;

/// A hook file adding two hooks, for the fault tests.
fn two_hooks(dir: &Path) -> PathBuf {
    hook_file(
        dir,
        "10-hooks.json",
        &json!({"hooks": {"prestart": [{"path": "/usr/local/bin/a"}], "poststop": [{"path": "/usr/local/bin/b", "args": ["b"]}]}}),
    )
}

/// Starts `create` on `bundle` through the shim, with `/bin/true` as the
/// runtime.
fn spawn_create(hooks: &Path, bundle: &Path) -> Child {
    shim()
        .arg("--hook-config-path")
        .arg(hooks)
        .args(["--runtime-path", "/bin/true", "create", "--bundle"])
        .arg(bundle)
        .arg("id")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The shim's temporary files in a bundle.
fn temp_files(bundle: &Bundle) -> Vec<String> {
    bundle.entries().into_iter().filter(|e| e.contains(".oci-add-hooks.")).collect()
}

/// One syscall of a traced run: its name and which call of that name it
/// was (from 1), as strace's `when=` counts them (per syscall, per tracee).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Call {
    name: String,
    nth: usize,
}

/// The syscalls of a `strace -f -qq -o FILE` trace of one process, in order.
fn calls(trace: &str) -> Vec<(Call, String)> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for line in trace.lines() {
        // `PID name(args) = result`; signals and exits (`--- `, `+++ `) are
        // not calls.
        // strace pads the pid to five columns.
        let Some(call) = line.split_once(' ').map(|(_, rest)| rest.trim_start()) else { continue };
        let Some(name) = call.split_once('(').map(|(name, _)| name) else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let nth = seen.entry(name.to_owned()).or_insert(0);
        *nth += 1;
        out.push((Call { name: name.to_owned(), nth: *nth }, call.to_owned()));
    }
    out
}

/// Where a kill lands, relative to the write.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The temporary file is not there yet: the old file, nothing else.
    OldAlone,
    /// Between creating the temporary file and the rename: the old file and
    /// the temporary file, which the next run removes.
    OldAndTemp,
    /// Once renamed: the new file, nothing else.
    NewAlone,
}

#[test]
fn killed_at_each_syscall_of_the_write_it_leaves_the_old_or_the_new_config_and_the_next_run_tidies_up() {
    if !require(&["strace"]) {
        return;
    }
    let conf = TempDir::new("crash-conf");
    let hooks = two_hooks(conf.path());
    let old = large_config(1 << 20);
    let bundle = Bundle::with_config(&old);
    let traces = TempDir::new("crash-traces");
    let strace = |trace: &Path, extra: &[String]| {
        let mut cmd = std::process::Command::new("strace");
        cmd.args(["-f", "-qq", "-o"]).arg(trace).args(extra).arg(bin());
        cmd.env_remove("OCI_ADD_HOOKS_CONFIG").env_remove("OCI_ADD_HOOKS_RUNTIME");
        cmd.arg("--hook-config-path").arg(&hooks).args(["--runtime-path", "/bin/true", "create", "--bundle"]);
        cmd.arg(bundle.path()).arg("id").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        cmd.status().unwrap()
    };

    // A whole run, traced: the write is every call from the temporary
    // file's openat to the fsync of the directory after the rename.
    let trace = traces.join("whole");
    assert!(strace(&trace, &[]).success());
    let new = bundle.config_bytes();
    assert_ne!(new, old);
    let all = calls(&std::fs::read_to_string(&trace).unwrap());
    let first = all.iter().position(|(c, text)| c.name == "openat" && text.contains(".oci-add-hooks.")).unwrap();
    let rename = first + all[first..].iter().position(|(c, _)| c.name.starts_with("rename")).unwrap();
    let last = rename + all[rename..].iter().position(|(c, _)| c.name == "fsync").unwrap();
    let the_write: Vec<&Call> = all[first..=last].iter().map(|(c, _)| c).collect();
    let names: Vec<&str> = the_write.iter().map(|c| c.name.as_str()).collect();
    eprintln!("the write's syscalls: {names:?}");
    for name in ["openat", "write", "fsync"] {
        assert!(names.contains(&name), "no {name} in the write: {names:?}");
    }

    for (i, call) in the_write.iter().enumerate() {
        write(&bundle.config_path(), &old, 0o644);
        let inject = format!("inject={}:signal=KILL:when={}", call.name, call.nth);
        let status = strace(&traces.join(format!("kill-{i}")), &["-e".into(), inject.clone()]);
        let what = format!("killed at {} #{} ({inject})", call.name, call.nth);
        assert_eq!(status.signal(), Some(9), "{what}: not killed ({status})");

        // SIGKILL on entering a call stops it from running: the openat
        // creates nothing, the rename renames nothing.
        let want = match i {
            0 => Outcome::OldAlone,
            i if i + first <= rename => Outcome::OldAndTemp,
            _ => Outcome::NewAlone,
        };
        let temps = temp_files(&bundle);
        let got = match (bundle.config_bytes(), temps.len()) {
            (b, 0) if b == old => Outcome::OldAlone,
            (b, 1) if b == old => Outcome::OldAndTemp,
            (b, 0) if b == new => Outcome::NewAlone,
            (b, n) => panic!("{what}: config.json is {} bytes, neither file, with {n} temporary files", b.len()),
        };
        assert_eq!(got, want, "{what}");

        // The next run on the bundle finishes the job and tidies up.
        let out = create_under(&[], &hooks, Path::new("/bin/true"), bundle.path());
        assert!(out.status.success(), "{what}: the next run: {}", stderr(&out));
        assert!(bundle.config_bytes() == new, "{what}: the next run did not write the new file");
        assert_eq!(bundle.entries(), ["config.json"], "{what}: the next run left a temporary file");
    }
}

#[test]
fn regression_a_config_replaced_during_the_write_is_not_overwritten() {
    // Another writer renames its file over config.json while the shim
    // writes its own: the shim's rename would undo that writer's. The shim
    // is stopped at its first fsync (strace's fault injection), the file
    // replaced, and the shim let go.
    if !require(&["strace"]) {
        return;
    }
    let f = Fault::new();
    let traces = TempDir::new("stop-trace");
    let trace = traces.join("trace");
    let strace = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fsync", "-e", "inject=fsync:signal=STOP:when=1", "-o"])
        .arg(&trace)
        .arg(bin())
        .env_remove("OCI_ADD_HOOKS_CONFIG")
        .env_remove("OCI_ADD_HOOKS_RUNTIME")
        .arg("--hook-config-path")
        .arg(&f.hooks)
        .arg("--runtime-path")
        .arg(&f.rec.path)
        .args(["create", "--bundle"])
        .arg(f.bundle.path())
        .arg("id")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for strace to report the stop (a traced process is also in
    // "tracing stop" at every syscall strace looks at, so its state in
    // /proc would not tell this stop from those).
    let mut shim_pid = 0;
    wait_for("the shim to stop at its fsync", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&trace).unwrap_or_default();
        let stopped = text.lines().find(|l| l.ends_with("--- stopped by SIGSTOP ---"));
        shim_pid = stopped.and_then(|l| l.split_whitespace().next()).and_then(|p| p.parse().ok()).unwrap_or(0);
        shim_pid != 0
    });
    assert_eq!(temp_files(&f.bundle).len(), 1, "stopped before its temporary file was written");
    let theirs = f.bundle.dir.join("theirs");
    write(&theirs, "{\"theirs\":true}", 0o644);
    std::fs::rename(&theirs, f.bundle.config_path()).unwrap();
    let pid = rustix::process::Pid::from_raw(shim_pid).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    let out = strace.wait_with_output().unwrap();
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot write (left unchanged): replaced by another file while the new one was being \
             written; not overwritten",
            f.bundle.config_path().display()
        ),
    );
    assert!(!f.rec.ran(), "the runtime ran after a failed write");
    assert_eq!(f.bundle.config_bytes(), b"{\"theirs\":true}");
    assert_eq!(f.bundle.entries(), ["config.json"], "a temporary file was left");
}

/// A small xorshift generator: the kill points differ from run to run, and
/// the seed is printed so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// An extra to the test above, never the proof: kills at random times,
/// which a busy machine moves around, so it asserts only what must hold
/// wherever a kill lands, and reports where they landed.
#[test]
fn killed_at_random_times_during_a_large_write_it_leaves_the_old_or_the_new_config() {
    let conf = TempDir::new("crash-conf");
    let hooks = two_hooks(conf.path());
    let old = large_config(10 << 20);
    let bundle = Bundle::with_config(&old);

    // A run to completion gives the new bytes and how long a run takes
    // (the fastest of three), which the kill times scale with.
    let mut full = Duration::MAX;
    let mut new = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let status = spawn_create(&hooks, bundle.path()).wait().unwrap();
        full = full.min(start.elapsed());
        assert!(status.success());
        new = bundle.config_bytes();
        assert_ne!(new, old);
        write(&bundle.config_path(), &old, 0o644);
    }

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("kill times from seed {seed}; a run to completion takes {full:?}");
    let mut random = Random(seed);
    let (mut old_seen, mut new_seen, mut leftovers) = (0, 0, 0);
    for round in 0..30 {
        let mut child = spawn_create(&hooks, bundle.path());
        let delay = Duration::from_micros(random.below(full.as_micros() as u64 * 2 + 1));
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();

        let bytes = bundle.config_bytes();
        let temps = temp_files(&bundle);
        let what = format!("round {round} (seed {seed}), killed after {delay:?}");
        assert!(
            bytes == old || bytes == new,
            "{what}: config.json is neither the old nor the new file ({} bytes)",
            bytes.len()
        );
        // A run removes dead runs' temporary files before it makes its own,
        // so there is never more than one; and a finished write has none.
        assert!(temps.len() <= 1, "{what}: temporary files accumulate: {temps:?}");
        if bytes == new {
            assert!(temps.is_empty(), "{what}: the new file, yet a temporary file: {temps:?}");
            new_seen += 1;
            write(&bundle.config_path(), &old, 0o644);
        } else {
            old_seen += 1;
        }
        leftovers += usize::from(!temps.is_empty());
    }
    eprintln!("outcomes: {old_seen} old, {new_seen} new, {leftovers} left a temporary file");

    // Whatever the last kill left, one more run finishes the job and tidies up.
    write(&bundle.config_path(), &old, 0o644);
    assert!(spawn_create(&hooks, bundle.path()).wait().unwrap().success());
    assert!(bundle.config_bytes() == new, "the run after the kills did not write the new file");
    assert_eq!(bundle.entries(), ["config.json"], "the next run on the bundle did not remove the leftover");
}

/// Runs the shim's `create` on `bundle` with `runtime`, under `wrapper`
/// (e.g. `prlimit --fsize=N`) when given.
fn create_under(wrapper: &[&str], hooks: &Path, runtime: &Path, bundle: &Path) -> Output {
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = std::process::Command::new(program);
            c.args(args).arg(bin());
            c
        }
        None => std::process::Command::new(bin()),
    };
    cmd.env_remove("OCI_ADD_HOOKS_CONFIG")
        .env_remove("OCI_ADD_HOOKS_RUNTIME")
        .stdin(Stdio::null())
        .arg("--hook-config-path")
        .arg(hooks)
        .arg("--runtime-path")
        .arg(runtime)
        .args(["create", "--bundle"])
        .arg(bundle)
        .arg("id")
        .output()
        .unwrap()
}

/// What a fault test needs: a hook file that adds hooks (its directory
/// kept alive alongside), a recording runtime, and a Docker bundle.
struct Fault {
    _conf: TempDir,
    hooks: PathBuf,
    rec: Recorder,
    bundle: Bundle,
}

impl Fault {
    fn new() -> Fault {
        let conf = TempDir::new("fault-conf");
        let hooks = two_hooks(conf.path());
        Fault { _conf: conf, hooks, rec: Recorder::new(), bundle: Bundle::docker() }
    }

    /// `create` through the shim under `wrapper`, as `create_under`.
    fn create(&self, wrapper: &[&str]) -> Output {
        create_under(wrapper, &self.hooks, &self.rec.path, self.bundle.path())
    }
}

/// The checks every failed write must pass: exit 1 with `why` after the
/// file's name, the runtime not run, `config.json` byte-for-byte as it was
/// and nothing else in the bundle but `others`.
fn assert_write_failed(out: &Output, f: &Fault, why: &str, others: &[&str]) {
    let (bundle, rec) = (&f.bundle, &f.rec);
    let msg = format!("oci-add-hooks: {}: cannot write (left unchanged): {why}", bundle.config_path().display());
    assert_fails_with(out, &msg);
    assert!(!rec.ran(), "the runtime ran after a failed write");
    assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes(), "config.json changed");
    let mut want: Vec<String> = others.iter().map(|s| s.to_string()).collect();
    want.push("config.json".into());
    want.sort();
    assert_eq!(bundle.entries(), want, "a temporary file was left");
}

#[test]
fn a_write_past_the_file_size_limit_fails_cleanly() {
    if !require(&["prlimit"]) {
        return;
    }
    let f = Fault::new();
    let out = f.create(&["prlimit", "--fsize=4096"]);
    let new_len = new_len_of(&f.hooks, &Bundle::docker());
    assert_write_failed(
        &out,
        &f,
        &format!("the new file's {new_len} bytes exceed the file size limit (RLIMIT_FSIZE, ulimit -f) of 4096 bytes"),
        &[],
    );
    // Under a limit the new file fits in, the same run succeeds.
    let out = f.create(&["prlimit", &format!("--fsize={new_len}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.bundle.config_bytes().len(), new_len);
}

/// The length of the file the shim writes for `hooks` on `scratch`, found by
/// letting it write there.
fn new_len_of(hooks: &Path, scratch: &Bundle) -> usize {
    let out = create_under(&[], hooks, Path::new("/bin/true"), scratch.path());
    assert!(out.status.success(), "{}", stderr(&out));
    scratch.config_bytes().len()
}

#[test]
fn a_read_only_bundle_directory_fails_cleanly() {
    if !require_root() {
        return;
    }
    let f = Fault::new();
    let ro = Mount::read_only(f.bundle.path());
    let out = f.create(&[]);
    assert_write_failed(&out, &f, "Read-only file system (os error 30)", &[]);
    drop(ro);
}

#[test]
fn a_full_file_system_fails_cleanly() {
    if !require_root() {
        return;
    }
    let f = Fault::new();
    let fs = Mount::tmpfs(f.bundle.path(), "64k");
    write(&f.bundle.config_path(), DOCKER_CONFIG, 0o644);
    // Fill what is left, a page at a time, until the file system says no.
    let filler = f.bundle.dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let page = [0u8; 4096];
    loop {
        match std::io::Write::write_all(&mut file, &page) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the tmpfs: {e}"),
        }
    }
    drop(file);
    let out = f.create(&[]);
    assert_write_failed(&out, &f, "No space left on device (os error 28)", &["filler"]);
    drop(fs);
}

#[test]
fn two_hundred_containers_from_sixteen_workers_each_get_their_own_hooks_once() {
    if !require(&["runc"]) {
        return;
    }
    const CONTAINERS: usize = 200;
    const WORKERS: usize = 16;
    let marks = TempDir::new("load-marks");
    let log = marks.join("hooks.log");
    // One hook file for every container, as on a node. Each hook reads the
    // container's state from stdin and logs its stage and the id.
    let logging = |stage: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!(
            "read -r s; id=${{s#*\\\"id\\\":\\\"}}; echo \"{stage} ${{id%%\\\"*}}\" >> {}", log.display()
        )]})
    };
    let conf = TempDir::new("load-conf");
    let hooks = hook_file(
        conf.path(),
        "10-log.json",
        &json!({"hooks": {"prestart": [logging("prestart")], "poststop": [logging("poststop")]}}),
    );
    let root = TempDir::new("load-runc-root");
    let ids: Vec<String> = (0..CONTAINERS).map(|n| format!("oah-load-{}-{n:03}", std::process::id())).collect();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Value, Value)>> = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= CONTAINERS {
                    break;
                }
                let id = &ids[n];
                // A config of its own: its hostname and an annotation name it.
                let bundle = Bundle::busybox(&["true"], marks.path());
                let mut spec = bundle.config();
                spec["hostname"] = json!(id);
                spec["annotations"] = json!({"test.container": id});
                write(&bundle.config_path(), serde_json::to_vec_pretty(&spec).unwrap(), 0o644);
                let out = shim()
                    .arg("--hook-config-path")
                    .arg(&hooks)
                    .args(["--runtime-path", "runc", "--root"])
                    .arg(root.path())
                    .args(["run", "--bundle"])
                    .arg(bundle.path())
                    .arg(id)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{id}: {}", stderr(&out));
                results.lock().unwrap().push((n, spec, bundle.config()));
            });
        }
    });
    eprintln!("{CONTAINERS} containers through the shim and runc by {WORKERS} workers in {:?}", start.elapsed());

    let results = results.into_inner().unwrap();
    assert_eq!(results.len(), CONTAINERS);
    let want_hooks = json!({"prestart": [logging("prestart")], "poststop": [logging("poststop")]});
    for (n, before, mut after) in results {
        assert_eq!(after["hooks"], want_hooks, "{}: hooks", ids[n]);
        after.as_object_mut().unwrap().remove("hooks");
        assert_eq!(after, before, "{}: config.json is not its own", ids[n]);
    }
    let mut lines: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    let mut want: Vec<String> =
        ids.iter().flat_map(|id| [format!("poststop {id}"), format!("prestart {id}")]).collect();
    want.sort();
    assert_eq!(lines.len(), want.len(), "every hook of every container exactly once");
    assert_eq!(lines, want, "every hook of every container exactly once");
}

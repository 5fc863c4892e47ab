//! What the benches and the tests all use: the binary under test, the
//! tools a test requires, temp dirs and hook files. Both benches include
//! this file (see mod.rs): everything in it must be used by each of them.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// The binary under test, built by cargo for this test run.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_oci-add-hooks"))
}

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

/// Where the tests' temp dirs go: `$OCI_ADD_HOOKS_TEST_TMP` if set, else
/// cargo's `target/tmp`, else (as root) a directory of this process's own
/// below `/run` or `/var/lib`, removed when the process exits, else
/// `$HOME/.cache/oci-add-hooks/tests`. Never the system temp dir: the shim
/// refuses a hook file reached through a directory that others may write,
/// and /tmp, sticky and mode 1777, is one; the tests' hook files live in
/// temp dirs. So every directory from the root up to `/` must be owned by
/// root (or the user running the tests) and writable by no one else.
/// `target/tmp` is, unless the checkout is under such a directory (a clone
/// in /tmp); `/run` is on a node, but not where it is a tmpfs mounted with
/// tmpfs's default mode 1777, and then `/var/lib` is. (A home directory
/// comes last: mode 0700, a test's shim run as `nobody` could not reach
/// its hook files.) When none is, the tests fail here, naming each one
/// tried and why.
pub fn temp_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let euid = rustix::process::geteuid().as_raw();
        let untrusted = |dir: &Path| -> Option<PathBuf> {
            dir.ancestors()
                .find(|d| !d.metadata().is_ok_and(|m| (m.uid() == 0 || m.uid() == euid) && m.mode() & 0o022 == 0))
                .map(Path::to_path_buf)
        };
        let mut why = Vec::new();
        let mut fixed: Vec<PathBuf> =
            std::env::var_os("OCI_ADD_HOOKS_TEST_TMP").map(PathBuf::from).into_iter().collect();
        fixed.push(PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
        for dir in &fixed {
            let _ = std::fs::create_dir_all(dir);
            match untrusted(dir) {
                None => return dir.clone(),
                Some(d) => why.push(format!(
                    "{}: {} is missing, another user's or writable by others",
                    dir.display(),
                    d.display()
                )),
            }
        }
        let parents = if euid == 0 { ["/run", "/var/lib"].as_slice() } else { [].as_slice() };
        for parent in parents.iter().map(Path::new) {
            if let Some(d) = untrusted(parent) {
                why.push(format!("{}: {} is another user's or writable by others", parent.display(), d.display()));
                continue;
            }
            let dir = parent.join(format!("oci-add-hooks-tests.{}", std::process::id()));
            if std::fs::create_dir(&dir).is_ok() {
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
                remove_at_exit(&dir);
                return dir;
            }
            why.push(format!("{}: cannot be created", dir.display()));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| Path::new(h).is_absolute()) {
            let dir = Path::new(&home).join(".cache/oci-add-hooks/tests");
            let _ = std::fs::create_dir_all(&dir);
            match untrusted(&dir) {
                None => return dir,
                Some(d) => why.push(format!(
                    "{}: {} is missing, another user's or writable by others",
                    dir.display(),
                    d.display()
                )),
            }
        }
        panic!(
            "no temp root for the tests where the shim would trust hook files (every directory up to / owned by root \
             or uid {euid} and writable by no one else); set OCI_ADD_HOOKS_TEST_TMP to one; tried: {}",
            why.join("; ")
        )
    })
}

/// Has `dir` removed, with everything in it, when the process exits
/// (libtest ends with `process::exit`, which runs `atexit` handlers), so
/// that the suite leaves the machine's paths as it found them.
fn remove_at_exit(dir: &Path) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if DIR.set(dir.to_owned()).is_ok() {
        // SAFETY: `remove` is an `extern "C" fn()` that never unwinds (it
        // ignores the removal's result) and reads only a OnceLock already set.
        unsafe { libc::atexit(remove) };
    }
}

/// A directory removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A temp dir under `temp_root()`, where the shim trusts hook files.
    pub fn new(tag: &str) -> TempDir {
        TempDir::new_in(temp_root(), tag)
    }

    /// A temp dir under `parent`, e.g. `/dev/shm` for a bundle on tmpfs, as
    /// containerd's and CRI-O's bundles under `/run` are.
    pub fn new_in(parent: &Path, tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = parent.join(format!("oah-{tag}-{}-{n}-{nanos}", std::process::id()));
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
///
/// An executable (any x bit in `mode`) is written by a child process, `cat`:
/// a file this process has open for writing stays open in every child that
/// another test thread forks meanwhile, until that child execs, and running
/// the file in that moment fails with ETXTBSY. The writer's descriptor then
/// lives only in `cat`, which nothing forks.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>, mode: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    if mode & 0o111 == 0 {
        std::fs::write(path, bytes).unwrap();
    } else {
        let mut cat = std::process::Command::new("sh")
            .args(["-c", "cat > \"$0\"", &path.to_string_lossy()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut cat.stdin.take().unwrap(), bytes.as_ref()).unwrap();
        assert!(cat.wait().unwrap().success(), "writing {}", path.display());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes a hook file (mode 0644) and returns its path.
pub fn hook_file(dir: &Path, name: &str, config: &Value) -> PathBuf {
    let path = dir.join(name);
    write(&path, serde_json::to_vec_pretty(config).unwrap(), 0o644);
    path
}

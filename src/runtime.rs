//! The low-level runtime: finding it, and handing the process over to it.
//!
//! Owns runtime resolution (a path, or a bare name looked up in `PATH`) and
//! the final `execve`. It must never fork: the runtime takes over the
//! shim's PID, file descriptors, exit status and signals, as if the caller
//! had run it directly. And it must never resolve to the shim itself, which
//! would loop forever when the shim is installed under the runtime's name.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming the runtime when `--runtime-path` is not
/// given.
pub(crate) const RUNTIME_ENV: &str = "OCI_ADD_HOOKS_RUNTIME";
pub(crate) const DEFAULT_RUNTIME: &str = "runc";
/// execvp(3)'s search path when `PATH` is unset.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug)]
pub(crate) enum RuntimeError {
    NotFound { name: OsString, path: OsString },
    Unusable { path: PathBuf, why: String },
    IsShim { path: PathBuf },
    Exec { path: PathBuf, err: io::Error },
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::NotFound { name, path } => write!(
                f,
                "runtime {:?}: not found in PATH ({}); set --runtime-path or {RUNTIME_ENV}",
                name.to_string_lossy(),
                path.to_string_lossy()
            ),
            RuntimeError::Unusable { path, why } => {
                write!(f, "runtime {}: {why}", path.display())
            }
            RuntimeError::IsShim { path } => write!(
                f,
                "runtime {}: is oci-add-hooks itself; point --runtime-path or {RUNTIME_ENV} at \
                 the real runtime",
                path.display()
            ),
            RuntimeError::Exec { path, err } => write!(f, "runtime {}: cannot run: {err}", path.display()),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// A file's identity, to recognise the shim under another name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> Self {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }

    /// The file at `path`, symlinks followed.
    pub(crate) fn of_path(path: &Path) -> Option<Self> {
        std::fs::metadata(path).ok().map(|m| FileId::of(&m))
    }

    /// The running executable.
    pub(crate) fn current_exe() -> Option<Self> {
        FileId::of_path(Path::new("/proc/self/exe"))
    }
}

/// Finds the runtime: `name` with a slash is a path (relative to the current
/// directory); a bare name is searched in `path_env` (or execvp's default),
/// skipping any entry that is the shim itself.
pub(crate) fn resolve(name: &OsStr, path_env: Option<&OsStr>, shim: Option<FileId>) -> Result<PathBuf, RuntimeError> {
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        let meta =
            std::fs::metadata(&path).map_err(|e| RuntimeError::Unusable { path: path.clone(), why: e.to_string() })?;
        if !is_executable_file(&meta) {
            return Err(RuntimeError::Unusable { path, why: "not an executable file".into() });
        }
        if Some(FileId::of(&meta)) == shim {
            return Err(RuntimeError::IsShim { path });
        }
        return Ok(path);
    }
    let search = path_env.filter(|p| !p.is_empty()).unwrap_or(OsStr::new(DEFAULT_PATH));
    for dir in search.as_bytes().split(|&b| b == b':') {
        // An empty entry means the current directory, as in execvp(3).
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        let candidate = dir.join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else { continue };
        if is_executable_file(&meta) && Some(FileId::of(&meta)) != shim {
            return Ok(candidate);
        }
    }
    Err(RuntimeError::NotFound { name: name.to_owned(), path: search.to_owned() })
}

fn is_executable_file(meta: &std::fs::Metadata) -> bool {
    meta.is_file() && meta.mode() & 0o111 != 0
}

/// Replaces this process with the runtime. Returns only on failure.
pub(crate) fn exec(path: &Path, args: &[OsString]) -> RuntimeError {
    let err = Command::new(path).args(args).exec();
    RuntimeError::Exec { path: path.to_owned(), err }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_searched_in_path_in_order() {
        let found = resolve(OsStr::new("sh"), Some(OsStr::new("/nonexistent:/bin:/usr/bin")), None).unwrap();
        assert_eq!(found, Path::new("/bin/sh"));
    }

    #[test]
    fn the_shim_itself_is_skipped_in_path_and_refused_as_a_path() {
        let sh = std::fs::metadata("/bin/sh").unwrap();
        let me = Some(FileId::of(&sh));
        let found = resolve(OsStr::new("sh"), Some(OsStr::new("/bin:/usr/bin")), me);
        // /usr/bin/sh is the same file as /bin/sh on merged-/usr systems.
        match found {
            Ok(p) => assert_ne!(FileId::of(&std::fs::metadata(&p).unwrap()), FileId::of(&sh)),
            Err(e) => assert!(matches!(e, RuntimeError::NotFound { .. })),
        }
        assert!(matches!(resolve(OsStr::new("/bin/sh"), None, me), Err(RuntimeError::IsShim { .. })));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = resolve(OsStr::new("no-such-runtime"), Some(OsStr::new("/a:/b")), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "runtime \"no-such-runtime\": not found in PATH (/a:/b); set --runtime-path or OCI_ADD_HOOKS_RUNTIME"
        );
        let e = resolve(OsStr::new("/etc/passwd"), None, None).unwrap_err();
        assert_eq!(e.to_string(), "runtime /etc/passwd: not an executable file");
        let e = resolve(OsStr::new("/no/such"), None, None).unwrap_err();
        assert_eq!(e.to_string(), "runtime /no/such: No such file or directory (os error 2)");
    }
}

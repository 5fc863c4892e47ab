//! Finding and reading the hook files: which paths, in which order, and
//! whether they are safe to trust.
//!
//! Owns the configuration sources (options, `OCI_ADD_HOOKS_CONFIG`, the
//! default directory), the order files apply in, and the ownership and mode
//! checks. Hooks run as root on the host, so a hook file that someone else
//! can write hands them the host: such a file or directory is refused, never
//! skipped. This module reads files but never writes any, and it is only
//! reached for the subcommands that create a container.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::args::PROGRAM;
use crate::hooks::{self, HookError, HookFile};

/// Where hook files live when nothing else is said.
pub(crate) const DEFAULT_ROOT: &str = "/etc/oci-add-hooks";
pub(crate) const DEFAULT_DIR: &str = "/etc/oci-add-hooks/hooks.d";
/// The environment variable naming a hook file or directory, for callers
/// that cannot pass arguments (containerd's `BinaryName`, CRI-O, podman).
pub(crate) const CONFIG_ENV: &str = "OCI_ADD_HOOKS_CONFIG";

/// Where the hook configuration comes from, and so how a missing path is
/// explained.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Options(Vec<PathBuf>),
    Env(PathBuf),
    Default(PathBuf),
}

impl Source {
    /// Options first, then the environment, then the default directory for
    /// the name the shim was called by.
    pub(crate) fn choose(options: Vec<PathBuf>, env: Option<OsString>, argv0: &OsStr) -> Source {
        if !options.is_empty() {
            Source::Options(options)
        } else if let Some(env) = env.filter(|e| !e.is_empty()) {
            Source::Env(PathBuf::from(env))
        } else {
            Source::Default(default_dir(argv0))
        }
    }

    pub(crate) fn paths(&self) -> &[PathBuf] {
        match self {
            Source::Options(p) => p,
            Source::Env(p) | Source::Default(p) => std::slice::from_ref(p),
        }
    }
}

/// `/etc/oci-add-hooks/hooks.d`, or `/etc/oci-add-hooks/NAME.d` when called
/// as `oci-add-hooks-NAME`.
pub(crate) fn default_dir(argv0: &OsStr) -> PathBuf {
    let name = Path::new(argv0).file_name().unwrap_or_default().as_bytes();
    match name.strip_prefix(PROGRAM.as_bytes()).and_then(|r| r.strip_prefix(b"-")) {
        Some(set) if !set.is_empty() => {
            let mut dir = OsString::from(OsStr::from_bytes(set));
            dir.push(".d");
            Path::new(DEFAULT_ROOT).join(dir)
        }
        _ => PathBuf::from(DEFAULT_DIR),
    }
}

#[derive(Debug)]
pub(crate) enum LoadError {
    Missing { path: PathBuf, source: &'static str },
    Io { path: PathBuf, err: io::Error },
    Unsafe { path: PathBuf, why: String },
    Hook(HookError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing { path, source } => {
                write!(f, "{}: hook configuration does not exist ({source})", path.display())
            }
            LoadError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            LoadError::Unsafe { path, why } => write!(f, "{}: {why}", path.display()),
            LoadError::Hook(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads every hook file the source names, in the order they apply: by
/// file name in byte order across all paths. A file in a later directory
/// replaces a file of the same name in an earlier one (the containers/common
/// hooks.d rule); files named directly are always read.
pub(crate) fn load(source: &Source) -> Result<Vec<HookFile>, LoadError> {
    let euid = rustix::process::geteuid().as_raw();
    let mut files: Vec<(OsString, PathBuf, bool)> = Vec::new();
    for path in source.paths() {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let source = match source {
                    Source::Options(_) => "given with --hook-config-path",
                    Source::Env(_) => "named by OCI_ADD_HOOKS_CONFIG",
                    Source::Default(_) => {
                        "the default; create it, or name hook files with \
                         --hook-config-path or OCI_ADD_HOOKS_CONFIG"
                    }
                };
                return Err(LoadError::Missing { path: path.clone(), source });
            }
            Err(err) => return Err(LoadError::Io { path: path.clone(), err }),
        };
        if meta.is_dir() {
            check_trusted(path, meta.uid(), meta.mode(), euid)?;
            for (name, file) in json_files(path)? {
                match files.iter_mut().find(|(n, _, from_dir)| *from_dir && *n == name) {
                    Some(earlier) => earlier.1 = file,
                    None => files.push((name, file, true)),
                }
            }
        } else {
            let name = path.file_name().unwrap_or_default().to_owned();
            files.push((name, path.clone(), false));
        }
    }
    let mut files: Vec<_> = files.into_iter().map(|(name, path, _)| (name, path)).collect();
    by_name(&mut files);
    files.into_iter().map(|(_, path)| read(&path, euid)).collect()
}

/// Sorts by file name in byte order. Stable: files of the same name named
/// directly keep their given order.
///
/// An insertion sort: the list is a directory of hook files, a handful, and
/// std's stable sort would add 4 KiB of code to a binary with a size budget
/// (each element type it sorts is another copy).
pub(crate) fn by_name(files: &mut [(OsString, PathBuf)]) {
    for i in 1..files.len() {
        let mut j = i;
        while j > 0 && files[j - 1].0.as_bytes() > files[j].0.as_bytes() {
            files.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The `*.json` regular files of a directory, in the directory's order
/// (`by_name` sorts them).
pub(crate) fn json_files(dir: &Path) -> Result<Vec<(OsString, PathBuf)>, LoadError> {
    let io_err = |err| LoadError::Io { path: dir.to_owned(), err };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        if !name.as_bytes().ends_with(b".json") {
            continue;
        }
        let path = entry.path();
        // Follow symlinks: the file that will be read is what must be regular.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => out.push((name, path)),
            Ok(_) => {}
            Err(err) => return Err(LoadError::Io { path, err }),
        }
    }
    Ok(out)
}

fn read(path: &Path, euid: u32) -> Result<HookFile, LoadError> {
    let io_err = |err| LoadError::Io { path: path.to_owned(), err };
    let file = std::fs::File::open(path).map_err(io_err)?;
    // Check the file that was opened, not the name, so a swap between the
    // check and the read cannot slip a file past it.
    let meta = file.metadata().map_err(io_err)?;
    check_trusted(path, meta.uid(), meta.mode(), euid)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut &file, &mut bytes).map_err(io_err)?;
    hooks::parse(path, &bytes).map_err(LoadError::Hook)
}

/// A hook file or directory may be written only by root or by the user the
/// shim runs as: anyone else who can write it can run code as root.
pub(crate) fn check_trusted(path: &Path, uid: u32, mode: u32, euid: u32) -> Result<(), LoadError> {
    let why = if uid != 0 && uid != euid {
        format!(
            "owned by uid {uid}; hooks run as root, so hook files and directories must be \
             owned by root{}",
            if euid == 0 { String::new() } else { format!(" or uid {euid}") }
        )
    } else if mode & 0o022 != 0 {
        format!(
            "writable by group or others (mode {:04o}); hooks run as root, so only the owner \
             may write hook files and directories (chmod go-w)",
            mode & 0o7777
        )
    } else {
        return Ok(());
    };
    Err(LoadError::Unsafe { path: path.to_owned(), why })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_follows_the_invocation_name() {
        assert_eq!(default_dir(OsStr::new("/usr/bin/oci-add-hooks")), Path::new(DEFAULT_DIR));
        assert_eq!(default_dir(OsStr::new("oci-add-hooks-gpu")), Path::new("/etc/oci-add-hooks/gpu.d"));
        assert_eq!(default_dir(OsStr::new("/x/oci-add-hooks-")), Path::new(DEFAULT_DIR));
        assert_eq!(default_dir(OsStr::new("runc")), Path::new(DEFAULT_DIR));
        assert_eq!(default_dir(OsStr::new("")), Path::new(DEFAULT_DIR));
    }

    #[test]
    fn options_then_environment_then_default() {
        let argv0 = OsStr::new("oci-add-hooks");
        assert_eq!(Source::choose(vec!["/a".into()], Some("/e".into()), argv0), Source::Options(vec!["/a".into()]));
        assert_eq!(Source::choose(vec![], Some("/e".into()), argv0), Source::Env("/e".into()));
        assert_eq!(Source::choose(vec![], Some("".into()), argv0), Source::Default(DEFAULT_DIR.into()));
        assert_eq!(Source::choose(vec![], None, argv0), Source::Default(DEFAULT_DIR.into()));
    }

    #[test]
    fn by_name_sorts_bytewise_and_keeps_equal_names_in_given_order() {
        let mut files: Vec<(OsString, PathBuf)> = [
            ("b.json", "/1/b.json"),
            ("a.json", "/2/a.json"),
            ("B.json", "/3/B.json"),
            ("a.json", "/4/a.json"),
            ("a.json", "/5/a.json"),
        ]
        .iter()
        .map(|(n, p)| (OsString::from(n), PathBuf::from(p)))
        .collect();
        by_name(&mut files);
        let paths: Vec<_> = files.iter().map(|(_, p)| p.to_str().unwrap_or_default()).collect();
        assert_eq!(paths, ["/3/B.json", "/2/a.json", "/4/a.json", "/5/a.json", "/1/b.json"]);
        by_name(&mut []);
    }

    #[test]
    fn trust_rules() {
        let p = Path::new("/h.json");
        assert!(check_trusted(p, 0, 0o100644, 0).is_ok());
        assert!(check_trusted(p, 1000, 0o100600, 1000).is_ok());
        assert!(check_trusted(p, 0, 0o040755, 1000).is_ok());
        assert_eq!(
            check_trusted(p, 0, 0o100664, 0).unwrap_err().to_string(),
            "/h.json: writable by group or others (mode 0664); hooks run as root, so only the \
             owner may write hook files and directories (chmod go-w)"
        );
        assert!(check_trusted(p, 0, 0o040777, 0).is_err());
        assert_eq!(
            check_trusted(p, 1000, 0o100644, 0).unwrap_err().to_string(),
            "/h.json: owned by uid 1000; hooks run as root, so hook files and directories must \
             be owned by root"
        );
        assert!(check_trusted(p, 1001, 0o100644, 1000).unwrap_err().to_string().contains("or uid 1000"));
    }
}

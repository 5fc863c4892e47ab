//! What every step of an install shares: its error, and the one line it
//! prints.
//!
//! Each step of `install` and `uninstall` prints one line to stdout (what
//! `kubectl logs` shows) and fails with an `InstallError` that names the
//! host file and why. It must never print anything but those lines.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::containerd::daemon::DaemonError;
use super::containerd::dump::DumpError;
use super::docker::daemon_json::DaemonJsonError;
use super::docker::dockerd::DockerdError;
use crate::args::Action;
use crate::hook_files::LoadError;
use crate::hooks::HookError;
use crate::json::FieldError;

#[derive(Debug)]
pub(crate) enum InstallError {
    Usage { action: Action, msg: String },
    Io { path: PathBuf, what: &'static str, err: io::Error },
    DaemonJson { path: PathBuf, err: DaemonJsonError },
    Record { path: PathBuf, err: FieldError },
    Hook(HookError),
    HookFiles(LoadError),
    Refused { path: PathBuf, why: String },
    Dockerd(DockerdError),
    Containerd(DaemonError),
    ContainerdCheck(DumpError),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Usage { action, msg } => {
                write!(f, "{}: {msg} (see oci-add-hooks {} --help)", action.name(), action.name())
            }
            InstallError::Io { path, what, err } => write!(f, "{}: cannot {what}: {err}", path.display()),
            InstallError::DaemonJson { path, err } => {
                write!(f, "{}: {err} (the file is left unchanged)", path.display())
            }
            InstallError::Record { path, err } => write!(
                f,
                "{}: {err}; this is install's record of what it put on the host, so nothing is \
                 changed until it is fixed or removed",
                path.display()
            ),
            InstallError::Hook(e) => e.fmt(f),
            InstallError::HookFiles(e) => e.fmt(f),
            InstallError::Refused { path, why } => write!(f, "{}: {why}", path.display()),
            InstallError::Dockerd(e) => e.fmt(f),
            InstallError::Containerd(e) => e.fmt(f),
            InstallError::ContainerdCheck(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InstallError {}

pub(crate) fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> InstallError + 'a {
    move |err| InstallError::Io { path: path.to_owned(), what, err }
}

/// One line of what was done.
pub(crate) fn say(line: impl fmt::Display) {
    println!("{line}");
}

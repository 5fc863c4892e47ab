//! What every step of an install shares: its error, the report a plan
//! returns, and the log an apply writes.
//!
//! A plan says what it found and why in its `Report` (a Docker not set up,
//! a check skipped, a file already as wanted), which the CLI prints before
//! anything changes; an apply says each thing it does in a `Log` as it does
//! it, one line each (what `kubectl logs` shows). Both are lines of text,
//! so a unit test reads them as a user would. A step fails with an
//! `InstallError` that names the host file and why. Nothing here may print
//! anything but those lines, and only a `Log` made for stdout prints.

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

/// What a plan found and will do, and why, line by line: returned with the
/// plan, printed by the CLI before the plan is applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report(Vec<String>);

impl Report {
    pub(crate) fn note(&mut self, line: impl fmt::Display) {
        self.0.push(line.to_string());
    }

    pub(crate) fn lines(&self) -> &[String] {
        &self.0
    }

    /// Another plan's lines after this one's.
    pub(crate) fn append(&mut self, other: &mut Report) {
        self.0.append(&mut other.0);
    }
}

/// Where an apply says what it does, as it does it: stdout, or kept for a
/// unit test to read.
#[derive(Debug)]
pub(crate) struct Log(Option<Vec<String>>);

impl Log {
    pub(crate) fn stdout() -> Log {
        Log(None)
    }

    #[cfg(test)]
    pub(crate) fn kept() -> Log {
        Log(Some(Vec::new()))
    }

    /// One line of what was done.
    pub(crate) fn say(&mut self, line: impl fmt::Display) {
        match &mut self.0 {
            None => println!("{line}"),
            Some(lines) => lines.push(line.to_string()),
        }
    }

    /// A plan's report, before its apply.
    pub(crate) fn report(&mut self, report: &Report) {
        for line in report.lines() {
            self.say(line);
        }
    }

    #[cfg(test)]
    pub(crate) fn lines(&self) -> &[String] {
        self.0.as_deref().unwrap_or_default()
    }
}

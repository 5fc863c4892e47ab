//! Writing and removing the host's files and directories, for every step.
//!
//! Owns the file operations install makes below `--host-root`: a file put
//! in place atomically unless it already is exactly that (so a second
//! install writes nothing), removal that is quiet about what is already
//! gone, directories created with their parents, and the one-time backup of
//! a configuration file before its first change. Every write goes through
//! `atomic`. It must never decide what belongs on the host: the plan does.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::host::Host;
use super::step::{io_err, say, InstallError};
use crate::atomic;

/// What a backup of a configuration file is called: `<file>.oci-add-hooks.bak`.
const BACKUP_SUFFIX: &str = ".oci-add-hooks.bak";

/// A file to put on the host, and whether it is there already.
#[derive(Debug)]
pub(crate) struct Put {
    pub(crate) here: PathBuf,
    pub(crate) bytes: Vec<u8>,
    pub(crate) mode: u32,
    /// The file already is exactly this, bytes and mode: nothing to write.
    pub(crate) same: bool,
}

impl Put {
    /// `bytes` with permission bits `mode` at `here`, compared with what is
    /// there now.
    pub(crate) fn new(here: PathBuf, bytes: Vec<u8>, mode: u32) -> Put {
        let same = here.symlink_metadata().is_ok_and(|m| m.is_file() && m.mode() & 0o7777 == mode)
            && std::fs::read(&here).is_ok_and(|b| b == bytes);
        Put { here, bytes, mode, same }
    }

    /// Writes the file unless it is the same; returns whether it wrote.
    pub(crate) fn apply(&self) -> Result<bool, InstallError> {
        if self.same {
            return Ok(false);
        }
        atomic::create_or_replace(&self.here, &self.bytes, self.mode).map_err(io_err(&self.here, "write"))?;
        Ok(true)
    }
}

/// Removes the host file `host_path` (a link is removed, not followed),
/// saying so; one that is gone already is fine.
pub(crate) fn remove(host: &Host, host_path: &str) -> Result<(), InstallError> {
    let here = host.path(host_path, false);
    if remove_file(&here)? {
        say(format_args!("removed {}", here.display()));
    }
    Ok(())
}

/// Removes `here`; returns whether there was a file to remove.
pub(crate) fn remove_file(here: &Path) -> Result<bool, InstallError> {
    match std::fs::remove_file(here) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(InstallError::Io { path: here.to_owned(), what: "remove", err: e }),
    }
}

/// The host directories of `dirs` and their parents that do not exist yet,
/// parents first, each once.
pub(crate) fn missing_dirs(host: &Host, dirs: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for dir in dirs {
        let mut prefix = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            prefix.push('/');
            prefix.push_str(part);
            if !missing.contains(&prefix) && !host.path(&prefix, true).is_dir() {
                missing.push(prefix.clone());
            }
        }
    }
    missing
}

/// Creates the host directory `dir` (mode 0755) unless it exists; its
/// parent must.
pub(crate) fn create_dir(host: &Host, dir: &str) -> Result<(), InstallError> {
    let here = host.path(dir, true);
    if here.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().mode(0o755).create(&here).map_err(io_err(&here, "create directory"))?;
    say(format_args!("created directory {}", here.display()));
    Ok(())
}

/// Removes the host directory `dir` if it is empty (install had created it).
pub(crate) fn remove_dir_if_empty(host: &Host, dir: &str) {
    let here = host.path(dir, true);
    match std::fs::remove_dir(&here) {
        Ok(()) => say(format_args!("removed directory {} (install had created it)", here.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        // Not empty: something else lives there now.
        Err(_) => say(format_args!("{}: not empty, left in place", here.display())),
    }
}

/// Keeps a configuration file as it was before install first changed it,
/// once: an existing backup is never overwritten.
pub(crate) fn backup(config: &Path, original: &[u8]) -> Result<(), InstallError> {
    let mut name = config.as_os_str().to_owned();
    name.push(BACKUP_SUFFIX);
    let bak = PathBuf::from(name);
    if bak.symlink_metadata().is_ok() {
        return Ok(());
    }
    let mode = config.metadata().map_or(0o600, |m| m.permissions().mode() & 0o7777);
    atomic::create_or_replace(&bak, original, mode).map_err(io_err(&bak, "write backup"))?;
    say(format_args!("backed up {} to {}", config.display(), bak.display()));
    Ok(())
}

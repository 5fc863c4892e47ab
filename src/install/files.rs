//! Writing and removing the host's files and directories, for every step.
//!
//! Owns the file operations install makes below `--host-root`: a file put
//! in place atomically unless it already is exactly that (so a second
//! install writes nothing), removal that is quiet about what is already
//! gone, directories created with their parents, and the one-time backup of
//! a configuration file before its first change, removed again once the
//! file is back to those bytes. Every write goes through
//! `atomic`, every operation through `host` (from the directory found
//! below the root, never by name). It must never decide what belongs on
//! the host: the plan does.

use std::io::{self, Read};
use std::path::PathBuf;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

use super::error::{io_err, InstallError, Log};
use super::host::{Host, HostFile};
use crate::atomic;

/// What a backup of a configuration file is called: `<file>.oci-add-hooks.bak`.
const BACKUP_SUFFIX: &str = ".oci-add-hooks.bak";

/// A file to put on the host, and whether it is there already.
#[derive(Debug)]
pub(crate) struct Put {
    /// Where it goes, for messages (`file.here()`).
    pub(crate) here: PathBuf,
    pub(crate) file: HostFile,
    pub(crate) bytes: Vec<u8>,
    pub(crate) mode: u32,
    /// The file already is exactly this, bytes and mode: nothing to write.
    pub(crate) same: bool,
}

impl Put {
    /// `bytes` with permission bits `mode` as `file`, compared with what is
    /// there now (its mode, and its bytes if it is a regular file).
    pub(crate) fn new(file: HostFile, bytes: Vec<u8>, mode: u32) -> Put {
        let same = file.read_with_stat().is_ok_and(|(b, st, _)| st.st_mode & 0o7777 == mode && b == bytes);
        Put { here: file.here().to_owned(), file, bytes, mode, same }
    }

    /// Writes the file unless it is the same; returns whether it wrote.
    pub(crate) fn apply(&self) -> Result<bool, InstallError> {
        if self.same {
            return Ok(false);
        }
        self.file.write(&self.bytes, Some(self.mode)).map_err(io_err(&self.here, "write"))?;
        Ok(true)
    }
}

/// The host file `host_path` (`follow_last` as `Host::file`); a path that
/// cannot be resolved below the root (ELOOP) is an error naming it.
/// Refuses to write over `file` (read through a link when `followed`)
/// unless it still holds `original` (`None`: no file), the bytes the plan
/// read: another program wrote it meanwhile (the installer's own lock
/// keeps out only other installs), and writing would lose that.
pub(crate) fn unchanged(file: &HostFile, followed: bool, original: Option<&[u8]>) -> Result<(), InstallError> {
    let now = match if followed { file.followed().and_then(|f| f.read()) } else { file.read() } {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(InstallError::Io { path: file.here().to_owned(), what: "read again", err }),
    };
    match now.as_deref() == original {
        true => Ok(()),
        false => Err(InstallError::Refused {
            path: file.here().to_owned(),
            why: "changed since this run read it (another program wrote it meanwhile); not written over, and \
                  nothing written after it: run this again"
                .into(),
        }),
    }
}

pub(crate) fn host_file(host: &Host, host_path: &str, follow_last: bool) -> Result<HostFile, InstallError> {
    host.file(host_path, follow_last).map_err(|err| InstallError::Io {
        path: host.root().join(host_path.trim_start_matches('/')),
        what: "resolve below --host-root",
        err,
    })
}

/// Removes the host file `host_path` (a link is removed, not followed),
/// saying so; one that is gone already is fine.
pub(crate) fn remove(host: &Host, host_path: &str, log: &mut Log) -> Result<(), InstallError> {
    let file = host_file(host, host_path, false)?;
    if remove_file(&file)? {
        log.say(format_args!("removed {}", file.here().display()));
    }
    Ok(())
}

/// Removes `file`; returns whether there was a file to remove.
pub(crate) fn remove_file(file: &HostFile) -> Result<bool, InstallError> {
    file.remove().map_err(io_err(file.here(), "remove"))
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
            if !missing.contains(&prefix) && !host.file(&prefix, true).is_ok_and(|f| f.is_dir()) {
                missing.push(prefix.clone());
            }
        }
    }
    missing
}

/// Creates the host directory `dir` (mode 0755) unless it exists; its
/// parent must.
pub(crate) fn create_dir(host: &Host, dir: &str, log: &mut Log) -> Result<(), InstallError> {
    let file = host_file(host, dir, true)?;
    if file.is_dir() {
        return Ok(());
    }
    file.create_dir(0o755).map_err(io_err(file.here(), "create directory"))?;
    log.say(format_args!("created directory {}", file.here().display()));
    Ok(())
}

/// Removes the host directory `dir` if it is empty (install had created it).
pub(crate) fn remove_dir_if_empty(host: &Host, dir: &str, log: &mut Log) {
    let Ok(file) = host.file(dir, true) else { return };
    match file.remove_dir() {
        Ok(true) => log.say(format_args!("removed directory {} (install had created it)", file.here().display())),
        Ok(false) => {}
        // Not empty: something else lives there now.
        Err(_) => log.say(format_args!("{}: not empty, left in place", file.here().display())),
    }
}

/// Keeps a configuration file as it was before install first changed it,
/// once, beside it: an existing backup is never overwritten.
pub(crate) fn backup(config: &HostFile, original: &[u8], log: &mut Log) -> Result<(), InstallError> {
    let here = config.here();
    let mut bak = here.as_os_str().to_owned();
    bak.push(BACKUP_SUFFIX);
    let bak = PathBuf::from(bak);
    let (dir, mut name) = config.locate().map_err(io_err(here, "find"))?;
    let mode = rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW).map_or(0o600, |st| st.st_mode & 0o7777);
    name.push(BACKUP_SUFFIX);
    match rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&bak, "look for the backup")(e.into())),
    }
    atomic::write_at(&dir, &name, original, Some(mode)).map_err(io_err(&bak, "write backup"))?;
    log.say(format_args!("backed up {} to {}", here.display(), bak.display()));
    Ok(())
}

/// After `config` was written as `now`: its backup, if there is one, is
/// removed when it holds exactly `now` (the file is as it was before
/// install, and the backup says nothing more), saying so. Otherwise it
/// stays; with `undoing` (an uninstall), saying where, since the file
/// then differs from it by changes made since install.
pub(crate) fn settle_backup(config: &HostFile, now: &[u8], undoing: bool, log: &mut Log) -> Result<(), InstallError> {
    let mut bak = config.here().as_os_str().to_owned();
    bak.push(BACKUP_SUFFIX);
    let bak = PathBuf::from(bak);
    let (dir, mut name) = config.locate().map_err(io_err(config.here(), "find"))?;
    name.push(BACKUP_SUFFIX);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match rfs::openat(&dir, name.as_os_str(), flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(&bak, "read the backup")(e.into())),
    };
    let st = rfs::fstat(&fd).map_err(|e| io_err(&bak, "read the backup")(e.into()))?;
    let mut held = Vec::new();
    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile {
        std::fs::File::from(fd).read_to_end(&mut held).map_err(io_err(&bak, "read the backup"))?;
    }
    match FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && held == now {
        true => {
            rfs::unlinkat(&dir, name.as_os_str(), AtFlags::empty()).map_err(|e| io_err(&bak, "remove")(e.into()))?;
            log.say(format_args!(
                "removed the backup {}: {} is byte for byte as it was before install",
                bak.display(),
                config.here().display()
            ));
        }
        false if undoing => log.say(format_args!(
            "kept the backup {}: {} differs from it (changed since install)",
            bak.display(),
            config.here().display()
        )),
        false => {}
    }
    Ok(())
}

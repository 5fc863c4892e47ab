//! Replacing a file atomically and durably.
//!
//! Owns the one write the shim makes to a bundle, and those `install` makes
//! on a host: a temporary file beside the target, given the target's mode
//! and owner (or, for `create_or_replace`, the mode asked for), written,
//! fsynced, renamed over the target, and the directory fsynced. Readers see
//! the old bytes or the new ones, never a mixture, even if the writer is
//! killed or the disk fills; and a running executable can be replaced,
//! which writing it in place cannot (ETXTBSY). It must never leave its
//! temporary file behind on an error, and it removes those left by a run
//! that was killed.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, CWD};
use rustix::process::{Gid, Resource, Uid};

/// The temporary file's name: `.<name>.oci-add-hooks.<pid>.tmp`, hidden and
/// recognisable, so a run killed mid-write is cleaned up by the next one.
const TMP_MARK: &str = ".oci-add-hooks.";
const TMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes`, keeping its permission bits and owner.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dirfd, name) = open_parent(path)?;
    let original = rfs::statat(&dirfd, name, AtFlags::empty())?;
    let owner = (Uid::from_raw(original.st_uid), Gid::from_raw(original.st_gid));
    write_and_rename(&dirfd, name, bytes, Some(owner), original.st_mode & 0o7777)
}

/// Writes the file `name` in the directory `dirfd`, which the caller
/// opened (install opens the host's below --host-root, and nothing here
/// may resolve their path again by name): with `mode`, owned by the writer
/// whether or not it exists (a file that does is replaced whole); without,
/// as `replace`, keeping the mode and owner of the file there.
#[cfg(feature = "install")]
pub(crate) fn write_at(dirfd: &impl AsFd, name: &OsStr, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    match mode {
        Some(mode) => write_and_rename(dirfd, name, bytes, None, mode),
        None => {
            let original = rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
            let owner = (Uid::from_raw(original.st_uid), Gid::from_raw(original.st_gid));
            write_and_rename(dirfd, name, bytes, Some(owner), original.st_mode & 0o7777)
        }
    }
}

/// A temporary copy of some bytes beside a file, for a program to check
/// before the file is written: named as `replace`'s temporary file, so one
/// left by a killed run is removed by the next write there; removed when
/// dropped.
#[cfg(feature = "install")]
pub(crate) struct Scratch(std::path::PathBuf);

#[cfg(feature = "install")]
impl Scratch {
    /// `bytes` in a new file (mode 0600) beside `path`.
    pub(crate) fn new(path: &Path, bytes: &[u8]) -> io::Result<Scratch> {
        let (dirfd, name) = open_parent(path)?;
        within_size_limit(bytes.len(), rustix::process::getrlimit(Resource::Fsize).current)?;
        let prefix = tmp_prefix(name.as_bytes());
        remove_stale(&dirfd, &prefix);
        let mut tmp_name = prefix;
        tmp_name.extend_from_slice(format!("{}{TMP_SUFFIX}", std::process::id()).as_bytes());
        let tmp = path.with_file_name(OsStr::from_bytes(&tmp_name));
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dirfd, OsStr::from_bytes(&tmp_name), flags, Mode::from_raw_mode(0o600))?;
        let scratch = Scratch(tmp);
        File::from(fd).write_all(bytes)?;
        Ok(scratch)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

#[cfg(feature = "install")]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The directory `path` is in, opened, and its name there.
fn open_parent(path: &Path) -> io::Result<(OwnedFd, &OsStr)> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dirfd = rfs::openat(CWD, dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    Ok((dirfd, name))
}

/// The temporary file, its owner (when given) and mode, the write, the
/// rename over `name` in `dirfd`, and the directory's fsync.
fn write_and_rename(
    dirfd: &impl AsFd,
    name: &OsStr,
    bytes: &[u8],
    owner: Option<(Uid, Gid)>,
    mode: u32,
) -> io::Result<()> {
    within_size_limit(bytes.len(), rustix::process::getrlimit(Resource::Fsize).current)?;
    let prefix = tmp_prefix(name.as_bytes());
    remove_stale(dirfd, &prefix);
    let mut tmp_name = prefix;
    tmp_name.extend_from_slice(format!("{}{TMP_SUFFIX}", std::process::id()).as_bytes());
    let tmp_name = OsStr::from_bytes(&tmp_name);

    let fd = rfs::openat(
        dirfd,
        tmp_name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let result = (|| {
        if let Some((uid, gid)) = owner {
            let own = rfs::fstat(&fd)?;
            if (own.st_uid, own.st_gid) != (uid.as_raw(), gid.as_raw()) {
                rfs::fchown(&fd, Some(uid), Some(gid))?;
            }
        }
        // After the chown, which clears set-id bits.
        rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        rfs::fsync(file.as_fd())?;
        drop(file);
        rfs::renameat(dirfd, tmp_name, dirfd, name)?;
        Ok(())
    })();
    if let Err(err) = result {
        let _ = rfs::unlinkat(dirfd, tmp_name, AtFlags::empty());
        return Err(err);
    }
    // The rename is durable once the directory is: without this a power loss
    // could bring back the old file.
    rfs::fsync(dirfd)?;
    Ok(())
}

/// Fails a write that would pass the file size limit (RLIMIT_FSIZE,
/// `ulimit -f`) before anything is written: past it the kernel kills the
/// writer with SIGXFSZ, which would leave no message and a temporary file.
fn within_size_limit(len: usize, limit: Option<u64>) -> io::Result<()> {
    match limit {
        Some(limit) if len as u64 > limit => Err(io::Error::other(format!(
            "the new file's {len} bytes exceed the file size limit (RLIMIT_FSIZE, ulimit -f) of {limit} bytes"
        ))),
        _ => Ok(()),
    }
}

fn tmp_prefix(name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(name.len() + 24);
    p.push(b'.');
    p.extend_from_slice(name);
    p.extend_from_slice(TMP_MARK.as_bytes());
    p
}

/// Removes temporary files of ours whose writer is gone. A live writer's
/// file (another shim on the same bundle, however unlikely) is left alone.
fn remove_stale(dirfd: &impl AsFd, prefix: &[u8]) {
    let Ok(dir) = rfs::Dir::read_from(dirfd) else { return };
    for entry in dir.flatten() {
        let name = entry.file_name().to_bytes();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(TMP_SUFFIX.as_bytes()))
            .and_then(|pid| std::str::from_utf8(pid).ok())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            let _ = rfs::unlinkat(dirfd, entry.file_name(), AtFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("oah-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `write_at` with a mode, by path, as install uses it.
    #[cfg(feature = "install")]
    fn create_or_replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let (dirfd, name) = open_parent(path)?;
        write_at(&dirfd, name, bytes, Some(mode))
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_keeping_mode_and_leaves_nothing_else() {
        let dir = scratch("mode");
        let f = dir.join("config.json");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&f, b"new").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(entries(&dir), ["config.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_temporary_files_of_dead_writers_are_removed() {
        let dir = scratch("stale");
        let f = dir.join("config.json");
        std::fs::write(&f, b"old").unwrap();
        // pid 2^22+1 is above Linux's pid_max limit, so never alive.
        std::fs::write(dir.join(".config.json.oci-add-hooks.4194305.tmp"), b"half").unwrap();
        let live = format!(".config.json.oci-add-hooks.{}.tmp", std::os::unix::process::parent_id());
        std::fs::write(dir.join(&live), b"busy").unwrap();
        std::fs::write(dir.join(".other.tmp"), b"not ours").unwrap();
        replace(&f, b"new").unwrap();
        assert_eq!(entries(&dir), [live, ".other.tmp".into(), "config.json".into()]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_size_limit_is_checked_before_writing() {
        assert!(within_size_limit(4096, Some(4096)).is_ok());
        assert!(within_size_limit(1 << 40, None).is_ok());
        assert_eq!(
            within_size_limit(4097, Some(4096)).unwrap_err().to_string(),
            "the new file's 4097 bytes exceed the file size limit (RLIMIT_FSIZE, ulimit -f) of 4096 bytes"
        );
    }

    #[test]
    fn a_missing_target_is_an_error_and_creates_nothing() {
        let dir = scratch("missing");
        let err = replace(&dir.join("config.json"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(feature = "install")]
    fn create_or_replace_creates_with_the_mode_asked_and_replaces_a_running_executable() {
        let dir = scratch("create");
        let f = dir.join("tool");
        create_or_replace(&f, b"first", 0o755).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"first");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o755);
        // A file open for execution cannot be written in place (ETXTBSY);
        // a rename over it works, and the running program keeps its inode.
        std::fs::copy("/bin/sleep", &f).unwrap();
        let mut running = std::process::Command::new(&f).arg("30").spawn().unwrap();
        let busy = std::fs::OpenOptions::new().write(true).open(&f).map(|_| ()).unwrap_err();
        assert_eq!(busy.raw_os_error(), Some(26), "ETXTBSY expected: {busy}");
        create_or_replace(&f, b"second", 0o644).unwrap();
        running.kill().unwrap();
        running.wait().unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"second");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o644);
        assert_eq!(entries(&dir), ["tool"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(feature = "install")]
    fn create_or_replace_in_a_missing_directory_fails_and_creates_nothing() {
        let dir = scratch("nodir");
        let err = create_or_replace(&dir.join("sub/tool"), b"x", 0o755).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! Replacing a file atomically and durably.
//!
//! Owns the one write the shim makes to a bundle: a temporary file beside
//! the target, given the target's mode and owner, written, fsynced, renamed
//! over the target, and the directory fsynced. Readers see the old bytes or
//! the new ones, never a mixture, even if the shim is killed or the disk
//! fills. It must never leave its temporary file behind on an error, and it
//! removes those left by a run that was killed.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, CWD};
use rustix::process::{Gid, Resource, Uid};

/// The temporary file's name: `.<name>.oci-add-hooks.<pid>.tmp`, hidden and
/// recognisable, so a run killed mid-write is cleaned up by the next one.
const TMP_MARK: &str = ".oci-add-hooks.";
const TMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes`, keeping its permission bits and owner.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    within_size_limit(bytes.len(), rustix::process::getrlimit(Resource::Fsize).current)?;
    let dirfd = rfs::openat(CWD, dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let original = rfs::statat(&dirfd, name, AtFlags::empty())?;

    let prefix = tmp_prefix(name.as_bytes());
    remove_stale(&dirfd, &prefix);
    let mut tmp_name = prefix;
    tmp_name.extend_from_slice(format!("{}{TMP_SUFFIX}", std::process::id()).as_bytes());
    let tmp_name = std::ffi::OsStr::from_bytes(&tmp_name);

    let fd = rfs::openat(
        &dirfd,
        tmp_name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let result = (|| {
        let (uid, gid) = (original.st_uid, original.st_gid);
        let own = rfs::fstat(&fd)?;
        if (own.st_uid, own.st_gid) != (uid, gid) {
            rfs::fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
        }
        // After the chown, which clears set-id bits.
        rfs::fchmod(&fd, Mode::from_raw_mode(original.st_mode & 0o7777))?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        rfs::fsync(file.as_fd())?;
        drop(file);
        rfs::renameat(&dirfd, tmp_name, &dirfd, name)?;
        Ok(())
    })();
    if let Err(err) = result {
        let _ = rfs::unlinkat(&dirfd, tmp_name, AtFlags::empty());
        return Err(err);
    }
    // The rename is durable once the directory is: without this a power loss
    // could bring back the old file.
    rfs::fsync(&dirfd)?;
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
        let alive = rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
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

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
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
}

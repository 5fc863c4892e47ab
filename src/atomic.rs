//! Replacing a file atomically and durably.
//!
//! Owns the one write the shim makes to a bundle, and those `install` makes
//! on a host: a temporary file beside the target, given the target's mode
//! and owner (or, for `write_at` with a mode, that mode), written,
//! fsynced, renamed over the target, and the directory fsynced. Readers see
//! the old bytes or the new ones, never a mixture, even if the writer is
//! killed or the disk fills; and a running executable can be replaced,
//! which writing it in place cannot (ETXTBSY). It also owns reading the
//! spec it replaces (`read_original`): through one descriptor, never through
//! a symbolic link, so the owner and mode the new file gets, and the
//! identity checked just before the rename, are those of the file read. It
//! must never leave its temporary file behind on an error, and it removes
//! those left by a run that was killed.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat, CWD};
use rustix::io::Errno;
use rustix::process::{Gid, Resource, Uid};

/// The temporary file's name: `.<name>.oci-add-hooks.<pid>.tmp`, hidden and
/// recognisable, so a run killed mid-write is cleaned up by the next one.
const TMP_MARK: &str = ".oci-add-hooks.";
const TMP_SUFFIX: &str = ".tmp";

/// The permission bits a replacement keeps: never set-user-ID or
/// set-group-ID. The new file holds other bytes (the spec with root's
/// hooks), so a set-id bit someone put on the old one must not carry over.
const KEPT_MODE: u32 = 0o1777;

/// The file a replacement replaces, as it was read or looked at: its
/// identity, which must still be what the name holds just before the
/// rename, and the owner and permission bits the new file gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Original {
    dev: u64,
    ino: u64,
    uid: u32,
    gid: u32,
    mode: u32,
}

impl Original {
    fn of(st: &Stat) -> Original {
        Original { dev: st.st_dev, ino: st.st_ino, uid: st.st_uid, gid: st.st_gid, mode: st.st_mode & KEPT_MODE }
    }
}

/// Why a symbolic link is not read as a spec to replace.
const LINK: &str = "a symbolic link; the shim replaces config.json with a new file, so it must be the \
                    bundle's own regular file, not a link to one";

/// Reads the file `path` names, for `replace_original`: opened without
/// following a symbolic link (runc reads `config.json` through one, but
/// never writes it: replacing a link would leave a copy of its target,
/// with the target's owner and mode, in the bundle), and without blocking
/// (a FIFO or a device would hang the read or act on the open), then
/// checked to be a regular file on that descriptor.
pub(crate) fn read_original(path: &Path) -> io::Result<(Vec<u8>, Original)> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match rfs::openat(CWD, path, flags, Mode::empty()) {
        // ELOOP is also a loop further up the path: say "link" only for one.
        Err(Errno::LOOP) if is_symlink(path) => return Err(io::Error::other(LINK)),
        fd => fd?,
    };
    let st = rfs::fstat(&fd)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(Errno::ISDIR.into()),
        _ => return Err(io::Error::other("not a regular file")),
    }
    Ok((read_all(&fd, usize::try_from(st.st_size).unwrap_or(0), usize::MAX - 1)?, Original::of(&st)))
}

/// The rest of `fd`, which fstat said holds `size` bytes, but no more than
/// `limit` and one: one read for them and one to see the end (`File`'s
/// read_to_end would fstat and lseek again for the size first). The spec
/// is read by it, and hook files (`hook_files`, with their size limit).
pub(crate) fn read_all(fd: &OwnedFd, size: usize, limit: usize) -> io::Result<Vec<u8>> {
    // One byte more, so that a file grown since the fstat needs no second
    // allocation to show it.
    let mut bytes = Vec::with_capacity(size.min(limit).saturating_add(1));
    while bytes.len() <= limit {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.capacity());
        }
        match rustix::io::read(fd, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(0) => break,
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(bytes)
}

fn is_symlink(path: &Path) -> bool {
    rfs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// Replaces the file `read_original` read with `bytes`, with its owner and
/// permission bits (set-id bits dropped), provided the name still holds
/// that very file (same device and inode, no link) just before the rename.
pub(crate) fn replace_original(path: &Path, bytes: &[u8], original: &Original) -> io::Result<()> {
    let (dirfd, name) = open_parent(path)?;
    write_and_rename(&dirfd, name, bytes, Some((original, AtFlags::SYMLINK_NOFOLLOW)), original.mode)
}

/// Writes the file `name` in the directory `dirfd`, which the caller
/// opened (install opens the host's below --host-root, and nothing here
/// may resolve their path again by name): with `mode`, owned by the writer
/// whether or not it exists (a file that does is replaced whole); without,
/// keeping the owner and mode (set-id bits dropped) of the file there,
/// provided it is still that file just before the rename.
#[cfg(feature = "install")]
pub(crate) fn write_at(dirfd: &impl AsFd, name: &OsStr, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    match mode {
        Some(mode) => write_and_rename(dirfd, name, bytes, None, mode),
        None => {
            let original = Original::of(&rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?);
            write_and_rename(dirfd, name, bytes, Some((&original, AtFlags::SYMLINK_NOFOLLOW)), original.mode)
        }
    }
}

/// A temporary copy of some bytes beside a file, for a program to check
/// before the file is written: named as `replace`'s temporary file, so one
/// left by a killed run is removed by the next write there; made and
/// removed (when dropped) in a directory the caller opened, as `write_at`.
#[cfg(feature = "install")]
pub(crate) struct Scratch {
    dir: OwnedFd,
    name: std::ffi::OsString,
}

#[cfg(feature = "install")]
impl Scratch {
    /// `bytes` in a new file (mode 0600) beside `name` in the directory
    /// `dir`.
    pub(crate) fn new(dir: OwnedFd, name: &OsStr, bytes: &[u8]) -> io::Result<Scratch> {
        within_size_limit(bytes.len(), rustix::process::getrlimit(Resource::Fsize).current)?;
        let prefix = tmp_prefix(name.as_bytes());
        remove_stale(&dir, &prefix);
        let mut tmp_name = prefix;
        tmp_name.extend_from_slice(format!("{}{TMP_SUFFIX}", std::process::id()).as_bytes());
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir, OsStr::from_bytes(&tmp_name), flags, Mode::from_raw_mode(0o600))?;
        let scratch = Scratch { dir, name: OsStr::from_bytes(&tmp_name).to_owned() };
        File::from(fd).write_all(bytes)?;
        Ok(scratch)
    }

    /// The copy's name in the directory.
    pub(crate) fn name(&self) -> &OsStr {
        &self.name
    }
}

#[cfg(feature = "install")]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = rfs::unlinkat(&self.dir, &self.name, AtFlags::empty());
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

/// The temporary file, the original's owner (when there is one) and
/// `mode`, the write, the check that `name` still holds the original (as
/// `statat` with the flags given sees it), the rename over `name` in
/// `dirfd`, and the directory's fsync.
fn write_and_rename(
    dirfd: &impl AsFd,
    name: &OsStr,
    bytes: &[u8],
    original: Option<(&Original, AtFlags)>,
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
        if let Some((original, _)) = original {
            let own = rfs::fstat(&fd)?;
            if (own.st_uid, own.st_gid) != (original.uid, original.gid) {
                rfs::fchown(&fd, Some(Uid::from_raw(original.uid)), Some(Gid::from_raw(original.gid)))?;
            }
        }
        // After the chown, which clears set-id bits.
        rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        rfs::fsync(file.as_fd())?;
        drop(file);
        if let Some((original, flags)) = original {
            let now = rfs::statat(dirfd, name, flags)?;
            if (now.st_dev, now.st_ino) != (original.dev, original.ino) {
                return Err(io::Error::other(REPLACED));
            }
        }
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

/// Why a file is not replaced after all: another writer replaced it while
/// the new one was written, and the shim's would undo that writer's.
const REPLACED: &str = "replaced by another file while the new one was being written; not overwritten";

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
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(listing) = rfs::openat(dirfd, c".", flags, Mode::empty()) else { return };
    // Room for any entry: a name is at most 255 bytes.
    let mut buf = [std::mem::MaybeUninit::uninit(); 4096];
    let mut entries = rfs::RawDir::new(&listing, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name().to_bytes();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(TMP_SUFFIX.as_bytes()))
            .and_then(|pid| std::str::from_utf8(pid).ok())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| alive(rustix::process::test_kill_process(p)));
        if !alive {
            let _ = rfs::unlinkat(dirfd, entry.file_name(), AtFlags::empty());
        }
    }
}

/// Whether a process lives, from `kill(pid, 0)`: only ESRCH says it does
/// not. EPERM is a live process of another user (a root shim's, seen by a
/// shim run as a user), whose temporary file is in use.
fn alive(probe: Result<(), Errno>) -> bool {
    probe != Err(Errno::SRCH)
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

    /// What the shim does to a spec: read it, then replace it.
    fn read_and_replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let (_, original) = read_original(path)?;
        replace_original(path, bytes, &original)
    }

    #[test]
    fn replaces_keeping_mode_and_leaves_nothing_else() {
        let dir = scratch("mode");
        let f = dir.join("config.json");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(read_original(&f).unwrap().0, b"old");
        read_and_replace(&f, b"new").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(entries(&dir), ["config.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regression_set_id_bits_are_not_kept() {
        let dir = scratch("setid");
        let f = dir.join("config.json");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o6751)).unwrap();
        read_and_replace(&f, b"new").unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o751);
        // The sticky bit is not a privilege, and is kept.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o1644)).unwrap();
        read_and_replace(&f, b"newer").unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o1644);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regression_a_symlinked_spec_is_not_read_or_replaced() {
        let dir = scratch("link");
        let victim = dir.join("victim.json");
        std::fs::write(&victim, b"{}").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o4751)).unwrap();
        let f = dir.join("config.json");
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        assert_eq!(read_original(&f).unwrap_err().to_string(), LINK);
        // A dangling link, the same.
        std::fs::remove_file(&victim).unwrap();
        assert_eq!(read_original(&f).unwrap_err().to_string(), LINK);
        assert_eq!(entries(&dir), ["config.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regression_a_fifo_or_a_directory_as_spec_fails_without_blocking() {
        let dir = scratch("fifo");
        let f = dir.join("config.json");
        rfs::mknodat(CWD, &f, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
        assert_eq!(read_original(&f).unwrap_err().to_string(), "not a regular file");
        std::fs::remove_file(&f).unwrap();
        std::fs::create_dir(&f).unwrap();
        assert_eq!(read_original(&f).unwrap_err().raw_os_error(), Some(Errno::ISDIR.raw_os_error()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regression_a_spec_replaced_during_the_write_is_not_overwritten() {
        let dir = scratch("swap");
        let f = dir.join("config.json");
        std::fs::write(&f, b"old").unwrap();
        let (_, original) = read_original(&f).unwrap();
        // Another writer's rename over it, between the read and the rename.
        std::fs::write(dir.join("other"), b"theirs").unwrap();
        std::fs::rename(dir.join("other"), &f).unwrap();
        assert_eq!(replace_original(&f, b"new", &original).unwrap_err().to_string(), REPLACED);
        assert_eq!(std::fs::read(&f).unwrap(), b"theirs");
        assert_eq!(entries(&dir), ["config.json"]);
        // Gone altogether: not brought back.
        std::fs::remove_file(&f).unwrap();
        assert_eq!(replace_original(&f, b"new", &original).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regression_a_live_writer_of_another_user_is_alive() {
        // kill(pid, 0) fails with EPERM for a process the caller may not
        // signal: it exists.
        assert!(alive(Ok(())));
        assert!(alive(Err(Errno::PERM)));
        assert!(!alive(Err(Errno::SRCH)));
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
        read_and_replace(&f, b"new").unwrap();
        assert_eq!(entries(&dir), [live, ".other.tmp".into(), "config.json".into()]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(feature = "install")]
    #[test]
    fn a_scratch_copy_is_made_at_the_directory_given_and_gone_when_dropped() {
        let dir = scratch("copy");
        // A dead writer's copy goes, as a dead writer's temporary file.
        std::fs::write(dir.join(".config.toml.oci-add-hooks.4194305.tmp"), b"half").unwrap();
        let open = || rfs::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let copy = Scratch::new(open(), OsStr::new("config.toml"), b"version = 2\n").unwrap();
        let name = format!(".config.toml.oci-add-hooks.{}.tmp", std::process::id());
        assert_eq!(copy.name(), OsStr::new(&name));
        assert_eq!(entries(&dir), [name.as_str()]);
        assert_eq!(std::fs::read(dir.join(&name)).unwrap(), b"version = 2\n");
        assert_eq!(std::fs::metadata(dir.join(&name)).unwrap().mode() & 0o7777, 0o600);
        drop(copy);
        assert!(entries(&dir).is_empty());
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
        let err = read_original(&dir.join("config.json")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(feature = "install")]
    fn write_at_without_a_mode_keeps_owner_and_mode_but_no_set_id_bit_and_a_missing_target_is_an_error() {
        let dir = scratch("replace");
        let f = dir.join("daemon.json");
        let replace = |bytes: &[u8]| {
            let (dirfd, name) = open_parent(&f)?;
            write_at(&dirfd, name, bytes, None)
        };
        assert_eq!(replace(b"x").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir).is_empty());
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o2640)).unwrap();
        replace(b"new").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(entries(&dir), ["daemon.json"]);
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
        // Copied by `cp`: a copy written here would stay open in any child
        // another test thread forks meanwhile, and could not run (ETXTBSY).
        assert!(std::process::Command::new("cp").arg("/bin/sleep").arg(&f).status().unwrap().success());
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

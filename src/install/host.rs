//! The host's file system as the installer sees it: below `--host-root`.
//!
//! Owns finding a host path (`/etc/docker/daemon.json`) below the root and
//! every operation on it there, following symbolic links as the host would:
//! an absolute link target starts again at the host root, `..` never climbs
//! above it, and a path that needs more than 40 links (Linux's MAXSYMLINKS)
//! fails with ELOOP. The kernel resolves where it can: `openat2` with
//! `RESOLVE_IN_ROOT` (Linux 5.6) resolves and opens in one step, so nothing
//! can be swapped between the two. Elsewhere (an older kernel, or a seccomp
//! profile without openat2) the path is walked here, component by component
//! from the root's descriptor, each opened with `O_NOFOLLOW` and each link
//! read and followed by this module. Either way an operation works on the
//! descriptor of the file's directory (`*at` calls) and a single name in
//! it, and is resolved again each time it runs.
//!
//! It must never open, read, write, list, connect to or remove a host path
//! by its name as the installer's own root sees it: `HostFile::here` and
//! `Host::shown` are names for messages only. (The one host path handed on
//! by name is for the host's own containerd run chrooted to the root, which
//! resolves it inside the root as this module does.)

use std::cell::Cell;
use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use crate::walk::{self, Dir, End, Root as WalkRoot, WalkError, MAX_LINKS};

/// Where a host's programs are looked for, in order: upstream release
/// tarballs and getting-started guides (containerd's) use /usr/local/bin;
/// Debian, Ubuntu, Fedora and RHEL package them in /usr/bin (dockerd and
/// containerd both); the rest are the other directories of a root PATH.
const PROGRAM_DIRS: [&str; 6] = ["/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin", "/bin", "/sbin"];

/// openat2 fails with EAGAIN when a rename elsewhere raced its `..`; it
/// may be tried again.
const EAGAIN_TRIES: u32 = 16;

/// The host root, opened.
#[derive(Clone, Debug)]
pub(crate) struct Host(Rc<Root>);

#[derive(Debug)]
struct Root {
    path: PathBuf,
    fd: OwnedFd,
    /// The kernel's name for it (`/proc/self/fd/N`), to show the paths
    /// openat2 opens below `path` as given.
    name: Option<PathBuf>,
    /// openat2 is used until the kernel says it has none.
    kernel: Cell<bool>,
}

impl Host {
    /// Opens the host root `root` (itself the operator's, so links in it
    /// are followed).
    pub(crate) fn open(root: PathBuf) -> io::Result<Host> {
        let fd = rfs::open(&root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        let name = name_of(&fd);
        Ok(Host(Rc::new(Root { path: root, fd, name, kernel: Cell::new(true) })))
    }

    /// Takes the installer's lock: `flock` on the host root directory
    /// itself, held until this `Host` (its descriptor) is dropped. Two
    /// installs (a DaemonSet's pod and a package's postinst) then run one
    /// after the other, each planning from what the other wrote. The root,
    /// not a lock file beside the record, so that taking it creates
    /// nothing on the host (a refused run leaves the host as it was); it is
    /// the same inode whether the host is reached as `/` or through a bind
    /// mount at `/host`, so both installers see the one lock. `waiting` is
    /// called, once, before blocking when another run holds it.
    pub(crate) fn lock(&self, waiting: impl FnOnce()) -> io::Result<()> {
        use rustix::fs::{flock, FlockOperation};
        match flock(&self.0.fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) => {
                waiting();
                flock(&self.0.fd, FlockOperation::LockExclusive).map_err(io::Error::from)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The same root, resolved by the component walk only, as on a kernel
    /// without openat2.
    #[cfg(test)]
    pub(crate) fn walk_only(root: PathBuf) -> io::Result<Host> {
        let host = Host::open(root)?;
        host.0.kernel.set(false);
        Ok(host)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.0.path
    }

    /// The host file `host_path`. With `follow_last`, a link as the last
    /// component is followed too (a `daemon.json` that is a link is edited
    /// where it points); without, it is the link itself (a binary or hook
    /// file is replaced, not what a link of that name points to). Fails
    /// only when the path cannot be resolved below the root at all (ELOOP):
    /// a directory that does not exist yet is found again by each
    /// operation.
    pub(crate) fn file(&self, host_path: &str, follow_last: bool) -> io::Result<HostFile> {
        let here = match self.locate(host_path, follow_last) {
            Ok(at) => at.here(),
            Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => return Err(e),
            Err(_) => self.shown(host_path),
        };
        Ok(HostFile { host: self.clone(), path: host_path.to_owned(), follow_last, here })
    }

    /// The host path of the program `name` in the first of the usual
    /// directories that has it as a regular file (a link to one counts).
    pub(crate) fn program(&self, name: &str) -> Option<String> {
        PROGRAM_DIRS.iter().map(|d| format!("{d}/{name}")).find(|p| self.file(p, true).is_ok_and(|f| f.is_file()))
    }

    /// The directories `program` looks in, for messages.
    pub(crate) fn program_dirs() -> String {
        PROGRAM_DIRS.join(", ")
    }

    /// `host_path` joined to the root as written: the name for a message
    /// about a path that does not resolve. Never opened: the kernel would
    /// resolve it from the installer's root.
    pub(crate) fn shown(&self, host_path: &str) -> PathBuf {
        self.root().join(host_path.trim_start_matches('/'))
    }

    /// The directory `host_path` is in, opened below the root, and its last
    /// component's name there (`.` when the path names a directory by `/`,
    /// `.` or `..`).
    fn locate(&self, host_path: &str, follow_last: bool) -> io::Result<At> {
        let mut path = PathBuf::from(host_path);
        let mut links = 0;
        loop {
            let (parent, name) = split_last(&path);
            let (dir, dir_here) = self.open_dir(&parent, &mut links)?;
            let Some(name) = name else { return Ok(At { dir, name: ".".into(), dir_here }) };
            if follow_last {
                // readlinkat fails on anything but a link: no stat first.
                if let Ok(target) = rfs::readlinkat(&dir, name.as_os_str(), Vec::new()) {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::LOOP.into());
                    }
                    // A relative target is relative to the link's directory:
                    // the parent as written, which the resolution below
                    // walks physically (`..` after a link climbs from the
                    // link's target, as the kernel does).
                    let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                    path = if target.is_absolute() { target } else { parent.join(target) };
                    continue;
                }
            }
            return Ok(At { dir, name, dir_here });
        }
    }

    /// The directory `path`, opened below the root, and its name for
    /// messages. `links` counts the links followed so far and by the walk:
    /// openat2 counts only those of its own resolution, so after a link
    /// followed here (a last component) the walk goes on counting.
    fn open_dir(&self, path: &Path, links: &mut u32) -> io::Result<(OwnedFd, PathBuf)> {
        if self.0.kernel.get() && *links == 0 {
            match self.open_dir_in_root(path) {
                Err(e) if [Errno::NOSYS, Errno::PERM].contains(&Errno::from_io_error(&e).unwrap_or(Errno::IO)) => {
                    // No openat2 here (before 5.6, or a seccomp profile
                    // without it: ENOSYS or EPERM): the walk from now on.
                    self.0.kernel.set(false);
                }
                Ok(fd) => {
                    let here = self.name_below(&fd).unwrap_or_else(|| self.shown(&path.to_string_lossy()));
                    return Ok((fd, here));
                }
                Err(e) => return Err(e),
            }
        }
        self.walk(path, links)
    }

    /// Where `fd`, a directory below the root, is: the root as given joined
    /// to the rest of the kernel's name for it.
    fn name_below(&self, fd: &OwnedFd) -> Option<PathBuf> {
        let name = name_of(fd)?;
        let rest = name.strip_prefix(self.0.name.as_deref()?).ok()?;
        Some(self.root().join(rest))
    }

    /// openat2(RESOLVE_IN_ROOT): the kernel resolves `path` with the root
    /// as `/`, and opens it, in one step. Magic links (`/proc/*/root`) are
    /// not followed: they would lead out of the root.
    fn open_dir_in_root(&self, path: &Path) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let mut tries = 0;
        loop {
            match rfs::openat2(&self.0.fd, path, flags, Mode::empty(), resolve) {
                Err(Errno::AGAIN) if tries < EAGAIN_TRIES => tries += 1,
                r => return r.map_err(Into::into),
            }
        }
    }

    /// The component walk (`walk`), from the root: an absolute link target
    /// starts again at the root, and `..` never climbs above it. Nothing on
    /// the way is refused here: the host root is the operator's.
    fn walk(&self, path: &Path, links: &mut u32) -> io::Result<(OwnedFd, PathBuf)> {
        let root = WalkRoot { fd: self.0.fd.as_fd(), path: self.root() };
        let mut anything = |_: &Path, _: &Stat| -> Result<(), Infallible> { Ok(()) };
        let end = walk::walk(root, &Dir::root(), path.as_os_str().as_bytes(), OFlags::RDONLY, links, &mut anything);
        match end {
            Ok(End::Dir(dir, _)) => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                Ok((rfs::openat(dir.fd(root), c".", flags, Mode::empty())?, dir.path(root)))
            }
            Ok(End::File(_) | End::Other(_)) => Err(Errno::NOTDIR.into()),
            Err(WalkError::Io(e)) => Err(e.into()),
            Err(WalkError::Check(never)) => match never {},
        }
    }
}

/// What `locate` found: the directory, the name in it, and the
/// directory's name for messages.
struct At {
    dir: OwnedFd,
    name: OsString,
    dir_here: PathBuf,
}

impl At {
    /// The name of what was found, for messages.
    fn here(&self) -> PathBuf {
        match self.name.as_bytes() {
            b"." => self.dir_here.clone(),
            _ => self.dir_here.join(&self.name),
        }
    }
}

/// A host file: a host path, found again below the root by each operation.
#[derive(Clone, Debug)]
pub(crate) struct HostFile {
    host: Host,
    path: String,
    follow_last: bool,
    here: PathBuf,
}

impl HostFile {
    /// Where it is as the installer sees it, for messages only.
    pub(crate) fn here(&self) -> &Path {
        &self.here
    }

    /// Its directory, opened below the root, and its name there.
    pub(crate) fn locate(&self) -> io::Result<(OwnedFd, OsString)> {
        let at = self.host.locate(&self.path, self.follow_last)?;
        Ok((at.dir, at.name))
    }

    /// Its status, a link itself rather than what it points to.
    pub(crate) fn lstat(&self) -> io::Result<Stat> {
        let (dir, name) = self.locate()?;
        Ok(rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Whether anything (a link too) is there; an error other than
    /// ENOENT is an error, not an answer.
    pub(crate) fn exists(&self) -> io::Result<bool> {
        match self.lstat() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.lstat().is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
    }

    pub(crate) fn is_file(&self) -> bool {
        self.lstat().is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
    }

    /// The same host path with a link as its last component followed: what
    /// the host's programs read through a file that install replaces (the
    /// link itself) when it writes.
    pub(crate) fn followed(&self) -> io::Result<HostFile> {
        self.host.file(&self.path, true)
    }

    /// The directory it is in, or, where that is missing, the nearest one
    /// above its host path as written that is there; opened below the
    /// root, with its name for messages.
    pub(crate) fn nearest_dir(&self) -> io::Result<(OwnedFd, PathBuf)> {
        let mut found = self.host.locate(&self.path, self.follow_last).map(|at| (at.dir, at.dir_here));
        for dir in Path::new(&self.path).ancestors().skip(1) {
            match &found {
                Err(e) if e.raw_os_error() != Some(Errno::LOOP.raw_os_error()) => {
                    found = self.host.open_dir(dir, &mut 0)
                }
                _ => break,
            }
        }
        found
    }

    /// Its bytes, with its status and its directory's (for trust checks).
    /// Only a regular file is read: a link (as the last component) is
    /// ELOOP, and a FIFO or device is refused before it could block.
    pub(crate) fn read_with_stat(&self) -> io::Result<(Vec<u8>, Stat, Stat)> {
        let (dir, name) = self.locate()?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir, name.as_os_str(), flags, Mode::empty())?;
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(io::Error::other("not a regular file"));
        }
        let mut bytes = Vec::with_capacity(st.st_size as usize);
        std::fs::File::from(fd).read_to_end(&mut bytes)?;
        Ok((bytes, st, rfs::fstat(&dir)?))
    }

    pub(crate) fn read(&self) -> io::Result<Vec<u8>> {
        self.read_with_stat().map(|(bytes, _, _)| bytes)
    }

    /// Its bytes, which must be UTF-8 text.
    pub(crate) fn read_text(&self) -> io::Result<String> {
        String::from_utf8(self.read()?).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    /// The names in it, a directory (`.` and `..` left out), read from its
    /// descriptor in the directory's order. A link as the last component
    /// is ELOOP, as for `read`.
    pub(crate) fn list(&self) -> io::Result<Vec<OsString>> {
        let (dir, name) = self.locate()?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir, name.as_os_str(), flags, Mode::empty())?;
        // Room for any entry: a name is at most 255 bytes.
        let mut buf = [MaybeUninit::uninit(); 4096];
        let mut entries = rfs::RawDir::new(&fd, &mut buf);
        let mut names = Vec::new();
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_owned());
            }
        }
        Ok(names)
    }

    /// Removes it (a link is removed, not followed); returns whether there
    /// was something to remove.
    pub(crate) fn remove(&self) -> io::Result<bool> {
        self.unlink(AtFlags::empty())
    }

    /// Removes it if it is an empty directory; returns whether there was one.
    pub(crate) fn remove_dir(&self) -> io::Result<bool> {
        self.unlink(AtFlags::REMOVEDIR)
    }

    fn unlink(&self, flags: AtFlags) -> io::Result<bool> {
        let (dir, name) = match self.locate() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            r => r?,
        };
        match rfs::unlinkat(&dir, name.as_os_str(), flags) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn create_dir(&self, mode: u32) -> io::Result<()> {
        let (dir, name) = self.locate()?;
        Ok(rfs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(mode))?)
    }

    /// Writes it atomically with `bytes`: with permission bits `mode` (a
    /// file that exists is replaced whole), or, without, keeping the mode
    /// and owner of the file there.
    pub(crate) fn write(&self, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
        let (dir, name) = self.locate()?;
        crate::atomic::write_at(&dir, &name, bytes, mode)
    }

    /// A stream connected to it, a unix socket: by its directory's
    /// descriptor (`/proc/self/fd/N/NAME`), so that the connect resolves
    /// nothing by name from the installer's root.
    pub(crate) fn connect(&self) -> io::Result<std::os::unix::net::UnixStream> {
        let (dir, name) = self.locate()?;
        let mut path = OsString::from(format!("/proc/self/fd/{}/", dir.as_raw_fd()));
        path.push(&name);
        std::os::unix::net::UnixStream::connect(path)
    }
}

/// The kernel's name for an open directory, `/proc/self/fd/N`'s target:
/// where it is in the installer's view, for messages.
fn name_of(fd: &OwnedFd) -> Option<PathBuf> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    (p.is_absolute() && !p.as_os_str().as_bytes().ends_with(b" (deleted)")).then_some(p)
}

/// A path's directory and its last component (`None` when the path ends
/// in `/`, `.` or `..`: it names the directory itself).
fn split_last(path: &Path) -> (PathBuf, Option<OsString>) {
    match path.components().next_back() {
        Some(Component::Normal(name)) => (path.parent().unwrap_or(Path::new("/")).to_owned(), Some(name.to_owned())),
        _ => (path.to_owned(), None),
    }
}

#[cfg(test)]
mod tests;

//! The one walker of paths: a path resolved below a root directory one
//! component at a time, symbolic links read and followed here rather than
//! by the kernel.
//!
//! Owns the resolution rules both of its callers need: each component is
//! opened `O_PATH | O_NOFOLLOW` from the directory before it and looked at
//! on that descriptor; a link's target is pushed in its place, an absolute
//! one starting again at the root; `..` goes back to the directory the walk
//! came from (the physical parent, as the kernel's), never above the root;
//! and more than 40 links (Linux's `MAXSYMLINKS`) fail with ELOOP. Every
//! directory passed through is handed to the caller's check before the
//! walk goes on from it, so the shim's trust rules see each one on its own
//! descriptor. The shim walks from `/` (`hook_files`); the installer walks
//! from the host root (`install::host`), where the kernel's openat2 is not
//! there.
//!
//! It must never let the kernel follow a link (every open is one name,
//! `O_NOFOLLOW`, from a directory descriptor it holds), read or write a
//! file's contents, or decide what is trusted: it opens, looks and
//! follows, and the caller decides, on the descriptors it returns.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

/// Links one path may go through: the kernel's own limit (`MAXSYMLINKS`,
/// 40, in include/linux/namei.h), past which it fails with ELOOP.
pub(crate) const MAX_LINKS: u32 = 40;

/// The root a walk starts from (and starts again from at an absolute link),
/// and its name for messages.
#[derive(Clone, Copy)]
pub(crate) struct Root<'a> {
    pub(crate) fd: BorrowedFd<'a>,
    pub(crate) path: &'a Path,
}

/// A directory a walk reached: the directories from the root down to it,
/// open `O_PATH`, with their names (none: the root itself). A walk from it
/// goes back up through them at `..`.
pub(crate) struct Dir {
    walked: Vec<(OwnedFd, OsString)>,
}

impl Dir {
    /// The root itself.
    pub(crate) fn root() -> Dir {
        Dir { walked: Vec::new() }
    }

    /// Its descriptor (`root`'s when it is the root).
    pub(crate) fn fd<'a>(&'a self, root: Root<'a>) -> BorrowedFd<'a> {
        self.walked.last().map_or(root.fd, |(fd, _)| fd.as_fd())
    }

    /// Its path with every link resolved, below `root`'s. (The installer
    /// names the directories it writes in by it; the shim has no need.)
    #[cfg_attr(not(feature = "install"), allow(dead_code))]
    pub(crate) fn path(&self, root: Root<'_>) -> PathBuf {
        self.walked.iter().fold(root.path.to_owned(), |p, (_, name)| p.join(name))
    }
}

/// Where a walk ended, its last component not a link.
pub(crate) enum End {
    /// A regular file, opened with the flags the walk was given (its
    /// status is the caller's to take, on that descriptor).
    File(OwnedFd),
    /// A directory, with its status.
    Dir(Dir, Stat),
    /// Anything else, with its status.
    Other(Stat),
}

/// What a walk failed on: a system call, or the caller's check of a
/// directory on the way.
pub(crate) enum WalkError<E> {
    Io(Errno),
    Check(E),
}

impl<E> From<Errno> for WalkError<E> {
    fn from(err: Errno) -> Self {
        WalkError::Io(err)
    }
}

/// Walks `path` from the directory `from` (an absolute path, or a link's
/// absolute target, starts again at the root) and returns where it ends.
/// A regular file at the end is opened from its directory with `file`
/// (and `O_NOFOLLOW`: a name that turned into a link since it was looked
/// at fails with ELOOP). `on_the_way` is called with each directory
/// entered on the way to the last component, with its resolved path and
/// status, after it is opened and before anything is opened in it (`from`
/// is the caller's to have checked). `links` counts the links followed
/// and goes on from the count given (a caller that followed some itself
/// passes those).
pub(crate) fn walk<E>(
    root: Root<'_>,
    from: &Dir,
    path: &[u8],
    file: OFlags,
    links: &mut u32,
    on_the_way: &mut dyn FnMut(&Path, &Stat) -> Result<(), E>,
) -> Result<End, WalkError<E>> {
    if path.first() == Some(&b'/') {
        return walk(root, &Dir::root(), &path[1..], file, links, on_the_way);
    }
    let mut todo = components(path);
    // How much of `from` the walk is still in, and the directories it went
    // into below that.
    let mut base = from.walked.len();
    let mut walked: Vec<(OwnedFd, OsString)> = Vec::new();
    let here = |base: usize, walked: &[(OwnedFd, OsString)]| -> PathBuf {
        let names = from.walked[..base].iter().chain(walked).map(|(_, name)| name);
        names.fold(root.path.to_owned(), |p, name| p.join(name))
    };
    while let Some(name) = todo.pop() {
        let dir = match walked.last() {
            Some((fd, _)) => fd.as_fd(),
            None => from.walked[..base].last().map_or(root.fd, |(fd, _)| fd.as_fd()),
        };
        match name.as_bytes() {
            b"." | b".." => {
                if name.as_bytes() == b".." && walked.pop().is_none() {
                    base = base.saturating_sub(1);
                }
                if !todo.is_empty() {
                    continue;
                }
                // The path ends at a directory the walk is in already.
                let dir = match walked.last() {
                    Some((fd, _)) => fd.as_fd(),
                    None => from.walked[..base].last().map_or(root.fd, |(fd, _)| fd.as_fd()),
                };
                let st = rfs::fstat(dir)?;
                return Ok(End::Dir(joined(&from.walked[..base], walked)?, st));
            }
            _ => {}
        }
        let fd = rfs::openat(dir, name.as_os_str(), OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
        let st = rfs::fstat(&fd)?;
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind == FileType::Symlink {
            *links += 1;
            if *links > MAX_LINKS {
                return Err(Errno::LOOP.into());
            }
            let target = rfs::readlinkat(&fd, c"", Vec::new())?;
            match target.as_bytes() {
                [] => return Err(Errno::NOENT.into()),
                [b'/', ..] => {
                    base = 0;
                    walked.clear();
                }
                _ => {}
            }
            todo.extend(components(target.as_bytes()));
            continue;
        }
        if todo.is_empty() {
            return Ok(match kind {
                FileType::RegularFile => {
                    let fd =
                        rfs::openat(dir, name.as_os_str(), file | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                    End::File(fd)
                }
                FileType::Directory => {
                    walked.push((fd, name));
                    End::Dir(joined(&from.walked[..base], walked)?, st)
                }
                _ => End::Other(st),
            });
        }
        if kind != FileType::Directory {
            return Err(Errno::NOTDIR.into());
        }
        on_the_way(&here(base, &walked).join(&name), &st).map_err(WalkError::Check)?;
        walked.push((fd, name));
    }
    // `components` never gives none.
    Err(Errno::NOENT.into())
}

/// The directory a walk ended in, as a `Dir`: the part of the one it
/// started from that it stayed in (its descriptors duplicated: the caller
/// keeps the one it gave), then those it went into.
fn joined(base: &[(OwnedFd, OsString)], walked: Vec<(OwnedFd, OsString)>) -> Result<Dir, Errno> {
    let mut all = Vec::with_capacity(base.len() + walked.len());
    for (fd, name) in base {
        all.push((rustix::io::fcntl_dupfd_cloexec(fd, 0)?, name.clone()));
    }
    all.extend(walked);
    Ok(Dir { walked: all })
}

/// The components of a path, last first (a stack the walk pops); `/` alone
/// (or a path of slashes, or none) is `.`.
fn components(path: &[u8]) -> Vec<OsString> {
    let mut parts: Vec<OsString> =
        path.split(|&b| b == b'/').filter(|p| !p.is_empty()).map(|p| OsStr::from_bytes(p).to_owned()).collect();
    if parts.is_empty() {
        parts.push(".".into());
    }
    parts.reverse();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tree {
        dir: PathBuf,
        fd: OwnedFd,
    }

    /// A root with `a/b/file`, `a/up -> ..`, `abs -> /a/b`, `loop -> loop`
    /// and `a/b/rel -> ../b/file`.
    fn tree(tag: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("oci-add-hooks-walk-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/file"), "x").unwrap();
        symlink("..", dir.join("a/up")).unwrap();
        symlink("/a/b", dir.join("abs")).unwrap();
        symlink("loop", dir.join("loop")).unwrap();
        symlink("../b/file", dir.join("a/b/rel")).unwrap();
        let fd = rfs::open(&dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        Tree { dir, fd }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Walks `path` in `t`, and gives the resolved path of the directory it
    /// ends at (of a file: none), what it ends at, and the directories
    /// handed to the check.
    fn run(t: &Tree, path: &str) -> Result<(String, FileType, Vec<String>), Errno> {
        let root = Root { fd: t.fd.as_fd(), path: Path::new("/") };
        let mut seen = Vec::new();
        let mut check = |p: &Path, _: &Stat| -> Result<(), ()> {
            seen.push(p.display().to_string());
            Ok(())
        };
        let (path, st) = match walk(root, &Dir::root(), path.as_bytes(), OFlags::RDONLY, &mut 0, &mut check) {
            Ok(End::File(fd)) => (PathBuf::new(), rfs::fstat(&fd)?),
            Ok(End::Other(st)) => (PathBuf::new(), st),
            Ok(End::Dir(dir, st)) => (dir.path(root), st),
            Err(WalkError::Io(e)) => return Err(e),
            Err(WalkError::Check(())) => unreachable!("the check never fails here"),
        };
        Ok((path.display().to_string(), FileType::from_raw_mode(st.st_mode), seen))
    }

    #[test]
    fn paths_split_into_a_stack_of_components() {
        let c = |p: &[u8]| components(p).into_iter().rev().map(|c| c.into_string().unwrap()).collect::<Vec<_>>();
        assert_eq!(c(b"/etc//oci-add-hooks/./hooks.d/"), ["etc", "oci-add-hooks", ".", "hooks.d"]);
        assert_eq!(c(b"../vendor/20.json"), ["..", "vendor", "20.json"]);
        assert_eq!(c(b"/"), ["."]);
        assert_eq!(c(b"//"), ["."]);
    }

    #[test]
    fn links_are_followed_below_the_root_and_every_directory_passed_is_checked() {
        let t = tree("follow");
        let (_, kind, seen) = run(&t, "/abs/rel").unwrap();
        assert_eq!(kind, FileType::RegularFile);
        // abs's target /a/b, then rel's ../b from there.
        assert_eq!(seen, ["/a", "/a/b", "/a/b"]);
        let (path, kind, _) = run(&t, "/abs/../b/").unwrap();
        assert_eq!((path.as_str(), kind), ("/a/b", FileType::Directory));
    }

    #[test]
    fn a_walk_from_a_directory_goes_back_up_through_the_directories_that_led_there() {
        let t = tree("from");
        let root = Root { fd: t.fd.as_fd(), path: Path::new("/") };
        let mut ok = |_: &Path, _: &Stat| -> Result<(), ()> { Ok(()) };
        let Ok(End::Dir(b, _)) = walk(root, &Dir::root(), b"abs", OFlags::RDONLY, &mut 0, &mut ok) else {
            panic!("abs is a link to a directory")
        };
        assert_eq!(b.path(root), Path::new("/a/b"));
        let Ok(End::File(fd)) = walk(root, &b, b"../up/a/b/rel", OFlags::RDONLY, &mut 0, &mut ok) else {
            panic!("../up/a/b/rel is a link to a file")
        };
        assert_eq!(rfs::fstat(&fd).unwrap().st_ino, rfs::stat(t.dir.join("a/b/file")).unwrap().st_ino);
        // `b` is still usable: the walk duplicated what it kept of it.
        assert!(walk(root, &b, b"file", OFlags::RDONLY, &mut 0, &mut ok).is_ok());
    }

    #[test]
    fn dot_dot_never_climbs_above_the_root() {
        let t = tree("above");
        assert_eq!(run(&t, "/../../a/up/../../a").unwrap().0, "/a");
        let (path, kind, _) = run(&t, "..").unwrap();
        assert_eq!((path.as_str(), kind), ("/", FileType::Directory));
    }

    #[test]
    fn a_path_ending_in_dot_ends_at_that_directory() {
        let t = tree("dot");
        let (path, kind, seen) = run(&t, "a/b/.").unwrap();
        assert_eq!((path.as_str(), kind), ("/a/b", FileType::Directory));
        assert_eq!(seen, ["/a", "/a/b"]);
    }

    #[test]
    fn a_loop_fails_with_eloop_a_missing_name_with_enoent_and_a_file_on_the_way_with_enotdir() {
        let t = tree("errors");
        assert_eq!(run(&t, "/loop").unwrap_err(), Errno::LOOP);
        assert_eq!(run(&t, "/a/none").unwrap_err(), Errno::NOENT);
        assert_eq!(run(&t, "/a/b/file/x").unwrap_err(), Errno::NOTDIR);
    }

    #[test]
    fn a_failed_check_stops_the_walk_at_that_directory() {
        let t = tree("check");
        let root = Root { fd: t.fd.as_fd(), path: Path::new("/") };
        let mut check = |p: &Path, _: &Stat| if p == Path::new("/a/b") { Err(p.to_owned()) } else { Ok(()) };
        match walk(root, &Dir::root(), b"/a/b/file", OFlags::RDONLY, &mut 0, &mut check) {
            Err(WalkError::Check(p)) => assert_eq!(p, Path::new("/a/b")),
            _ => panic!("the walk went past a directory its check refused"),
        }
    }
}

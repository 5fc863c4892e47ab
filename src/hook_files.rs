//! Finding and reading the hook files: which paths, in which order, and
//! whether they are safe to trust.
//!
//! Owns the configuration sources (options, `OCI_ADD_HOOKS_CONFIG`, the
//! default directory), the order files apply in, their limits, and the
//! ownership and mode checks. Hooks run as root on the host, so a hook file
//! that someone else can write, or reach through a directory they can write,
//! hands them the host: such a file or directory is refused, never skipped,
//! and so is a `*.json` in a hook directory that is not a regular file.
//!
//! Every path is walked here one component at a time from `/`, symbolic
//! links resolved by this module rather than by the kernel, so that each
//! directory on the way (a link target's too) is checked on its own
//! descriptor, as OpenSSH checks the directories above its
//! `authorized_keys` (`safe_path` in misc.c). A file is opened without
//! blocking and checked on that descriptor (a regular file, trusted, within
//! the size limit) before a byte is read; nothing is reopened by name. This
//! module reads files but never writes any. Of the shim's runs it is only
//! reached for the subcommands that create a container; `validate` and
//! `install` load through it too, so all three read a configuration alike.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, Stat, CWD};
use rustix::io::Errno;

use crate::args::PROGRAM;
use crate::hooks::{self, HookError, HookFile};
use crate::trust;
use crate::walk::{self, Dir, End, Root, WalkError};

/// Where hook files live when nothing else is said.
pub(crate) const DEFAULT_ROOT: &str = "/etc/oci-add-hooks";
pub(crate) const DEFAULT_DIR: &str = "/etc/oci-add-hooks/hooks.d";
/// The environment variable naming a hook file or directory, for callers
/// that cannot pass arguments (containerd's `BinaryName`, CRI-O, podman).
pub(crate) const CONFIG_ENV: &str = "OCI_ADD_HOOKS_CONFIG";

/// The most hook files a configuration may have, and the largest a hook
/// file may be. A node has a handful of small ones; past these limits a
/// directory is not what its admin meant (or is being filled by someone
/// else), and every container start would pay for reading it.
pub(crate) const MAX_FILES: usize = 1000;
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// Files named directly that stay open from finding them to reading them.
const KEEP_OPEN: usize = 16;

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
    Missing {
        path: PathBuf,
        source: &'static str,
    },
    Io {
        path: PathBuf,
        err: io::Error,
    },
    /// Someone but root (or the shim's user) could change what is read.
    Unsafe {
        path: PathBuf,
        why: String,
    },
    /// Not what a hook configuration is: a FIFO, a device or a socket, a
    /// file or a number of files past the limits.
    Refused {
        path: PathBuf,
        why: String,
    },
    Hook(HookError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing { path, source } => {
                write!(f, "{}: hook configuration does not exist ({source})", path.display())
            }
            LoadError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            LoadError::Unsafe { path, why } | LoadError::Refused { path, why } => {
                write!(f, "{}: {why}", path.display())
            }
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
    let Some(first) = source.paths().first() else { return Ok(Vec::new()) };
    let slash = Slash::open(first, euid)?;
    // The hook directories, open: their files are walked to from there.
    let mut dirs: Vec<Dir> = Vec::new();
    // Every hook file found, in the order found, and where from.
    let mut found: Vec<Found> = Vec::new();
    let mut kept_open = 0;
    for path in source.paths() {
        let missing = |e| match e {
            LoadError::Io { path, err } if err.kind() == io::ErrorKind::NotFound => {
                LoadError::Missing { path, source: source.describe() }
            }
            e => e,
        };
        match walk_from_root(&slash, path, euid).map_err(missing)? {
            End::Dir(dir, st) => {
                check_trusted(path, st.st_uid, st.st_mode, euid)?;
                for name in json_names(dir.fd(slash.root()), path)? {
                    let path = path.join(&name);
                    found.push(Found { name, path, from: Origin::Dir(dirs.len()) });
                }
                dirs.push(dir);
            }
            file @ End::File { .. } => {
                // Kept open for the read, rather than walked to again; but
                // only a few, so a long command line cannot use up the
                // descriptors (the others are walked to again).
                let open = kept_open < KEEP_OPEN;
                kept_open += usize::from(open);
                let name = path.file_name().unwrap_or_default().to_owned();
                found.push(Found { name, path: path.clone(), from: Origin::Named(open.then_some(file)) });
            }
            End::Other(st) => {
                let why = format!("{}, not a hook file or a directory of them", kind_name(kind_of(&st)));
                return Err(LoadError::Refused { path: path.clone(), why });
            }
        }
    }
    let order = in_order(&found);
    if let Some(last) = source.paths().last() {
        within_file_count(order.len(), last)?;
    }
    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let Found { name, path, from } = &mut found[i];
        let end = match from {
            Origin::Dir(dir) => walk_in(&slash, &dirs[*dir], name.as_bytes(), path, euid)?,
            Origin::Named(open) => match open.take() {
                Some(end) => end,
                None => walk_from_root(&slash, path, euid)?,
            },
        };
        out.push(read(path, end, euid)?);
    }
    Ok(out)
}

/// A hook file found: its name, its path as configured, and where it came
/// from.
struct Found {
    name: OsString,
    path: PathBuf,
    from: Origin,
}

enum Origin {
    /// The `n`th hook directory.
    Dir(usize),
    /// Named directly, and kept open when it is one of the first few.
    Named(Option<End>),
}

impl Source {
    /// Where the paths came from, for a path that does not exist.
    fn describe(&self) -> &'static str {
        match self {
            Source::Options(_) => "given with --hook-config-path",
            Source::Env(_) => "named by OCI_ADD_HOOKS_CONFIG",
            Source::Default(_) => {
                "the default; create it, or name hook files with --hook-config-path or OCI_ADD_HOOKS_CONFIG"
            }
        }
    }
}

/// The files found, as positions in `found`, in the order they apply: by
/// name in byte order; of one name, a directory's file is replaced by that
/// of a later directory, in the place of the first, and files named
/// directly all stay, in their given order.
fn in_order(found: &[Found]) -> Vec<usize> {
    let names: Vec<&[u8]> = found.iter().map(|f| f.name.as_bytes()).collect();
    let from_dir = |i: usize| matches!(found[i].from, Origin::Dir(_));
    let order = order_by_name(&names);
    let mut keep = Vec::with_capacity(order.len());
    let mut start = 0;
    while start < order.len() {
        let name = names[order[start]];
        let end = order[start..].iter().position(|&i| names[i] != name).map_or(order.len(), |n| start + n);
        let same_name = &order[start..end];
        let mut last_from_a_dir = same_name.iter().rev().copied().find(|&i| from_dir(i));
        for &i in same_name {
            if !from_dir(i) {
                keep.push(i);
            } else if let Some(last) = last_from_a_dir.take() {
                keep.push(last);
            }
        }
        start = end;
    }
    keep
}

/// Sorts by file name in byte order. Stable: files of the same name named
/// directly keep their given order. (For the installer, which puts files in
/// the order the shim reads them; the shim sorts its own with `in_order`.)
#[cfg(any(test, feature = "install"))]
pub(crate) fn by_name(files: &mut [(OsString, PathBuf)]) {
    let names: Vec<&[u8]> = files.iter().map(|(name, _)| name.as_bytes()).collect();
    let order = order_by_name(&names);
    let mut taken: Vec<(OsString, PathBuf)> = files.iter_mut().map(std::mem::take).collect();
    for (slot, i) in files.iter_mut().zip(order) {
        *slot = std::mem::take(&mut taken[i]);
    }
}

// How many names `order_by_name` compared, in this thread: the tests'
// deterministic measure of its work.
#[cfg(test)]
thread_local! {
    static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The positions of `names` in the byte order of the names, equal names in
/// their given order: a merge sort, O(n log n), written out because std's
/// `sort_by` is another 4 KiB of code for each type it sorts, in a binary
/// with a size budget.
fn order_by_name(names: &[&[u8]]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    let mut merged = order.clone();
    let mut width = 1;
    while width < order.len() {
        for start in (0..order.len()).step_by(2 * width) {
            let mid = (start + width).min(order.len());
            let end = (start + 2 * width).min(order.len());
            let (mut left, mut right) = (start, mid);
            for slot in &mut merged[start..end] {
                // From the right-hand run only when its name is smaller, so
                // that equal names keep their order.
                let from_right = right < end && (left == mid || names[order[right]] < names[order[left]]);
                #[cfg(test)]
                COMPARED.set(COMPARED.get() + 1);
                let from = if from_right { &mut right } else { &mut left };
                *slot = order[*from];
                *from += 1;
            }
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

/// The names of a directory's `*.json` entries, in the directory's order
/// (`in_order` sorts them), read from its descriptor `dir` (`path` names
/// it); more than `MAX_FILES` is an error, found as the listing passes it.
fn json_names(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<OsString>, LoadError> {
    let io_err = |err: Errno| LoadError::Io { path: path.to_owned(), err: err.into() };
    let listing = rfs::openat(dir, c".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
    let listing = listing.map_err(io_err)?;
    // Room for any entry: a name is at most 255 bytes.
    let mut buf = [MaybeUninit::uninit(); 4096];
    let mut entries = rfs::RawDir::new(&listing, &mut buf);
    let mut names = Vec::new();
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_bytes();
        if is_hook_file_name(name) {
            names.push(OsString::from(OsStr::from_bytes(name)));
            within_file_count(names.len(), path)?;
        }
    }
    Ok(names)
}

fn is_hook_file_name(name: &[u8]) -> bool {
    name.ends_with(b".json")
}

fn within_file_count(count: usize, path: &Path) -> Result<(), LoadError> {
    if count <= MAX_FILES {
        return Ok(());
    }
    let why = format!(
        "more than {MAX_FILES} hook files (with those of the paths before it); a configuration may have at \
         most {MAX_FILES}: combine hooks into fewer files"
    );
    Err(LoadError::Refused { path: path.to_owned(), why })
}

/// The `*.json` files of a directory, for `install --hooks DIR`: each entry
/// must be a regular file (links followed), or it is an error naming it, as
/// in a hook directory.
#[cfg(feature = "install")]
pub(crate) fn json_files(dir: &Path) -> Result<Vec<(OsString, PathBuf)>, LoadError> {
    let io_err = |err: Errno| LoadError::Io { path: dir.to_owned(), err: err.into() };
    let fd =
        rfs::openat(CWD, dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(io_err)?;
    let mut out = Vec::new();
    for name in json_names(fd.as_fd(), dir)? {
        let path = dir.join(&name);
        match rfs::statat(&fd, name.as_os_str(), rfs::AtFlags::empty()) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => out.push((name, path)),
            Ok(st) => return Err(not_a_file(path, FileType::from_raw_mode(st.st_mode))),
            Err(err) => return Err(LoadError::Io { path, err: err.into() }),
        }
    }
    Ok(out)
}

/// `/`, open `O_PATH` and checked as any directory on a path is: where
/// every walk starts, and starts again at an absolute link.
struct Slash(OwnedFd);

impl Slash {
    fn open(named: &Path, euid: u32) -> Result<Slash, LoadError> {
        let io_err = |err: Errno| LoadError::Io { path: named.to_owned(), err: err.into() };
        let fd = rfs::openat(CWD, c"/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
        let fd = fd.map_err(io_err)?;
        on_the_way(named, Path::new("/"), &rfs::fstat(&fd).map_err(io_err)?, euid)?;
        Ok(Slash(fd))
    }

    fn root(&self) -> Root<'_> {
        Root { fd: self.0.as_fd(), path: Path::new("/") }
    }
}

/// Walks to `path` from `/` (a relative one from the current directory).
fn walk_from_root(slash: &Slash, path: &Path, euid: u32) -> Result<End, LoadError> {
    if path.is_absolute() {
        return walk_in(slash, &Dir::root(), path.as_os_str().as_bytes(), path, euid);
    }
    let cwd = std::env::current_dir().map_err(|err| LoadError::Io { path: path.to_owned(), err })?;
    walk_in(slash, &Dir::root(), cwd.join(path).as_os_str().as_bytes(), path, euid)
}

/// Walks `rest` from the directory `from`, every directory on the way
/// checked (`on_the_way`), and a regular file at the end opened to be
/// read: not yet checked (`read` checks the descriptor). `named` is the
/// path as configured, for messages.
fn walk_in(slash: &Slash, from: &Dir, rest: &[u8], named: &Path, euid: u32) -> Result<End, LoadError> {
    let file = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
    let mut check = |dir: &Path, st: &Stat| on_the_way(named, dir, st, euid);
    walk::walk(slash.root(), from, rest, file, &mut 0, &mut check).map_err(|e| match e {
        WalkError::Io(err) => LoadError::Io { path: named.to_owned(), err: err.into() },
        WalkError::Check(e) => e,
    })
}

/// A directory's hook file must not get past a directory that is not
/// trusted either (`trust::why_not_on_the_way`).
fn on_the_way(named: &Path, dir: &Path, st: &Stat, euid: u32) -> Result<(), LoadError> {
    trust::why_not_on_the_way(dir, st, euid)
        .map_or(Ok(()), |why| Err(LoadError::Unsafe { path: named.to_owned(), why }))
}

/// Reads the hook file a walk to `path` ended at, once its descriptor shows
/// a regular file that is safe to trust and within the size limit.
fn read(path: &Path, end: End, euid: u32) -> Result<HookFile, LoadError> {
    let io_err = |err: io::Error| LoadError::Io { path: path.to_owned(), err };
    let fd = match end {
        End::File(fd) => fd,
        End::Dir(..) => return Err(not_a_file(path.to_owned(), FileType::Directory)),
        End::Other(st) => return Err(not_a_file(path.to_owned(), kind_of(&st))),
    };
    let st = rfs::fstat(&fd).map_err(|e| io_err(e.into()))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::RegularFile {
        return Err(not_a_file(path.to_owned(), kind));
    }
    check_trusted(path, st.st_uid, st.st_mode, euid)?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    within_size(size, path)?;
    let bytes = crate::atomic::read_all(&fd, size as usize, MAX_FILE_BYTES as usize).map_err(io_err)?;
    // It may have grown since the fstat.
    within_size(bytes.len() as u64, path)?;
    hooks::parse(path, &bytes).map_err(LoadError::Hook)
}

fn within_size(size: u64, path: &Path) -> Result<(), LoadError> {
    if size <= MAX_FILE_BYTES {
        return Ok(());
    }
    let why = format!("{size} bytes; a hook file may have at most {MAX_FILE_BYTES} (1 MiB)");
    Err(LoadError::Refused { path: path.to_owned(), why })
}

fn not_a_file(path: PathBuf, kind: FileType) -> LoadError {
    let why = format!("{}, not a regular file; every *.json in a hook directory must be a hook file", kind_name(kind));
    LoadError::Refused { path, why }
}

fn kind_of(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::RegularFile => "a regular file",
        FileType::Unknown => "a file of unknown type",
    }
}

/// A hook file or directory may be written only by root or by the user the
/// shim runs as (`trust::why_not`).
pub(crate) fn check_trusted(path: &Path, uid: u32, mode: u32, euid: u32) -> Result<(), LoadError> {
    trust::why_not(uid, mode, euid).map_or(Ok(()), |why| Err(LoadError::Unsafe { path: path.to_owned(), why }))
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
    fn order_by_name_is_a_stable_sort() {
        // Against std's stable sort, on every length up to 64, from an
        // alphabet small enough for many equal names.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 0..64 {
            let names: Vec<Vec<u8>> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    vec![b'a' + (x % 3) as u8, b'a' + (x / 3 % 2) as u8][..1 + (x / 6 % 2) as usize].to_vec()
                })
                .collect();
            let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
            let mut want: Vec<usize> = (0..len).collect();
            want.sort_by(|&a, &b| names[a].cmp(names[b]));
            assert_eq!(order_by_name(&names), want, "{names:?}");
        }
    }

    #[test]
    fn regression_sorting_hook_files_is_not_quadratic() {
        // An insertion sort: 20,000 files took 2 x 10^8 comparisons.
        // Counted, not timed: at most n log2 n.
        let names: Vec<Vec<u8>> = (0..20_000).rev().map(|n: u32| format!("{n:05}.json").into_bytes()).collect();
        let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        COMPARED.set(0);
        let order = order_by_name(&names);
        assert!(COMPARED.get() <= 20_000 * 15, "{} comparisons for 20,000 names", COMPARED.get());
        assert_eq!(order[..3], [19_999, 19_998, 19_997]);
    }

    #[test]
    fn a_later_directorys_file_replaces_an_earlier_ones_in_its_place() {
        let f = |name: &str, path: &str, from| Found { name: name.into(), path: path.into(), from };
        let found = [
            f("b.json", "/1/b.json", Origin::Dir(0)),
            f("a.json", "/1/a.json", Origin::Dir(0)),
            f("a.json", "/named/a.json", Origin::Named(None)),
            f("a.json", "/2/a.json", Origin::Dir(1)),
            f("c.json", "/2/c.json", Origin::Dir(1)),
            f("a.json", "/also-named/a.json", Origin::Named(None)),
        ];
        let paths: Vec<_> = in_order(&found).into_iter().map(|i| found[i].path.to_str().unwrap_or_default()).collect();
        assert_eq!(paths, ["/2/a.json", "/named/a.json", "/also-named/a.json", "/1/b.json", "/2/c.json"]);
        assert!(in_order(&[]).is_empty());
    }

    #[test]
    fn limits_name_the_path_and_the_limit() {
        let p = Path::new("/h");
        assert!(within_size(MAX_FILE_BYTES, p).is_ok());
        assert_eq!(
            within_size(MAX_FILE_BYTES + 1, p).unwrap_err().to_string(),
            "/h: 1048577 bytes; a hook file may have at most 1048576 (1 MiB)"
        );
        assert!(within_file_count(MAX_FILES, p).is_ok());
        assert_eq!(
            within_file_count(MAX_FILES + 1, p).unwrap_err().to_string(),
            "/h: more than 1000 hook files (with those of the paths before it); a configuration may have at most \
             1000: combine hooks into fewer files"
        );
        assert_eq!(
            not_a_file(p.join("20.json"), FileType::Fifo).to_string(),
            "/h/20.json: a FIFO, not a regular file; every *.json in a hook directory must be a hook file"
        );
    }
}

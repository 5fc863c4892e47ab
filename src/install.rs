//! `oci-add-hooks install` and `uninstall`: putting the shim on a host, and
//! taking it off again.
//!
//! Owns the order of an install: everything is read and checked first (the
//! hook files, `daemon.json`, the install record, the dockerd the pidfile
//! names), so that a refusal changes nothing; then the record of what may
//! be put in place is written, then the binary, the hook files and the
//! containerd drop-in, then `daemon.json`, then dockerd is reloaded and
//! the reload confirmed, then what an earlier install put there and this
//! one does not want is removed, and the record is made exact. uninstall
//! undoes the record, `daemon.json` and the reload first, so that dockerd
//! never names a binary that is gone. Each step prints one line to stdout
//! (what `kubectl logs` shows); a step with nothing to do writes nothing.
//! The pure parts live beside it: `install_options`, `daemon_json`,
//! `manifest`, `containerd`; the edges in `atomic`, `host`, `dockerd` and
//! `signals`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::atomic;
use crate::containerd;
use crate::daemon_json::{self, Change, DaemonJsonError, Doc, Previous, Runtime};
use crate::dockerd::{self, DockerdError, Found, Want};
use crate::hook_files::{self, LoadError};
use crate::hooks::{self, HookError};
use crate::host::Host;
use crate::install_options::{self, Action, Options, HELP};
use crate::manifest::{self, Record, RecordError};
use crate::runtime::FileId;
use crate::sha256;
use crate::signals;

/// Where a backup of `daemon.json` goes, before install first changes it.
const BACKUP_SUFFIX: &str = ".oci-add-hooks.bak";

#[derive(Debug)]
pub enum InstallError {
    Usage { action: Action, msg: String },
    Io { path: PathBuf, what: &'static str, err: io::Error },
    DaemonJson { path: PathBuf, err: DaemonJsonError },
    Record { path: PathBuf, err: RecordError },
    Hook(HookError),
    HookFiles(LoadError),
    Refused { path: PathBuf, why: String },
    Dockerd(DockerdError),
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
        }
    }
}

impl std::error::Error for InstallError {}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> InstallError + 'a {
    move |err| InstallError::Io { path: path.to_owned(), what, err }
}

/// One line of what was done.
fn say(line: impl fmt::Display) {
    println!("{line}");
}

/// Runs `install` or `uninstall` with the arguments after the subcommand.
pub fn run(action: Action, args: Vec<OsString>) -> Result<ExitCode, InstallError> {
    let o = install_options::parse(action, args).map_err(|msg| InstallError::Usage { action, msg })?;
    if o.help {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    // Before anything else: a SIGTERM during the install then waits for it.
    let blocked = match o.wait {
        true => Some(signals::block_stop_signals().map_err(io_err(Path::new("(signals)"), "block SIGTERM"))?),
        false => None,
    };
    let host = Host::new(o.host_root.clone());
    if !host.root().is_dir() {
        return Err(InstallError::Refused { path: o.host_root.clone(), why: "--host-root: not a directory".into() });
    }
    match action {
        Action::Install => install(&host, &o)?,
        Action::Uninstall => uninstall(&host, &o)?,
    }
    if let Some(blocked) = blocked {
        let stays = match action {
            Action::Install => "; everything stays installed",
            Action::Uninstall => "",
        };
        match action {
            Action::Install => {
                say(format_args!("waiting for SIGTERM or SIGINT{stays} (remove it with oci-add-hooks uninstall)"))
            }
            Action::Uninstall => say("waiting for SIGTERM or SIGINT"),
        }
        let sig = blocked.wait().map_err(io_err(Path::new("(signals)"), "wait for SIGTERM"))?;
        say(format_args!("{sig}: exiting{stays}"));
    }
    Ok(ExitCode::SUCCESS)
}

fn install(host: &Host, o: &Options) -> Result<(), InstallError> {
    // Read and check everything first.
    let record_here = host.path(&o.record(), false);
    let old = read_record(&record_here)?.unwrap_or_default();
    let exe_path = Path::new("/proc/self/exe");
    let exe = std::fs::read(exe_path).map_err(io_err(exe_path, "read this executable"))?;
    let hook_files = collect_hooks(&o.hooks)?;
    let hooks_dir = o.hooks_dir();
    let hook_paths: Vec<String> = hook_files.iter().map(|h| format!("{hooks_dir}/{}", h.name)).collect();
    for (p, h) in hook_paths.iter().zip(&hook_files) {
        let here = host.path(p, false);
        if !old.hooks.contains(p) && here.symlink_metadata().is_ok() {
            return Err(InstallError::Refused {
                path: here,
                why: format!(
                    "exists and was not put there by install (it is not in {}); not replaced with {}: \
                     remove it, or give the hook file another name",
                    record_here.display(),
                    h.source.display()
                ),
            });
        }
    }
    let dropin = o.containerd.then(|| containerd::DROPIN.to_owned());
    if let Some(d) = &dropin {
        check_dropin_is_ours(host, d, &old)?;
    }
    let binary = o.binary();
    let binary_here = host.path(&binary, false);
    let ours = binary_is_ours(&binary_here, old.binary.as_deref() == Some(binary.as_str()), &exe, &record_here)?;
    let rt = Runtime {
        name: o.runtime_name.clone(),
        path: binary.clone(),
        args: vec![
            crate::args::HOOK_CONFIG_PATH.into(),
            hooks_dir.clone(),
            crate::args::RUNTIME_PATH.into(),
            o.runtime_path.clone(),
        ],
    };
    let mut docker = DockerWork::default();
    if let Some(od) = &old.docker {
        if !(o.docker && od.config == o.docker_config && od.runtime == o.runtime_name) {
            docker.undo(host, od)?;
        }
    }
    let registered = if o.docker { docker.register(host, o, &rt, old.docker.as_ref())? } else { None };
    let dockerd = docker.find_dockerd(host, o)?;

    // Then change: directories, the record of what may be put in place, the files.
    let mut created = old.created_dirs.clone();
    let mut dirs = vec![o.bin_dir.clone(), o.config_dir.clone(), hooks_dir.clone()];
    if let Some(d) = &dropin {
        dirs.extend(Path::new(d).parent().and_then(Path::to_str).map(str::to_owned));
    }
    for d in &dirs {
        ensure_dir(host, d, &mut created)?;
    }
    let hooks_dir_here = host.path(&hooks_dir, true);
    let meta = hooks_dir_here.metadata().map_err(io_err(&hooks_dir_here, "stat"))?;
    hook_files::check_trusted(&hooks_dir_here, meta.uid(), meta.mode(), rustix::process::geteuid().as_raw())
        .map_err(InstallError::HookFiles)?;
    let new = Record {
        binary: ours.then(|| binary.clone()),
        hooks: hook_paths.clone(),
        created_dirs: created,
        docker: registered,
        containerd: dropin.clone(),
    };
    write_record(&record_here, Some(&old.union(&new)))?;

    let sha = sha256::hex(&exe);
    if !ours {
        say(format_args!(
            "{}: already this executable (sha256 {sha}), but not put there by install: left as it is, and uninstall leaves it",
            binary_here.display()
        ));
    } else if put_file(&binary_here, &exe, 0o755)? {
        say(format_args!("installed {} (sha256 {sha})", binary_here.display()));
    } else {
        say(format_args!("{}: already installed (sha256 {sha}), unchanged", binary_here.display()));
    }
    for (p, h) in hook_paths.iter().zip(&hook_files) {
        let here = host.path(p, false);
        if put_file(&here, &h.bytes, 0o644)? {
            say(format_args!("installed {} (from {})", here.display(), h.source.display()));
        } else {
            say(format_args!("{}: already installed, unchanged", here.display()));
        }
    }
    if let Some(d) = &dropin {
        let here = host.path(d, false);
        if put_file(&here, containerd::dropin(&o.runtime_name, &binary).as_bytes(), 0o644)? {
            say(format_args!("installed {} (runtime {})", here.display(), o.runtime_name));
        } else {
            say(format_args!("{}: already installed, unchanged", here.display()));
        }
        say(format_args!(
            "containerd: restart it to load runtime {} (it does not reload on SIGHUP and is not signalled), \
             and check that its config.toml imports {}",
            o.runtime_name,
            Path::new(d).parent().unwrap_or(Path::new("/")).join("*.toml").display()
        ));
    }
    let changed = docker.apply(matches!(dockerd, Some(Found::Dockerd(_))))?;
    let want = new.docker.as_ref().map(|d| (d.runtime.clone(), Want::Present { path: d.path.clone() }));
    reload(host, o, dockerd, changed, want)?;
    docker.finish()?;

    // What an earlier install put there and this one does not want.
    for p in old.hooks.iter().filter(|p| !new.hooks.contains(p)) {
        remove(host, p)?;
    }
    if old.binary != new.binary {
        if let Some(b) = &old.binary {
            remove(host, b)?;
        }
    }
    if old.containerd != new.containerd {
        if let Some(c) = &old.containerd {
            remove(host, c)?;
        }
    }
    write_record(&record_here, Some(&new))
}

fn uninstall(host: &Host, o: &Options) -> Result<(), InstallError> {
    let record_here = host.path(&o.record(), false);
    let old = match read_record(&record_here)? {
        Some(r) => r,
        None => {
            say(format_args!(
                "{}: no install record; removing what the options name, where it is ours",
                record_here.display()
            ));
            unrecorded(host, o)?
        }
    };
    let mut docker = DockerWork::default();
    if let Some(od) = &old.docker {
        docker.undo(host, od)?;
    }
    let dockerd = docker.find_dockerd(host, o)?;

    let changed = docker.apply(matches!(dockerd, Some(Found::Dockerd(_))))?;
    let want = old.docker.as_ref().map(|d| (d.runtime.clone(), Want::Absent { path: d.path.clone() }));
    reload(host, o, dockerd, changed, want)?;
    docker.finish()?;
    for p in old.hooks.iter().chain(&old.containerd).chain(&old.binary) {
        remove(host, p)?;
    }
    write_record(&record_here, None)?;
    for d in old.created_dirs.iter().rev() {
        let here = host.path(d, true);
        match std::fs::remove_dir(&here) {
            Ok(()) => say(format_args!("removed directory {} (install had created it)", here.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Not empty: something else lives there now.
            Err(_) => say(format_args!("{}: not empty, left in place", here.display())),
        }
    }
    if old.is_empty() {
        say("nothing to remove");
    }
    Ok(())
}

/// With no record, what the options name that is recognisably ours: the
/// binary if it is a copy of this executable (not the running file itself,
/// which install never writes), the runtime entry if its path is
/// the binary's, the containerd drop-in if it carries our header. Hook
/// files cannot be told apart from anyone else's, so they stay.
fn unrecorded(host: &Host, o: &Options) -> Result<Record, InstallError> {
    let binary = o.binary();
    let here = host.path(&binary, false);
    let exe = std::fs::read("/proc/self/exe").ok();
    let same = exe.is_some() && !is_this_executable(&here) && std::fs::read(&here).ok() == exe;
    let dropin_ours = o.containerd
        && std::fs::read_to_string(host.path(containerd::DROPIN, false))
            .is_ok_and(|t| t.starts_with(containerd::HEADER));
    Ok(Record {
        binary: same.then_some(binary.clone()),
        docker: o.docker.then(|| manifest::Docker {
            config: o.docker_config.clone(),
            runtime: o.runtime_name.clone(),
            path: binary,
            created_config: false,
            previous: Previous::default(),
        }),
        containerd: dropin_ours.then(|| containerd::DROPIN.to_owned()),
        ..Record::default()
    })
}

/// Whether the binary at `here` is install's to write and record: yes if
/// an earlier install recorded it, or if there is none. A file something
/// else put there (dpkg's `/usr/bin/oci-add-hooks`, when the packages'
/// postinst command `install --bin-dir /usr/bin` runs) belongs to that:
/// the same program is left in place and not recorded, so uninstall
/// leaves it; another one is not replaced, as with hook files.
fn binary_is_ours(here: &Path, recorded: bool, exe: &[u8], record: &Path) -> Result<bool, InstallError> {
    if recorded || here.symlink_metadata().is_err() {
        return Ok(true);
    }
    match std::fs::read(here) {
        Ok(bytes) if bytes == exe => Ok(false),
        _ => Err(InstallError::Refused {
            path: here.to_owned(),
            why: format!(
                "exists and was not put there by install (it is not in {}); not replaced with this executable: \
                 remove it, or give another --bin-dir",
                record.display()
            ),
        }),
    }
}

/// Whether `here` is the running executable itself: a binary run from where
/// install would put it, as a package's `/usr/bin/oci-add-hooks` with
/// `--bin-dir /usr/bin`. Install never copies a binary onto itself, so
/// such a file was put there by something else (dpkg, rpm), which owns it.
fn is_this_executable(here: &Path) -> bool {
    let exe = FileId::current_exe();
    exe.is_some() && FileId::of_path(here) == exe
}

/// A hook file to install: its name in hooks.d, where it came from, its bytes.
struct HookSource {
    name: String,
    source: PathBuf,
    bytes: Vec<u8>,
}

/// Reads the `--hooks` files (a directory gives its `*.json` files, by
/// name), each checked by the shim's own rules.
fn collect_hooks(paths: &[PathBuf]) -> Result<Vec<HookSource>, InstallError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(io_err(path, "read hook file"))?;
        if meta.is_dir() {
            // Which files, in which order, as the shim would read them.
            let mut found = hook_files::json_files(path).map_err(InstallError::HookFiles)?;
            hook_files::by_name(&mut found);
            files.extend(found.into_iter().map(|(_, p)| p));
        } else {
            files.push(path.clone());
        }
    }
    let mut out: Vec<HookSource> = Vec::new();
    for source in files {
        let name = source.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        let Some(name) = name.filter(|n| n.ends_with(".json")) else {
            return Err(InstallError::Refused {
                path: source,
                why: "a hook file's name must be UTF-8 and end in .json (the shim reads only *.json from hooks.d)"
                    .into(),
            });
        };
        if let Some(twin) = out.iter().find(|h| h.name == name) {
            return Err(InstallError::Refused {
                path: source,
                why: format!("same file name as {}: hooks.d holds one file per name", twin.source.display()),
            });
        }
        let bytes = std::fs::read(&source).map_err(io_err(&source, "read hook file"))?;
        hooks::parse(&source, &bytes).map_err(InstallError::Hook)?;
        out.push(HookSource { name, source, bytes });
    }
    Ok(out)
}

fn check_dropin_is_ours(host: &Host, dropin: &str, old: &Record) -> Result<(), InstallError> {
    let here = host.path(dropin, false);
    let ours = old.containerd.as_deref() == Some(dropin)
        || std::fs::read_to_string(&here).is_ok_and(|t| t.starts_with(containerd::HEADER));
    if !ours && here.symlink_metadata().is_ok() {
        return Err(InstallError::Refused {
            path: here,
            why: "exists and was not written by install; not replaced: remove or rename it".into(),
        });
    }
    Ok(())
}

/// The edits of `daemon.json` files, worked out before any is written.
#[derive(Default)]
struct DockerWork {
    edits: Vec<Edit>,
    /// Whether dockerd is involved at all (a file is edited or checked).
    involved: bool,
}

struct Edit {
    here: PathBuf,
    original: Option<Vec<u8>>,
    /// The document as read, and as it is to be.
    before: serde_json::Map<String, serde_json::Value>,
    doc: Doc,
    changes: Vec<Change>,
    /// install created the file: remove it rather than leave `{}`.
    remove_if_empty: bool,
    /// Written for dockerd's reload; the document is written after it.
    pending: Option<Vec<&'static str>>,
}

impl DockerWork {
    /// The edit of the file at host path `config`, read and parsed once.
    fn edit(&mut self, host: &Host, config: &str) -> Result<&mut Edit, InstallError> {
        let here = host.path(config, true);
        if let Some(i) = self.edits.iter().position(|e| e.here == here) {
            return Ok(&mut self.edits[i]);
        }
        let original = match std::fs::read(&here) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(InstallError::Io { path: here, what: "read", err: e }),
        };
        let doc = daemon_json::parse(original.as_deref())
            .map_err(|err| InstallError::DaemonJson { path: here.clone(), err })?;
        let before = doc.config.clone();
        self.edits.push(Edit {
            here,
            original,
            before,
            doc,
            changes: Vec::new(),
            remove_if_empty: false,
            pending: None,
        });
        let last = self.edits.len() - 1;
        Ok(&mut self.edits[last])
    }

    /// Removes the registration `d` describes.
    fn undo(&mut self, host: &Host, d: &manifest::Docker) -> Result<(), InstallError> {
        self.involved = true;
        if !host.path(&d.config, true).exists() {
            return Ok(());
        }
        let e = self.edit(host, &d.config)?;
        let changes = daemon_json::unmerge(&mut e.doc.config, &d.runtime, &d.path, &d.previous)
            .map_err(|err| InstallError::DaemonJson { path: e.here.clone(), err })?;
        e.changes.extend(changes);
        e.remove_if_empty |= d.created_config;
        Ok(())
    }

    /// Registers `rt` in `--docker-config`, if Docker is set up on this
    /// host; returns the record of it.
    fn register(
        &mut self,
        host: &Host,
        o: &Options,
        rt: &Runtime,
        old: Option<&manifest::Docker>,
    ) -> Result<Option<manifest::Docker>, InstallError> {
        let here = host.path(&o.docker_config, true);
        let pidfile = host.path(&o.docker_pidfile, true);
        if !here.exists() && !pidfile.exists() {
            say(format_args!(
                "Docker: neither {} nor {} exists: Docker is not set up here, skipped (--no-docker says so quietly)",
                here.display(),
                pidfile.display()
            ));
            return Ok(None);
        }
        self.involved = true;
        if let Some(dir) = here.parent().filter(|d| !d.is_dir()) {
            return Err(InstallError::Refused {
                path: dir.to_owned(),
                why: "does not exist, so there is nowhere to create daemon.json (is Docker installed? --docker-config, --no-docker)".into(),
            });
        }
        let same = old.filter(|d| d.config == o.docker_config && d.runtime == o.runtime_name);
        let mut previous = same.map(|d| d.previous.clone()).unwrap_or_default();
        let e = self.edit(host, &o.docker_config)?;
        let json_err = |err| InstallError::DaemonJson { path: here.clone(), err };
        let mut changes = daemon_json::merge(&mut e.doc.config, rt, o.set_default).map_err(json_err)?;
        if !o.set_default && previous.set_default && daemon_json::default_is(&e.doc.config, &rt.name) {
            changes.push(daemon_json::restore_default(&mut e.doc.config, previous.default.take()));
            previous.set_default = false;
        }
        for c in &changes {
            match c {
                Change::ReplacedRuntime { was, .. } if same.is_none() => previous.runtime = Some(was.clone()),
                Change::SetDefault { was, .. } if !previous.set_default => {
                    previous.set_default = true;
                    previous.default.clone_from(was);
                }
                _ => {}
            }
        }
        let created_config = same.is_some_and(|d| d.created_config) || e.original.is_none();
        e.changes.extend(changes);
        Ok(Some(manifest::Docker {
            config: o.docker_config.clone(),
            runtime: rt.name.clone(),
            path: rt.path.clone(),
            created_config,
            previous,
        }))
    }

    /// The dockerd to reload, checked before anything is written.
    fn find_dockerd(&self, host: &Host, o: &Options) -> Result<Option<Found>, InstallError> {
        if !self.involved || !o.reload {
            return Ok(None);
        }
        dockerd::find(&host.path(&o.docker_pidfile, true)).map(Some).map_err(InstallError::Dockerd)
    }

    /// Writes the edits that change something (after a one-time backup);
    /// returns whether any did. When dockerd is to reload (`reloading`), a
    /// file that drops `runtimes` or `default-runtime` is first written as
    /// dockerd must see it (`daemon_json::for_reload`), and `finish` writes
    /// the document after the reload.
    fn apply(&mut self, reloading: bool) -> Result<bool, InstallError> {
        let mut changed = false;
        for e in &mut self.edits {
            if e.changes.is_empty() {
                say(format_args!("{}: already as wanted, unchanged", e.here.display()));
                continue;
            }
            changed = true;
            if let Some(original) = &e.original {
                backup(&e.here, original)?;
            }
            let shown = reloading.then(|| daemon_json::for_reload(&e.before, &e.doc.config)).flatten();
            match shown {
                Some((shown, kept)) => {
                    let mut doc = e.doc.clone();
                    doc.config = shown;
                    write_daemon_json(&e.here, &daemon_json::to_bytes(&doc), e.original.is_some())?;
                    e.pending = Some(kept);
                }
                None => e.write_final()?,
            }
            for c in &e.changes {
                say(format_args!("{}: {c}", e.here.display()));
            }
        }
        Ok(changed)
    }

    /// Writes the documents held back for dockerd's reload.
    fn finish(&mut self) -> Result<(), InstallError> {
        for e in &mut self.edits {
            if let Some(kept) = e.pending.take() {
                e.write_final()?;
                say(format_args!(
                    "{}: dropped {} now that dockerd has reloaded (it keeps a setting the file no longer has)",
                    e.here.display(),
                    kept.join(" and ")
                ));
            }
        }
        Ok(())
    }
}

impl Edit {
    fn write_final(&self) -> Result<(), InstallError> {
        if self.remove_if_empty && self.doc.config.is_empty() {
            std::fs::remove_file(&self.here).map_err(io_err(&self.here, "remove"))?;
            say(format_args!("removed {} (install had created it, and it is empty now)", self.here.display()));
            return Ok(());
        }
        write_daemon_json(&self.here, &daemon_json::to_bytes(&self.doc), self.original.is_some())
    }
}

fn write_daemon_json(here: &Path, bytes: &[u8], existed: bool) -> Result<(), InstallError> {
    match existed {
        true => atomic::replace(here, bytes),
        false => atomic::create_or_replace(here, bytes, 0o644),
    }
    .map_err(|err| InstallError::Io { path: here.to_owned(), what: "write (left unchanged)", err })
}

/// Keeps `daemon.json` as it was before install first changed it, once.
fn backup(config: &Path, original: &[u8]) -> Result<(), InstallError> {
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

/// Has dockerd reload, if it runs and the file changed or it has not yet
/// loaded what it should, then confirms through the socket if there is one.
fn reload(
    host: &Host,
    o: &Options,
    found: Option<Found>,
    changed: bool,
    want: Option<(String, Want)>,
) -> Result<(), InstallError> {
    let pid = match found {
        None => {
            if changed && !o.reload {
                say("dockerd: not signalled (--no-reload): it loads the change on SIGHUP or restart");
            }
            return Ok(());
        }
        Some(Found::NotRunning(why)) => {
            say(format_args!("dockerd: not running ({why}): it loads daemon.json when it starts"));
            return Ok(());
        }
        Some(Found::Dockerd(pid)) => pid,
    };
    let socket = host.path(&o.docker_socket, true);
    let socket = socket.exists().then_some(socket);
    let needed = changed
        || match (&socket, &want) {
            (Some(s), Some((name, w))) => !dockerd::shows(s, name, w).map_err(InstallError::Dockerd)?,
            _ => false,
        };
    if !needed {
        say(format_args!("dockerd (pid {pid}): has loaded what daemon.json says, not signalled"));
        return Ok(());
    }
    dockerd::reload(pid).map_err(InstallError::Dockerd)?;
    match (&socket, &want) {
        (Some(s), Some((name, w))) => {
            dockerd::confirm(s, name, w).map_err(InstallError::Dockerd)?;
            let what = if matches!(w, Want::Present { .. }) { "visible" } else { "gone" };
            say(format_args!("dockerd (pid {pid}): SIGHUP sent, runtime {name} {what} in GET /info"));
        }
        (Some(_), None) => say(format_args!("dockerd (pid {pid}): SIGHUP sent")),
        (None, _) => say(format_args!(
            "dockerd (pid {pid}): SIGHUP sent; not confirmed (no socket {})",
            host.path(&o.docker_socket, true).display()
        )),
    }
    Ok(())
}

fn read_record(path: &Path) -> Result<Option<Record>, InstallError> {
    match std::fs::read(path) {
        Ok(bytes) => Record::parse(&bytes).map(Some).map_err(|err| InstallError::Record { path: path.to_owned(), err }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InstallError::Io { path: path.to_owned(), what: "read", err: e }),
    }
}

/// Writes the record if it differs from the file (`None`: removes it).
fn write_record(path: &Path, record: Option<&Record>) -> Result<(), InstallError> {
    match record {
        Some(r) => {
            put_file(path, &r.to_bytes(), 0o644)?;
        }
        None => {
            if remove_file(path)? {
                say(format_args!("removed {}", path.display()));
            }
        }
    }
    Ok(())
}

/// Writes `bytes` with `mode` unless the file already is exactly that;
/// returns whether it wrote.
fn put_file(here: &Path, bytes: &[u8], mode: u32) -> Result<bool, InstallError> {
    let same = here.symlink_metadata().is_ok_and(|m| m.is_file() && m.mode() & 0o7777 == mode)
        && std::fs::read(here).is_ok_and(|b| b == bytes);
    if same {
        return Ok(false);
    }
    atomic::create_or_replace(here, bytes, mode).map_err(io_err(here, "write"))?;
    Ok(true)
}

fn remove(host: &Host, host_path: &str) -> Result<(), InstallError> {
    let here = host.path(host_path, false);
    if remove_file(&here)? {
        say(format_args!("removed {}", here.display()));
    }
    Ok(())
}

fn remove_file(here: &Path) -> Result<bool, InstallError> {
    match std::fs::remove_file(here) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(InstallError::Io { path: here.to_owned(), what: "remove", err: e }),
    }
}

/// Creates the host directory `dir` and its missing parents (mode 0755),
/// adding each one created to `created`.
fn ensure_dir(host: &Host, dir: &str, created: &mut Vec<String>) -> Result<(), InstallError> {
    let mut prefix = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        let here = host.path(&prefix, true);
        if here.is_dir() {
            continue;
        }
        std::fs::DirBuilder::new().mode(0o755).create(&here).map_err(io_err(&here, "create directory"))?;
        say(format_args!("created directory {}", here.display()));
        if !created.contains(&prefix) {
            created.push(prefix.clone());
        }
    }
    Ok(())
}

//! `oci-add-hooks install` and `uninstall`: putting the shim on a host, and
//! taking it off again.
//!
//! Owns the order of both. Each runs in two phases. `plan_install` and
//! `plan_uninstall` read and check everything (the hook files, the install
//! record, the binary already at the target, `daemon.json`, the dockerd the
//! pidfile names) and return what would change, so that a refusal changes
//! nothing. `apply` then changes it, in this order: the directories, the
//! record of what may be put in place (so that a run stopped halfway leaves
//! nothing unrecorded), the binary, the hook files, the hooks.d files for
//! CRI-O and podman (`crio`), then the Docker step (`daemon.json`, the
//! reload and its confirmation) and the containerd step (config.toml,
//! checked by containerd, and the restart), then what an earlier install
//! put there and this one does not want is removed, and the record is made
//! exact. Uninstall undoes the Docker and containerd steps first, so that
//! neither names a binary that is gone.
//! The plans return a report of what they found and why (the CLI prints
//! it before the apply), and the apply says each thing it does, one line
//! to stdout (what `kubectl logs` shows); a step with nothing to do writes
//! nothing. The engines' daemons and binaries are reached only through
//! `Engines`, the host's own in a run, stand-ins in the unit tests.
//!
//! The folders are the engines: `docker/` (the step, `daemon_json`,
//! `dockerd`), `containerd/` (the step, `config`, `dump`, `daemon`) and
//! `crio/` (the step, `config`). What they share sits here: `options` (the
//! command line), `error` (the error and the printed line), `files`
//! (writing host files), `record` (the install record), and the edges
//! `host`, `signals`, `sha256`.

mod containerd;
mod crio;
mod docker;
mod error;
#[cfg(test)]
mod fake_host;
mod files;
mod host;
mod options;
mod record;
mod sha256;
mod signals;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::args::{Action, HOOK_CONFIG_PATH, PROGRAM, RUNTIME_PATH};
use crate::hook_files::{self, LoadError};
use crate::hooks::{self, HookFile};
use crate::runtime::FileId;
use containerd::ContainerdWork;
use crio::CrioWork;
use docker::daemon_json::Runtime;
use docker::DockerWork;
pub(crate) use error::InstallError;
use error::{io_err, Log, Report};
use files::{create_dir, host_file, missing_dirs, remove, remove_dir_if_empty, remove_file, Put};
use host::{Host, HostFile};
use options::{Options, HELP};
use record::{CrioFiles, Place, Previous, Record, Rule};

/// The exit status of an install or uninstall that left a containerd
/// restart owed (docs/install.md).
pub(crate) const RESTART_OWED: u8 = 3;

/// Runs `install` or `uninstall` with the arguments after the subcommand.
pub(crate) fn run(action: Action, args: Vec<OsString>) -> Result<ExitCode, InstallError> {
    let o = options::parse(action, args).map_err(|msg| InstallError::Usage { action, msg })?;
    if o.help {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    // Before anything else: a SIGTERM during the install then waits for it.
    let blocked = match o.wait {
        true => Some(signals::block_stop_signals().map_err(io_err(Path::new("(signals)"), "block SIGTERM"))?),
        false => None,
    };
    let host = Host::open(o.host_root.clone())
        .map_err(|e| InstallError::Refused { path: o.host_root.clone(), why: format!("--host-root: {e}") })?;
    let log = &mut Log::stdout();
    // Held from the plan to the end: the plan's reads are what the apply
    // writes over.
    host.lock(|| {
        log.say(format_args!(
            "{}: another install or uninstall holds the installer's lock (flock on the host root): waiting for it",
            o.host_root.display()
        ))
    })
    .map_err(io_err(&o.host_root, "lock (flock)"))?;
    let owed = match action {
        Action::Install => {
            let exe_path = Path::new("/proc/self/exe");
            let exe = std::fs::read(exe_path).map_err(io_err(exe_path, "read this executable"))?;
            let plan = plan_install(&host, &o, exe, &SYSTEM)?;
            log.report(&plan.report);
            plan.apply(&host, &o, &SYSTEM, log)?
        }
        Action::Uninstall => {
            let plan = plan_uninstall(&host, &o, &SYSTEM)?;
            log.report(&plan.report);
            plan.apply(&host, &o, &SYSTEM, log)?
        }
    };
    // The lock goes with the root's descriptor: not held while --wait
    // waits, or a package's install would wait for the pod to end.
    drop(host);
    if let Some(blocked) = blocked {
        let stays = match action {
            Action::Install => "; everything stays installed",
            Action::Uninstall => "",
        };
        match action {
            Action::Install => {
                log.say(format_args!("waiting for SIGTERM or SIGINT{stays} (remove it with oci-add-hooks uninstall)"))
            }
            Action::Uninstall => log.say("waiting for SIGTERM or SIGINT"),
        }
        let sig = blocked.wait().map_err(io_err(Path::new("(signals)"), "wait for SIGTERM"))?;
        log.say(format_args!("{sig}: exiting{stays}"));
    }
    // A containerd restart still owed (--containerd-restart none) has its
    // own status, so that a script or a probe can tell.
    Ok(if owed { ExitCode::from(RESTART_OWED) } else { ExitCode::SUCCESS })
}

/// The engines' daemons and binaries, as the steps reach them.
pub(crate) struct Engines<'a> {
    docker: &'a dyn docker::Docker,
    containerd: &'a dyn containerd::Containerd,
}

/// The host's own.
const SYSTEM: Engines<'static> = Engines { docker: &docker::System, containerd: &containerd::System };

/// What an install will do, worked out by reading and checking only.
struct InstallPlan {
    /// What the plan found, and why, for the CLI to print.
    report: Report,
    /// The install record.
    record: HostFile,
    old: Record,
    /// The record once the install is done.
    new: Record,
    /// Host directories to create, parents first.
    create_dirs: Vec<String>,
    binary: Binary,
    hooks: Vec<HookPut>,
    crio: CrioWork,
    docker: DockerWork,
    containerd: ContainerdWork,
    /// What an earlier install put there and this one does not want.
    stale: Vec<String>,
}

/// The binary at its target.
enum Binary {
    /// Install's to put there (it may already be).
    Put(Put),
    /// This very program (its sha256), put there by something else (a
    /// package): left as it is, and not recorded.
    Foreign { here: PathBuf, sha: String },
}

/// A hook file to put into hooks.d, and where it came from.
struct HookPut {
    put: Put,
    source: PathBuf,
}

/// Plans the install of `exe`, the bytes of this executable.
fn plan_install(host: &Host, o: &Options, exe: Vec<u8>, engines: &Engines) -> Result<InstallPlan, InstallError> {
    let record = host_file(host, &o.record(), false)?;
    let old = read_record(&record, o)?.unwrap_or_default();

    let hooks_dir = o.hooks_dir();
    let mut hooks = Vec::new();
    let sources = collect_hooks(&o.hooks)?;
    // The shim reads hooks.d in the byte order of the names.
    let mut by_name: Vec<(OsString, PathBuf)> =
        sources.iter().map(|h| (h.name.clone().into(), h.source.clone())).collect();
    hook_files::by_name(&mut by_name);
    let in_order: Vec<HookFile> =
        by_name.iter().filter_map(|(_, p)| sources.iter().find(|h| h.source == *p)).map(|h| h.parsed.clone()).collect();
    let (mut crio, crio_record) = CrioWork::plan_install(host, o, &in_order, &old.crio)?;
    for h in sources {
        let host_path = format!("{hooks_dir}/{}", h.name);
        let file = host_file(host, &host_path, false)?;
        if !old.hooks.contains(&host_path) && file.exists().map_err(io_err(file.here(), "look at"))? {
            return Err(InstallError::Refused {
                path: file.here().to_owned(),
                why: format!(
                    "exists and was not put there by install (it is not in {}); not replaced with {}: \
                     remove it, or give the hook file another name",
                    record.here().display(),
                    h.source.display()
                ),
            });
        }
        hooks.push((host_path, HookPut { put: Put::new(file, h.bytes, 0o644), source: h.source }));
    }
    let hooks_dir_here = host_file(host, &hooks_dir, true)?;
    if let Ok(st) = hooks_dir_here.lstat() {
        let euid = rustix::process::geteuid().as_raw();
        hook_files::check_trusted(hooks_dir_here.here(), st.st_uid, st.st_mode, euid)
            .map_err(InstallError::HookFiles)?;
    }

    let binary_path = o.binary();
    let binary_here = host_file(host, &binary_path, false)?;
    let ours = binary_is_ours(&binary_here, old.binary.as_deref() == Some(binary_path.as_str()), &exe, &record)?;
    let rt = Runtime {
        name: o.runtime_name.clone(),
        path: binary_path.clone(),
        args: vec![HOOK_CONFIG_PATH.into(), hooks_dir.clone(), RUNTIME_PATH.into(), o.runtime_path.clone()],
    };
    let (mut docker, registered) = DockerWork::plan_install(host, o, engines.docker, &rt, old.docker.as_ref())?;
    let (mut containerd, declared) = ContainerdWork::plan_install(
        host,
        o,
        engines.containerd,
        &binary_path,
        old.containerd.as_ref(),
        old.old_containerd_dropin.as_deref(),
        old.restart_pending,
    )?;

    let mut dirs = vec![o.bin_dir.clone(), o.config_dir.clone(), hooks_dir];
    dirs.extend_from_slice(containerd.dirs());
    dirs.extend(crio.dir_to_create().map(str::to_owned));
    let create_dirs = missing_dirs(host, &dirs);
    let mut created_dirs = old.created_dirs.clone();
    created_dirs.extend(create_dirs.iter().filter(|d| !old.created_dirs.contains(d)).cloned());
    let new = Record {
        binary: ours.then(|| binary_path.clone()),
        hooks: hooks.iter().map(|(p, _)| p.clone()).collect(),
        crio: crio_record.into_iter().collect(),
        created_dirs,
        docker: registered,
        containerd: declared,
        old_containerd_dropin: None,
        restart_pending: None,
    };
    let mut stale: Vec<String> = old.hooks.iter().filter(|p| !new.hooks.contains(p)).cloned().collect();
    stale.extend(old.binary.iter().filter(|_| old.binary != new.binary).cloned());
    let crio_paths: Vec<String> = new.crio.iter().flat_map(CrioFiles::paths).collect();
    stale.extend(old.crio.iter().flat_map(CrioFiles::paths).filter(|p| !crio_paths.contains(p)));

    let binary = match ours {
        true => Binary::Put(Put::new(binary_here, exe, 0o755)),
        false => Binary::Foreign { here: binary_here.here().to_owned(), sha: sha256::hex(&exe) },
    };
    let hooks = hooks.into_iter().map(|(_, h)| h).collect();
    let mut report = Report::default();
    for r in [&mut crio.report, &mut docker.report, &mut containerd.report] {
        report.append(r);
    }
    Ok(InstallPlan { report, record, old, new, create_dirs, binary, hooks, crio, docker, containerd, stale })
}

impl InstallPlan {
    /// Returns whether a containerd restart is still owed.
    fn apply(mut self, host: &Host, o: &Options, engines: &Engines, log: &mut Log) -> Result<bool, InstallError> {
        // Before the first write: each engine's file as the plan read it.
        self.docker.check_unchanged()?;
        self.containerd.check_unchanged()?;
        for d in &self.create_dirs {
            create_dir(host, d, log)?;
        }
        write_record(&self.record, Some(&self.old.union(&self.new)), log)?;
        match &self.binary {
            Binary::Foreign { here, sha } => log.say(format_args!(
                "{}: already this executable (sha256 {sha}), but not put there by install: left as it is, and \
                 uninstall leaves it",
                here.display(),
            )),
            Binary::Put(put) => {
                let sha = sha256::hex(&put.bytes);
                match put.apply()? {
                    true => log.say(format_args!("installed {} (sha256 {sha})", put.here.display())),
                    false => {
                        log.say(format_args!("{}: already installed (sha256 {sha}), unchanged", put.here.display()))
                    }
                }
            }
        }
        for h in &self.hooks {
            match h.put.apply()? {
                true => log.say(format_args!("installed {} (from {})", h.put.here.display(), h.source.display())),
                false => log.say(format_args!("{}: already installed, unchanged", h.put.here.display())),
            }
        }
        self.crio.apply(log)?;
        self.docker.apply(engines.docker, log)?;
        let during = self.old.union(&self.new);
        let mut mark = |pending| put_record(&self.record, &Record { restart_pending: pending, ..during.clone() });
        let owed = self.containerd.apply(o, engines.containerd, log, self.record.here(), &mut mark)?;
        for p in &self.stale {
            remove(host, p, log)?;
        }
        self.new.restart_pending = owed;
        write_record(&self.record, Some(&self.new), log)?;
        Ok(owed.is_some())
    }
}

/// What an uninstall will do: undo what the record says install did.
struct UninstallPlan {
    report: Report,
    record: HostFile,
    old: Record,
    docker: DockerWork,
    containerd: ContainerdWork,
}

fn plan_uninstall(host: &Host, o: &Options, engines: &Engines) -> Result<UninstallPlan, InstallError> {
    let record = host_file(host, &o.record(), false)?;
    let mut report = Report::default();
    let old = match read_record(&record, o)? {
        Some(r) => r,
        None => {
            report.note(format_args!(
                "{}: no install record; removing what the options name, where it is ours",
                record.here().display()
            ));
            unrecorded(host, o)?
        }
    };
    let mut docker = DockerWork::plan_uninstall(host, o, engines.docker, old.docker.as_ref())?;
    let old_dropin = old.old_containerd_dropin.as_deref();
    let pending = old.restart_pending;
    let mut containerd =
        ContainerdWork::plan_uninstall(host, o, engines.containerd, old.containerd.as_ref(), old_dropin, pending)?;
    report.append(&mut docker.report);
    report.append(&mut containerd.report);
    Ok(UninstallPlan { report, record, old, docker, containerd })
}

impl UninstallPlan {
    /// Returns whether a containerd restart is still owed.
    fn apply(self, host: &Host, o: &Options, engines: &Engines, log: &mut Log) -> Result<bool, InstallError> {
        self.docker.check_unchanged()?;
        self.containerd.check_unchanged()?;
        self.docker.apply(engines.docker, log)?;
        let mut mark = |pending| put_record(&self.record, &Record { restart_pending: pending, ..self.old.clone() });
        let owed = self.containerd.apply(o, engines.containerd, log, self.record.here(), &mut mark)?;
        let old = &self.old;
        let crio: Vec<String> = old.crio.iter().flat_map(CrioFiles::paths).collect();
        for p in old.hooks.iter().chain(&crio).chain(&old.binary) {
            remove(host, p, log)?;
        }
        // A restart still owed outlives the rest of the record, so that
        // the next run still says so.
        let left = owed.map(|p| Record { restart_pending: Some(p), ..Record::default() });
        write_record(&self.record, left.as_ref(), log)?;
        for d in old.created_dirs.iter().rev() {
            remove_dir_if_empty(host, d, log);
        }
        if old.is_empty() {
            log.say("nothing to remove");
        }
        Ok(owed.is_some())
    }
}

/// With no record, what the options name that is recognisably ours: the
/// binary if it is a copy of this executable (not the running file itself,
/// which install never writes), the runtime entry if its path is
/// the binary's, the containerd drop-in if it carries our header. Hook
/// files cannot be told apart from anyone else's, so they stay.
fn unrecorded(host: &Host, o: &Options) -> Result<Record, InstallError> {
    let binary = o.binary();
    let here = host_file(host, &binary, false)?;
    let exe = std::fs::read("/proc/self/exe").ok();
    let same = exe.is_some() && !is_this_executable(&here) && here.read().ok() == exe;
    let (containerd, old_containerd_dropin) = containerd::unrecorded(host, o)?;
    Ok(Record {
        binary: same.then_some(binary.clone()),
        docker: o.docker.enabled.then(|| record::Docker {
            config: o.docker.config.clone(),
            runtime: o.runtime_name.clone(),
            path: binary,
            created_config: false,
            previous: Previous::default(),
        }),
        containerd,
        old_containerd_dropin,
        ..Record::default()
    })
}

/// Whether the binary at `here` is install's to write and record: yes if
/// an earlier install recorded it, or if there is none. A file something
/// else put there (dpkg's `/usr/bin/oci-add-hooks`, when the packages'
/// postinst command `install --bin-dir /usr/bin` runs) belongs to that:
/// the same program is left in place and not recorded, so uninstall
/// leaves it; another one is not replaced, as with hook files.
fn binary_is_ours(here: &HostFile, recorded: bool, exe: &[u8], record: &HostFile) -> Result<bool, InstallError> {
    if recorded || here.lstat().is_err() {
        return Ok(true);
    }
    match here.read() {
        Ok(bytes) if bytes == exe => Ok(false),
        _ => Err(InstallError::Refused {
            path: here.here().to_owned(),
            why: format!(
                "exists and was not put there by install (it is not in {}); not replaced with this executable: \
                 remove it, or give another --bin-dir",
                record.here().display()
            ),
        }),
    }
}

/// Whether `here` is the running executable itself: a binary run from where
/// install would put it, as a package's `/usr/bin/oci-add-hooks` with
/// `--bin-dir /usr/bin`. Install never copies a binary onto itself, so
/// such a file was put there by something else (dpkg, rpm), which owns it.
fn is_this_executable(here: &HostFile) -> bool {
    let exe = FileId::current_exe();
    exe.is_some() && here.lstat().ok().map(|st| FileId { dev: st.st_dev, ino: st.st_ino }) == exe
}

/// A hook file to install: its name in hooks.d, where it came from, its
/// bytes, and its hooks.
struct HookSource {
    name: String,
    source: PathBuf,
    bytes: Vec<u8>,
    parsed: HookFile,
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
        let parsed = hooks::parse(&source, &bytes).map_err(InstallError::Hook)?;
        out.push(HookSource { name, source, bytes, parsed });
    }
    Ok(out)
}

/// Reads the install record, which says what uninstall (and a later
/// install) removes: held to the hook files' trust rules (owned by root or
/// us, not writable by group or others, the file and its directory), and
/// every path in it checked by `record_rules`.
fn read_record(file: &HostFile, o: &Options) -> Result<Option<Record>, InstallError> {
    let path = file.here();
    let (bytes, st, dir) = match file.read_with_stat() {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(InstallError::Io { path: path.to_owned(), what: "read", err: e }),
    };
    let euid = rustix::process::geteuid().as_raw();
    let dir_path = path.parent().unwrap_or(Path::new("/"));
    for (p, st) in [(dir_path, dir), (path, st)] {
        hook_files::check_trusted(p, st.st_uid, st.st_mode, euid).map_err(|e| match e {
            LoadError::Unsafe { path, why } => InstallError::Refused {
                path,
                why: format!(
                    "{why}; {} is install's record of what uninstall removes, and is trusted only as a hook file \
                     would be: nothing is changed",
                    file.here().display()
                ),
            },
            e => InstallError::HookFiles(e),
        })?;
    }
    let record = Record::parse(&bytes).map_err(|err| InstallError::Record { path: path.to_owned(), err })?;
    record.check(&record_rules(o)).map_err(|err| InstallError::Record { path: path.to_owned(), err })?;
    Ok(Some(record))
}

/// Where install writes what each field of the record names (a new field
/// adds its rule here, or the record is refused).
fn record_rules(o: &Options) -> [Rule; 8] {
    let dropin = Place::Named(containerd::DROPIN_NAME);
    [
        Rule { field: "hooks", place: Place::In { dir: o.hooks_dir(), suffix: ".json" } },
        Rule { field: "binary", place: Place::Named(PROGRAM) },
        // CRI-O's hooks directory is read from its configuration, which
        // may have changed since: a hooks.d 1.0.0 file in whichever.
        Rule { field: "crio", place: Place::Suffix(".json") },
        // Edited: only install's block or import is taken out.
        Rule { field: "containerd.config", place: Place::Anywhere },
        Rule { field: "containerd.dropin", place: dropin.clone() },
        Rule { field: "old-containerd-dropin", place: dropin },
        Rule { field: "created-dirs", place: Place::Anywhere },
        Rule { field: "docker.config", place: Place::Anywhere },
    ]
}

/// Writes the record (fsynced, renamed into place) if it differs from the file.
fn put_record(file: &HostFile, record: &Record) -> Result<(), InstallError> {
    Put::new(file.clone(), record_bytes(file, record)?, 0o644).apply().map(|_| ())
}

/// The record as bytes, read again by the parser uninstall reads it with:
/// they must read as this record, else they are not written.
fn record_bytes(file: &HostFile, record: &Record) -> Result<Vec<u8>, InstallError> {
    let bytes = record.to_bytes();
    match Record::parse(&bytes) {
        Ok(again) if again == *record => Ok(bytes),
        again => Err(InstallError::Refused {
            path: file.here().to_owned(),
            why: format!(
                "the record install would write does not read back as itself ({}): not written",
                again.err().map_or_else(|| "another record".to_owned(), |e| e.to_string())
            ),
        }),
    }
}

/// Writes the record if it differs from the file (`None`: removes it).
fn write_record(file: &HostFile, record: Option<&Record>, log: &mut Log) -> Result<(), InstallError> {
    match record {
        Some(r) => {
            Put::new(file.clone(), record_bytes(file, r)?, 0o644).apply()?;
        }
        None => {
            if remove_file(file)? {
                log.say(format_args!("removed {}", file.here().display()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

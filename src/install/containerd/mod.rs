//! The containerd step: declaring the runtime for containerd's CRI plugin
//! and restarting containerd so that it loads it, or undoing that.
//!
//! Owns the plan (config.toml read, the new text worked out by `config`,
//! and checked with the host's own `containerd config dump` through
//! `dump`: after install, containerd's whole configuration must be what it
//! was plus the one runtime), which returns what it found in its report,
//! and the apply (the one-time backup, atomic writes, the restart, and,
//! when containerd does not come back, every file put back as it was).
//! The host's containerd, its binary and its process, is reached only
//! through the `Containerd` seam (`System`: `dump` and `daemon`), so that
//! the unit tests give a stand-in. It must never write a text the check
//! refused, and never restart containerd when no file changed.

mod block;
mod check;
mod config;
pub(crate) mod daemon;
pub(crate) mod dump;
mod imports;
mod restart;

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{io_err, InstallError, Report};
use super::files::host_file;
use super::host::{Host, HostFile};
use super::options::Options;
use super::record::{Containerd as Record, Pending};
use super::sha256;
use block::{Found, Plan, Want};
use check::{after_check, copy_beside, Checker};
use config::Version;
use daemon::Peer;
pub(crate) use daemon::{Containerd, System};

/// The drop-in's name in the `conf.d` directory beside config.toml
/// (version 3; earlier versions of install wrote the same file for 1.x).
pub(crate) const DROPIN_NAME: &str = "99-oci-add-hooks.toml";

/// The containerd step as planned.
#[derive(Default)]
pub(crate) struct ContainerdWork {
    /// What the plan found, for the CLI to print.
    pub(crate) report: Report,
    edits: Vec<Edit>,
    /// Host directories the edits need.
    dirs: Vec<String>,
    /// config.toml, for the restart's messages.
    config: PathBuf,
    /// What the restart is for: "load" or "drop", and the runtime.
    purpose: (&'static str, String),
    /// What serves containerd's socket (`None` in it: it could not be
    /// told, with `--containerd-restart none`), and the socket (to see it
    /// serve again after the restart); `None`: no restart to do.
    peer: Option<(Option<Peer>, HostFile)>,
    /// The restart an earlier run made durable and that is still owed:
    /// the containerd it names still serves.
    owed: Option<Pending>,
}

/// A file to write (`new`) or remove (`None`), and what was there.
struct Edit {
    file: HostFile,
    original: Option<Vec<u8>>,
    new: Option<Vec<u8>>,
    said: String,
}

impl ContainerdWork {
    /// The containerd part of an install, and its record.
    pub(crate) fn plan_install(
        host: &Host,
        o: &Options,
        sys: &dyn Containerd,
        binary: &str,
        old: Option<&Record>,
        old_dropin: Option<&str>,
        pending: Option<Pending>,
    ) -> Result<(ContainerdWork, Option<Record>), InstallError> {
        let mut work = ContainerdWork { config: shown(host, &o.containerd.config), ..Default::default() };
        let enabled = enabled(host, o, Some(&mut work.report))?;
        let same = old.filter(|c| enabled && c.config == o.containerd.config && c.runtime == o.runtime_name);
        if let Some(c) = old.filter(|_| same.is_none()) {
            work.undo(host, o, sys, c)?;
        }
        let record = match enabled {
            true => work.declare(host, o, sys, binary, same, old_dropin)?,
            false => None,
        };
        let dropin = record.as_ref().and_then(|r| r.dropin.as_deref());
        if let Some(d) = old_dropin.filter(|d| Some(*d) != dropin) {
            work.remove_old_dropin(host, d)?;
        }
        work.purpose = ("load", o.runtime_name.clone());
        work.find_peer(host, o, sys, pending)?;
        Ok((work, record))
    }

    /// The containerd part of an uninstall: what the record names undone
    /// (with no record, what is recognisably install's).
    pub(crate) fn plan_uninstall(
        host: &Host,
        o: &Options,
        sys: &dyn Containerd,
        old: Option<&Record>,
        old_dropin: Option<&str>,
        pending: Option<Pending>,
    ) -> Result<ContainerdWork, InstallError> {
        let mut work = ContainerdWork { config: shown(host, &o.containerd.config), ..Default::default() };
        work.purpose = ("drop", old.map_or(o.runtime_name.clone(), |c| c.runtime.clone()));
        if let Some(c) = old {
            work.undo(host, o, sys, c)?;
        }
        if let Some(d) = old_dropin {
            work.remove_old_dropin(host, d)?;
        }
        work.find_peer(host, o, sys, pending)?;
        Ok(work)
    }

    /// Host directories to create before `apply`.
    pub(crate) fn dirs(&self) -> &[String] {
        &self.dirs
    }

    #[cfg(test)]
    pub(crate) fn changes(&self) -> Vec<&Path> {
        self.edits.iter().map(|e| e.file.here()).collect()
    }

    /// The text of `file` as this plan leaves it so far (an earlier edit),
    /// or as it is (read through a link, as containerd reads it); `None` if
    /// there is no such file.
    fn current(&self, file: &HostFile) -> Result<(Option<Vec<u8>>, Option<String>), InstallError> {
        let here = file.here();
        let original = match self.edits.iter().find(|e| e.file.here() == here) {
            Some(e) => {
                return Ok((e.original.clone(), e.new.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())))
            }
            None => match file.followed().and_then(|f| f.read()) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(InstallError::Io { path: here.to_owned(), what: "read", err: e }),
            },
        };
        let text = match &original {
            Some(b) => Some(String::from_utf8(b.clone()).map_err(|_| refused(here, "not UTF-8, so not TOML".into()))?),
            None => None,
        };
        Ok((original, text))
    }

    /// Plans `file` to become `new` (`None`: removed), unless it is that.
    /// `new` is read again by the parser the plan read the file with, and
    /// must parse, whether or not containerd's own check runs.
    fn edit(&mut self, file: &HostFile, new: Option<String>, said: String) -> Result<(), InstallError> {
        if let Some(n) = &new {
            config::parse(n).map_err(|e| refused(file.here(), format!("the text install would write: {e}")))?;
        }
        let (original, now) = self.current(file)?;
        self.edits.retain(|e| e.file.here() != file.here());
        if now != new {
            self.edits.push(Edit { file: file.clone(), original, new: new.map(String::into_bytes), said });
        }
        Ok(())
    }

    /// Declares the runtime in `--containerd-config-file`; returns the record.
    fn declare(
        &mut self,
        host: &Host,
        o: &Options,
        sys: &dyn Containerd,
        binary: &str,
        old: Option<&Record>,
        old_dropin: Option<&str>,
    ) -> Result<Option<Record>, InstallError> {
        let config = host_file(host, &o.containerd.config, true)?;
        let here = config.here().to_owned();
        let (_, text) = self.current(&config)?;
        let exists = text.is_some();
        let text = text.unwrap_or_default();
        let file =
            config::parse(if exists { &text } else { block::CREATED }).map_err(|e| refused(&here, e.to_string()))?;
        let mut check = Checker::new(host, sys, o, &mut self.report)?;
        let want = Want { runtime: &o.runtime_name, binary, pod_annotations: &o.containerd.pod_annotations };
        if file.version() == Version::V3 {
            return self.declare_dropin(host, o, &mut check, &config, &text, &want, old, old_dropin);
        }
        let recorded = old.and_then(|c| c.block.as_deref());
        let found = block::find_block(&text, recorded, &o.runtime_name);
        let base = block::remove(&text, &found);
        let file = match found {
            Found::Nothing => file,
            _ => config::parse(&base).map_err(|e| refused(&here, e.to_string()))?,
        };
        let before = check.dump(&config, exists.then_some(base.as_str()), "it as it is", &mut self.report)?;
        let dump = before.as_deref().map(|d| config::parse(d).map_err(|e| dump_unreadable(&here, e))).transpose()?;
        let Some((block, default, declares_default)) = self.planned(&file, dump.as_ref(), &want, &check, &here)? else {
            return Ok(None);
        };
        if let (Found::Block(r), Some(rec), false) = (&found, recorded, o.force) {
            keep_edits(&here, rec, &text[r.clone()], &block, &want, &default)?;
        }
        let at = block::place(&text, &found, recorded);
        let (new, inserted) = block::insert(if exists { &base } else { block::CREATED }, at, &block);
        declared_as_wanted(&here, &new, &want)?;
        let record = Record {
            config: o.containerd.config.clone(),
            version: file.version().number(),
            runtime: o.runtime_name.clone(),
            created_config: !exists || old.is_some_and(|c| c.created_config),
            block: Some(inserted),
            original_sha256: Some(sha256::hex(if exists { base.as_bytes() } else { b"" })),
            dropin: None,
            imports_added: None,
        };
        if exists && new == text {
            self.report.note(format_args!(
                "{}: declares runtime {} as wanted already: unchanged, containerd not restarted",
                here.display(),
                o.runtime_name
            ));
            return Ok(Some(record));
        }
        if let Some(before) = &before {
            let after =
                check.dump(&config, Some(&new), "it with the runtime added", &mut self.report)?.unwrap_or_default();
            after_check(before, &after, &default, &want, file.version())
                .map_err(|why| refused(&here, format!("containerd's own config dump of the new file: {why}")))?;
        }
        check.said(&here, &format!("plus runtime {}", o.runtime_name), &mut self.report);
        if !exists {
            self.dirs.extend(parent(&o.containerd.config));
        }
        let also = if declares_default {
            format!(", and {default} itself, as the list it replaces had it")
        } else {
            String::new()
        };
        let said = format!(
            "{}: declared runtime {} (runtime {default} as containerd has it, through the shim{also}) in install's block",
            here.display(),
            o.runtime_name
        );
        self.edit(&config, Some(new), said)?;
        Ok(Some(record))
    }

    /// Version 3 (containerd 2.x, which merges imported files deeply): the
    /// runtime in a drop-in in `conf.d`, and an `imports` entry for it.
    #[allow(clippy::too_many_arguments)]
    fn declare_dropin(
        &mut self,
        host: &Host,
        o: &Options,
        check: &mut Checker,
        config: &HostFile,
        text: &str,
        want: &Want,
        old: Option<&Record>,
        old_dropin: Option<&str>,
    ) -> Result<Option<Record>, InstallError> {
        let here = config.here();
        let dir = parent(&o.containerd.config).unwrap_or_else(|| "/".into());
        let dropin = format!("{}/conf.d/{DROPIN_NAME}", dir.trim_end_matches('/'));
        let dropin_file = host_file(host, &dropin, false)?;
        let dropin_here = dropin_file.here();
        let ours = old.and_then(|c| c.dropin.as_deref()) == Some(dropin.as_str())
            || old_dropin == Some(dropin.as_str())
            || is_ours(&dropin_file);
        if !ours && exists(&dropin_file)? {
            return Err(refused(
                dropin_here,
                "exists and was not written by install; not replaced: remove or rename it".into(),
            ));
        }
        let file = config::parse(text).map_err(|e| refused(here, e.to_string()))?;
        let before = check.dump(config, Some(text), "it as it is", &mut self.report)?;
        let dump = before.as_deref().map(|d| config::parse(d).map_err(|e| dump_unreadable(here, e))).transpose()?;
        let Some((content, default, _)) = self.planned(&file, dump.as_ref(), want, check, here)? else {
            return Ok(None);
        };
        if let (Some(rec), false) = (old.and_then(|c| c.block.as_deref()).filter(|_| ours), o.force) {
            if let (_, Some(now)) = self.current(&dropin_file)? {
                keep_edits(dropin_here, rec, &now, &content, want, &default)?;
            }
        }
        declared_as_wanted(dropin_here, &content, want)?;
        let entry = imports::import_entry(&dir);
        let root = imports::add_import(text, &dir, &dropin, &entry).map_err(|e| refused(here, e.to_string()))?;
        if let Some(before) = &before {
            // The new root, importing a scratch copy of the drop-in (beside
            // config.toml, named after the drop-in: the root's own copy is
            // named after config.toml).
            // `_copy` is removed when dropped, after the check.
            let (_copy, copy_host) = copy_beside(host, config, OsStr::new(DROPIN_NAME), content.as_bytes())?;
            let check_root = imports::add_import(root.as_deref().unwrap_or(text), &dir, &copy_host, &copy_host)
                .map_err(|e| refused(here, e.to_string()))?
                .unwrap_or_else(|| text.to_owned());
            let after =
                check.dump(config, Some(&check_root), "it with the drop-in", &mut self.report)?.unwrap_or_default();
            after_check(before, &after, &default, want, Version::V3)
                .map_err(|why| refused(here, format!("containerd's own config dump with the new drop-in: {why}")))?;
        }
        check.said(here, &format!("plus runtime {}", want.runtime), &mut self.report);
        let conf_d = format!("{}/conf.d", dir.trim_end_matches('/'));
        if !host_file(host, &conf_d, true)?.is_dir() {
            self.dirs.push(conf_d);
        }
        self.edit(
            &dropin_file,
            Some(content.clone()),
            format!("installed {} (runtime {})", dropin_here.display(), want.runtime),
        )?;
        let imports_added_now = root.is_some();
        let imports_added = match root {
            Some(r) => {
                self.edit(config, Some(r), format!("{}: imports += {entry:?} (the drop-in)", here.display()))?;
                Some(entry)
            }
            None => old.and_then(|c| c.imports_added.clone()),
        };
        if self.edits.is_empty() {
            self.report.note(format_args!(
                "{}: declares runtime {} as wanted already: unchanged, containerd not restarted",
                dropin_here.display(),
                want.runtime
            ));
        }
        Ok(Some(Record {
            config: o.containerd.config.clone(),
            version: 3,
            runtime: want.runtime.to_owned(),
            created_config: false,
            // The drop-in as written, so that an edit of it is seen.
            block: Some(content),
            // config.toml before its `imports` entry: which of the texts
            // without it gives the file back (see `undo`).
            original_sha256: match imports_added_now {
                true => Some(sha256::hex(text.as_bytes())),
                false => old.and_then(|c| c.original_sha256.clone()),
            },
            dropin: Some(dropin),
            imports_added,
        }))
    }

    /// `block::plan`'s text, the runtime whose table it copied and whether
    /// it declares that one too; `None` when the CRI is off, which the
    /// report says. Without containerd's dump the plan would be a guess:
    /// refused, naming why there is none.
    fn planned(
        &mut self,
        file: &config::Config,
        dump: Option<&config::Config>,
        want: &Want,
        check: &Checker,
        here: &Path,
    ) -> Result<Option<(String, String, bool)>, InstallError> {
        match block::plan(file, dump, want) {
            Ok(Some(Plan::Add { text, default, declares_default })) => Ok(Some((text, default, declares_default))),
            Ok(Some(Plan::CriDisabled)) => {
                self.report.note(format_args!(
                    "containerd: {} has its CRI plugin disabled (disabled_plugins): no runtime to declare, \
                     nothing changed",
                    here.display()
                ));
                Ok(None)
            }
            Ok(None) => Err(refused(
                here,
                format!(
                    "install copies the default runtime as this containerd has it, from its own `config dump`, \
                     and {}: give the host's containerd binary with --containerd-bin",
                    check.unavailable.as_deref().unwrap_or("it could not be run")
                ),
            )),
            Err(e) => Err(refused(here, e.to_string())),
        }
    }

    /// Undoes what `c` records.
    fn undo(&mut self, host: &Host, o: &Options, sys: &dyn Containerd, c: &Record) -> Result<(), InstallError> {
        let config = host_file(host, &c.config, true)?;
        let here = config.here();
        let (_, text) = self.current(&config)?;
        if let Some(dropin) = &c.dropin {
            let d = host_file(host, dropin, false)?;
            if exists(&d)? {
                self.edit(&d, None, format!("removed {}", d.here().display()))?;
            }
        }
        let Some(text) = text else {
            self.report.note(format_args!("{}: not there: nothing to remove", here.display()));
            return Ok(());
        };
        if let Some(entry) = &c.imports_added {
            let removed =
                |keep_line| imports::remove_import(&text, entry, keep_line).map_err(|e| refused(here, e.to_string()));
            let mut new = removed(false)?;
            // `imports = [ENTRY]` was `imports = []` before install when that
            // is what gives the file back as install found it.
            if let (Some(sha), Some(n)) = (&c.original_sha256, &new) {
                if sha256::hex(n.as_bytes()) != *sha {
                    new = removed(true)?.filter(|k| sha256::hex(k.as_bytes()) == *sha).or(new);
                }
            }
            if let Some(new) = new {
                self.edit(&config, Some(new), format!("{}: imports -= {entry:?}", here.display()))?;
            }
        }
        if c.version == 3 {
            return Ok(());
        }
        let mut found = block::find_block(&text, c.block.as_deref(), &c.runtime);
        if found == Found::Nothing && c.block.is_some() {
            let file = config::parse(&text).map_err(|e| refused(here, e.to_string()))?;
            found = block::find_tables(&file, &c.runtime).map_err(|e| refused(here, e.to_string()))?;
        }
        let new = block::remove(&text, &found);
        let gone = c.created_config && new == block::CREATED;
        let said = match &found {
            Found::Nothing => {
                self.report.note(format_args!(
                    "{}: runtime {} is not declared there: nothing to remove",
                    here.display(),
                    c.runtime
                ));
                return Ok(());
            }
            _ if gone => format!("removed {} (install had created it)", here.display()),
            Found::Tables(_) => format!(
                "{}: install's block was edited away; removed only runtime {}'s tables",
                here.display(),
                c.runtime
            ),
            _ if c.original_sha256.is_none() => {
                format!("{}: removed runtime {} (install's block)", here.display(), c.runtime)
            }
            _ if c.original_sha256.as_deref() == Some(sha256::hex(new.as_bytes()).as_str()) => {
                format!("{}: removed runtime {}; the file is as it was before install", here.display(), c.runtime)
            }
            _ => format!(
                "{}: removed runtime {} (install's block); kept the changes made since install",
                here.display(),
                c.runtime
            ),
        };
        let mut check = Checker::new(host, sys, o, &mut self.report)?;
        if let Some(before) = check.dump(&config, Some(&text), "it as it is", &mut self.report)? {
            let left = (!gone).then_some(new.as_str());
            let after = check.dump(&config, left, "it without the runtime", &mut self.report)?.unwrap_or_default();
            dump::dump_adds_only(&after, &before, &c.runtime, None).map_err(|why| {
                refused(here, format!("containerd's own config dump without runtime {}: {why}", c.runtime))
            })?;
            check.said(here, &format!("without runtime {}", c.runtime), &mut self.report);
        }
        self.edit(&config, (!gone).then_some(new), said)
    }

    /// The drop-in an install from before config.toml was edited wrote.
    fn remove_old_dropin(&mut self, host: &Host, dropin: &str) -> Result<(), InstallError> {
        let d = host_file(host, dropin, false)?;
        if exists(&d)? {
            self.edit(&d, None, format!("removed {} (an earlier install's drop-in)", d.here().display()))?;
        }
        Ok(())
    }
}

/// Whether the step runs: `--containerd`, `--no-containerd`, or whether
/// containerd's config file or socket is there (saying so in `report`
/// when it is not).
pub(crate) fn enabled(host: &Host, o: &Options, report: Option<&mut Report>) -> Result<bool, InstallError> {
    if let Some(forced) = o.containerd.enabled {
        return Ok(forced);
    }
    let config = host_file(host, &o.containerd.config, true)?;
    let socket = host_file(host, &o.containerd.socket, true)?;
    let found = exists(&config)? || exists(&socket)?;
    if let Some(report) = report.filter(|_| !found) {
        report.note(format_args!(
            "containerd: neither {} nor {} exists: containerd is not set up here, skipped (--no-containerd says \
             so quietly)",
            config.here().display(),
            socket.here().display()
        ));
    }
    Ok(found)
}

/// With no install record: what is recognisably install's in containerd's
/// configuration (the block by its marker lines, the drop-in by its first
/// line), and the `conf.d` drop-in of an earlier install.
pub(crate) fn unrecorded(host: &Host, o: &Options) -> Result<(Option<Record>, Option<String>), InstallError> {
    if !enabled(host, o, None)? {
        return Ok((None, None));
    }
    let text = host_file(host, &o.containerd.config, true)?.read_text().unwrap_or_default();
    let version = config::parse(&text).map_or(Version::V2, |c| c.version());
    let dir = parent(&o.containerd.config).unwrap_or_else(|| "/".into());
    let dropin = format!("{}/conf.d/{DROPIN_NAME}", dir.trim_end_matches('/'));
    let dropin_ours = is_ours(&host_file(host, &dropin, false)?);
    let record = |block: Option<String>, dropin: Option<String>| Record {
        config: o.containerd.config.clone(),
        version: version.number(),
        runtime: o.runtime_name.clone(),
        block,
        dropin,
        ..Record::default()
    };
    Ok(match version {
        Version::V3 => (dropin_ours.then(|| record(None, Some(dropin))), None),
        _ => {
            let block = block::find_block(&text, None, &o.runtime_name) != Found::Nothing;
            (block.then(|| record(None, None)), dropin_ours.then_some(dropin))
        }
    })
}

/// The host directory of host path `path`.
fn parent(path: &str) -> Option<String> {
    Path::new(path).parent().and_then(Path::to_str).map(str::to_owned)
}

/// Where config.toml (`o.containerd.config`) is, for the messages of the
/// restart: the name it resolves to, or as written.
fn shown(host: &Host, config: &str) -> PathBuf {
    host.file(config, true).map_or_else(|_| host.shown(config), |f| f.here().to_owned())
}

/// Whether anything (a link too) is at `file`.
fn exists(file: &HostFile) -> Result<bool, InstallError> {
    file.exists().map_err(io_err(file.here(), "look at"))
}

/// Whether the drop-in `file` is install's: read through a link, as
/// containerd reads it, it starts with install's header.
fn is_ours(file: &HostFile) -> bool {
    file.followed().and_then(|f| f.read()).is_ok_and(|t| t.starts_with(block::HEADER.as_bytes()))
}

/// The text install would write, read again: it must declare runtime
/// `want.runtime` with the shim as its `BinaryName`. (A runtime appended
/// as `[tables]` to a file whose `runtimes` is an inline table is not TOML,
/// and is refused here even where containerd cannot be run to say so.)
fn declared_as_wanted(here: &Path, text: &str, want: &Want) -> Result<(), InstallError> {
    let why = |e: String| refused(here, format!("the text install would write: {e}"));
    let table = config::parse(text).and_then(|c| c.runtime(want.runtime)).map_err(|e| why(e.to_string()))?;
    let binary = table.as_ref().and_then(|t| t.sub("options")).and_then(|o| o.get("BinaryName"));
    match binary.map(|b| b.text.as_str()) {
        Some(b) if b == config::quoted(want.binary) => Ok(()),
        _ => Err(why(format!("does not read as runtime {} with BinaryName {:?}", want.runtime, want.binary))),
    }
}

/// Refuses to write install's text (`new`) over an operator's edit of
/// it: a key whose value in `now` is not what install wrote (`recorded`),
/// and that `new` would set otherwise. An edit of comments or layout only,
/// or one that `new` has anyway, loses nothing.
fn keep_edits(
    here: &Path,
    recorded: &str,
    now: &str,
    new: &str,
    want: &Want,
    default: &str,
) -> Result<(), InstallError> {
    let lost = match (config::flat(recorded), config::flat(now), config::flat(new)) {
        (Ok(recorded), Ok(now), Ok(new)) => {
            let get = |flat: &[config::Entry], key: &str| flat.iter().find(|e| e.key == key).map(|e| e.text.clone());
            let (mut seen, mut lost) = (Vec::new(), Vec::new());
            for key in now.iter().chain(&recorded).map(|e| e.key.as_str()) {
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let (was, is) = (get(&recorded, key), get(&now, key));
                if was != is && get(&new, key) != is {
                    let shown = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
                    lost.push(format!("{key}: {} -> {}", shown(was), shown(is)));
                }
            }
            lost.join("; ")
        }
        (_, Err(e), _) => format!("it no longer reads as TOML on its own ({e})"),
        _ => String::new(),
    };
    if lost.is_empty() {
        return Ok(());
    }
    Err(refused(
        here,
        format!(
            "install's block for runtime {} was edited since install wrote it: {lost}; install writes it as \
             runtime {default} is now, which would lose that: make the change in runtime {default}'s table, which \
             the block copies, and run install again; or give --force to replace the block",
            want.runtime
        ),
    ))
}

fn refused(path: &Path, why: String) -> InstallError {
    InstallError::Refused { path: path.to_owned(), why: format!("{why} (nothing changed)") }
}

fn dump_unreadable(here: &Path, e: config::ConfigError) -> InstallError {
    refused(here, format!("containerd's config dump of it is not TOML that can be read: {e}"))
}

#[cfg(test)]
mod tests;

//! The Docker step: registering the runtime in `daemon.json` and having
//! dockerd reload it, or undoing that.
//!
//! Owns the edits of `daemon.json` files (read and worked out in the plan,
//! written in the apply, after a one-time backup) and the reload that makes
//! dockerd see them, confirmed through its socket. dockerd keeps a
//! `runtimes` or `default-runtime` that its file no longer has when it
//! reloads, so a file that drops one is first written as dockerd must see
//! it (`daemon_json::for_reload`), and as it is to be once the reload is
//! confirmed. The edit itself is `daemon_json`'s, the process `dockerd`'s,
//! reached only through the `Docker` seam (`System`: `dockerd`), so that the
//! unit tests give a stand-in. The plan returns what it found in its report.
//! This module must never restart dockerd.

pub(crate) mod daemon_json;
pub(crate) mod dockerd;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::{io_err, InstallError, Log, Report};
use super::files::{backup, host_file, remove_file, settle_backup, unchanged};
use super::host::{Host, HostFile};
use super::options::Options;
use super::record;
use daemon_json::{Change, Doc, Runtime};
use dockerd::{Dockerd, DockerdError, Found, Want, DOCKERD};

/// What the step asks of the running dockerd. `System` is the host's own;
/// the unit tests give a stand-in.
pub(crate) trait Docker {
    /// `dockerd::find`: the dockerd the pidfile (its bytes) names.
    fn by_pidfile(&self, pidfile: &Path, text: Option<&[u8]>) -> Result<Found, DockerdError>;
    /// The pid serving `socket` (`dockerd::peer_pid`), if it is reached.
    fn peer(&self, socket: &HostFile) -> Option<i32>;
    /// `dockerd::open`: `pid`, if it is a dockerd.
    fn open(&self, pid: i32) -> Option<Dockerd>;
    /// `Dockerd::hosts`.
    fn hosts(&self, d: &Dockerd) -> Vec<String>;
    /// `Dockerd::reload`.
    fn reload(&self, d: &Dockerd) -> Result<bool, DockerdError>;
    /// `dockerd::shows`.
    fn shows(&self, socket: &HostFile, name: &str, want: &Want) -> Result<bool, DockerdError>;
    /// `dockerd::confirm`.
    fn confirm(&self, socket: &HostFile, name: &str, want: &Want) -> Result<(), DockerdError>;
}

/// The host's own dockerd.
pub(crate) struct System;

impl Docker for System {
    fn by_pidfile(&self, pidfile: &Path, text: Option<&[u8]>) -> Result<Found, DockerdError> {
        dockerd::find(pidfile, text)
    }

    fn peer(&self, socket: &HostFile) -> Option<i32> {
        socket.connect().ok().and_then(|c| dockerd::peer_pid(&c))
    }

    fn open(&self, pid: i32) -> Option<Dockerd> {
        dockerd::open(pid).ok().flatten()
    }

    fn hosts(&self, d: &Dockerd) -> Vec<String> {
        d.hosts()
    }

    fn reload(&self, d: &Dockerd) -> Result<bool, DockerdError> {
        d.reload()
    }

    fn shows(&self, socket: &HostFile, name: &str, want: &Want) -> Result<bool, DockerdError> {
        dockerd::shows(socket, name, want)
    }

    fn confirm(&self, socket: &HostFile, name: &str, want: &Want) -> Result<(), DockerdError> {
        dockerd::confirm(socket, name, want)
    }
}

/// The Docker step as planned: the edits of `daemon.json` files, worked
/// out before any is written, the dockerd to reload and what it must show
/// once it has.
#[derive(Default)]
pub(crate) struct DockerWork {
    /// What the plan found, for the CLI to print.
    pub(crate) report: Report,
    edits: Vec<Edit>,
    /// Whether dockerd is involved at all (a file is edited or checked).
    involved: bool,
    dockerd: Option<Found>,
    /// Docker's API socket, to confirm the reload through.
    socket: Option<HostFile>,
    /// The runtime's name and what `GET /info` must show for it.
    want: Option<(String, Want)>,
    /// An uninstall: no backup is made, and one kept is named.
    undoing: bool,
}

struct Edit {
    file: HostFile,
    /// `file.here()`.
    here: PathBuf,
    original: Option<Vec<u8>>,
    /// The document as read, and as it is to be.
    before: Map<String, Value>,
    doc: Doc,
    changes: Vec<Change>,
    /// install created the file: remove it rather than leave `{}`.
    remove_if_empty: bool,
    /// Written for dockerd's reload; the document is written after it.
    pending: Option<Vec<&'static str>>,
}

impl DockerWork {
    /// The Docker part of an install: the registration an earlier install
    /// made undone where the options moved it, the runtime registered where
    /// Docker is set up, and the dockerd to reload, checked. Returns the
    /// record of the registration too.
    pub(crate) fn plan_install(
        host: &Host,
        o: &Options,
        sys: &dyn Docker,
        rt: &Runtime,
        old: Option<&record::Docker>,
    ) -> Result<(DockerWork, Option<record::Docker>), InstallError> {
        let mut work = DockerWork::default();
        if let Some(od) = old {
            if !(o.docker.enabled && od.config == o.docker.config && od.runtime == o.runtime_name) {
                work.undo(host, od)?;
            }
        }
        let registered = if o.docker.enabled { work.register(host, o, rt, old)? } else { None };
        work.find_dockerd(host, o, sys)?;
        work.want = registered.as_ref().map(|d| (d.runtime.clone(), Want::Present { path: d.path.clone() }));
        work.read_back()?;
        Ok((work, registered))
    }

    /// The Docker part of an uninstall: the recorded registration undone.
    pub(crate) fn plan_uninstall(
        host: &Host,
        o: &Options,
        sys: &dyn Docker,
        old: Option<&record::Docker>,
    ) -> Result<DockerWork, InstallError> {
        let mut work = DockerWork { undoing: true, ..DockerWork::default() };
        if let Some(od) = old {
            work.undo(host, od)?;
        }
        work.find_dockerd(host, o, sys)?;
        work.want = old.map(|d| (d.runtime.clone(), Want::Absent { path: d.path.clone() }));
        work.read_back()?;
        Ok(work)
    }

    /// Every document the plan changed, as it will be written, read again
    /// by the parser it was read with.
    fn read_back(&self) -> Result<(), InstallError> {
        for e in self.edits.iter().filter(|e| !e.changes.is_empty()) {
            daemon_json::read_back(&e.doc).map_err(|err| InstallError::DaemonJson { path: e.here.clone(), err })?;
        }
        Ok(())
    }

    /// Each file's planned changes (none: it is left as it is).
    #[cfg(test)]
    pub(crate) fn changes(&self) -> Vec<(&Path, &[Change])> {
        self.edits.iter().map(|e| (e.here.as_path(), e.changes.as_slice())).collect()
    }

    /// Carries the step out: the edits written, dockerd reloaded and the
    /// reload confirmed, then the documents held back for it written. A
    /// reload that cannot be confirmed leaves them as dockerd was shown them:
    /// writing the rest now could race its reload, which would then keep
    /// what the file no longer has.
    /// Every file the plan read is still as it read it.
    pub(crate) fn check_unchanged(&self) -> Result<(), InstallError> {
        self.edits.iter().try_for_each(|e| unchanged(&e.file, false, e.original.as_deref()))
    }

    pub(crate) fn apply(mut self, sys: &dyn Docker, log: &mut Log) -> Result<(), InstallError> {
        self.check_unchanged()?;
        let dockerd = self.dockerd.take();
        let changed = self.write(matches!(dockerd, Some(Found::Dockerd(_))), log)?;
        match reload(sys, dockerd, self.socket.take(), changed, self.want.take(), log)? {
            true => self.finish(log),
            false => {
                self.leave(log);
                Ok(())
            }
        }
    }

    /// The edit of the file at host path `config`, read and parsed once.
    fn edit(&mut self, host: &Host, config: &str) -> Result<&mut Edit, InstallError> {
        let file = host_file(host, config, true)?;
        let here = file.here().to_owned();
        if let Some(i) = self.edits.iter().position(|e| e.here == here) {
            return Ok(&mut self.edits[i]);
        }
        let original = match file.read() {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(InstallError::Io { path: here, what: "read", err: e }),
        };
        let doc = daemon_json::parse(original.as_deref())
            .map_err(|err| InstallError::DaemonJson { path: here.clone(), err })?;
        let before = doc.config.clone();
        self.edits.push(Edit {
            file,
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
    fn undo(&mut self, host: &Host, d: &record::Docker) -> Result<(), InstallError> {
        self.involved = true;
        let config = host_file(host, &d.config, true)?;
        if !config.exists().map_err(io_err(config.here(), "look at"))? {
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
        old: Option<&record::Docker>,
    ) -> Result<Option<record::Docker>, InstallError> {
        let config = host_file(host, &o.docker.config, true)?;
        let here = config.here().to_owned();
        let pidfile = host_file(host, &o.docker.pidfile, true)?;
        // Docker installed but never configured, and stopped, has its
        // directory (/etc/docker) and its program, and nothing else: it
        // reads the runtime from the file install creates when it next
        // starts. The directory alone is not Docker: the DaemonSet's
        // hostPath mount creates an empty /etc/docker on every node.
        let dir_found = config.locate().is_ok();
        let dir = here.parent().unwrap_or(Path::new("/"));
        let exists = |f: &HostFile| f.exists().map_err(io_err(f.here(), "look at"));
        let installed = dir_found && host.program(DOCKERD).is_some();
        if !exists(&config)? && !installed && !exists(&pidfile)? {
            self.report.note(format_args!(
                "Docker: neither {} nor {} exists, and no {} with {DOCKERD} in {}: Docker is not set up here, \
                 skipped (--no-docker says so quietly)",
                here.display(),
                pidfile.here().display(),
                dir.display(),
                Host::program_dirs()
            ));
            return Ok(None);
        }
        self.involved = true;
        if !dir_found {
            return Err(InstallError::Refused {
                path: dir.to_owned(),
                why: "does not exist, so there is nowhere to create daemon.json (is Docker installed? --docker-config, --no-docker)".into(),
            });
        }
        let same = old.filter(|d| d.config == o.docker.config && d.runtime == o.runtime_name);
        let mut previous = same.map(|d| d.previous.clone()).unwrap_or_default();
        let e = self.edit(host, &o.docker.config)?;
        let json_err = |err| InstallError::DaemonJson { path: here.clone(), err };
        let mut changes = daemon_json::merge(&mut e.doc.config, rt, o.docker.set_default).map_err(json_err)?;
        if !o.docker.set_default && previous.set_default && daemon_json::default_is(&e.doc.config, &rt.name) {
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
        Ok(Some(record::Docker {
            config: o.docker.config.clone(),
            runtime: rt.name.clone(),
            path: rt.path.clone(),
            created_config,
            previous,
        }))
    }

    /// The dockerd to reload and its socket, checked before anything is
    /// written. The pidfile names a pid; the socket is `--docker-socket`,
    /// else the one that dockerd listens on (its `-H` arguments, else
    /// daemon.json's `hosts`, else the default); and the peer of that socket
    /// is the dockerd to signal when it is one (so that the process
    /// signalled is the one asked to confirm, and a stale pidfile does not
    /// stand in the way). A peer that is not a dockerd (systemd, for an
    /// activated docker.socket) leaves the pidfile's.
    fn find_dockerd(&mut self, host: &Host, o: &Options, sys: &dyn Docker) -> Result<(), InstallError> {
        if !self.involved || !o.docker.reload {
            return Ok(());
        }
        let pidfile = host_file(host, &o.docker.pidfile, true)?;
        let text = match pidfile.read() {
            Ok(t) => Some(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(pidfile.here(), "read")(e)),
        };
        let by_pidfile = sys.by_pidfile(pidfile.here(), text.as_deref());
        let socket = match &o.docker.socket {
            Some(s) => Some(s.clone()),
            None => {
                let mut hosts = match &by_pidfile {
                    Ok(Found::Dockerd(d)) => sys.hosts(d),
                    _ => Vec::new(),
                };
                if hosts.is_empty() {
                    hosts = self.edits.iter().find_map(|e| json_hosts(&e.before)).unwrap_or_default();
                }
                dockerd::api_socket(&hosts)
            }
        };
        self.socket = socket.map(|s| host_file(host, &s, true)).transpose()?;
        let peer = self.socket.as_ref().and_then(|s| sys.peer(s));
        let known = matches!(&by_pidfile, Ok(Found::Dockerd(d)) if Some(d.pid) == peer);
        if let (Some(pid), false) = (peer, known) {
            if let Some(d) = sys.open(pid) {
                self.dockerd = Some(Found::Dockerd(d));
                return Ok(());
            }
        }
        self.dockerd = Some(by_pidfile.map_err(InstallError::Dockerd)?);
        Ok(())
    }

    /// Says what `apply` left as dockerd was shown it.
    fn leave(&mut self, log: &mut Log) {
        for e in &mut self.edits {
            if let Some(kept) = e.pending.take() {
                log.say(format_args!(
                    "{}: left {} as dockerd was shown them (harmless): its reload could not be confirmed, and \
                     writing the file back now could race it, after which dockerd would keep the runtime",
                    e.here.display(),
                    kept.join(" and ")
                ));
            }
        }
    }

    /// Writes the edits that change something (after a one-time backup);
    /// returns whether any did. When dockerd is to reload (`reloading`), a
    /// file that drops `runtimes` or `default-runtime` is first written as
    /// dockerd must see it (`daemon_json::for_reload`), and `finish` writes
    /// the document after the reload.
    fn write(&mut self, reloading: bool, log: &mut Log) -> Result<bool, InstallError> {
        let mut changed = false;
        for e in &mut self.edits {
            if e.changes.is_empty() {
                log.say(format_args!("{}: already as wanted, unchanged", e.here.display()));
                continue;
            }
            changed = true;
            if let Some(original) = e.original.as_ref().filter(|_| !self.undoing) {
                backup(&e.file, original, log)?;
            }
            let shown = reloading.then(|| daemon_json::for_reload(&e.before, &e.doc.config)).flatten();
            match shown {
                Some((shown, kept)) => {
                    let mut doc = e.doc.clone();
                    doc.config = shown;
                    write_daemon_json(&e.file, &daemon_json::to_bytes(&doc), e.original.is_some())?;
                    e.pending = Some(kept);
                }
                None => e.write_final(log)?,
            }
            for c in &e.changes {
                log.say(format_args!("{}: {c}", e.here.display()));
            }
            if e.pending.is_none() {
                e.settle_backup(self.undoing, log)?;
            }
        }
        Ok(changed)
    }

    /// Writes the documents held back for dockerd's reload.
    fn finish(&mut self, log: &mut Log) -> Result<(), InstallError> {
        for e in &mut self.edits {
            if let Some(kept) = e.pending.take() {
                e.write_final(log)?;
                log.say(format_args!(
                    "{}: dropped {} now that dockerd has reloaded (it keeps a setting the file no longer has)",
                    e.here.display(),
                    kept.join(" and ")
                ));
                e.settle_backup(self.undoing, log)?;
            }
        }
        Ok(())
    }
}

impl Edit {
    fn write_final(&self, log: &mut Log) -> Result<(), InstallError> {
        if self.remove_if_empty && self.doc.config.is_empty() {
            remove_file(&self.file)?;
            log.say(format_args!("removed {} (install had created it, and it is empty now)", self.here.display()));
            return Ok(());
        }
        write_daemon_json(&self.file, &daemon_json::to_bytes(&self.doc), self.original.is_some())
    }

    /// The backup, once the document is written as it is to be.
    fn settle_backup(&self, undoing: bool, log: &mut Log) -> Result<(), InstallError> {
        match self.remove_if_empty && self.doc.config.is_empty() {
            true => Ok(()),
            false => settle_backup(&self.file, &daemon_json::to_bytes(&self.doc), undoing, log),
        }
    }
}

/// Writes it whole: with the mode and owner it has, or, when install
/// creates it, 0644.
fn write_daemon_json(file: &HostFile, bytes: &[u8], existed: bool) -> Result<(), InstallError> {
    file.write(bytes, (!existed).then_some(0o644)).map_err(|err| InstallError::Io {
        path: file.here().to_owned(),
        what: "write (left unchanged)",
        err,
    })
}

/// daemon.json's `hosts` (the addresses dockerd listens on), if a list.
fn json_hosts(config: &Map<String, Value>) -> Option<Vec<String>> {
    let hosts = config.get("hosts")?.as_array()?;
    Some(hosts.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
}

/// Has dockerd reload, if it runs and the file changed or it has not yet
/// loaded what it should, then confirms through the socket if there is
/// one. Returns whether what was held back for the reload may be written
/// now: the reload is confirmed, or none was needed or possible (dockerd
/// reads the file when it starts); not when dockerd was signalled and the
/// reload could not be confirmed.
fn reload(
    sys: &dyn Docker,
    found: Option<Found>,
    socket: Option<HostFile>,
    changed: bool,
    want: Option<(String, Want)>,
    log: &mut Log,
) -> Result<bool, InstallError> {
    let d = match found {
        None => {
            if changed {
                log.say("dockerd: not signalled (--no-reload): it loads the change on SIGHUP or restart");
            }
            return Ok(true);
        }
        Some(Found::NotRunning(why)) => {
            log.say(format_args!("dockerd: not running ({why}): it loads daemon.json when it starts"));
            return Ok(true);
        }
        Some(Found::Dockerd(d)) => d,
    };
    let pid = d.pid;
    let socket = match socket {
        Some(s) if s.exists().unwrap_or(false) => Ok(s),
        Some(s) => Err(format!("no socket {}", s.here().display())),
        None => Err("dockerd listens on no unix socket".to_owned()),
    };
    let needed = changed
        || match (&socket, &want) {
            (Ok(s), Some((name, w))) => !sys.shows(s, name, w).map_err(InstallError::Dockerd)?,
            _ => false,
        };
    if !needed {
        log.say(format_args!("dockerd (pid {pid}): has loaded what daemon.json says, not signalled"));
        return Ok(true);
    }
    if !sys.reload(&d).map_err(InstallError::Dockerd)? {
        log.say(format_args!(
            "dockerd (pid {pid}): has exited since it was found, not signalled: it loads daemon.json when it starts"
        ));
        return Ok(true);
    }
    match (&socket, &want) {
        (Ok(s), Some((name, w))) => {
            sys.confirm(s, name, w).map_err(InstallError::Dockerd)?;
            let what = if matches!(w, Want::Present { .. }) { "visible" } else { "gone" };
            log.say(format_args!("dockerd (pid {pid}): SIGHUP sent, runtime {name} {what} in GET /info"));
            Ok(true)
        }
        (Ok(_), None) => {
            log.say(format_args!("dockerd (pid {pid}): SIGHUP sent; nothing to confirm"));
            Ok(false)
        }
        (Err(why), _) => {
            log.say(format_args!("dockerd (pid {pid}): SIGHUP sent; not confirmed ({why})"));
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests;

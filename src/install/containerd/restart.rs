//! The containerd step's apply: the edits written and containerd
//! restarted so that it loads them, as one transaction. Owns the restart
//! owed (made durable in the install record before the first write and
//! finished by whichever run finds it still owed), the whole restart's one
//! time budget, and the roll-back. It must never put a file back while a
//! containerd may be running the new one: only when the containerd that
//! ran the old files still serves and this run wrote them.

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::error::{InstallError, Log};
use super::super::files::{backup, host_file, remove_file, settle_backup, unchanged};
use super::super::host::{Host, HostFile};
use super::super::options::{Options, Restart};
use super::super::record::Pending;
use super::daemon::{Containerd, DaemonError, Peer};
use super::ContainerdWork;

impl ContainerdWork {
    /// Finds the containerd to restart, before anything is written, and
    /// whether the restart an earlier run recorded (`pending`) is still
    /// owed: it is while the containerd it names serves (or, pid 0, while
    /// none could be named); any other one serving, or none running,
    /// started after that run's write, so reads the files as they are.
    pub(super) fn find_peer(
        &mut self,
        host: &Host,
        o: &Options,
        sys: &dyn Containerd,
        pending: Option<Pending>,
    ) -> Result<(), InstallError> {
        if self.edits.is_empty() && pending.is_none() {
            return Ok(());
        }
        let socket = host_file(host, &o.containerd.socket, true)?;
        let peer = match (sys.peer(&socket), o.containerd.restart) {
            (Ok(p), _) => Some(p),
            (Err(e), Restart::Signal) => return Err(InstallError::Containerd(e)),
            (Err(e), Restart::None) => {
                self.report.note(format_args!("containerd: cannot tell which containerd runs ({e})"));
                None
            }
        };
        if let Some(p) = pending {
            let same = match &peer {
                Some(Peer::Containerd(pid)) => p.pid == 0 || (*pid == p.pid && sys.start_time(*pid) == Some(p.start)),
                Some(Peer::NotRunning(_)) => false,
                None => true,
            };
            match same {
                true => {
                    self.report.note(format_args!(
                        "containerd: the restart an earlier run owed is still owed (containerd pid {} has not \
                         restarted since its files were written)",
                        p.pid
                    ));
                    self.owed = Some(p);
                }
                false => self.report.note(format_args!(
                    "containerd: the restart an earlier run owed is done (pid {} no longer serves {})",
                    p.pid,
                    socket.here().display()
                )),
            }
        }
        if !self.edits.is_empty() || self.owed.is_some() {
            self.peer = Some((peer, socket));
        }
        Ok(())
    }

    /// Writes the edits (after a one-time backup of config.toml), then
    /// has containerd load them. Before the first write, `mark` makes the
    /// restart durable in the install record (`record`), naming the
    /// containerd that runs the files as they were; a later run that finds
    /// it still serving restarts it. Returns the restart still owed (with
    /// `--containerd-restart none`). When containerd does not come back,
    /// the files are put back only if that is certain to be right: the
    /// containerd that ran them still serves and this run wrote them.
    pub(crate) fn apply(
        self,
        o: &Options,
        sys: &dyn Containerd,
        log: &mut Log,
        record: &Path,
        mark: &mut dyn FnMut(Option<Pending>) -> Result<(), InstallError>,
    ) -> Result<Option<Pending>, InstallError> {
        self.check_unchanged()?;
        let Some((peer, socket)) = &self.peer else {
            self.write_edits(log)?;
            return Ok(None);
        };
        let now = match peer {
            Some(Peer::Containerd(pid)) => Some(Pending { pid: *pid, start: sys.start_time(*pid).unwrap_or(0) }),
            Some(Peer::NotRunning(_)) => None,
            None => Some(Pending { pid: 0, start: 0 }),
        };
        let owed = self.owed.or(now);
        if !self.edits.is_empty() && owed.is_some() && self.owed.is_none() {
            mark(owed)?;
        }
        self.write_edits(log)?;
        let (what, runtime) = &self.purpose;
        let earlier = if self.edits.is_empty() { " (the restart an earlier run owed)" } else { "" };
        let (pid, owed) = match (peer, owed) {
            (Some(Peer::NotRunning(why)), _) => {
                log.say(format_args!(
                    "containerd: not running ({why}): it reads {} when it starts",
                    self.config.display()
                ));
                return Ok(None);
            }
            (_, Some(p)) if o.containerd.restart == Restart::None => {
                log.say(format_args!(
                    "containerd: restart it to {what} runtime {runtime}{earlier} (it does not reload its \
                     configuration): systemctl restart containerd; until a new containerd serves, the restart is \
                     owed ({}: containerd-restart-pending) and install and uninstall exit with status 3",
                    record.display()
                ));
                return Ok(Some(p));
            }
            (Some(Peer::Containerd(pid)), Some(p)) => (*pid, p),
            _ => return Ok(None),
        };
        let secs = o.containerd.timeout;
        // One budget for the whole restart: the signal, the old process's
        // exit and the new one serving.
        let deadline = Instant::now() + Duration::from_secs(secs);
        match sys.stop(pid).and_then(|()| sys.wait_serving(socket, pid, deadline, secs)) {
            Ok(new) => {
                log.say(format_args!(
                    "containerd: restarted to {what} runtime {runtime}{earlier} (pid {pid} -> {new})"
                ));
                Ok(None)
            }
            Err(e) => {
                let still = matches!(sys.peer(socket), Ok(Peer::Containerd(p)) if p == pid)
                    && sys.start_time(pid) == Some(owed.start);
                match still && self.owed.is_none() && !self.edits.is_empty() {
                    true => {
                        let err = self.roll_back(e, pid);
                        mark(None)?;
                        Err(err)
                    }
                    false => Err(self.kept(e, pid, still, record)),
                }
            }
        }
    }

    /// Every file the plan read is still as it read it.
    pub(crate) fn check_unchanged(&self) -> Result<(), InstallError> {
        self.edits.iter().try_for_each(|e| unchanged(&e.file, true, e.original.as_deref()))
    }

    pub(super) fn write_edits(&self, log: &mut Log) -> Result<(), InstallError> {
        for e in &self.edits {
            unchanged(&e.file, true, e.original.as_deref())?;
            let config = e.file.here() == self.config;
            let undoing = self.purpose.0 == "drop";
            if let (Some(original), Some(_), true, false) = (&e.original, &e.new, config, undoing) {
                backup(&e.file, original, log)?;
            }
            write(&e.file, e.new.as_deref(), e.original.is_some())?;
            log.say(&e.said);
            if let (Some(new), true) = (&e.new, config) {
                settle_backup(&e.file, new, undoing, log)?;
            }
        }
        Ok(())
    }

    /// Puts every file back as it was, for the containerd (`pid`) that
    /// still serves and so never loaded them; the error says so.
    fn roll_back(&self, cause: DaemonError, pid: i32) -> InstallError {
        let mut failed = Vec::new();
        for e in self.edits.iter().rev() {
            if let Err(err) = write(&e.file, e.original.as_deref(), e.new.is_some()) {
                failed.push(err.to_string());
            }
        }
        let why = match failed.is_empty() {
            true => format!(
                "{cause}; containerd pid {pid} still serves, so no containerd loaded the new files: every file \
                 install changed is put back as it was, which is what pid {pid} runs"
            ),
            false => format!("{cause}; putting the files back failed too: {}", failed.join("; ")),
        };
        InstallError::Refused { path: self.config.clone(), why }
    }

    /// The files kept as written, as a containerd that starts now loads
    /// them; the error says what to check.
    fn kept(&self, cause: DaemonError, pid: i32, still: bool, record: &Path) -> InstallError {
        let why = match still {
            true => format!("containerd pid {pid} still serves, with the files as they were before an earlier run"),
            false => format!("containerd pid {pid} is gone and a containerd started now loads the new files"),
        };
        InstallError::Refused {
            path: self.config.clone(),
            why: format!(
                "{cause}; {why}: they are kept, and the restart is owed ({}: containerd-restart-pending): check \
                 that containerd's supervisor starts it (systemctl status containerd), then run this again, which \
                 restarts it if it still has not",
                record.display()
            ),
        }
    }
}

fn write(file: &HostFile, bytes: Option<&[u8]>, exists: bool) -> Result<(), InstallError> {
    let io = |err| InstallError::Io { path: file.here().to_owned(), what: "write (left unchanged)", err };
    match (bytes, exists) {
        (None, _) => remove_file(file).map(|_| ()),
        (Some(b), true) => file.write(b, None).map_err(io),
        (Some(b), false) => file.write(b, Some(0o644)).map_err(io),
    }
}

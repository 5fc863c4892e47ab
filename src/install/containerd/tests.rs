//! The containerd step's plan, apply and rollback on a fake host root, with
//! a stand-in for the host's containerd: its `config dump` answers with
//! dumps containerd 1.7.24 made of the same files (tests/fixtures/containerd/),
//! and its process is a pid that is stopped and comes back, or does not.
//! What the real containerd does with the files is proven by the node
//! tests (tests/integration/containerd/); these pin the step's decisions
//! and what it says.

use std::cell::RefCell;
use std::time::Instant;

use super::daemon::DaemonError;
use super::dump::{Dump, DumpError};
use super::*;
use crate::args::Action;
use crate::install::error::Log;
use crate::install::fake_host::FakeHost;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/", $name))
    };
}

const DEBIAN: &str = fixture!("debian.toml");
const BINARY: &str = "/usr/local/bin/oci-add-hooks";

/// A stand-in for the host's containerd.
struct StandIn {
    /// What `config dump` prints for a config.toml's text (`None`: no
    /// file), or the line it fails with.
    dump: fn(Option<&str>) -> Result<String, String>,
    /// What serves the socket.
    peer: Peer,
    /// The pid that serves after the restart; `None`: none does in time.
    back: Option<i32>,
    /// The pids sent SIGTERM, and the files' texts each dump was asked for.
    stopped: RefCell<Vec<i32>>,
    dumped: RefCell<Vec<Option<String>>>,
    /// Whether the old containerd exits when stopped (else it still
    /// serves after the time-out).
    exits: bool,
    /// What the apply made durable in the record, each time.
    marks: RefCell<Vec<Option<Pending>>>,
}

impl StandIn {
    fn new(peer: Peer, back: Option<i32>) -> StandIn {
        StandIn {
            dump: debian_dumps,
            peer,
            back,
            stopped: RefCell::default(),
            dumped: RefCell::default(),
            exits: false,
            marks: RefCell::default(),
        }
    }
}

/// containerd 1.7.24's dumps: of Debian's file (blank lines at its end
/// aside, as for containerd), and of it with install's block (runc as
/// built in, and the runtime).
fn debian_dumps(text: Option<&str>) -> Result<String, String> {
    match text {
        Some(t) if t.trim_end() == DEBIAN.trim_end() => Ok(fixture!("1.7.24/debian.dump").to_owned()),
        Some(t) if t.starts_with(DEBIAN) && t.contains("# BEGIN oci-add-hooks") => {
            Ok(fixture!("1.7.24/debian.after.dump").to_owned())
        }
        other => Err(format!("no dump recorded for {other:?}")),
    }
}

impl Containerd for StandIn {
    fn config_dump(&self, root: &Path, binary: &str, config: Option<&str>) -> Result<Dump, DumpError> {
        assert_eq!(binary, "/usr/bin/containerd");
        // The scratch copy beside config.toml, as the host path containerd
        // is given.
        let text = config.map(|c| std::fs::read_to_string(root.join(c.trim_start_matches('/'))).unwrap());
        self.dumped.borrow_mut().push(text.clone());
        (self.dump)(text.as_deref()).map(Dump::Text).map_err(|line| DumpError::Check {
            binary: binary.to_owned(),
            config: config.unwrap_or("(none)").to_owned(),
            line,
        })
    }

    fn peer(&self, _socket: &HostFile) -> Result<Peer, DaemonError> {
        if self.exits && !self.stopped.borrow().is_empty() {
            return Ok(Peer::NotRunning("gone".into()));
        }
        Ok(match &self.peer {
            Peer::Containerd(pid) => Peer::Containerd(*pid),
            Peer::NotRunning(why) => Peer::NotRunning(why.clone()),
        })
    }

    fn stop(&self, pid: i32) -> Result<(), DaemonError> {
        self.stopped.borrow_mut().push(pid);
        Ok(())
    }

    fn wait_serving(&self, socket: &HostFile, old: i32, _deadline: Instant, secs: u64) -> Result<i32, DaemonError> {
        self.back.ok_or(DaemonError::NotBack { socket: socket.here().to_owned(), pid: old, secs })
    }

    fn start_time(&self, pid: i32) -> Option<u64> {
        Some(pid as u64 * 10)
    }
}

const RECORD: &str = "/etc/oci-add-hooks/installed.json";

/// `work.apply`, with what it makes durable kept in `sys.marks`.
fn apply(work: ContainerdWork, o: &Options, sys: &StandIn, log: &mut Log) -> Result<Option<Pending>, InstallError> {
    let mut mark = |p| {
        sys.marks.borrow_mut().push(p);
        Ok(())
    };
    work.apply(o, sys, log, Path::new(RECORD), &mut mark)
}

/// A host with Debian's config.toml and a containerd binary to check with.
fn debian_host(tag: &str) -> (FakeHost, Host) {
    let fake = FakeHost::new(tag);
    fake.write("/etc/containerd/config.toml", DEBIAN);
    fake.write("/usr/bin/containerd", "");
    let host = Host::open(fake.0.clone()).unwrap();
    (fake, host)
}

fn plan(host: &Host, o: &Options, sys: &StandIn) -> Result<(ContainerdWork, Option<Record>), InstallError> {
    ContainerdWork::plan_install(host, o, sys, BINARY, None, None, None)
}

#[test]
fn the_plan_is_checked_by_config_dump_and_the_apply_restarts_the_containerd_it_found() {
    let (fake, host) = debian_host("ctrd-step");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::Containerd(100), Some(101));
    let before = fake.tree();

    let (work, record) = plan(&host, &o, &sys).unwrap();
    assert_eq!(fake.tree(), before, "a plan writes nothing (its scratch copies are gone)");
    let config = fake.here("/etc/containerd/config.toml");
    assert_eq!(work.changes(), [config.as_path()]);
    assert_eq!(
        work.report.lines(),
        [format!(
            "containerd: checked the new {} with `/usr/bin/containerd config dump`: containerd's whole \
             configuration as before, plus runtime oci-add-hooks",
            config.display()
        )]
    );
    // The file as it is, then with the block: both dumped, nothing else.
    let dumped = sys.dumped.borrow().clone();
    assert_eq!(dumped.len(), 2);
    assert_eq!(dumped[0].as_deref(), Some(DEBIAN));
    assert!(dumped[1].as_deref().is_some_and(|t| t.starts_with(DEBIAN) && t.contains("BinaryName")));
    let record = record.unwrap();
    assert_eq!((record.version, record.runtime.as_str()), (2, "oci-add-hooks"));
    assert!(sys.stopped.borrow().is_empty(), "the plan signals nothing");

    let mut log = Log::kept();
    apply(work, &o, &sys, &mut log).unwrap();
    assert_eq!(*sys.stopped.borrow(), [100]);
    let text = std::fs::read_to_string(&config).unwrap();
    assert_eq!(text, format!("{DEBIAN}\n{}", record.block.as_deref().unwrap().trim_start_matches('\n')));
    assert_eq!(
        log.lines(),
        [
            format!("backed up {} to {}.oci-add-hooks.bak", config.display(), config.display()),
            format!(
                "{}: declared runtime oci-add-hooks (runtime runc as containerd has it, through the shim, and runc \
                 itself, as the list it replaces had it) in install's block",
                config.display()
            ),
            "containerd: restarted to load runtime oci-add-hooks (pid 100 -> 101)".to_owned(),
        ]
    );

    // Planned again: as wanted already, nothing to write or restart.
    let sys = StandIn::new(Peer::Containerd(101), Some(102));
    let old = record.clone();
    let (work, _) = ContainerdWork::plan_install(&host, &o, &sys, BINARY, Some(&old), None, None).unwrap();
    assert!(work.changes().is_empty());
    assert_eq!(
        work.report.lines().last().unwrap(),
        &format!(
            "{}: declares runtime oci-add-hooks as wanted already: unchanged, containerd not restarted",
            config.display()
        )
    );
    let mut log = Log::kept();
    apply(work, &o, &sys, &mut log).unwrap();
    assert!(log.lines().is_empty() && sys.stopped.borrow().is_empty());
}

#[test]
fn a_containerd_that_never_stopped_serving_gets_every_file_put_back() {
    let (fake, host) = debian_host("ctrd-back");
    let o = fake.options(Action::Install, &["--no-docker", "--containerd-timeout", "7"]);
    let sys = StandIn::new(Peer::Containerd(200), None);
    let (work, _) = plan(&host, &o, &sys).unwrap();
    let config = fake.here("/etc/containerd/config.toml");
    let socket = fake.here("/run/containerd/containerd.sock");

    let mut log = Log::kept();
    let err = apply(work, &o, &sys, &mut log).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: containerd (pid 200) did not come back within 7s after SIGTERM ({} is not served by a new \
             process); containerd pid 200 still serves, so no containerd loaded the new files: every file install \
             changed is put back as it was, which is what pid 200 runs",
            config.display(),
            socket.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), DEBIAN, "byte for byte");
    assert_eq!(*sys.stopped.borrow(), [200]);
    assert_eq!(log.lines().len(), 2, "the backup and the write, then the error: {:?}", log.lines());
    // Made durable before the write, naming pid 200 by its start time;
    // cleared once the files are back as pid 200 runs them.
    assert_eq!(*sys.marks.borrow(), [Some(Pending { pid: 200, start: 2000 }), None]);
}

/// Item 1 of issue 19: the time-out put the old file back while a
/// containerd started after it (slow to serve) could be loading the new
/// one. Once the old containerd is gone, a new one may have read the new
/// file: the files stay, and so does the restart owed.
#[test]
fn regression_the_timeout_put_the_old_file_back_while_a_new_containerd_could_load_the_new_one() {
    let (fake, host) = debian_host("ctrd-gone");
    let o = fake.options(Action::Install, &["--no-docker", "--containerd-timeout", "7"]);
    let mut sys = StandIn::new(Peer::Containerd(210), None);
    sys.exits = true;
    let (work, _) = plan(&host, &o, &sys).unwrap();
    let config = fake.here("/etc/containerd/config.toml");
    let socket = fake.here("/run/containerd/containerd.sock");
    let written = {
        let mut log = Log::kept();
        let err = apply(work, &o, &sys, &mut log).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: containerd (pid 210) did not come back within 7s after SIGTERM ({} is not served by a new \
                 process); containerd pid 210 is gone and a containerd started now loads the new files: they are \
                 kept, and the restart is owed ({RECORD}: containerd-restart-pending): check that containerd's \
                 supervisor starts it (systemctl status containerd), then run this again, which restarts it if it \
                 still has not",
                config.display(),
                socket.display()
            )
        );
        std::fs::read_to_string(&config).unwrap()
    };
    assert!(written.starts_with(DEBIAN) && written.contains("# BEGIN oci-add-hooks"), "{written}");
    assert_eq!(*sys.marks.borrow(), [Some(Pending { pid: 210, start: 2100 })], "never cleared");
}

/// Item 2 of issue 19: a run killed between the write and the signal left
/// the file as wanted, so the next run restarted nothing. The record's
/// pending restart names the containerd that runs the old file: while it
/// serves, the next run restarts it, with nothing to write; once another
/// serves, the restart is done.
#[test]
fn regression_a_kill_between_the_write_and_the_restart_was_never_finished() {
    let (fake, host) = debian_host("ctrd-owed");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::Containerd(220), Some(221));
    let (work, record) = plan(&host, &o, &sys).unwrap();
    // The kill: the files written, no restart (the apply's write alone).
    work.write_edits(&mut Log::kept()).unwrap();
    let pending = Some(Pending { pid: 220, start: 2200 });

    let (work, _) = ContainerdWork::plan_install(&host, &o, &sys, BINARY, record.as_ref(), None, pending).unwrap();
    assert!(work.changes().is_empty());
    assert!(
        work.report.lines().iter().any(|l| l
            == "containerd: the restart an earlier run owed is still owed (containerd pid 220 has not restarted \
                since its files were written)"),
        "{:?}",
        work.report.lines()
    );
    let mut log = Log::kept();
    assert_eq!(apply(work, &o, &sys, &mut log).unwrap(), None);
    assert_eq!(*sys.stopped.borrow(), [220]);
    assert_eq!(
        log.lines(),
        ["containerd: restarted to load runtime oci-add-hooks (the restart an earlier run owed) (pid 220 -> 221)"]
    );
    assert!(sys.marks.borrow().is_empty(), "already durable");

    // Another containerd (the same pid, started again later) serves: done.
    let sys = StandIn::new(Peer::Containerd(220), None);
    let later = Some(Pending { pid: 220, start: 1 });
    let (work, _) = ContainerdWork::plan_install(&host, &o, &sys, BINARY, record.as_ref(), None, later).unwrap();
    assert_eq!(
        work.report.lines().last().unwrap(),
        &format!(
            "containerd: the restart an earlier run owed is done (pid 220 no longer serves {})",
            fake.here("/run/containerd/containerd.sock").display()
        )
    );
    assert_eq!(apply(work, &o, &sys, &mut Log::kept()).unwrap(), None);
    assert!(sys.stopped.borrow().is_empty());
}

#[test]
fn a_config_dump_that_refuses_the_new_file_names_what_containerd_said_and_nothing_is_planned() {
    let (fake, host) = debian_host("ctrd-refuse");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let mut sys = StandIn::new(Peer::Containerd(300), Some(301));
    sys.dump = |text| match text {
        Some(t) if t == DEBIAN => Ok(fixture!("1.7.24/debian.dump").to_owned()),
        _ => Err("failed to load TOML: near line 3 (exit status: 1)".to_owned()),
    };
    let before = fake.tree();
    let err = plan(&host, &o, &sys).err().unwrap().to_string();
    assert_eq!(
        err,
        format!(
            "{}: containerd refuses it with the runtime added: `/usr/bin/containerd config dump` says: failed to \
             load TOML: near line 3 (exit status: 1) (nothing changed)",
            fake.here("/etc/containerd/config.toml").display()
        )
    );
    assert_eq!(fake.tree(), before, "no scratch copy is left");
    assert!(sys.stopped.borrow().is_empty());
}

#[test]
fn a_disabled_cri_is_reported_and_nothing_is_planned() {
    let fake = FakeHost::new("ctrd-nocri");
    let text = "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n";
    fake.write("/etc/containerd/config.toml", text);
    let host = Host::open(fake.0.clone()).unwrap();
    let o = fake.options(Action::Install, &["--no-docker"]);
    // No binary: the file itself says the CRI is off.
    let sys = StandIn::new(Peer::Containerd(400), Some(401));
    let (work, record) = plan(&host, &o, &sys).unwrap();
    assert!(work.changes().is_empty() && record.is_none());
    let config = fake.here("/etc/containerd/config.toml");
    assert_eq!(
        work.report.lines().last().unwrap(),
        &format!(
            "containerd: {} has its CRI plugin disabled (disabled_plugins): no runtime to declare, nothing changed",
            config.display()
        )
    );
}

#[test]
fn without_a_restart_or_a_running_containerd_the_log_says_what_loads_the_runtime() {
    let (fake, host) = debian_host("ctrd-none");
    let config = fake.here("/etc/containerd/config.toml");

    let o = fake.options(Action::Install, &["--no-docker", "--containerd-restart", "none"]);
    let sys = StandIn::new(Peer::Containerd(500), Some(501));
    let (work, _) = plan(&host, &o, &sys).unwrap();
    let mut log = Log::kept();
    let owed = Some(Pending { pid: 500, start: 5000 });
    assert_eq!(apply(work, &o, &sys, &mut log).unwrap(), owed, "the restart is owed");
    assert_eq!(
        log.lines().last().unwrap(),
        &format!(
            "containerd: restart it to load runtime oci-add-hooks (it does not reload its configuration): \
             systemctl restart containerd; until a new containerd serves, the restart is owed ({RECORD}: \
             containerd-restart-pending) and install and uninstall exit with status 3"
        )
    );
    assert!(sys.stopped.borrow().is_empty(), "--containerd-restart none signals nothing");
    assert_eq!(*sys.marks.borrow(), [owed], "durable before the write");

    std::fs::write(&config, DEBIAN).unwrap();
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::NotRunning("no socket".into()), None);
    let (work, _) = plan(&host, &o, &sys).unwrap();
    let mut log = Log::kept();
    apply(work, &o, &sys, &mut log).unwrap();
    assert_eq!(
        log.lines().last().unwrap(),
        &format!("containerd: not running (no socket): it reads {} when it starts", config.display())
    );
}

#[test]
fn uninstall_checks_the_dump_without_the_runtime_and_restarts() {
    let (fake, host) = debian_host("ctrd-undo");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::Containerd(600), Some(601));
    let (work, record) = plan(&host, &o, &sys).unwrap();
    apply(work, &o, &sys, &mut Log::kept()).unwrap();
    let config = fake.here("/etc/containerd/config.toml");

    let u = fake.options(Action::Uninstall, &[]);
    let sys = StandIn::new(Peer::Containerd(601), Some(602));
    let work = ContainerdWork::plan_uninstall(&host, &u, &sys, record.as_ref(), None, None).unwrap();
    assert_eq!(work.changes(), [config.as_path()]);
    assert_eq!(
        work.report.lines(),
        [format!(
            "containerd: checked the new {} with `/usr/bin/containerd config dump`: containerd's whole \
             configuration as before, without runtime oci-add-hooks",
            config.display()
        )]
    );
    let mut log = Log::kept();
    apply(work, &u, &sys, &mut log).unwrap();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), DEBIAN);
    assert_eq!(
        log.lines(),
        [
            format!("{}: removed runtime oci-add-hooks; the file is as it was before install", config.display()),
            format!(
                "removed the backup {}.oci-add-hooks.bak: {} is byte for byte as it was before install",
                config.display(),
                config.display()
            ),
            "containerd: restarted to drop runtime oci-add-hooks (pid 601 -> 602)".to_owned(),
        ]
    );
}

/// Issue 19, item 5: a file written by another program between the plan
/// and the apply was written over with what the plan made of the old
/// text. Now the apply compares every file with the bytes the plan read
/// before the first write: a change is refused, and nothing is written,
/// backed up, signalled or made durable.
#[test]
fn regression_a_file_changed_between_the_plan_and_the_write_was_written_over() {
    let (fake, host) = debian_host("ctrd-race");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::Containerd(230), Some(231));
    let (work, _) = plan(&host, &o, &sys).unwrap();
    let config = fake.here("/etc/containerd/config.toml");
    let edited = format!("{DEBIAN}# an operator's edit\n");
    std::fs::write(&config, &edited).unwrap();
    let before = fake.tree();
    let err = apply(work, &o, &sys, &mut Log::kept()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: changed since this run read it (another program wrote it meanwhile); not written over, and \
             nothing written after it: run this again",
            config.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    assert_eq!(fake.tree(), before, "no backup, no temporary file");
    assert!(sys.stopped.borrow().is_empty() && sys.marks.borrow().is_empty());
}

#[test]
fn regression_an_operators_edit_inside_installs_block_was_reverted_silently() {
    let (fake, host) = debian_host("ctrd-edited");
    let o = fake.options(Action::Install, &["--no-docker"]);
    let sys = StandIn::new(Peer::Containerd(700), Some(701));
    let (work, record) = plan(&host, &o, &sys).unwrap();
    apply(work, &o, &sys, &mut Log::kept()).unwrap();
    let config = fake.here("/etc/containerd/config.toml");
    let installed = std::fs::read_to_string(&config).unwrap();
    let at = installed.find("# BEGIN oci-add-hooks").unwrap();
    let (head, block) = installed.split_at(at);
    let edited = format!("{head}{}", block.replacen("SystemdCgroup = false", "SystemdCgroup = true", 1));
    fake.write("/etc/containerd/config.toml", &edited);
    let before = fake.tree();

    let again = |args: &[&str]| {
        let o = fake.options(Action::Install, args);
        let sys = StandIn::new(Peer::Containerd(701), Some(702));
        ContainerdWork::plan_install(&host, &o, &sys, BINARY, record.as_ref(), None, None)
            .map(|(work, _)| apply(work, &o, &sys, &mut Log::kept()).unwrap())
    };
    let err = again(&["--no-docker"]).err().unwrap().to_string();
    assert_eq!(
        err,
        format!(
            "{}: install's block for runtime oci-add-hooks was edited since install wrote it: \
             plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options.SystemdCgroup: false -> true; install writes it as runtime runc is now, which would lose that: make the change in runtime \
             runc's table, which the block copies, and run install again; or give --force to replace the block \
             (nothing changed)",
            config.display()
        )
    );
    assert_eq!(fake.tree(), before, "nothing written");

    // A comment added inside the block loses no setting: written again.
    let commented = format!("{head}{}", block.replacen("\n", "\n# a note of the operator's\n", 1));
    fake.write("/etc/containerd/config.toml", &commented);
    again(&["--no-docker"]).unwrap();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), installed);

    // --force replaces an edited block.
    fake.write("/etc/containerd/config.toml", &edited);
    again(&["--no-docker", "--force"]).unwrap();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), installed);
}

#[test]
fn a_flat_config_names_every_key_and_table_in_full() {
    let flat = config::flat("[a]\n  x = 1\n  s = 'v'\n[a.b]\n  y = [\"p\", 'q']\n").unwrap();
    let keys: Vec<_> = flat.iter().map(|e| (e.key.as_str(), e.text.as_str())).collect();
    assert_eq!(
        keys,
        [("a", "[table]"), ("a.x", "1"), ("a.s", "\"v\""), ("a.b", "[table]"), ("a.b.y", "[\"p\", \"q\"]")]
    );
}

#[test]
fn regression_a_runtime_appended_to_inline_runtimes_was_written_though_no_toml_parser_reads_it() {
    let fake = FakeHost::new("ctrd-inline");
    let inline =
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  runtimes = { runc = { runtime_type = \
                  \"io.containerd.runc.v2\" } }\n";
    fake.write("/etc/containerd/config.toml", inline);
    fake.write("/usr/bin/containerd", "");
    let host = Host::open(fake.0.clone()).unwrap();
    let o = fake.options(Action::Install, &["--no-docker"]);
    let mut sys = StandIn::new(Peer::Containerd(800), Some(801));
    // containerd's dump of the file as it is; the new text never gets as
    // far as containerd.
    sys.dump = |_| Ok(fixture!("1.7.24/debian.dump").to_owned());
    let before = fake.tree();
    let err = plan(&host, &o, &sys).err().unwrap().to_string();
    let config = fake.here("/etc/containerd/config.toml");
    let head = format!("{}: the text install would write: not valid TOML (line ", config.display());
    assert!(err.starts_with(&head) && err.ends_with("(nothing changed)"), "{err}");
    assert_eq!(sys.dumped.borrow().len(), 1, "refused before containerd's check of the new text");
    assert_eq!(fake.tree(), before);
}

//! The Docker step's plan, apply and messages on a fake host root, with a
//! stand-in for the running dockerd: a pid the pidfile names, whose reload
//! is recorded and whose `GET /info` shows what the test says. A real
//! dockerd's reload is proven by the integration tests
//! (tests/integration/install.rs, on a private dockerd); these pin the
//! step's decisions and what it says.

use std::cell::{Cell, RefCell};

use super::*;
use crate::args::Action;
use crate::install::fake_host::FakeHost;

/// A stand-in for the host's dockerd.
struct StandIn {
    /// The pid its pidfile names and its socket's peer is.
    pid: i32,
    /// Whether it serves its socket (a dockerd that is gone does not).
    serving: bool,
    /// What `GET /info` answers once reloaded: the runtime as wanted, or not.
    confirms: bool,
    /// Whether `GET /info` shows the runtime as wanted before a reload.
    shows: Cell<bool>,
    reloads: RefCell<Vec<i32>>,
}

impl StandIn {
    fn new(pid: i32, confirms: bool) -> StandIn {
        StandIn { pid, serving: true, confirms, shows: Cell::new(false), reloads: RefCell::default() }
    }
}

impl Docker for StandIn {
    fn by_pidfile(&self, pidfile: &Path, text: Option<&[u8]>) -> Result<Found, DockerdError> {
        Ok(match text {
            Some(t) if t == self.pid.to_string().as_bytes() => Found::Dockerd(Dockerd::stand_in(self.pid)),
            _ => Found::NotRunning(format!("no pidfile {}", pidfile.display())),
        })
    }

    fn peer(&self, _socket: &HostFile) -> Option<i32> {
        self.serving.then_some(self.pid)
    }

    fn open(&self, pid: i32) -> Option<Dockerd> {
        (pid == self.pid).then(|| Dockerd::stand_in(pid))
    }

    fn hosts(&self, _d: &Dockerd) -> Vec<String> {
        Vec::new()
    }

    fn reload(&self, d: &Dockerd) -> Result<bool, DockerdError> {
        self.reloads.borrow_mut().push(d.pid);
        self.shows.set(self.confirms);
        Ok(true)
    }

    fn shows(&self, _socket: &HostFile, _name: &str, _want: &Want) -> Result<bool, DockerdError> {
        Ok(self.shows.get())
    }

    fn confirm(&self, socket: &HostFile, name: &str, want: &Want) -> Result<(), DockerdError> {
        match self.shows.get() {
            true => Ok(()),
            false => Err(DockerdError::NotConfirmed {
                socket: socket.here().to_owned(),
                name: name.to_owned(),
                want: want.clone(),
                runtimes: "{}".into(),
            }),
        }
    }
}

const RUNTIME: &str = "oci-add-hooks";
const BINARY: &str = "/usr/local/bin/oci-add-hooks";

fn runtime() -> Runtime {
    Runtime { name: RUNTIME.into(), path: BINARY.into(), args: Vec::new() }
}

/// A host with a daemon.json, a pidfile naming `pid` and Docker's socket.
fn docker_host(tag: &str, daemon_json: &str, pid: i32) -> (FakeHost, Host) {
    let fake = FakeHost::new(tag);
    fake.write("/etc/docker/daemon.json", daemon_json);
    fake.write("/var/run/docker.pid", &pid.to_string());
    fake.write("/var/run/docker.sock", "");
    let host = Host::open(fake.0.clone()).unwrap();
    (fake, host)
}

#[test]
fn the_plan_registers_the_runtime_and_the_apply_reloads_the_dockerd_it_found_and_confirms() {
    let (fake, host) = docker_host("docker-step", "{\n  \"debug\": true\n}\n", 700);
    let o = fake.options(Action::Install, &["--no-containerd"]);
    let sys = StandIn::new(700, true);
    let before = fake.tree();
    let (work, record) = DockerWork::plan_install(&host, &o, &sys, &runtime(), None).unwrap();
    assert_eq!(fake.tree(), before, "a plan writes nothing");
    assert!(work.report.lines().is_empty(), "{:?}", work.report.lines());
    let config = fake.here("/etc/docker/daemon.json");
    assert_eq!(work.changes(), [(config.as_path(), &[Change::AddedRuntime { name: RUNTIME.into() }][..])]);
    let record = record.unwrap();
    assert_eq!((record.config.as_str(), record.path.as_str()), ("/etc/docker/daemon.json", BINARY));
    assert!(sys.reloads.borrow().is_empty(), "the plan signals nothing");

    let mut log = Log::kept();
    work.apply(&sys, &mut log).unwrap();
    assert_eq!(*sys.reloads.borrow(), [700]);
    assert_eq!(
        log.lines(),
        [
            format!("backed up {} to {}.oci-add-hooks.bak", config.display(), config.display()),
            format!("{}: added runtimes.oci-add-hooks", config.display()),
            "dockerd (pid 700): SIGHUP sent, runtime oci-add-hooks visible in GET /info".to_owned(),
        ]
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\"debug\": true") && text.contains(BINARY), "{text}");

    // Again: nothing to write, and dockerd, showing it, is not signalled.
    let (work, _) = DockerWork::plan_install(&host, &o, &sys, &runtime(), Some(&record)).unwrap();
    let mut log = Log::kept();
    work.apply(&sys, &mut log).unwrap();
    assert_eq!(*sys.reloads.borrow(), [700]);
    assert_eq!(
        log.lines(),
        [
            format!("{}: already as wanted, unchanged", config.display()),
            "dockerd (pid 700): has loaded what daemon.json says, not signalled".to_owned(),
        ]
    );
}

#[test]
fn a_reload_that_is_not_confirmed_is_an_error_naming_the_socket() {
    let (fake, host) = docker_host("docker-unconfirmed", "{}\n", 710);
    let o = fake.options(Action::Install, &["--no-containerd"]);
    let sys = StandIn::new(710, false);
    let (work, _) = DockerWork::plan_install(&host, &o, &sys, &runtime(), None).unwrap();
    let err = work.apply(&sys, &mut Log::kept()).unwrap_err().to_string();
    let socket = fake.here("/var/run/docker.sock");
    assert!(err.starts_with(&format!("{}: ", socket.display())), "{err}");
    assert!(err.contains(RUNTIME), "{err}");
    assert_eq!(*sys.reloads.borrow(), [710]);
}

#[test]
fn uninstall_through_a_reload_shows_dockerd_an_empty_runtimes_first_and_leaves_it_when_unconfirmed() {
    let (fake, host) = docker_host("docker-undo", "{}\n", 720);
    let o = fake.options(Action::Install, &["--no-containerd"]);
    let sys = StandIn::new(720, true);
    let (work, record) = DockerWork::plan_install(&host, &o, &sys, &runtime(), None).unwrap();
    work.apply(&sys, &mut Log::kept()).unwrap();
    let config = fake.here("/etc/docker/daemon.json");

    // dockerd reloads but GET /info still shows the runtime: the file keeps
    // what dockerd was shown, an empty runtimes.
    let u = fake.options(Action::Uninstall, &[]);
    let stuck = StandIn { shows: Cell::new(false), ..StandIn::new(720, false) };
    let work = DockerWork::plan_uninstall(&host, &u, &stuck, record.as_ref()).unwrap();
    assert!(work.apply(&stuck, &mut Log::kept()).is_err());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "{\"runtimes\":{}}\n", "the file's own layout");

    // Confirmed, on a host like it: the file is written as it was.
    let (fake, host) = docker_host("docker-undo-confirmed", "{}\n", 720);
    let (work, record) = DockerWork::plan_install(&host, &o, &sys, &runtime(), None).unwrap();
    work.apply(&sys, &mut Log::kept()).unwrap();
    let config = fake.here("/etc/docker/daemon.json");
    let u = fake.options(Action::Uninstall, &[]);
    let work = DockerWork::plan_uninstall(&host, &u, &sys, record.as_ref()).unwrap();
    let mut log = Log::kept();
    work.apply(&sys, &mut log).unwrap();
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "{}\n");
    let n = log.lines().len();
    assert_eq!(
        log.lines()[n - 2..],
        [
            format!(
                "{}: dropped runtimes now that dockerd has reloaded (it keeps a setting the file no longer has)",
                config.display()
            ),
            format!(
                "removed the backup {}.oci-add-hooks.bak: {} is byte for byte as it was before install",
                config.display(),
                config.display()
            )
        ]
    );
    assert!(!fake.here("/etc/docker/daemon.json.oci-add-hooks.bak").exists());
}

#[test]
fn docker_not_set_up_is_reported_and_a_stopped_dockerd_is_left_to_read_the_file() {
    let fake = FakeHost::new("docker-none");
    let host = Host::open(fake.0.clone()).unwrap();
    let o = fake.options(Action::Install, &["--no-containerd"]);
    let sys = StandIn::new(730, true);
    let (work, record) = DockerWork::plan_install(&host, &o, &sys, &runtime(), None).unwrap();
    assert!(record.is_none() && work.changes().is_empty());
    let line = &work.report.lines()[0];
    assert!(line.starts_with("Docker: neither ") && line.ends_with("skipped (--no-docker says so quietly)"), "{line}");

    // A daemon.json, and a pidfile of a dockerd that is gone.
    let (fake, host) = docker_host("docker-stopped", "{}\n", 740);
    let o = fake.options(Action::Install, &["--no-containerd"]);
    let gone = StandIn { serving: false, ..StandIn::new(741, true) };
    let (work, _) = DockerWork::plan_install(&host, &o, &gone, &runtime(), None).unwrap();
    let mut log = Log::kept();
    work.apply(&gone, &mut log).unwrap();
    assert!(gone.reloads.borrow().is_empty());
    assert_eq!(
        log.lines().last().unwrap(),
        &format!(
            "dockerd: not running (no pidfile {}): it loads daemon.json when it starts",
            fake.here("/var/run/docker.pid").display()
        )
    );
}

//! The running dockerd: finding it, asking it to reload its configuration,
//! and seeing which runtimes it has loaded.
//!
//! Owns telling a dockerd from any other process, SIGHUP, and `GET /info`
//! over Docker's unix socket with a minimal HTTP/1.1 client (the response
//! parsing is pure and unit-tested). A pid (from the pidfile, or the peer
//! of Docker's socket, `SO_PEERCRED`) is checked through `/proc/<pid>`
//! opened once: its `comm` is `dockerd`, it runs as uid 0, and its
//! executable (`/proc/<pid>/exe`, or `argv[0]` where that link needs
//! CAP_SYS_PTRACE, as in the installer's pod) is called `dockerd`. The
//! signal goes through a pidfd opened after that directory and before the
//! checks, so a pid that is reused between the checks and the signal,
//! however much later, is never hit: a stale pidfile must never get some
//! other process signalled. dockerd reloads `runtimes` and
//! `default-runtime` on SIGHUP without touching running containers; this
//! module must never do anything that restarts it.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};
use serde_json::{Map, Value};

use super::super::host::HostFile;

/// The process and program name dockerd runs under.
pub(crate) const DOCKERD: &str = "dockerd";
/// Where dockerd listens when it is told nothing, and where systemd's
/// docker.socket (`-H fd://`) puts it (/run/docker.sock, which
/// /var/run/docker.sock names): moby's `DefaultUnixSocket`.
pub(crate) const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// How long a reload may take to show in `GET /info`.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) enum DockerdError {
    Pidfile { path: PathBuf, why: String },
    NotDockerd { pidfile: PathBuf, pid: i32, why: String },
    Signal { pid: i32, err: io::Error },
    Socket { path: PathBuf, why: String },
    NotConfirmed { socket: PathBuf, name: String, want: Want, runtimes: String },
}

impl fmt::Display for DockerdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerdError::Pidfile { path, why } => write!(f, "{}: {why}", path.display()),
            DockerdError::NotDockerd { pidfile, pid, why } => write!(
                f,
                "{}: pid {pid} {why}, not {DOCKERD} (a stale pidfile?); not signalled: fix the pidfile or give \
                 --docker-pidfile, or --no-reload",
                pidfile.display()
            ),
            DockerdError::Signal { pid, err } => write!(f, "dockerd (pid {pid}): cannot send SIGHUP: {err}"),
            DockerdError::Socket { path, why } => write!(f, "{}: GET /info: {why}", path.display()),
            DockerdError::NotConfirmed { socket, name, want, runtimes } => write!(
                f,
                "{}: GET /info: after SIGHUP and {}s, Runtimes {} (Runtimes: {runtimes}); see dockerd's \
                 log for why it did not reload",
                socket.display(),
                CONFIRM_TIMEOUT.as_secs(),
                match want {
                    Want::Present { path } => format!("still lack {name} with path {path}"),
                    Want::Absent { .. } => format!("still list {name} with our path"),
                }
            ),
        }
    }
}

impl std::error::Error for DockerdError {}

/// What the pidfile or the socket led to.
#[derive(Debug)]
pub(crate) enum Found {
    /// A live dockerd.
    Dockerd(Dockerd),
    /// No dockerd to reload, and why (it reads daemon.json when it starts).
    NotRunning(String),
}

/// A dockerd, checked, and held so that only it can be signalled.
#[derive(Debug)]
pub(crate) struct Dockerd {
    pub(crate) pid: i32,
    /// `/proc/<pid>`: reads through it fail once this process is gone,
    /// whatever process takes the pid next.
    proc: OwnedFd,
    /// The process itself, for pidfd_send_signal; `None` where the kernel
    /// has no pidfd_open (before 5.3) or a seccomp profile refuses it.
    pidfd: Option<OwnedFd>,
}

/// Checks that the pid in `pidfile` (its bytes; `None`: there is none) is a
/// live dockerd.
pub(crate) fn find(pidfile: &Path, text: Option<&[u8]>) -> Result<Found, DockerdError> {
    let err = |why: String| DockerdError::Pidfile { path: pidfile.to_owned(), why };
    let Some(text) = text else { return Ok(Found::NotRunning(format!("no pidfile {}", pidfile.display()))) };
    let text = String::from_utf8_lossy(text);
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| err(format!("does not hold a process id: {:?}", text.trim())))?;
    match open(pid) {
        Ok(Some(d)) => Ok(Found::Dockerd(d)),
        Ok(None) => Ok(Found::NotRunning(format!(
            "{} names pid {pid}, which is not running (or not in this pid namespace: the installer needs the \
             host's, hostPID: true)",
            pidfile.display()
        ))),
        Err(Check::Not(why)) => Err(DockerdError::NotDockerd { pidfile: pidfile.to_owned(), pid, why }),
        Err(Check::Io(e)) => Err(err(format!("pid {pid}: cannot read /proc/{pid}: {e}"))),
    }
}

/// Why `open` did not take a process for a dockerd.
#[derive(Debug)]
pub(crate) enum Check {
    /// It is some other process: what it is.
    Not(String),
    Io(io::Error),
}

/// The process `pid`, if it is a dockerd; `Ok(None)` when no such process
/// runs. `/proc/<pid>` is opened first and the pidfd second, and the checks
/// read through the former: if they succeed, the process it names was alive
/// after the pidfd was opened, so both are the same process.
pub(crate) fn open(pid: i32) -> Result<Option<Dockerd>, Check> {
    let Some(target) = Pid::from_raw(pid) else { return Ok(None) };
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let proc = match rfs::open(format!("/proc/{pid}"), dir, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::SRCH) => return Ok(None),
        Err(e) => return Err(Check::Io(e.into())),
    };
    let pidfd = match rustix::process::pidfd_open(target, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(Errno::SRCH) => return Ok(None),
        Err(_) => None,
    };
    let gone = |e: &io::Error| matches!(Errno::from_io_error(e), Some(Errno::NOENT | Errno::SRCH));
    match check(&proc) {
        Err(Check::Io(e)) if gone(&e) => Ok(None),
        Err(e) => Err(e),
        Ok(()) => Ok(Some(Dockerd { pid, proc, pidfd })),
    }
}

/// A file of `/proc/<pid>`, read through its directory.
fn read_at(proc: &OwnedFd, name: &str) -> io::Result<Vec<u8>> {
    let fd = rfs::openat(proc, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `comm`, the uids and the executable of the process `proc` is.
fn check(proc: &OwnedFd) -> Result<(), Check> {
    let comm = read_at(proc, "comm").map_err(Check::Io)?;
    let comm = String::from_utf8_lossy(&comm).trim_end().to_owned();
    if comm != DOCKERD {
        return Err(Check::Not(format!("is {comm:?}")));
    }
    let status = read_at(proc, "status").map_err(Check::Io)?;
    match uids(&status) {
        Some((0, 0)) => {}
        Some((real, effective)) => {
            return Err(Check::Not(format!("is called {DOCKERD} but runs as uid {real} (effective {effective})")))
        }
        None => return Err(Check::Not("has no Uid line in its status".into())),
    }
    // The link needs ptrace access (CAP_SYS_PTRACE unless the installer
    // has every capability dockerd has): without it, argv[0].
    let program = match rfs::readlinkat(proc, "exe", Vec::new()) {
        Ok(exe) => exe.into_bytes(),
        Err(Errno::ACCESS | Errno::PERM) => {
            read_at(proc, "cmdline").map_err(Check::Io)?.split(|&b| b == 0).next().unwrap_or_default().to_vec()
        }
        Err(e) => return Err(Check::Io(e.into())),
    };
    if !is_dockerd(&program) {
        return Err(Check::Not(format!(
            "is called {DOCKERD} but runs {:?}",
            String::from_utf8_lossy(&program).trim_end_matches(DELETED)
        )));
    }
    Ok(())
}

/// What `/proc/<pid>/exe` ends with once the file has been replaced (a
/// dockerd still running after a package upgrade).
const DELETED: &str = " (deleted)";

/// Whether a program path is a `dockerd`.
fn is_dockerd(program: &[u8]) -> bool {
    let program = program.strip_suffix(DELETED.as_bytes()).unwrap_or(program);
    Path::new(OsStr::from_bytes(program)).file_name() == Some(OsStr::new(DOCKERD))
}

/// The real and effective uid of a `/proc/<pid>/status`.
fn uids(status: &[u8]) -> Option<(u32, u32)> {
    let text = String::from_utf8_lossy(status);
    let line = text.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut ids = line.split_whitespace().map(|id| id.parse::<u32>().ok());
    Some((ids.next()??, ids.next()??))
}

impl Dockerd {
    /// A Dockerd for the Docker step's unit tests, whose stand-in never
    /// signals it: it holds this process's own `/proc` entry.
    #[cfg(test)]
    pub(crate) fn stand_in(pid: i32) -> Dockerd {
        let proc = rfs::open("/proc/self", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
        Dockerd { pid, proc: proc.unwrap(), pidfd: None }
    }

    /// dockerd's own `-H`/`--host` arguments, from its command line.
    pub(crate) fn hosts(&self) -> Vec<String> {
        read_at(&self.proc, "cmdline").map(|c| host_arguments(&c)).unwrap_or_default()
    }

    /// Sends it SIGHUP: it reloads `daemon.json` in place. `Ok(false)`: it
    /// has exited since it was found, and nothing was signalled.
    pub(crate) fn reload(&self) -> Result<bool, DockerdError> {
        let pid = self.pid;
        let sent = match &self.pidfd {
            Some(pidfd) => rustix::process::pidfd_send_signal(pidfd, Signal::HUP),
            None => {
                // No pidfd: a read through /proc/<pid> succeeds only while
                // this very process lives; the kill follows at once.
                if read_at(&self.proc, "comm").is_err() {
                    return Ok(false);
                }
                let target = Pid::from_raw(pid).ok_or(Errno::SRCH);
                target.and_then(|p| rustix::process::kill_process(p, Signal::HUP))
            }
        };
        match sent {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(e) => Err(DockerdError::Signal { pid, err: e.into() }),
        }
    }
}

/// The values of dockerd's `-H`/`--host` options in a command line (NUL
/// separated), in order: `-H X`, `-HX`, `--host X`, `--host=X`.
fn host_arguments(cmdline: &[u8]) -> Vec<String> {
    let args: Vec<String> =
        cmdline.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let mut hosts = Vec::new();
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            break;
        }
        if arg == "-H" || arg == "--host" {
            hosts.extend(rest.next().cloned());
        } else if let Some(v) = arg.strip_prefix("--host=").or_else(|| arg.strip_prefix("-H")) {
            hosts.push(v.trim_start_matches('=').to_owned());
        }
    }
    hosts
}

/// Docker's API socket, from the hosts dockerd listens on (its `-H`
/// arguments, else daemon.json's `hosts`): the first `unix://` one
/// (`unix://` alone is the default), the default for `fd://` (systemd's
/// docker.socket) or when none is given. `None`: dockerd listens on no
/// unix socket (only `tcp://`).
pub(crate) fn api_socket(hosts: &[String]) -> Option<String> {
    if hosts.is_empty() {
        return Some(DEFAULT_SOCKET.into());
    }
    hosts.iter().find_map(|h| match h.strip_prefix("unix://") {
        Some("") => Some(DEFAULT_SOCKET.to_owned()),
        Some(path) => Some(path.to_owned()),
        None => h.starts_with("fd://").then(|| DEFAULT_SOCKET.to_owned()),
    })
}

/// The pid of the process at the other end of `stream` (`SO_PEERCRED`: the
/// one that listens on the socket, or systemd for an activated socket);
/// `None` when it is not in this pid namespace.
pub(crate) fn peer_pid(stream: &UnixStream) -> Option<i32> {
    let cred = rustix::net::sockopt::socket_peercred(stream).ok()?;
    Some(cred.pid.as_raw_nonzero().get()).filter(|p| *p > 0)
}

/// What `GET /info` must show once the reload is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// `Runtimes.<name>.path` is `path`.
    Present { path: String },
    /// `Runtimes` has no `<name>` with path `path`.
    Absent { path: String },
}

impl Want {
    /// Whether `runtimes` (`GET /info`'s `Runtimes`) shows this for `name`.
    fn met(&self, runtimes: &Map<String, Value>, name: &str) -> bool {
        let path = runtimes.get(name).and_then(|r| r.get("path")).and_then(Value::as_str);
        match self {
            Want::Present { path: p } => path == Some(p.as_str()),
            Want::Absent { path: p } => path != Some(p.as_str()),
        }
    }
}

/// Polls `GET /info` until `Runtimes` shows `want` for `name`.
pub(crate) fn confirm(socket: &HostFile, name: &str, want: &Want) -> Result<(), DockerdError> {
    let start = Instant::now();
    loop {
        let runtimes = runtimes(socket)?;
        if want.met(&runtimes, name) {
            return Ok(());
        }
        if start.elapsed() >= CONFIRM_TIMEOUT {
            return Err(DockerdError::NotConfirmed {
                socket: socket.here().to_owned(),
                name: name.to_owned(),
                want: want.clone(),
                runtimes: crate::json::json_text(&Value::Object(runtimes)),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `GET /info` shows `want` for `name` now.
pub(crate) fn shows(socket: &HostFile, name: &str, want: &Want) -> Result<bool, DockerdError> {
    Ok(want.met(&runtimes(socket)?, name))
}

/// `Runtimes` from `GET /info`.
fn runtimes(socket: &HostFile) -> Result<Map<String, Value>, DockerdError> {
    let err = |why: String| DockerdError::Socket { path: socket.here().to_owned(), why };
    let mut stream = socket.connect().map_err(|e| err(format!("cannot connect: {e}")))?;
    let io = |e: io::Error| err(e.to_string());
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream
        .write_all(b"GET /info HTTP/1.1\r\nHost: docker\r\nUser-Agent: oci-add-hooks\r\nConnection: close\r\n\r\n")
        .map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(io)?;
    let body = parse_response(&response).map_err(err)?;
    let info: Value = serde_json::from_slice(&body).map_err(|e| err(format!("response is not JSON: {e}")))?;
    match info.get("Runtimes") {
        Some(Value::Object(r)) => Ok(r.clone()),
        _ => Err(err("response has no Runtimes object".into())),
    }
}

/// The body of an HTTP/1.1 response that must be `200`: by Content-Length,
/// chunked, or up to the end (the request asked for `Connection: close`).
fn parse_response(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let end = position(bytes, b"\r\n\r\n").ok_or("incomplete HTTP response (no end of headers)")?;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let body = &bytes[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(format!("unexpected response {status:?}"));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    if header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(body);
    }
    match header("Content-Length") {
        Some(len) => {
            let len: usize = len.parse().map_err(|_| format!("bad Content-Length {len:?}"))?;
            body.get(..len).map(<[u8]>::to_vec).ok_or_else(|| "response body cut short".to_owned())
        }
        None => Ok(body.to_vec()),
    }
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = position(rest, b"\r\n").ok_or("chunked body cut short")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("chunked body cut short")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("chunked body cut short")?;
    }
}

fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests;

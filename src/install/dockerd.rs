//! The running dockerd: finding it, asking it to reload its configuration,
//! and seeing which runtimes it has loaded.
//!
//! Owns the pidfile check (the pid must be a live process whose
//! `/proc/<pid>/comm` is `dockerd`: a stale pidfile must never get some
//! other process signalled), SIGHUP, and `GET /info` over Docker's unix
//! socket with a minimal HTTP/1.1 client (the response parsing is pure and
//! unit-tested). dockerd reloads `runtimes` and `default-runtime` on SIGHUP
//! without touching running containers; this module must never do anything
//! that restarts it.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use serde_json::{Map, Value};

use super::host::HostFile;

/// The process name dockerd runs under.
const COMM: &str = "dockerd";
/// How long a reload may take to show in `GET /info`.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) enum DockerdError {
    Pidfile { path: PathBuf, why: String },
    NotDockerd { pidfile: PathBuf, pid: i32, comm: String },
    Signal { pid: i32, err: io::Error },
    Socket { path: PathBuf, why: String },
    NotConfirmed { socket: PathBuf, name: String, want: Want, runtimes: String },
}

impl fmt::Display for DockerdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerdError::Pidfile { path, why } => write!(f, "{}: {why}", path.display()),
            DockerdError::NotDockerd { pidfile, pid, comm } => write!(
                f,
                "{}: pid {pid} is {comm:?}, not {COMM} (a stale pidfile?); not signalled: fix the \
                 pidfile or give --docker-pidfile, or --no-reload",
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

/// What the pidfile led to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A live dockerd.
    Dockerd(i32),
    /// No dockerd to reload, and why (it reads daemon.json when it starts).
    NotRunning(String),
}

/// Checks that the pid in `pidfile` (its bytes, `None`: there is none)
/// is a live dockerd.
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
    let comm = match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(c) => c.trim_end().to_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Found::NotRunning(format!(
                "{} names pid {pid}, which is not running (or not in this pid namespace: \
                 the installer needs the host's, hostPID: true)",
                pidfile.display()
            )))
        }
        Err(e) => return Err(err(format!("pid {pid}: cannot read /proc/{pid}/comm: {e}"))),
    };
    if comm != COMM {
        return Err(DockerdError::NotDockerd { pidfile: pidfile.to_owned(), pid, comm });
    }
    Ok(Found::Dockerd(pid))
}

/// Sends dockerd SIGHUP: it reloads `daemon.json` in place.
pub(crate) fn reload(pid: i32) -> Result<(), DockerdError> {
    let target = Pid::from_raw(pid)
        .ok_or(DockerdError::Signal { pid, err: io::Error::new(io::ErrorKind::InvalidInput, "not a process id") })?;
    rustix::process::kill_process(target, Signal::HUP).map_err(|e| DockerdError::Signal { pid, err: e.into() })
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
mod tests {
    use super::*;

    #[test]
    fn responses_by_length_chunked_and_to_the_end() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 4\r\n\r\n{}\r\nxx";
        assert_eq!(parse_response(r).unwrap(), b"{}\r\n");
        let r =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\nB;ext=1\r\n\":12345678}\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), b"{\"a\":12345678}");
        assert_eq!(parse_response(b"HTTP/1.0 200 OK\r\n\r\n{}").unwrap(), b"{}");
    }

    #[test]
    fn bad_responses_say_why() {
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\n").unwrap_err(), "incomplete HTTP response (no end of headers)");
        assert_eq!(
            parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap_err(),
            "unexpected response \"HTTP/1.1 404 Not Found\""
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").unwrap_err(),
            "response body cut short"
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").unwrap_err(),
            "bad chunk size \"zz\""
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}").unwrap_err(),
            "chunked body cut short"
        );
    }

    fn find_in(pidfile: &Path) -> Result<Found, DockerdError> {
        find(pidfile, std::fs::read(pidfile).ok().as_deref())
    }

    #[test]
    fn the_pidfile_must_name_a_live_dockerd() {
        let dir = std::env::temp_dir().join(format!("oah-dockerd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("docker.pid");
        assert_eq!(find_in(&pidfile).unwrap(), Found::NotRunning(format!("no pidfile {}", pidfile.display())));
        std::fs::write(&pidfile, "junk\n").unwrap();
        assert_eq!(
            find_in(&pidfile).unwrap_err().to_string(),
            format!("{}: does not hold a process id: \"junk\"", pidfile.display())
        );
        // pid 2^22+1 is above Linux's pid_max limit, so never alive.
        std::fs::write(&pidfile, "4194305").unwrap();
        assert!(
            matches!(find_in(&pidfile).unwrap(), Found::NotRunning(why) if why.contains("pid 4194305, which is not running"))
        );
        // This test process is not dockerd, and is not signalled.
        std::fs::write(&pidfile, std::process::id().to_string()).unwrap();
        let err = find_in(&pidfile).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: pid {} is ", pidfile.display(), std::process::id())), "{err}");
        assert!(err.contains("not dockerd (a stale pidfile?); not signalled"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

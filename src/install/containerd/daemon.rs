//! The host's running containerd: the process behind its socket.
//!
//! Owns finding the containerd process as the peer of its socket
//! (SO_PEERCRED, never by name), stopping it with SIGTERM through a pidfd
//! (so a pid reused in between is never signalled), waiting until its
//! supervisor has started a new one that serves (another pid, and gRPC's
//! HTTP/2 SETTINGS frame, which containerd sends as soon as it accepts).
//! (Running its binary for `config dump` is `dump`'s.) containerd does not reload its configuration, so a
//! restart is the only way; this module must never kill it (SIGTERM only,
//! and only when asked) nor start it: its supervisor does (systemd's
//! `Restart=always`, `KillMode=process`, which keeps the containers'
//! shims running).

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{Pid, PidfdFlags, Signal};

use super::super::host::HostFile;
use super::dump::{Dump, DumpError};

/// The process name containerd runs under.
const COMM: &str = "containerd";
/// How often the socket is tried while containerd restarts.
const POLL: Duration = Duration::from_millis(100);
/// How long a new containerd may take to send its SETTINGS frame once it
/// accepts (it sends it at once, FINDINGS 2).
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) enum DaemonError {
    Socket {
        path: PathBuf,
        err: io::Error,
    },
    /// SO_PEERCRED gave pid 0: the peer is in another pid namespace.
    NoPid {
        socket: PathBuf,
    },
    NotContainerd {
        socket: PathBuf,
        pid: i32,
        comm: String,
    },
    Signal {
        pid: i32,
        err: io::Error,
    },
    NotBack {
        socket: PathBuf,
        pid: i32,
        secs: u64,
    },
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonError::Socket { path, err } => write!(f, "{}: cannot connect: {err}", path.display()),
            DaemonError::NoPid { socket } => write!(
                f,
                "{}: the process serving it has pid 0 here (SO_PEERCRED), so it is in another pid namespace: \
                 the installer needs the host's to restart containerd (hostPID: true), or --containerd-restart none",
                socket.display()
            ),
            DaemonError::NotContainerd { socket, pid, comm } => write!(
                f,
                "{}: served by pid {pid}, which is {comm:?}, not {COMM}; not signalled: give --containerd-socket, \
                 or --containerd-restart none",
                socket.display()
            ),
            DaemonError::Signal { pid, err } => write!(f, "containerd (pid {pid}): cannot send SIGTERM: {err}"),
            DaemonError::NotBack { socket, pid, secs } => write!(
                f,
                "containerd (pid {pid}) did not come back within {secs}s after SIGTERM ({} is not served by a new \
                 process)",
                socket.display()
            ),
        }
    }
}

impl std::error::Error for DaemonError {}

/// What serves containerd's socket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Nothing (no socket, or a stale one), and why: it reads its
    /// configuration when it starts.
    NotRunning(String),
    Containerd(i32),
}

/// The containerd serving `socket`, checked by its process name.
pub(crate) fn peer(socket: &HostFile) -> Result<Peer, DaemonError> {
    let stream = match socket.connect() {
        Ok(s) => s,
        // A clean exit removes the socket; a crash leaves it, refused
        // (FINDINGS 2).
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => {
            return Ok(Peer::NotRunning(format!("{}: {e}", socket.here().display())))
        }
        Err(err) => return Err(DaemonError::Socket { path: socket.here().to_owned(), err }),
    };
    let pid = peer_pid(&stream).map_err(|err| DaemonError::Socket { path: socket.here().to_owned(), err })?;
    if pid == 0 {
        return Err(DaemonError::NoPid { socket: socket.here().to_owned() });
    }
    let comm = comm(pid).unwrap_or_default();
    if comm != COMM {
        return Err(DaemonError::NotContainerd { socket: socket.here().to_owned(), pid, comm });
    }
    Ok(Peer::Containerd(pid))
}

/// SO_PEERCRED's pid: the process that was listening when `stream`
/// connected; 0 when it is in another pid namespace. (rustix's
/// `socket_peercred` returns a non-zero `Pid`, which that 0 is not.)
fn peer_pid(stream: &UnixStream) -> io::Result<i32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid, exclusively borrowed, and `len`
    // is `cred`'s size, which the kernel writes at most.
    let rc = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    match rc {
        0 => Ok(cred.pid),
        _ => Err(io::Error::last_os_error()),
    }
}

fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|c| c.trim_end().to_owned())
}

/// Sends containerd (`pid`) SIGTERM through a pidfd, after checking that
/// the pidfd's process is containerd: a pid reused since `peer` is never
/// signalled.
pub(crate) fn stop(pid: i32) -> Result<(), DaemonError> {
    let sig_err = |err: io::Error| DaemonError::Signal { pid, err };
    let target = Pid::from_raw(pid).ok_or_else(|| sig_err(io::ErrorKind::InvalidInput.into()))?;
    let pidfd = match rustix::process::pidfd_open(target, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        // Linux before 5.3: kill(2), right after the name is checked.
        Err(rustix::io::Errno::NOSYS) => None,
        Err(e) => return Err(sig_err(e.into())),
    };
    // Read after the pidfd is open: if the process is still there when the
    // signal goes, this was its name.
    let comm = comm(pid).unwrap_or_default();
    if comm != COMM {
        return Err(sig_err(io::Error::other(format!("pid {pid} is {comm:?} now, not {COMM}"))));
    }
    match pidfd {
        Some(fd) => rustix::process::pidfd_send_signal(&fd, Signal::TERM),
        None => rustix::process::kill_process(target, Signal::TERM),
    }
    .map_err(|e| sig_err(e.into()))
}

/// Waits until `socket` is served by a containerd other than `old`, which
/// answers as a gRPC server does; returns its pid. Nothing here waits past
/// `deadline` (the frame's read timeout and the pause between tries are
/// cut to what is left), so the restart's whole budget, the signal
/// included, is the caller's one `--containerd-timeout`.
pub(crate) fn wait_serving(socket: &HostFile, old: i32, deadline: Instant, secs: u64) -> Result<i32, DaemonError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DaemonError::NotBack { socket: socket.here().to_owned(), pid: old, secs });
        }
        if let Some(pid) = serving(socket, left.min(FRAME_TIMEOUT)).filter(|p| *p != old) {
            return Ok(pid);
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// The process's start time, in clock ticks after boot (`/proc/PID/stat`
/// field 22, proc(5)): with the pid, it names one process, where a pid
/// alone may have been reused.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) is in parentheses and may hold anything; the
    // fields after its last `)` start at field 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// The pid serving `socket` with an HTTP/2 SETTINGS frame, if one does.
fn serving(socket: &HostFile, frame_timeout: Duration) -> Option<i32> {
    let mut stream = socket.connect().ok()?;
    let pid = peer_pid(&stream).ok()?;
    stream.set_read_timeout(Some(frame_timeout)).ok()?;
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).ok()?;
    is_settings(&head).then_some(pid)
}

/// Whether a frame header is an HTTP/2 SETTINGS frame (RFC 9113 4.1:
/// 24-bit length, type, flags, stream 0; SETTINGS is type 4), the first
/// thing a gRPC server sends on a new connection.
fn is_settings(head: &[u8; 9]) -> bool {
    head[3] == 4 && head[5..9] == [0, 0, 0, 0]
}

/// What the step asks of the host's containerd: its binary's `config
/// dump`, and the process serving its socket. `System` is the host's own;
/// the unit tests give a stand-in.
pub(crate) trait Containerd {
    /// `dump::config_dump`.
    fn config_dump(&self, root: &Path, binary: &str, config: Option<&str>) -> Result<Dump, DumpError>;
    /// `daemon::peer`.
    fn peer(&self, socket: &HostFile) -> Result<Peer, DaemonError>;
    /// `daemon::stop`.
    fn stop(&self, pid: i32) -> Result<(), DaemonError>;
    /// `daemon::wait_serving`.
    fn wait_serving(&self, socket: &HostFile, old: i32, deadline: Instant, secs: u64) -> Result<i32, DaemonError>;
    /// `daemon::start_time`.
    fn start_time(&self, pid: i32) -> Option<u64>;
}

/// The host's own containerd.
pub(crate) struct System;

impl Containerd for System {
    fn config_dump(&self, root: &Path, binary: &str, config: Option<&str>) -> Result<Dump, DumpError> {
        super::dump::config_dump(root, binary, config)
    }

    fn peer(&self, socket: &HostFile) -> Result<Peer, DaemonError> {
        peer(socket)
    }

    fn stop(&self, pid: i32) -> Result<(), DaemonError> {
        stop(pid)
    }

    fn wait_serving(&self, socket: &HostFile, old: i32, deadline: Instant, secs: u64) -> Result<i32, DaemonError> {
        wait_serving(socket, old, deadline, secs)
    }

    fn start_time(&self, pid: i32) -> Option<u64> {
        start_time(pid)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::host::Host;
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn a_start_time_is_read_past_a_name_with_parentheses_and_spaces() {
        let me = start_time(std::process::id() as i32).unwrap();
        assert!(me > 0);
        // Field 22 of this process's own stat, found the naive way (its
        // name, the test binary's, has no space or parenthesis).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert_eq!(stat.split(' ').nth(21).unwrap().parse::<u64>().unwrap(), me);
        assert_eq!(start_time(i32::MAX), None);
    }

    #[test]
    fn a_settings_frame_header_is_recognised() {
        // What containerd 1.6.20 sends on accept (FINDINGS 2).
        assert!(is_settings(&[0, 0, 6, 4, 0, 0, 0, 0, 0]));
        // The SETTINGS ACK that follows is one too; a DATA frame, or one on a
        // stream, is not.
        assert!(is_settings(&[0, 0, 0, 4, 1, 0, 0, 0, 0]));
        assert!(!is_settings(&[0, 0, 6, 0, 0, 0, 0, 0, 0]));
        assert!(!is_settings(&[0, 0, 6, 4, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn the_peer_is_found_by_its_socket_and_must_be_containerd() {
        let dir = std::env::temp_dir().join(format!("oah-ctrd-peer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("containerd.sock");
        let file = Host::open("/".into()).unwrap().file(socket.to_str().unwrap(), true).unwrap();
        assert!(matches!(peer(&file).unwrap(), Peer::NotRunning(why) if why.contains("No such file")));
        // Served by this test process: found, by pid, and refused by name.
        let listener = UnixListener::bind(&socket).unwrap();
        let err = peer(&file).unwrap_err().to_string();
        let want = format!("{}: served by pid {}, which is ", socket.display(), std::process::id());
        assert!(err.starts_with(&want), "{err}");
        assert!(err.contains("not containerd; not signalled"), "{err}");
        // A socket nobody listens on any more: a crashed containerd.
        drop(listener);
        assert!(matches!(peer(&file).unwrap(), Peer::NotRunning(why) if why.contains("refused")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! dockerd's edge, tested against stand-in processes and sockets
//! (test-only).
use super::*;

#[test]
fn responses_by_length_chunked_and_to_the_end() {
    let r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 4\r\n\r\n{}\r\nxx";
    assert_eq!(parse_response(r).unwrap(), b"{}\r\n");
    let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\nB;ext=1\r\n\":12345678}\r\n0\r\n\r\n";
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

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oah-dockerd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_pidfile_must_name_a_live_dockerd() {
    let dir = scratch("pidfile");
    let pidfile = dir.join("docker.pid");
    assert!(
        matches!(find_in(&pidfile).unwrap(), Found::NotRunning(why) if why == format!("no pidfile {}", pidfile.display()))
    );
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

/// A process called dockerd by its comm alone (which any process can
/// set) was taken for dockerd and sent SIGHUP, which kills a shell.
#[test]
fn regression_a_process_was_taken_for_dockerd_by_its_name_alone() {
    let mut sh = std::process::Command::new("/bin/sh")
        .args(["-c", "printf dockerd > /proc/$$/comm; read line; exit 0"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = sh.id() as i32;
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap() != "dockerd\n" {
        std::thread::yield_now();
    }
    let why = match open(pid) {
        Err(Check::Not(why)) => why,
        other => panic!("{other:?}"),
    };
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(why, format!("is called dockerd but runs {:?}", exe.display().to_string()));
    drop(sh.stdin.take());
    assert!(sh.wait().unwrap().success(), "the shell was signalled");
}

/// A copy of sleep called dockerd: comm, uid and program all say dockerd.
fn fake_dockerd(dir: &Path) -> std::process::Child {
    fake_dockerd_under(dir, &[])
}

/// The stand-in, started by `wrapper` (a command that execs the rest).
/// It gets SIGHUP's default action whatever this process had: a suite
/// started under `nohup` ignores SIGHUP, and a child inherits that.
fn fake_dockerd_under(dir: &Path, wrapper: &[&str]) -> std::process::Child {
    let program = dir.join("dockerd");
    if !program.exists() {
        // Copied by `cp`: a copy written here would stay open in any
        // child another test thread forks meanwhile, and could not run
        // (ETXTBSY) until that child execs.
        let cp = std::process::Command::new("cp").arg("/bin/sleep").arg(&program).status().unwrap();
        assert!(cp.success());
    }
    let mut command: Vec<&OsStr> = wrapper.iter().map(OsStr::new).collect();
    command.extend([OsStr::new("env"), OsStr::new("--default-signal=HUP"), program.as_os_str(), OsStr::new("60")]);
    let child = std::process::Command::new(command[0]).args(&command[1..]).spawn().unwrap();
    // Until the exec, the child is a copy of this test's thread.
    while std::fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap() != "dockerd\n" {
        std::thread::yield_now();
    }
    child
}

#[test]
fn only_the_process_that_was_checked_is_signalled() {
    let dir = scratch("signal");
    for pidfd in [true, false] {
        let mut child = fake_dockerd(&dir);
        let mut d = open(child.id() as i32).unwrap().unwrap();
        assert!(d.pidfd.is_some(), "pidfd_open works on this kernel");
        if !pidfd {
            d.pidfd = None;
        }
        // Gone (and reaped): its pid may be anyone's now, and nothing is
        // signalled.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!d.reload().unwrap(), "pidfd: {pidfd}");
        assert!(open(d.pid).unwrap().is_none());
        // Alive: it gets the SIGHUP (which ends sleep).
        let mut child = fake_dockerd(&dir);
        let mut d = open(child.id() as i32).unwrap().unwrap();
        if !pidfd {
            d.pidfd = None;
        }
        assert!(d.reload().unwrap());
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(1), "pidfd: {pidfd}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The suite, started under `nohup`, passed SIGHUP's SIG_IGN on to the
/// stand-in dockerd, which then outlived its reload and failed
/// `only_the_process_that_was_checked_is_signalled`.
#[test]
fn regression_the_stand_in_dockerd_ignored_sighup_when_the_suite_ran_under_nohup() {
    let dir = scratch("nohup");
    let mut child = fake_dockerd_under(&dir, &["env", "--ignore-signal=HUP"]);
    let d = open(child.id() as i32).unwrap().unwrap();
    assert!(d.reload().unwrap());
    let status = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(1));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn proc_status_and_programs() {
    assert_eq!(uids(b"Name:\tdockerd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"), Some((0, 0)));
    assert_eq!(uids(b"Uid:\t1000\t0\t0\t0\n"), Some((1000, 0)));
    assert_eq!(uids(b"Name:\tx\n"), None);
    assert!(is_dockerd(b"/usr/bin/dockerd"));
    assert!(is_dockerd(b"/usr/sbin/dockerd (deleted)"));
    assert!(is_dockerd(b"dockerd"));
    assert!(!is_dockerd(b"/usr/bin/dockerd-rootless.sh"));
    assert!(!is_dockerd(b"/tmp/dockerd/sleep"));
}

#[test]
fn the_api_socket_is_where_dockerd_listens() {
    let args = |a: &[&str]| host_arguments(a.join("\0").as_bytes());
    assert_eq!(args(&["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]), ["fd://"]);
    assert_eq!(
        args(&["dockerd", "-Hunix:///a.sock", "--host=tcp://0.0.0.0:2375", "--host", "unix:///b", "-H=unix:///c"]),
        ["unix:///a.sock", "tcp://0.0.0.0:2375", "unix:///b", "unix:///c"]
    );
    assert!(args(&["dockerd", "--debug"]).is_empty());
    let socket = |hosts: &[&str]| api_socket(&hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    assert_eq!(socket(&[]).as_deref(), Some(DEFAULT_SOCKET));
    assert_eq!(socket(&["fd://"]).as_deref(), Some(DEFAULT_SOCKET));
    assert_eq!(socket(&["unix://"]).as_deref(), Some(DEFAULT_SOCKET));
    assert_eq!(socket(&["tcp://127.0.0.1:2375", "unix:///run/d.sock"]).as_deref(), Some("/run/d.sock"));
    assert_eq!(socket(&["tcp://127.0.0.1:2375"]), None);
}

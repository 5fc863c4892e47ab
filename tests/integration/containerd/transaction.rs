//! Install and uninstall as a transaction (issue 19), in a private node
//! (util/node.rs) whose containerd runs under a supervisor: killed with
//! SIGKILL at each syscall of the write-and-restart sequence in turn
//! (strace's `inject`, the kill points enumerated, not sampled), a second
//! run must converge: the file and the record say the runtime is there
//! (or gone), no restart is still owed, and the containerd that serves
//! started after the file's last change, so it runs what the file says.
//! docs/reliability.md lists the kill points.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::install::{node_available, ok, pending, run, CONFIG};
use crate::util::*;

/// The syscalls of install's and uninstall's writes (each file is written
/// to a temporary file, fsynced and renamed into place; a removal is an
/// unlink) and of containerd's restart (SIGTERM through a pidfd).
const KILL_POINTS: &[&str] = &["fsync", "renameat", "unlinkat", "pidfd_send_signal"];

/// The installer (the traced process alone, not the `containerd config
/// dump` it runs, whose Go threads would make the count vary), killed at
/// the `n`th call of `syscall`; whether it was.
fn killed_at(node: &Node, action: &str, syscall: &str, n: u32) -> bool {
    let out = node.run(
        Command::new("strace")
            .args(["-qq", "-o", "/dev/null", "-e"])
            .arg(format!("trace={syscall}"))
            .arg("-e")
            .arg(format!("inject={syscall}:signal=KILL:when={n}"))
            .arg(bin())
            .args([action, "--host-root", "/", "--no-docker"]),
    );
    match out.status.signal() {
        Some(9) => true,
        _ => {
            assert!(out.status.success(), "{action}, not killed: {}{}\n{}", stdout(&out), stderr(&out), node.log());
            false
        }
    }
}

/// When the process `pid` started, by the wall clock: its start time in
/// clock ticks after boot (`/proc/PID/stat`), placed by `/proc/uptime`.
fn started(pid: u32) -> SystemTime {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ticks: u64 = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().parse().unwrap();
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
    let uptime: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
    let clk_tck = stdout(&Command::new("getconf").arg("CLK_TCK").output().unwrap()).trim().parse::<u64>().unwrap();
    let boot = SystemTime::now() - Duration::from_secs_f64(uptime);
    boot + Duration::from_millis(ticks * 1000 / clk_tck)
}

/// Whether the node agrees with itself: config.toml with the runtime's
/// block or exactly Debian's, the record with the runtime or gone, no
/// restart owed, and the serving containerd started after config.toml's
/// last change (the supervisor waits 100 ms before a start, more than
/// /proc's 10 ms ticks).
fn converged(node: &Node, installed: bool, after: &str) {
    node.wait_serving();
    let file = node.etc_containerd().join("config.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let record = node.private_dir("/etc/oci-add-hooks").join("installed.json");
    match installed {
        true => {
            assert!(text.starts_with(DEBIAN_CONFIG) && text.contains("# BEGIN oci-add-hooks"), "{after}:\n{text}");
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
            assert_eq!(r["containerd"]["runtime"], "oci-add-hooks", "{after}: {r}");
        }
        false => {
            assert_eq!(text, DEBIAN_CONFIG, "{after}");
            assert!(!record.exists(), "{after}: {record:?} left");
        }
    }
    assert_eq!(pending(node), None, "{after}: a restart still owed");
    let m = std::fs::metadata(&file).unwrap();
    let changed = UNIX_EPOCH + Duration::new(m.mtime() as u64, m.mtime_nsec() as u32);
    let pid = node.containerd_pid().unwrap();
    assert!(started(pid) > changed, "{after}: containerd {pid} started before {CONFIG} last changed");
    let names: Vec<String> = std::fs::read_dir(node.etc_containerd())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "config.toml" && n != "config.toml.oci-add-hooks.bak")
        .collect();
    assert!(names.is_empty(), "{after}: left in /etc/containerd: {names:?}");
}

/// Every kill point of `action` (install from a node without the runtime,
/// uninstall from one with it), each followed by the same action run
/// again, which must converge, and by the other, which resets the node.
fn every_kill_point_converges(release: &Release, action: &str) {
    let node = Node::start(release, Some(DEBIAN_CONFIG));
    let (other, installed) = match action {
        "install" => ("uninstall", true),
        _ => ("install", false),
    };
    if action == "uninstall" {
        ok(&node, "install", &[]);
    }
    let mut tested = Vec::new();
    for syscall in KILL_POINTS {
        let mut n = 1;
        while killed_at(&node, action, syscall, n) {
            let after = format!("{action} killed at {syscall} #{n}, then {action} again");
            ok(&node, action, &[]);
            converged(&node, installed, &after);
            ok(&node, other, &[]);
            converged(&node, !installed, &format!("{after}, then {other}"));
            n += 1;
        }
        // The run that went through converged by itself.
        converged(&node, installed, &format!("{action} with {syscall} #{n} not reached"));
        ok(&node, other, &[]);
        tested.push(format!("{syscall} x{}", n - 1));
        eprintln!("{action}: killed at {syscall} #1..{}", n - 1);
    }
    eprintln!("{action}: kill points {tested:?}");
    assert!(tested.iter().all(|t| !t.ends_with(" x0")), "a listed syscall {action} never makes: {tested:?}");
}

fn install_killed_at_every_write_and_restart_syscall_converges_on_the_next_run(release: &Release) {
    if node_available() && require(&["strace"]) {
        every_kill_point_converges(release, "install");
    }
}
on_each_release!(install_killed_at_every_write_and_restart_syscall_converges_on_the_next_run);

fn uninstall_killed_at_every_write_and_restart_syscall_converges_on_the_next_run(release: &Release) {
    if node_available() && require(&["strace"]) {
        every_kill_point_converges(release, "uninstall");
    }
}
on_each_release!(uninstall_killed_at_every_write_and_restart_syscall_converges_on_the_next_run);

/// Issue 19 item 2, end to end: install killed just before it signals
/// containerd (its files written, the restart durable), then the next
/// install, which finds the files as wanted, still restarts containerd.
fn regression_a_kill_between_write_and_restart_left_containerd_on_the_old_config(release: &Release) {
    if !node_available() || !require(&["strace"]) {
        return;
    }
    let node = Node::start(release, Some(DEBIAN_CONFIG));
    let first = node.containerd_pid().unwrap();
    assert!(killed_at(&node, "install", "pidfd_send_signal", 1));
    assert_eq!((node.containerd_pid(), node.starts()), (Some(first), 1), "not signalled");
    assert!(pending(&node).is_some());
    let out = run(&node, "install", &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("declares runtime oci-add-hooks as wanted already"), "{said}");
    let second = node.containerd_pid().unwrap();
    assert!(
        said.contains(&format!(
            "containerd: restarted to load runtime oci-add-hooks (the restart an earlier run owed) (pid {first} -> \
             {second})"
        )),
        "{said}"
    );
    converged(&node, true, "install killed at its signal, then install");
}
on_each_release!(regression_a_kill_between_write_and_restart_left_containerd_on_the_old_config);

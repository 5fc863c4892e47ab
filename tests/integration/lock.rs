//! The installer's lock (issue 19, item 5): two installs at once run one
//! after the other, so neither loses the other's update. The test holds
//! the lock itself (flock on the host root, as the installer takes it),
//! so no timing decides who waits.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use crate::util::*;

/// `install --host-root ROOT --runtime-name NAME`, started, its stdout a
/// pipe.
fn start(root: &TempDir, src: &TempDir, name: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(bin())
        .args(["install", "--no-containerd", "--runtime-name", name, "--hooks"])
        .arg(src.path())
        .arg("--host-root")
        .arg(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

fn first_line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

#[test]
fn regression_two_installs_at_once_lost_an_update_and_both_reported_success() {
    let root = TempDir::new("lock-host");
    let src = TempDir::new("lock-src");
    write(&root.join("etc/docker/daemon.json"), "{}\n", 0o644);
    hook_file(src.path(), "10-mark.json", &json!({"hooks": {"prestart": [{"path": "/bin/true"}]}}));
    let held = File::open(root.path()).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();

    let waiting = format!(
        "{}: another install or uninstall holds the installer's lock (flock on the host root): waiting for it\n",
        root.path().display()
    );
    let (mut a, mut a_out) = start(&root, &src, "hooks-a");
    assert_eq!(first_line(&mut a_out), waiting);
    let (mut b, mut b_out) = start(&root, &src, "hooks-b");
    assert_eq!(first_line(&mut b_out), waiting);
    // Both wait on the lock, nothing planned or written yet.
    assert_eq!(std::fs::read_to_string(root.join("etc/docker/daemon.json")).unwrap(), "{}\n");
    assert!(!root.join("etc/oci-add-hooks").exists());
    assert!(a.try_wait().unwrap().is_none() && b.try_wait().unwrap().is_none());

    drop(held);
    for (child, name) in [(&mut a, "a"), (&mut b, "b")] {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "install {name}: {err}");
    }
    // One after the other: the second found the first's record, and
    // replaced its runtime with its own, as a later install with other
    // options does; the record and daemon.json agree.
    let record: Value =
        serde_json::from_slice(&std::fs::read(root.join("etc/oci-add-hooks/installed.json")).unwrap()).unwrap();
    let daemon: Value = serde_json::from_slice(&std::fs::read(root.join("etc/docker/daemon.json")).unwrap()).unwrap();
    let recorded = record["docker"]["runtime"].as_str().unwrap();
    let runtimes: Vec<&String> = daemon["runtimes"].as_object().unwrap().keys().collect();
    assert_eq!(runtimes, [recorded], "{daemon}\n{record}");
}

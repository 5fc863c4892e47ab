//! The proof through the CRI, as kubelet uses it: a private node
//! (util/node.rs) with a kubeadm-like containerd, configured by
//! `oci-add-hooks install` run on the node itself, and pods run through
//! containerd's CRI API with tests/cri-client (the k8s-cri crate's gRPC
//! client), one call per run, as kubelet makes them; on each containerd
//! release (util/release.rs).
//!
//! A pod's runtime handler is its sandbox's, so every container of a pod of
//! the `oci-add-hooks` handler goes through the shim: the sandbox (pause)
//! container as well as the pod's own. The test asserts both, each by its
//! id, from the OCI state the hooks read on stdin.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::util::*;

/// The CRI's ContainerState.CONTAINER_RUNNING (k8s-cri's proto/v1.proto).
const CONTAINER_RUNNING: i64 = 1;

/// The CRI client, built beside the binary under test (`cargo build
/// --locked -p cri-client`, which make test-native runs first). Missing
/// under CI=true fails the test.
fn cri_client() -> Option<PathBuf> {
    let path = bin().with_file_name("cri-client");
    if path.is_file() {
        return Some(path);
    }
    let msg = format!("missing {}: run `cargo build --locked -p cri-client` (make test-native does)", path.display());
    assert!(!ci(), "{msg}");
    eprintln!("not run: {msg}");
    None
}

/// A hook that appends `<label> <its OCI state>` (one line: the state
/// runc gives a hook on stdin, with the container's id and annotations) to
/// `<marker_dir>/hooks.log`.
fn state_hook(marker_dir: &Path, label: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("read -r state; printf '%s %s\\n' {label} \"$state\" >> {}/hooks.log", marker_dir.display())],
    })
}

/// The hooks that ran: label, container id, annotations, in order.
fn hooks_run(marker_dir: &Path) -> Vec<(String, String, Value)> {
    markers(marker_dir)
        .iter()
        .map(|line| {
            let (label, state) = line.split_once(' ').unwrap_or_else(|| panic!("marker {line:?}"));
            let state: Value = serde_json::from_str(state).unwrap_or_else(|e| panic!("state {state:?}: {e}"));
            (label.to_owned(), state["id"].as_str().unwrap_or_default().to_owned(), state["annotations"].clone())
        })
        .collect()
}

/// The node's CRI, as kubelet calls it.
struct Kubelet<'a> {
    node: &'a Node,
    client: PathBuf,
}

impl Kubelet<'_> {
    /// One call; its response.
    fn call(&self, args: &[&str]) -> Value {
        let out = self.node.command(&self.client).args(args).output().unwrap();
        assert!(out.status.success(), "cri-client {args:?}: {}\n{}", stderr(&out), self.node.log());
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("cri-client {args:?}: {e}: {}", stdout(&out)))
    }

    /// A running pod (of `handler`, "" for the default) and a container in
    /// it: their ids.
    fn run_pod(&self, name: &str, handler: &str, annotations: &[&str]) -> (String, String) {
        let logs = self.node.dir.join("logs").join(name);
        let mut args = vec!["runp", "--name", name, "--uid", name, "--namespace", "default", "--handler", handler];
        let logs = logs.to_string_lossy();
        args.extend(["--log-dir", &logs, "--cgroup-parent", self.node.cgroup_parent()]);
        for a in annotations {
            args.extend(["--annotation", a]);
        }
        let pod = self.call(&args);
        let pod_id = pod["pod_sandbox_id"].as_str().unwrap().to_owned();
        let config = pod["config"].to_string();
        let created = self.call(&[
            "create",
            "--pod",
            &pod_id,
            "--pod-config",
            &config,
            "--name",
            "main",
            "--image",
            NODE_IMAGE,
            "--",
            "sh",
            "-c",
            "echo hi; exec sleep 3600",
        ]);
        let ctr_id = created["container_id"].as_str().unwrap().to_owned();
        self.call(&["start", &ctr_id]);
        let status = self.call(&["status", &ctr_id]);
        assert_eq!(status["status"]["state"], CONTAINER_RUNNING, "{status}");
        // Its command ran: the CRI log (containerd's format) has its output.
        let log = PathBuf::from(&*logs).join("main.log");
        let said_hi = || std::fs::read_to_string(&log).is_ok_and(|l| l.contains(" stdout F hi\n"));
        wait_for("the container's output in its CRI log", std::time::Duration::from_secs(120), said_hi);
        (pod_id, ctr_id)
    }

    /// Stops and removes a container, then its pod, as kubelet does when a
    /// pod is deleted; each call must succeed.
    fn remove_pod(&self, (pod_id, ctr_id): &(String, String)) {
        for call in [["stop", ctr_id], ["rm", ctr_id], ["stopp", pod_id], ["rmp", pod_id]] {
            assert_eq!(self.call(&call), json!({}), "{call:?}");
        }
    }
}

fn a_pod_of_the_oci_add_hooks_runtime_class_gets_its_hooks_through_the_cri_and_others_do_not(release: &Release) {
    if !require(NODE_TOOLS)
        || !require_root()
        || !native_only("containerd's runc shim must execute the installed shim, a foreign binary to the host")
    {
        return;
    }
    let Some(client) = cri_client() else { return };
    // kubeadm's set-up: `containerd config default` as config.toml, with the
    // cgroupfs driver (SystemdCgroup = true needs systemd, which this
    // machine does not run), plus this machine's restrict_oom_score_adj.
    let node = Node::start(release, Some(&with_restricted_oom_score_adj(&release.default_config())));
    node.import_images();

    let hooks = TempDir::new("cri-hooks");
    let marks = TempDir::new("cri-marks");
    hook_file(hooks.path(), "10-every.json", &json!({"hooks": {"prestart": [state_hook(marks.path(), "every")]}}));
    hook_file(
        hooks.path(),
        "20-gpu.json",
        &json!({
            "version": "1.0.0",
            "hook": state_hook(marks.path(), "gpu"),
            "when": {"annotations": {"^example\\.com/gpu$": "^yes$"}},
            "stages": ["prestart"],
        }),
    );
    // The installer, as the DaemonSet runs it on a node (here the node's
    // root is /): binary, hook files, containerd's runtime, and a restart.
    let install = node.run(Command::new(bin()).args([
        "install",
        "--host-root",
        "/",
        "--no-docker",
        "--containerd",
        "--pod-annotations",
        "example.com/*",
        "--hooks",
        &hooks.path().to_string_lossy(),
    ]));
    assert!(install.status.success(), "install: {}{}\n{}", stdout(&install), stderr(&install), node.log());
    node.wait_serving();
    assert_eq!(node.starts(), 2, "containerd restarted once to load the runtime: {}", stdout(&install));

    let kubelet = Kubelet { node: &node, client };
    let version = kubelet.call(&["version"]);
    assert_eq!(version["runtime_name"], "containerd", "{version}");

    // A pod of the oci-add-hooks RuntimeClass, with the annotation the gpu
    // hook's `when` selects and one --pod-annotations does not pass on.
    let gpu = kubelet.run_pod("gpu", "oci-add-hooks", &["example.com/gpu=yes", "other.org/ignored=x"]);
    let ran = hooks_run(marks.path());
    let order: Vec<(&str, &str)> = ran.iter().map(|(label, id, _)| (label.as_str(), id.as_str())).collect();
    assert_eq!(order, [("every", &*gpu.0), ("gpu", &*gpu.0), ("every", &*gpu.1), ("gpu", &*gpu.1)]);
    for ((_, id, annotations), kind) in ran.iter().zip(["sandbox", "sandbox", "container", "container"]) {
        assert_eq!(annotations["io.kubernetes.cri.container-type"], kind, "{id}: {annotations}");
        assert_eq!(annotations["example.com/gpu"], "yes", "{id}: {annotations}");
        assert_eq!(annotations.get("other.org/ignored"), None, "{id}: {annotations}");
    }

    // The same RuntimeClass without the annotation: the unconditional hook
    // only.
    let cpu = kubelet.run_pod("cpu", "oci-add-hooks", &["example.com/gpu=no"]);
    let ran = hooks_run(marks.path());
    let new: Vec<(&str, &str)> = ran[4..].iter().map(|(label, id, _)| (label.as_str(), id.as_str())).collect();
    assert_eq!(new, [("every", &*cpu.0), ("every", &*cpu.1)]);

    // A pod of the default handler (runc itself): no hook runs.
    let plain = kubelet.run_pod("plain", "", &["example.com/gpu=yes"]);
    assert_eq!(hooks_run(marks.path()).len(), 6, "{:?}", markers(marks.path()));

    for pod in [&gpu, &cpu, &plain] {
        kubelet.remove_pod(pod);
    }
    assert_eq!(kubelet.call(&["pods"]), json!({"items": []}));
    assert_eq!(kubelet.call(&["ps"]), json!({"containers": []}));
    assert_eq!(hooks_run(marks.path()).len(), 6, "{:?}", markers(marks.path()));
}
on_each_release!(a_pod_of_the_oci_add_hooks_runtime_class_gets_its_hooks_through_the_cri_and_others_do_not);

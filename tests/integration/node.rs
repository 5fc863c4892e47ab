//! The private node (util/node.rs) itself: containerd on its real default
//! paths inside it, nothing of it on the machine, and its supervisor
//! restarting containerd as systemd's `Restart=always` does, with a
//! running task surviving the restart (its shim is not containerd's
//! child), which the installer's restart relies on; on each release.

use std::process::Command;

use crate::util::*;

/// The node's containerd is the host's, and runs images of the host's
/// architecture: under qemu (make test-aarch64) the harness would label
/// them for the emulated one, which containerd then filters out.
fn node_available() -> bool {
    require(NODE_TOOLS)
        && require_root()
        && native_only("the node runs the host's containerd with images of the host's architecture")
}

fn a_node_runs_containerd_on_the_real_paths_with_debians_config_and_a_task_survives_its_restart(release: &Release) {
    if !node_available() {
        return;
    }
    let mut node = Node::start(release, Some(DEBIAN_CONFIG));
    let version = node.ctr(&["version"]);
    assert!(version.status.success(), "ctr version: {}", stderr(&version));
    assert!(stdout(&version).contains("Server:"), "{}", stdout(&version));
    // The release's containerd serves, and its ctr asks.
    let said = stdout(&version);
    let versions: Vec<&str> = said.lines().filter_map(|l| l.trim().strip_prefix("Version:")).map(str::trim).collect();
    assert_eq!(versions.len(), 2, "{said}");
    assert!(versions.iter().all(|v| v.starts_with(release.version)), "client and server {}: {said}", release.version);
    // containerd read /etc/containerd/config.toml, the node's: Debian's
    // values, not the built-in ones (/opt/cni/bin, /opt/containerd). 2.x
    // dumps them migrated to version 3 (`bin_dirs`, single quotes).
    let dump = node.dump();
    match release.major() {
        1 => {
            assert!(dump.contains("\nimports = [\"/etc/containerd/config.toml\"]\n"), "{dump}");
            assert!(dump.contains("bin_dir = \"/usr/lib/cni\""), "{dump}");
            assert!(dump.contains("path = \"/var/lib/containerd/opt\""), "{dump}");
        }
        _ => {
            assert!(dump.contains("bin_dirs = ['/usr/lib/cni']"), "{dump}");
            assert!(dump.contains("path = '/var/lib/containerd/opt'"), "{dump}");
        }
    }
    // Its root and state are the node's directories, not the machine's.
    let root = node.private_dir("/var/lib/containerd");
    assert!(
        root.join("io.containerd.metadata.v1.bolt/meta.db").is_file(),
        "{:?}",
        std::fs::read_dir(&root).unwrap().collect::<Vec<_>>()
    );
    assert!(node.path("/run/containerd/containerd.sock").exists());
    let plugins = stdout(&node.ctr(&["plugins", "ls"]));
    let cri = plugins.lines().find(|l| l.contains("io.containerd.grpc.v1") && l.contains(" cri "));
    assert!(cri.is_some_and(|l| l.trim_end().ends_with("ok")), "CRI plugin: {cri:?}\n{}", node.log());

    node.import_images();
    node.run_task("survivor");
    let (task_pid, status) = node.task("survivor").unwrap();
    assert_eq!(status, "RUNNING");
    // Under the node's own cgroup, which goes with it.
    let cgroups = std::fs::read_to_string(format!("/proc/{task_pid}/cgroup")).unwrap();
    assert!(cgroups.contains(&format!("{}/survivor\n", node.cgroup_parent())), "{cgroups}");
    assert_eq!(node.starts(), 1);
    let first = node.containerd_pid().unwrap();

    // SIGTERM, as the installer stops it: the supervisor starts another.
    rustix::process::kill_process(rustix::process::Pid::from_raw(first as i32).unwrap(), rustix::process::Signal::TERM)
        .unwrap();
    node.wait_restarted(first);
    let second = node.containerd_pid().unwrap();
    assert_ne!(second, first);
    assert_eq!(node.starts(), 2);
    assert!(node.last_exit().is_some_and(|s| s.success()), "{:?}", node.last_exit());
    assert_eq!(node.task("survivor"), Some((task_pid, "RUNNING".to_owned())));

    // A supervisor told to stop restarting leaves containerd down after its
    // next exit, until it is told to resume.
    node.stop_restarting();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(second as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    wait_for("containerd to exit", std::time::Duration::from_secs(120), || node.containerd_pid().is_none());
    assert_eq!(node.starts(), 2);
    // Nothing answers (ctr would otherwise wait 10 s for a socket to dial).
    assert!(!node.ctr(&["--connect-timeout", "1s", "version"]).status.success());
    node.resume_restarting();
    node.wait_serving();
    assert_eq!(node.starts(), 3);
    assert_eq!(node.task("survivor"), Some((task_pid, "RUNNING".to_owned())));

    // Dropped with a task running: nothing of the node is left.
    let (dir, cgroup) = (node.dir.path().to_owned(), node.cgroup_parent().to_owned());
    drop(node);
    assert!(!dir.exists(), "{dir:?} left");
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .map(|e| e.unwrap().path().join(cgroup.trim_start_matches('/')))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "cgroups left: {left:?}");
}
on_each_release!(a_node_runs_containerd_on_the_real_paths_with_debians_config_and_a_task_survives_its_restart);

fn a_node_runs_containerd_on_its_built_in_defaults_or_a_kubeadm_config(release: &Release) {
    if !node_available() {
        return;
    }
    // No config.toml: containerd's own defaults, CRI and runc included.
    let node = Node::start(release, None);
    assert!(!node.etc_containerd().join("config.toml").exists());
    let plugins = stdout(&node.ctr(&["plugins", "ls"]));
    assert!(plugins.lines().any(|l| l.contains(" cri ") && l.trim_end().ends_with("ok")), "{plugins}");
    // 1.x's `config dump` needs the file ("failed to load TOML"), while
    // the daemon runs on `config default`'s values; 2.x dumps those.
    let dump = node.run(Command::new("containerd").args(["config", "dump"]));
    match release.major() == 1 {
        true => assert!(!dump.status.success(), "{}", stdout(&dump)),
        false => {
            assert!(dump.status.success(), "{}", stderr(&dump));
            assert!(stdout(&dump).contains(&release.runtime_header("runc")), "{}", stdout(&dump));
        }
    }
    drop(node);

    let node = Node::start(release, Some(&release.kubeadm_config()));
    let dump = node.dump();
    assert!(dump.contains("SystemdCgroup = true"), "{dump}");
    // A command inside sees the node's files at the real paths.
    let cat = node.run(Command::new("cat").arg("/etc/containerd/config.toml"));
    assert_eq!(stdout(&cat), std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap());
    let ls = node.command("ls").arg("/usr/local/bin").output().unwrap();
    assert!(ls.status.success() && ls.stdout.is_empty(), "{ls:?}");
}
on_each_release!(a_node_runs_containerd_on_its_built_in_defaults_or_a_kubeadm_config);

fn restricting_oom_score_adj_takes_in_debians_config_and_in_containerds_default(release: &Release) {
    let dir = TempDir::new("oom");
    for (name, config) in [("debian", DEBIAN_CONFIG.to_owned()), ("default", release.default_config())] {
        let file = dir.join(format!("{name}.toml"));
        write(&file, with_restricted_oom_score_adj(&config), 0o644);
        let out = Command::new(release.bin("containerd"))
            .arg("--config")
            .arg(&file)
            .args(["config", "dump"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stdout(&out).contains("restrict_oom_score_adj = true"), "{name}: {}", stdout(&out));
    }
}
on_each_release!(restricting_oom_score_adj_takes_in_debians_config_and_in_containerds_default);

//! `oci-add-hooks install --host-root /` in a private node (util/node.rs):
//! real containerd 1.6 on its real paths, under a supervisor that restarts
//! it as systemd does. For each config.toml a node may have (Debian's
//! packaged one, kubeadm's, a version 1 one, none at all, one whose CRI is
//! disabled), containerd's whole `config dump` before and after install is
//! compared: the same, plus one runtime that is a copy of runc's with the
//! shim as BinaryName. Uninstall gives the dump and the file's bytes back;
//! a second install writes nothing and does not restart; a task started
//! before the install still runs after the restart; and every refusal and
//! the rollback leave the file as it was.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::*;

pub(super) fn node_available() -> bool {
    require(NODE_TOOLS) && require_root() && native_only("containerd's runc shim must execute the shim")
}

pub(super) const CONFIG: &str = "/etc/containerd/config.toml";
const SOCKET: &str = "/run/containerd/containerd.sock";

/// `oci-add-hooks ACTION --host-root / --no-docker ARGS` inside the node.
pub(super) fn run(node: &Node, action: &str, args: &[&str]) -> Output {
    node.run(Command::new(bin()).arg(action).args(["--host-root", "/", "--no-docker"]).args(args))
}

/// The same, which must succeed; its lines.
pub(super) fn ok(node: &Node, action: &str, args: &[&str]) -> Vec<String> {
    let out = run(node, action, args);
    assert!(out.status.success(), "{action} {args:?}: {}{}\n{}", stdout(&out), stderr(&out), node.log());
    eprintln!("{action} {args:?}:\n{}", stdout(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// The same, which must exit 3, the restart owed; its lines.
fn owed(node: &Node, action: &str, args: &[&str]) -> Vec<String> {
    let out = run(node, action, args);
    assert_eq!(out.status.code(), Some(3), "{action} {args:?}: {}{}\n{}", stdout(&out), stderr(&out), node.log());
    stdout(&out).lines().map(str::to_owned).collect()
}

const RECORD: &str = "/etc/oci-add-hooks/installed.json";

/// The node's install record's `containerd-restart-pending`, if any.
pub(super) fn pending(node: &Node) -> Option<serde_json::Value> {
    let record = std::fs::read(node.private_dir("/etc/oci-add-hooks").join("installed.json")).ok()?;
    let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
    record.get("containerd-restart-pending").filter(|p| !p.is_null()).cloned()
}

pub(super) fn has(lines: &[String], line: &str) {
    assert!(lines.iter().any(|l| l == line), "no line {line:?} in:\n{}", lines.join("\n"));
}

/// A dump without its `imports` line, which names the file dumped.
fn without_imports(dump: &str) -> String {
    dump.lines().filter(|l| !l.starts_with("imports = ")).map(|l| format!("{l}\n")).collect()
}

/// A TOML string as `release`'s `config dump` writes it (2.x: single quotes).
fn quoted(release: &Release, s: &str) -> String {
    match release.major() {
        1 => format!("{s:?}"),
        _ => format!("'{s}'"),
    }
}

/// What the dump must become: `before` plus runtime oci-add-hooks, a copy
/// of runc's table as containerd shows it, with the shim as BinaryName and
/// `pod_annotations` (each as `quoted`), in its place in name order
/// (before runc's).
fn with_runtime(release: &Release, before: &str, binary: &str, pod_annotations: &[&str]) -> String {
    let before = without_imports(before);
    let lines: Vec<&str> = before.lines().collect();
    let runc = release.runtime_header("runc");
    let runtimes = runc.trim_end_matches("runc]");
    let binary = quoted(release, binary);
    let pod_annotations = match pod_annotations {
        [] => "[]".to_owned(),
        a => format!("[{}]", a.iter().map(|a| quoted(release, a)).collect::<Vec<_>>().join(", ")),
    };
    let start = lines.iter().position(|l| l.trim() == runc).unwrap_or_else(|| panic!("no runc in:\n{before}"));
    let len = lines[start + 1..]
        .iter()
        .position(|l| l.trim().starts_with('[') && !l.trim().starts_with(&format!("{runtimes}runc.")))
        .map_or(lines.len() - start, |n| n + 1);
    let mut copy: Vec<String> = Vec::new();
    for l in &lines[start..start + len] {
        let l = l.replace(".runtimes.runc", ".runtimes.oci-add-hooks");
        match l.trim() {
            "pod_annotations = []" => copy.push(l.replace("[]", &pod_annotations)),
            t if t.starts_with("BinaryName = ") => {
                copy.push(format!("{}BinaryName = {binary}", &l[..l.find('B').unwrap()]))
            }
            t if t.ends_with(".oci-add-hooks.options]")
                && !lines[start..start + len].iter().any(|l| l.contains("BinaryName")) =>
            {
                copy.push(l.clone());
                copy.push(format!("{}  BinaryName = {binary}", &l[..l.find('[').unwrap()]));
            }
            _ => copy.push(l),
        }
    }
    let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
    out.extend(copy);
    out.extend(lines[start..].iter().map(|l| l.to_string()));
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// (inode, mtime) of a file: a file not written keeps both.
fn stamp(p: &Path) -> (u64, i64, i64) {
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

/// The names in the node's /etc/containerd, sorted.
fn etc_names(node: &Node) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(node.etc_containerd())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The drop-in install writes beside a version 3 config.toml.
const DROPIN: &str = "/etc/containerd/conf.d/99-oci-add-hooks.toml";

/// Install, a second install, uninstall, on a node of `release` started
/// with `config` (none: no config.toml), a task running throughout.
fn round_trip(release: &Release, config: Option<&str>, install_args: &[&str], pod_annotations: &[&str]) {
    let node = Node::start(release, config);
    let file = node.etc_containerd().join("config.toml");
    node.import_images();
    node.run_task("before");
    let task = node.task("before").unwrap();
    let dump = || without_imports(&node.dump());
    // 1.x dumps nothing without a file: its defaults are `config default`.
    let before = match config {
        None if release.major() == 1 => release.default_config(),
        _ => node.dump(),
    };
    let v3 = config.is_some_and(|c| c.lines().any(|l| l == "version = 3"));
    let first = node.containerd_pid().unwrap();

    let said = ok(&node, "install", install_args);
    has(&said, &format!("containerd: checked the new {CONFIG} with `/usr/bin/containerd config dump`: containerd's whole configuration as before, plus runtime oci-add-hooks"));
    let second = node.containerd_pid().unwrap();
    has(&said, &format!("containerd: restarted to load runtime oci-add-hooks (pid {first} -> {second})"));
    assert_ne!(first, second);
    assert_eq!(node.starts(), 2, "restarted once");
    // The whole configuration: as before, plus the one runtime.
    assert_eq!(dump(), with_runtime(release, &before, "/usr/local/bin/oci-add-hooks", pod_annotations));
    let text = std::fs::read_to_string(&file).unwrap();
    let dropin = node.private_dir("/etc/containerd").join("conf.d/99-oci-add-hooks.toml");
    match v3 {
        // Version 3: the runtime in the drop-in, config.toml importing it.
        true => {
            assert!(text.contains("\"/etc/containerd/conf.d/*.toml\""), "config.toml imports the drop-in:\n{text}");
            let d = std::fs::read_to_string(&dropin).unwrap();
            let header = "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.oci-add-hooks]\n";
            assert!(d.contains(header) && d.contains("BinaryName = \"/usr/local/bin/oci-add-hooks\"\n"), "{d}");
        }
        false => {
            assert!(
                text.starts_with(config.unwrap_or("version = 2\n")),
                "every byte before the block is kept:\n{text}"
            );
            assert!(text.ends_with("# END oci-add-hooks runtime oci-add-hooks\n"), "{text}");
        }
    }
    // The running task went on through the restart.
    assert_eq!(node.task("before"), Some(task.clone()));
    let plugins = stdout(&node.ctr(&["plugins", "ls"]));
    assert!(plugins.lines().any(|l| l.contains(" cri ") && l.trim_end().ends_with("ok")), "{plugins}");

    // Again: nothing written, no restart.
    let st = stamp(&file);
    let said = ok(&node, "install", install_args);
    let declaring = if v3 { DROPIN } else { CONFIG };
    has(
        &said,
        &format!("{declaring}: declares runtime oci-add-hooks as wanted already: unchanged, containerd not restarted"),
    );
    assert_eq!(stamp(&file), st);
    assert_eq!((node.starts(), node.containerd_pid()), (2, Some(second)));

    let said = ok(&node, "uninstall", &[]);
    let third = node.containerd_pid().unwrap();
    has(&said, &format!("containerd: restarted to drop runtime oci-add-hooks (pid {second} -> {third})"));
    assert_eq!(node.starts(), 3);
    match config {
        Some(c) if v3 => {
            has(&said, &format!("removed {DROPIN}"));
            has(&said, &format!("{CONFIG}: imports -= \"/etc/containerd/conf.d/*.toml\""));
            assert_eq!(std::fs::read_to_string(&file).unwrap(), c);
            assert_eq!(dump(), without_imports(&before));
            assert!(!dropin.exists());
        }
        Some(c) => {
            has(&said, &format!("{CONFIG}: removed runtime oci-add-hooks; the file is as it was before install"));
            has(
                &said,
                &format!(
                    "removed the backup {CONFIG}.oci-add-hooks.bak: {CONFIG} is byte for byte as it was before install"
                ),
            );
            assert_eq!(std::fs::read_to_string(&file).unwrap(), c);
            assert_eq!(dump(), without_imports(&before));
            assert_eq!(etc_names(&node), ["config.toml"]);
        }
        None => {
            has(&said, &format!("removed {CONFIG} (install had created it)"));
            assert!(!file.exists());
            assert!(etc_names(&node).is_empty(), "{:?}", etc_names(&node));
        }
    }
    assert_eq!(node.task("before"), Some(task));
}

fn debians_packaged_config_gains_exactly_one_runtime_and_uninstall_gives_back_its_bytes(release: &Release) {
    if node_available() {
        round_trip(release, Some(DEBIAN_CONFIG), &[], &[]);
    }
}
on_each_release!(debians_packaged_config_gains_exactly_one_runtime_and_uninstall_gives_back_its_bytes);

/// On 2.x, `config default` is version 3: the runtime goes in the drop-in.
fn a_kubeadm_config_gives_the_runtime_runcs_systemd_cgroup_and_pod_annotations(release: &Release) {
    if node_available() {
        let config = release.kubeadm_config();
        round_trip(
            release,
            Some(&config),
            &["--pod-annotations", "example.com/*,other.org/x"],
            &["example.com/*", "other.org/x"],
        );
    }
}
on_each_release!(a_kubeadm_config_gives_the_runtime_runcs_systemd_cgroup_and_pod_annotations);

fn without_a_config_toml_install_creates_one_that_is_the_defaults_plus_the_runtime(release: &Release) {
    if node_available() {
        round_trip(release, None, &[], &[]);
    }
}
on_each_release!(without_a_config_toml_install_creates_one_that_is_the_defaults_plus_the_runtime);

const V1: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/v1.toml"));

/// containerd 1.x reads a version 1 file's CRI runtimes under the plugin's
/// own name.
fn a_version_1_config_gets_the_runtime_under_its_own_plugin_name(release: &Release) {
    if node_available() {
        round_trip(release, Some(V1), &[], &[]);
    }
}

#[test]
fn a_version_1_config_gets_the_runtime_under_its_own_plugin_name_on_1_6_20() {
    on_release("1.6.20", a_version_1_config_gets_the_runtime_under_its_own_plugin_name);
}

#[test]
fn a_version_1_config_gets_the_runtime_under_its_own_plugin_name_on_1_7_24() {
    on_release("1.7.24", a_version_1_config_gets_the_runtime_under_its_own_plugin_name);
}

/// containerd 2.x reads no version 1 CRI runtimes (its dump warns that it
/// ignores them): install refuses, naming `containerd config migrate`,
/// and leaves the file as it was.
fn a_version_1_config_is_refused_by_2_x_naming_config_migrate(release: &Release) {
    if !node_available() {
        return;
    }
    let node = Node::start(release, Some(V1));
    let out = run(&node, "install", &[]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("oci-add-hooks: {CONFIG}: containerd's own config dump of the new file: ")),
        "{err}"
    );
    assert!(
        err.ends_with(
            "this containerd no longer reads a version 1 file's CRI runtimes: migrate config.toml (`containerd config \
             migrate`, containerd 2.x) and install again (nothing changed)\n"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap(), V1);
    assert_eq!(etc_names(&node), ["config.toml"]);
    assert!(!node.path("/usr/local/bin/oci-add-hooks").exists());
    assert_eq!(node.starts(), 1);
}

#[test]
fn a_version_1_config_is_refused_by_2_x_naming_config_migrate_on_2_1_9() {
    on_release("2.1.9", a_version_1_config_is_refused_by_2_x_naming_config_migrate);
}

/// A version 3 config.toml with its `conf.d` drop-in (2.x's own shape).
fn a_version_3_config_gets_the_runtime_in_its_conf_d_drop_in(release: &Release) {
    if node_available() {
        let v3 = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/v3/config.toml"));
        round_trip(release, Some(v3), &[], &[]);
    }
}

#[test]
fn a_version_3_config_gets_the_runtime_in_its_conf_d_drop_in_on_2_1_9() {
    on_release("2.1.9", a_version_3_config_gets_the_runtime_in_its_conf_d_drop_in);
}

/// Docker's containerd.io package ships `disabled_plugins = ["cri"]`: no
/// CRI. Left alone on every release, by each release's names for the
/// plugin (its short id, its full name, and on 2.x the runtime plugin the
/// CRI service needs).
fn a_config_with_the_cri_disabled_is_left_alone(release: &Release) {
    if !node_available() {
        return;
    }
    // Without `version`, a file is version 1, whose disabled_plugins name
    // plugins by their short id; from version 2 on, by their full name.
    let mut configs =
        vec!["disabled_plugins = [\"cri\"]\n", "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"];
    if release.major() >= 2 {
        configs.push("version = 3\ndisabled_plugins = ['io.containerd.grpc.v1.cri']\n");
        configs.push("version = 3\ndisabled_plugins = ['io.containerd.cri.v1.runtime']\n");
    }
    for config in configs {
        let node = Node::start(release, Some(config));
        // containerd itself runs without its CRI.
        let plugins = stdout(&node.ctr(&["plugins", "ls"]));
        let cri = plugins.lines().find(|l| l.contains("io.containerd.grpc.v1") && l.contains(" cri "));
        assert!(!cri.is_some_and(|l| l.trim_end().ends_with("ok")), "{config}: CRI plugin: {cri:?}");
        let said = ok(&node, "install", &[]);
        has(&said, &format!("containerd: {CONFIG} has its CRI plugin disabled (disabled_plugins): no runtime to declare, nothing changed"));
        assert_eq!(std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap(), config);
        assert_eq!(etc_names(&node), ["config.toml"]);
        assert_eq!(node.starts(), 1);
        ok(&node, "uninstall", &[]);
        assert_eq!(node.starts(), 1);
    }
}
on_each_release!(a_config_with_the_cri_disabled_is_left_alone);

/// Every refusal: exit 1, the reason with containerd's own words, the
/// file's bytes as they were, no temporary file, no backup, no restart.
fn a_failing_check_leaves_every_file_as_it_was_and_containerd_running(release: &Release) {
    if !node_available() {
        return;
    }
    let node = Node::start(release, Some(DEBIAN_CONFIG));
    let file = node.etc_containerd().join("config.toml");
    let refused = |config: &str, message: &str| {
        write(&file, config, 0o644);
        let out = run(&node, "install", &[]);
        assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with(&format!("oci-add-hooks: {CONFIG}: ")) && err.contains(message), "{err}");
        assert!(err.ends_with(" (nothing changed)\n"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), config);
        assert!(!stdout(&out).contains("backed up"), "{}", stdout(&out));
        assert!(!node.path("/usr/local/bin/oci-add-hooks").exists());
        assert_eq!(node.starts(), 1);
    };
    // Valid TOML that containerd cannot load (a wrong type in CRI's
    // section): containerd refuses the file as it is, in each release's
    // words (1.x's TOML decoder, 2.x's after its migration to version 3).
    let says = match release.major() {
        1 => "containerd: (3, 3): Can't convert x(string) to int",
        _ => {
            "containerd: toml: cannot decode TOML string into struct field config.ImageConfig.MaxConcurrentDownloads \
             of type int"
        }
    };
    refused(
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  max_concurrent_downloads = \"x\"\n",
        &format!("containerd refuses it as it is: `/usr/bin/containerd config dump` says: {says}"),
    );
    assert_eq!(etc_names(&node), ["config.toml"]);
    // An installer in another pid namespace (a pod without hostPID) sees
    // containerd's pid as 0: it refuses before writing anything.
    write(&file, DEBIAN_CONFIG, 0o644);
    let out = node.run(Command::new("unshare").args(["--pid", "--fork"]).arg(bin()).args([
        "install",
        "--host-root",
        "/",
        "--no-docker",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "oci-add-hooks: {SOCKET}: the process serving it has pid 0 here (SO_PEERCRED), so it is in another pid \
             namespace: the installer needs the host's to restart containerd (hostPID: true), or \
             --containerd-restart none\n"
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), DEBIAN_CONFIG);
    assert_eq!(etc_names(&node), ["config.toml"]);
    assert!(!node.path("/usr/local/bin/oci-add-hooks").exists());
    // A runtime of that name that install did not write.
    refused(
        &format!("{DEBIAN_CONFIG}[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks]\n  runtime_type = \"io.containerd.runc.v2\"\n"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks: already declared, and not by install",
    );
}
on_each_release!(a_failing_check_leaves_every_file_as_it_was_and_containerd_running);

/// A CRI section in a file the node's own `imports` names, beside
/// Debian's config.toml.
const IMPORTED_CRI: &str =
    "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"example.com/pause:1\"\n";

/// Debian's config.toml importing `conf.d/*.toml`, and an imported file
/// with a CRI section: a node started on it, and the importing text.
fn importing_node(release: &Release) -> (Node, String) {
    let importing =
        DEBIAN_CONFIG.replacen("version = 2\n", "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n", 1);
    let node = Node::start(release, Some(&importing));
    std::fs::create_dir(node.etc_containerd().join("conf.d")).unwrap();
    write(&node.etc_containerd().join("conf.d/50-cri.toml"), IMPORTED_CRI, 0o644);
    (node, importing)
}

/// containerd 1.x takes an imported file's whole CRI section in place of
/// config.toml's (it merges one table level deep, containerd issue 5837),
/// so the runtime appended to config.toml would not be seen: refused, the
/// files as they were.
fn an_imported_cri_section_hides_the_block_from_1_x_and_is_refused(release: &Release) {
    if !node_available() {
        return;
    }
    let (node, importing) = importing_node(release);
    let out = run(&node, "install", &[]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "oci-add-hooks: {CONFIG}: containerd's own config dump of the new file: runtime oci-add-hooks is not in \
             it: containerd did not read the new table (nothing changed)\n"
        )
    );
    assert_eq!(std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap(), importing);
    assert_eq!(std::fs::read_to_string(node.etc_containerd().join("conf.d/50-cri.toml")).unwrap(), IMPORTED_CRI);
    assert_eq!(etc_names(&node), ["conf.d", "config.toml"]);
    assert_eq!(node.starts(), 1);
}

#[test]
fn an_imported_cri_section_hides_the_block_from_1_x_and_is_refused_on_1_6_20() {
    on_release("1.6.20", an_imported_cri_section_hides_the_block_from_1_x_and_is_refused);
}

#[test]
fn an_imported_cri_section_hides_the_block_from_1_x_and_is_refused_on_1_7_24() {
    on_release("1.7.24", an_imported_cri_section_hides_the_block_from_1_x_and_is_refused);
}

/// containerd 2.x merges imports deeply: the imported CRI section and the
/// block both count, and install declares the runtime; uninstall gives
/// the bytes back.
fn an_imported_cri_section_is_merged_by_2_x_and_the_runtime_declared(release: &Release) {
    if !node_available() {
        return;
    }
    let (node, importing) = importing_node(release);
    let before = node.dump();
    assert!(before.contains("sandbox = 'example.com/pause:1'"), "the import is read:\n{before}");
    ok(&node, "install", &[]);
    let after = node.dump();
    assert!(after.contains(&release.runtime_header("oci-add-hooks")), "{after}");
    assert!(after.contains("sandbox = 'example.com/pause:1'"), "{after}");
    assert_eq!(node.starts(), 2);
    ok(&node, "uninstall", &[]);
    assert_eq!(std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap(), importing);
    assert_eq!(without_imports(&node.dump()), without_imports(&before));
    assert_eq!(etc_names(&node), ["conf.d", "config.toml"]);
}

#[test]
fn an_imported_cri_section_is_merged_by_2_x_and_the_runtime_declared_on_2_1_9() {
    on_release("2.1.9", an_imported_cri_section_is_merged_by_2_x_and_the_runtime_declared);
}

/// A containerd that does not come back within the time-out (its
/// supervisor gave up, or starts it later): once the old one is gone, the
/// next one to start loads whatever the files say, so the new files are
/// kept and the restart is owed, exit 1, saying what to check. (This
/// test once had every file put back, issue 19 item 1: a containerd slow
/// to serve had read the new file by then.) When the supervisor starts
/// it, it loads the runtime, and the next run finds the restart done.
fn a_containerd_that_does_not_come_back_keeps_the_new_files_and_the_restart_owed(release: &Release) {
    if !node_available() {
        return;
    }
    let mut node = Node::start(release, Some(DEBIAN_CONFIG));
    let first = node.containerd_pid().unwrap();
    node.stop_restarting();
    let out = run(&node, "install", &["--containerd-timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "oci-add-hooks: {CONFIG}: containerd (pid {first}) did not come back within 2s after SIGTERM ({SOCKET} is not \
             served by a new process); containerd pid {first} is gone and a containerd started now loads the new files: \
             they are kept, and the restart is owed ({RECORD}: containerd-restart-pending): check that containerd's \
             supervisor starts it (systemctl status containerd), then run this again, which restarts it if it still \
             has not\n"
        )
    );
    let text = std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap();
    assert!(text.starts_with(DEBIAN_CONFIG) && text.contains("# BEGIN oci-add-hooks"), "{text}");
    assert_eq!(pending(&node).map(|p| p["pid"].as_u64()), Some(Some(first.into())), "durable, naming pid {first}");
    // The one-time backup stays, as for daemon.json; no temporary file.
    assert_eq!(etc_names(&node), ["config.toml", "config.toml.oci-add-hooks.bak"]);
    assert_eq!((node.containerd_pid(), node.starts()), (None, 1));
    node.resume_restarting();
    node.wait_serving();
    assert!(node.dump().contains(&release.runtime_header("oci-add-hooks")), "the new containerd loaded it");
    let said = ok(&node, "install", &[]);
    has(&said, &format!("containerd: the restart an earlier run owed is done (pid {first} no longer serves {SOCKET})"));
    has(
        &said,
        &format!("{CONFIG}: declares runtime oci-add-hooks as wanted already: unchanged, containerd not restarted"),
    );
    assert_eq!((pending(&node), node.starts()), (None, 2));
}
on_each_release!(a_containerd_that_does_not_come_back_keeps_the_new_files_and_the_restart_owed);

/// `--containerd-restart none` writes, says what to run, and leaves the
/// restart owed: every run says so and exits 3, uninstall too (its record
/// then holds the restart alone), until a run that may restart does.
fn restart_none_writes_names_the_command_and_exits_3_while_the_restart_is_owed(release: &Release) {
    if !node_available() {
        return;
    }
    let node = Node::start(release, Some(DEBIAN_CONFIG));
    let first = node.containerd_pid().unwrap();
    let said = owed(&node, "install", &["--containerd-restart", "none"]);
    has(&said, &format!("containerd: restart it to load runtime oci-add-hooks (it does not reload its configuration): systemctl restart containerd; until a new containerd serves, the restart is owed ({RECORD}: containerd-restart-pending) and install and uninstall exit with status 3"));
    assert_eq!(node.starts(), 1);
    assert!(std::fs::read_to_string(node.etc_containerd().join("config.toml"))
        .unwrap()
        .contains("# BEGIN oci-add-hooks"));
    let said = owed(&node, "install", &["--containerd-restart", "none"]);
    has(&said, &format!("containerd: the restart an earlier run owed is still owed (containerd pid {first} has not restarted since its files were written)"));
    owed(&node, "uninstall", &["--containerd-restart", "none"]);
    assert_eq!(std::fs::read_to_string(node.etc_containerd().join("config.toml")).unwrap(), DEBIAN_CONFIG);
    assert_eq!(node.starts(), 1);
    assert!(pending(&node).is_some());
    let said = ok(&node, "uninstall", &[]);
    let second = node.containerd_pid().unwrap();
    has(&said, &format!("containerd: restarted to drop runtime oci-add-hooks (the restart an earlier run owed) (pid {first} -> {second})"));
    assert!(!node.private_dir("/etc/oci-add-hooks").join("installed.json").exists());
}
on_each_release!(restart_none_writes_names_the_command_and_exits_3_while_the_restart_is_owed);

/// A host root without containerd's binary (or without the libraries to
/// run it): install cannot ask containerd which runtimes it has, and does
/// not guess them from a table of one release (as it once did, declaring
/// on 1.7 a runc unlike 1.7's): it refuses, naming --containerd-bin, and
/// leaves the host as it was.
#[test]
fn a_host_root_without_a_containerd_that_runs_is_refused_by_name_and_left_alone() {
    let root = TempDir::new("fake-host");
    let config = root.join("etc/containerd/config.toml");
    write(&config, DEBIAN_CONFIG, 0o644);
    let refused = |root: &Path, why: &str| {
        let out = Command::new(bin()).args(["install", "--no-docker", "--host-root"]).arg(root).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "oci-add-hooks: {}: install copies the default runtime as this containerd has it, from its own \
                 `config dump`, and {why}: give the host's containerd binary with --containerd-bin (nothing \
                 changed)\n",
                config.display()
            )
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), DEBIAN_CONFIG);
        let left: Vec<_> =
            std::fs::read_dir(root.join("etc/containerd")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["config.toml"], "no scratch copy, no backup");
        assert!(!root.join("etc/oci-add-hooks").exists() && !root.join("usr/local/bin/oci-add-hooks").exists());
    };
    refused(
        root.path(),
        &format!(
            "there is no containerd binary under {} (looked in /usr/local/bin, /usr/bin, /usr/local/sbin, /usr/sbin, \
             /bin, /sbin)",
            root.path().display()
        ),
    );

    // A binary there that cannot run under the root (no loader).
    if !require_root() {
        return;
    }
    let fake: PathBuf = root.join("usr/bin/containerd");
    write(&fake, std::fs::read("/bin/true").unwrap(), 0o755);
    refused(root.path(), &format!("cannot run {}: No such file or directory (os error 2)", fake.display()));
}

/// A version 3 config.toml (containerd 2.x's) checked by containerd 1.x:
/// 1.6 does not know 2.x's CRI plugin name, so the drop-in's runtime would
/// not be seen, and 1.7 refuses the version. On 1.6 the whole version 3
/// path runs against a real binary (its scratch copies, the import); each
/// refuses, leaving every file as it was.
/// Its two scratch copies (config.toml's and the drop-in's) once had the
/// same name, and the check failed with EEXIST.
fn regression_version_3_scratch_copies_collided_and_containerd_1_x_refuses_a_v3_config(release: &Release) {
    if !require_root() {
        return;
    }
    let dir = TempDir::new("v3-on-1.6");
    let config = dir.join("config.toml");
    let v3 = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/v3/config.toml"));
    write(&config, v3, 0o644);
    let out = Command::new(bin())
        .args(["install", "--host-root", "/", "--no-docker", "--containerd-config-file"])
        .arg(&config)
        .arg("--containerd-socket")
        .arg(dir.join("containerd.sock"))
        .arg("--containerd-bin")
        .arg(release.bin("containerd"))
        .arg("--bin-dir")
        .arg(dir.join("bin"))
        .arg("--config-dir")
        .arg(dir.join("oci-add-hooks"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    let refused = format!("oci-add-hooks: {}: ", config.display());
    match release.version {
        // 1.6 reads the file and ignores the tables of a plugin it does not
        // know: the drop-in's runtime is not seen.
        "1.6.20" => assert_eq!(
            err,
            format!(
                "{refused}containerd's own config dump with the new drop-in: runtime oci-add-hooks is not in it: \
                 containerd did not read the new table (nothing changed)\n"
            )
        ),
        // 1.7 refuses a version 3 file outright.
        _ => assert!(
            err.starts_with(&format!(
                "{refused}containerd refuses it as it is: `{} config dump` says: ",
                release.bin("containerd").display()
            )) && err.ends_with(": unsupported config version `3` (exit status: 1) (nothing changed)\n"),
            "{err}"
        ),
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), v3);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["config.toml"]);
}

#[test]
fn regression_version_3_scratch_copies_collided_and_containerd_1_x_refuses_a_v3_config_on_1_6_20() {
    on_release("1.6.20", regression_version_3_scratch_copies_collided_and_containerd_1_x_refuses_a_v3_config);
}

#[test]
fn regression_version_3_scratch_copies_collided_and_containerd_1_x_refuses_a_v3_config_on_1_7_24() {
    on_release("1.7.24", regression_version_3_scratch_copies_collided_and_containerd_1_x_refuses_a_v3_config);
}

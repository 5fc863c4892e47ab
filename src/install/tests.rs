//! The order of an install and an uninstall on fake host roots: what a
//! plan will do before it does it, what an apply leaves, and what an
//! uninstall gives back.

use super::*;
use docker::daemon_json::Change;
use fake_host::FakeHost;

/// What the tests install as "this executable".
const EXE: &[u8] = b"#!/bin/sh\nexit 0\n";
const HOOK: &str = r#"{"hooks": {"prestart": [{"path": "/bin/true"}]}}"#;

fn hooks_d(host: &FakeHost) -> String {
    host.here("/etc/oci-add-hooks/hooks.d").display().to_string()
}

#[test]
fn plan_on_a_new_host_puts_everything_and_changes_nothing_itself() {
    let host = FakeHost::new("new");
    let src = FakeHost::new("new-src");
    host.write("/etc/docker/daemon.json", "{}\n");
    let hook = src.write("/10-a.json", HOOK);
    let o = host.options(Action::Install, &["--hooks", hook.to_str().unwrap()]);
    let before = host.tree();

    let plan = plan_install(&Host::open(host.0.clone()).unwrap(), &o, EXE.to_vec(), &SYSTEM).unwrap();
    assert_eq!(host.tree(), before, "a plan writes nothing");
    assert_eq!(
        plan.create_dirs,
        ["/usr", "/usr/local", "/usr/local/bin", "/etc/oci-add-hooks", "/etc/oci-add-hooks/hooks.d"]
    );
    assert_eq!(plan.new.created_dirs, plan.create_dirs);
    assert!(matches!(&plan.binary, Binary::Put(p) if !p.same && p.here == host.here("/usr/local/bin/oci-add-hooks")));
    assert_eq!(plan.hooks.len(), 1);
    assert_eq!(plan.hooks[0].put.here, Path::new(&hooks_d(&host)).join("10-a.json"));
    assert_eq!(plan.hooks[0].put.bytes, HOOK.as_bytes());
    assert_eq!(plan.new.hooks, ["/etc/oci-add-hooks/hooks.d/10-a.json"]);
    assert_eq!(
        plan.docker.changes(),
        [(
            host.here("/etc/docker/daemon.json").as_path(),
            &[Change::AddedRuntime { name: "oci-add-hooks".into() }][..]
        )]
    );
    let docker = plan.new.docker.as_ref().unwrap();
    assert_eq!(
        (docker.config.as_str(), docker.path.as_str()),
        ("/etc/docker/daemon.json", "/usr/local/bin/oci-add-hooks")
    );
    assert!(plan.stale.is_empty());
}

#[test]
fn plan_after_an_install_finds_nothing_to_do() {
    let host = FakeHost::new("again");
    let src = FakeHost::new("again-src");
    host.write("/etc/docker/daemon.json", "{}\n");
    let hook = src.write("/10-a.json", HOOK);
    let o = host.options(Action::Install, &["--hooks", hook.to_str().unwrap()]);
    let h = Host::open(host.0.clone()).unwrap();
    plan_install(&h, &o, EXE.to_vec(), &SYSTEM).unwrap().apply(&h, &o, &SYSTEM, &mut Log::kept()).unwrap();
    let installed = host.tree();

    let plan = plan_install(&h, &o, EXE.to_vec(), &SYSTEM).unwrap();
    assert!(plan.create_dirs.is_empty());
    assert!(matches!(&plan.binary, Binary::Put(p) if p.same));
    assert!(plan.hooks.iter().all(|h| h.put.same));
    assert!(plan.docker.changes().iter().all(|(_, c)| c.is_empty()));
    assert!(plan.stale.is_empty());
    assert_eq!(plan.new, plan.old);
    plan.apply(&h, &o, &SYSTEM, &mut Log::kept()).unwrap();
    assert_eq!(host.tree(), installed);
}

#[test]
fn plan_lists_what_an_earlier_install_put_there_and_this_one_does_not_want() {
    let host = FakeHost::new("stale");
    let src = FakeHost::new("stale-src");
    let a = src.write("/10-a.json", HOOK);
    let b = src.write("/20-b.json", HOOK);
    let h = Host::open(host.0.clone()).unwrap();
    let both = host.options(Action::Install, &["--hooks", a.to_str().unwrap(), "--hooks", b.to_str().unwrap()]);
    plan_install(&h, &both, EXE.to_vec(), &SYSTEM).unwrap().apply(&h, &both, &SYSTEM, &mut Log::kept()).unwrap();

    let one = host.options(Action::Install, &["--hooks", a.to_str().unwrap(), "--bin-dir", "/opt/bin"]);
    let plan = plan_install(&h, &one, EXE.to_vec(), &SYSTEM).unwrap();
    assert_eq!(plan.stale, ["/etc/oci-add-hooks/hooks.d/20-b.json", "/usr/local/bin/oci-add-hooks"]);
    assert_eq!(plan.create_dirs, ["/opt", "/opt/bin"]);
    // Docker is not set up on this host: nothing of it is planned.
    assert!(plan.new.docker.is_none() && plan.docker.changes().is_empty());
}

#[test]
fn plan_refuses_a_hook_file_install_did_not_put_there_and_changes_nothing() {
    let host = FakeHost::new("foreign");
    let src = FakeHost::new("foreign-src");
    host.write("/etc/oci-add-hooks/hooks.d/10-a.json", "{\"hooks\": {}}");
    let hook = src.write("/10-a.json", HOOK);
    let o = host.options(Action::Install, &["--hooks", hook.to_str().unwrap()]);
    let before = host.tree();
    let err = plan_install(&Host::open(host.0.clone()).unwrap(), &o, EXE.to_vec(), &SYSTEM).err().unwrap().to_string();
    assert!(
        err.starts_with(&format!("{}/10-a.json: exists and was not put there by install", hooks_d(&host))),
        "{err}"
    );
    assert_eq!(host.tree(), before);
}

#[test]
fn plan_refuses_a_hooks_directory_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let host = FakeHost::new("untrusted");
    host.write("/etc/oci-add-hooks/hooks.d/README", "");
    let dir = host.here("/etc/oci-add-hooks/hooks.d");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = host.options(Action::Install, &[]);
    let err = plan_install(&Host::open(host.0.clone()).unwrap(), &o, EXE.to_vec(), &SYSTEM).err().unwrap().to_string();
    assert!(err.starts_with(&format!("{}: writable by group or others (mode 0777)", dir.display())), "{err}");
}

/// Install copied runc's options from a table of 1.6.20's built-ins
/// where it could not run containerd's `config dump`, and so declared
/// on 1.7 and 2.x a runtime that behaved unlike runc. Without a binary
/// to ask, it now refuses, naming the option that gives one.
#[test]
fn regression_install_guessed_the_runtimes_a_containerd_it_could_not_run_has() {
    let host = FakeHost::new("ctrd");
    let debian = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/debian.toml"));
    let config = host.write("/etc/containerd/config.toml", debian);
    let h = Host::open(host.0.clone()).unwrap();
    let before = host.tree();
    let o = host.options(Action::Install, &["--no-docker"]);
    let err = plan_install(&h, &o, EXE.to_vec(), &SYSTEM).err().unwrap().to_string();
    assert_eq!(
        err,
        format!(
            "{}: install copies the default runtime as this containerd has it, from its own `config dump`, and \
             there is no containerd binary under {} (looked in /usr/local/bin, /usr/bin, /usr/local/sbin, \
             /usr/sbin, /bin, /sbin): give the host's containerd binary with --containerd-bin (nothing changed)",
            config.display(),
            host.0.display()
        )
    );
    assert_eq!(host.tree(), before);
    // A file that disables the CRI needs no dump: left alone.
    host.write("/etc/containerd/config.toml", "disabled_plugins = [\"cri\"]\n");
    let plan = plan_install(&h, &o, EXE.to_vec(), &SYSTEM).unwrap();
    assert!(plan.containerd.changes().is_empty() && plan.new.containerd.is_none());
}

#[test]
fn uninstall_plan_undoes_the_record_and_apply_gives_the_host_back() {
    let host = FakeHost::new("undo");
    let src = FakeHost::new("undo-src");
    host.write("/etc/docker/daemon.json", "{\n  \"debug\": true\n}\n");
    let hook = src.write("/10-a.json", HOOK);
    let h = Host::open(host.0.clone()).unwrap();
    let before = host.tree();
    let o = host.options(Action::Install, &["--hooks", hook.to_str().unwrap()]);
    plan_install(&h, &o, EXE.to_vec(), &SYSTEM).unwrap().apply(&h, &o, &SYSTEM, &mut Log::kept()).unwrap();

    let u = host.options(Action::Uninstall, &[]);
    let plan = plan_uninstall(&h, &u, &SYSTEM).unwrap();
    assert_eq!(plan.old.hooks, ["/etc/oci-add-hooks/hooks.d/10-a.json"]);
    let daemon_json = host.here("/etc/docker/daemon.json");
    assert_eq!(
        plan.docker.changes(),
        [(
            daemon_json.as_path(),
            &[Change::RemovedRuntime { name: "oci-add-hooks".into() }, Change::RemovedRuntimes][..]
        )]
    );
    plan.apply(&h, &u, &SYSTEM, &mut Log::kept()).unwrap();
    // As it was: the backup install kept held these very bytes, so it went.
    assert_eq!(host.tree(), before);
}

#[test]
fn regression_uninstall_left_a_backup_identical_to_the_file_it_restored_and_keeps_one_that_differs() {
    let host = FakeHost::new("bak");
    host.write("/etc/docker/daemon.json", "{\n  \"debug\": true\n}\n");
    let h = Host::open(host.0.clone()).unwrap();
    let o = host.options(Action::Install, &[]);
    plan_install(&h, &o, EXE.to_vec(), &SYSTEM).unwrap().apply(&h, &o, &SYSTEM, &mut Log::kept()).unwrap();
    let daemon_json = host.here("/etc/docker/daemon.json");
    let backup = host.here("/etc/docker/daemon.json.oci-add-hooks.bak");
    assert!(backup.exists());
    // An operator's change since install: the restored file is not the backup.
    let edited = std::fs::read_to_string(&daemon_json).unwrap().replace("\"debug\": true", "\"debug\": false");
    host.write("/etc/docker/daemon.json", &edited);
    let u = host.options(Action::Uninstall, &[]);
    let mut log = Log::kept();
    plan_uninstall(&h, &u, &SYSTEM).unwrap().apply(&h, &u, &SYSTEM, &mut log).unwrap();
    let kept = format!(
        "kept the backup {}: {} differs from it (changed since install)",
        backup.display(),
        daemon_json.display()
    );
    assert!(log.lines().contains(&kept), "{:?}", log.lines());
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "{\n  \"debug\": true\n}\n");
}

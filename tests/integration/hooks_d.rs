//! hooks.d 1.0.0 files through the built binary: `when` decides per
//! container before anything is written, and `oci-add-hooks validate`
//! reports what a run would do, with the same defaults and errors.

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use serde_json::{json, Value};

use crate::util::*;

/// A hooks.d file: `path` added at `stages` when `when` holds.
fn hooks_d(path: &str, when: Value, stages: &[&str]) -> Value {
    json!({"version": "1.0.0", "hook": {"path": path}, "when": when, "stages": stages})
}

/// Docker's config.json with these annotations (it runs `/bin/echo ok`, and
/// has Docker's bind mounts of /etc/hosts and the like).
fn docker_config_with(annotations: Value) -> Vec<u8> {
    let mut spec: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
    spec["annotations"] = annotations;
    serde_json::to_vec(&spec).unwrap()
}

/// `create` through the shim, with each of `confs` as a hook config path.
fn create_confs(confs: &[&Path], rec: &Recorder, bundle: &Bundle) -> std::process::Output {
    let mut cmd = shim();
    for conf in confs {
        cmd.arg("--hook-config-path").arg(conf);
    }
    create_with(&mut cmd, rec, bundle)
}

fn create(conf: &Path, rec: &Recorder, bundle: &Bundle) -> std::process::Output {
    create_confs(&[conf], rec, bundle)
}

#[test]
fn when_selects_hooks_from_the_bundles_own_spec_and_a_container_matching_none_is_not_written() {
    let conf = TempDir::new("conf");
    hook_file(
        conf.path(),
        "10-gpu.json",
        &hooks_d("/usr/bin/gpu", json!({"annotations": {"^com\\.example\\.gpu$": "^yes$"}}), &["prestart", "poststop"]),
    );
    hook_file(
        conf.path(),
        "20-init.json",
        &hooks_d("/usr/bin/init-hook", json!({"commands": [".*/init$"]}), &["prestart"]),
    );
    hook_file(conf.path(), "30-never.json", &hooks_d("/usr/bin/never", json!({"always": false}), &["prestart"]));

    let rec = Recorder::new();
    let bundle = Bundle::with_config(docker_config_with(json!({"com.example.gpu": "yes"})));
    let out = create(conf.path(), &rec, &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rec.ran());
    let config = bundle.config();
    assert_eq!(
        hook_paths(&config, "prestart"),
        ["/usr/bin/gpu", "/proc/5245/exe"],
        "Docker's own hook stays after ours"
    );
    assert_eq!(hook_paths(&config, "poststop"), ["/usr/bin/gpu"]);

    // No hook applies: the runtime runs, the spec is not rewritten.
    let rec = Recorder::new();
    let bytes = docker_config_with(json!({"com.example.gpu": "no"}));
    let bundle = Bundle::with_config(&bytes);
    let before = std::fs::metadata(bundle.config_path()).unwrap();
    let out = create(conf.path(), &rec, &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rec.ran());
    let after = std::fs::metadata(bundle.config_path()).unwrap();
    assert_eq!((before.ino(), before.mtime_nsec()), (after.ino(), after.mtime_nsec()), "rewritten with nothing to add");
    assert_eq!(bundle.config_bytes(), bytes);
}

#[test]
fn a_spec_field_a_condition_reads_with_the_wrong_type_is_an_error_that_leaves_the_bundle_untouched() {
    let conf = TempDir::new("conf");
    hook_file(
        conf.path(),
        "10-gpu.json",
        &hooks_d("/usr/bin/gpu", json!({"annotations": {"gpu": "."}}), &["prestart"]),
    );
    let rec = Recorder::new();
    let config = r#"{"annotations": ["not", "a", "map"], "process": {"args": ["/bin/sh"]}}"#;
    let bundle = Bundle::with_config(config);
    let out = create(conf.path(), &rec, &bundle);
    assert_fails_with(
        &out,
        &format!("oci-add-hooks: {}: annotations: must be an object of strings", bundle.config_path().display()),
    );
    assert!(!rec.ran());
    assert_eq!(bundle.config_bytes(), config.as_bytes());
    assert_eq!(bundle.entries(), ["config.json"]);

    // Without conditions nothing reads that field, and the run goes on.
    let plain = TempDir::new("conf");
    hook_file(plain.path(), "10-all.json", &json!({"hooks": {"prestart": [{"path": "/usr/bin/all"}]}}));
    let out = create(plain.path(), &rec, &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart"), ["/usr/bin/all"]);
}

#[test]
fn hooks_d_errors_name_the_file_the_field_and_the_pattern() {
    for (text, want) in [
        (json!({"version": "2.0.0", "hook": {"path": "/a"}}), "version: \"2.0.0\" is not supported: a hooks.d file has \"version\": \"1.0.0\", and a {\"hooks\": ...} file has no version"),
        (hooks_d("/a", json!({"annotations": {"^gpu(": "yes"}}), &["prestart"]), "when.annotations[\"^gpu(\"]: key \"^gpu(\" is not a valid regex: "),
        (hooks_d("/a", json!({"always": true}), &["preStart"]), "stages[0]: unknown stage \"preStart\"; must be one of prestart, createRuntime, createContainer, startContainer, poststart, poststop"),
        (hooks_d("/a", json!({}), &["prestart"]), "when: must set at least one condition"),
    ] {
        let conf = TempDir::new("conf");
        let file = hook_file(conf.path(), "10-bad.json", &text);
        let rec = Recorder::new();
        let bundle = Bundle::docker();
        let out = create(conf.path(), &rec, &bundle);
        assert_eq!(out.status.code(), Some(1));
        let prefix = format!("oci-add-hooks: {}: {want}", file.display());
        assert!(stderr(&out).starts_with(&prefix), "got {}want {prefix}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
        assert!(!rec.ran());
        assert_eq!(bundle.config_bytes(), DOCKER_CONFIG.as_bytes());

        // validate fails the same way, with the same line.
        let v = shim().arg("validate").arg("--hook-config-path").arg(conf.path()).output().unwrap();
        assert_eq!(v.status.code(), Some(1));
        assert_eq!(stderr(&v), stderr(&out));
        assert_eq!(stdout(&v), "");
    }
}

#[test]
fn a_later_directory_replaces_a_file_of_the_same_name() {
    let base = TempDir::new("conf-base");
    let site = TempDir::new("conf-site");
    hook_file(base.path(), "10-gpu.json", &hooks_d("/usr/bin/base-gpu", json!({"always": true}), &["prestart"]));
    hook_file(base.path(), "20-log.json", &hooks_d("/usr/bin/log", json!({"always": true}), &["prestart"]));
    hook_file(site.path(), "10-gpu.json", &hooks_d("/usr/bin/site-gpu", json!({"always": true}), &["prestart"]));
    hook_file(site.path(), "05-first.json", &json!({"hooks": {"prestart": [{"path": "/usr/bin/first"}]}}));
    let rec = Recorder::new();
    let bundle = Bundle::with_config("{}");
    let out = create_confs(&[base.path(), site.path()], &rec, &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart"), ["/usr/bin/first", "/usr/bin/site-gpu", "/usr/bin/log"]);
}

#[test]
fn validate_prints_per_stage_what_a_run_would_add_and_why_others_are_not() {
    let conf = TempDir::new("conf");
    let gpu = hook_file(
        conf.path(),
        "10-gpu.json",
        &hooks_d("/usr/bin/gpu", json!({"annotations": {"^com\\.example\\.gpu$": "^yes$"}}), &["prestart"]),
    );
    let all = hook_file(conf.path(), "20-all.json", &json!({"hooks": {"poststop": [{"path": "/usr/bin/all"}]}}));
    let bundle = Bundle::with_config(docker_config_with(json!({"com.example.gpu": "no"})));

    let out = shim().arg("validate").arg("--hook-config-path").arg(conf.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "hook configuration: {conf} (--hook-config-path)\n\
             hook files, in the order they apply:\n  {gpu} (1 hook)\n  {all} (1 hook)\n\
             prestart:\n  {{\"path\":\"/usr/bin/gpu\"}}\n    from {gpu}\n    when {{\"annotations\":{{\"^com\\\\.example\\\\.gpu$\":\"^yes$\"}}}}\n\
             poststop:\n  {{\"path\":\"/usr/bin/all\"}}\n    from {all}\n",
            conf = conf.path().display(),
            gpu = gpu.display(),
            all = all.display()
        )
    );

    // With the container's spec: only what applies, and why the rest not.
    let out = shim()
        .env("OCI_ADD_HOOKS_CONFIG", conf.path())
        .args(["validate", "--spec"])
        .arg(bundle.config_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("hook configuration: {} (OCI_ADD_HOOKS_CONFIG)\n", conf.path().display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "container: {}\npoststop:\n  {{\"path\":\"/usr/bin/all\"}}\n",
            bundle.config_path().display()
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "not added, their conditions are not met:\n  {{\"path\":\"/usr/bin/gpu\"}} (prestart)\n    from {}\n    \
             when.annotations: no annotation has a key matching \"^com\\\\.example\\\\.gpu$\" and a value matching \"^yes$\"\n",
            gpu.display()
        )),
        "{text}"
    );
    assert!(!text.contains("prestart:\n"), "{text}");
    // validate never writes.
    assert_eq!(bundle.config_bytes(), docker_config_with(json!({"com.example.gpu": "no"})));

    // What validate says is what a run does.
    let rec = Recorder::new();
    let out = create(conf.path(), &rec, &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart"), ["/proc/5245/exe"]);
    assert_eq!(hook_paths(&bundle.config(), "poststop"), ["/usr/bin/all"]);
}

#[test]
fn validate_uses_the_shims_defaults_and_errors() {
    // The argv0 rule: oci-add-hooks-NAME reads /etc/oci-add-hooks/NAME.d.
    let links = TempDir::new("links");
    let named = links.join("oci-add-hooks-no-such-set");
    symlink(bin(), &named).unwrap();
    let out = command(&named).env_remove("OCI_ADD_HOOKS_CONFIG").arg("validate").output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: /etc/oci-add-hooks/no-such-set.d: hook configuration does not exist (the default; create it, or name hook files with --hook-config-path or OCI_ADD_HOOKS_CONFIG)");
    let out = shim().env("OCI_ADD_HOOKS_CONFIG", "/nonexistent/env.d").arg("validate").output().unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: /nonexistent/env.d: hook configuration does not exist (named by OCI_ADD_HOOKS_CONFIG)",
    );

    let conf = TempDir::new("conf");
    let out = shim()
        .args(["validate", "--spec", "/nonexistent/config.json", "--hook-config-path"])
        .arg(conf.path())
        .output()
        .unwrap();
    assert_fails_with(
        &out,
        "oci-add-hooks: /nonexistent/config.json: cannot read: No such file or directory (os error 2)",
    );
    let out = shim().args(["validate", "--runtime-path", "runc"]).output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: unexpected argument \"--runtime-path\" (see oci-add-hooks --help)");
    let out = shim().args(["validate", "--spec", "a", "--spec=b"]).output().unwrap();
    assert_fails_with(&out, "oci-add-hooks: --spec: given more than once (see oci-add-hooks --help)");

    // An empty directory: nothing to add, and success.
    let out = shim().arg("validate").arg(format!("--hook-config-path={}", conf.path().display())).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("hook files: none\nno hooks would be added\n"), "{}", stdout(&out));
}

#[test]
fn validate_for_crio_refuses_what_hooks_d_files_cannot_say_as_a_run_fails() {
    let conf = TempDir::new("conf");
    hook_file(
        conf.path(),
        "10-gpu.json",
        &hooks_d("/usr/bin/gpu", json!({"annotations": {"gpu": "yes"}}), &["prestart"]),
    );
    let all = hook_file(conf.path(), "20-all.json", &json!({"hooks": {"prestart": [{"path": "/usr/bin/gpu"}]}}));
    let validate =
        |args: &[&str]| shim().arg("validate").args(args).arg("--hook-config-path").arg(conf.path()).output().unwrap();
    // The shim itself takes this configuration.
    assert!(validate(&[]).status.success());
    assert_fails_with(
        &validate(&["--engine", "crio"]),
        &format!(
            "oci-add-hooks: {}: hooks.prestart[0]: the same prestart hook as {}, under other conditions: the shim \
             adds it once, at the first place it applies, and CRI-O and podman would add it at both; give the two \
             the same conditions, or different args",
            all.display(),
            conf.join("10-gpu.json").display()
        ),
    );
    assert_fails_with(
        &validate(&["--engine", "docker"]),
        "oci-add-hooks: --engine: \"docker\": must be crio (or podman, which reads the same files) (see oci-add-hooks --help)",
    );
}

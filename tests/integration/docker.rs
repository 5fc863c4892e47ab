//! End to end with a real Docker engine: the shim registered as a runtime
//! in `daemon.json` exactly as the Go original's README shows it.

use serde_json::json;

use crate::util::*;

#[test]
fn docker_run_through_the_shim_runs_the_hook_and_shows_the_shims_reason_on_failure() {
    if !require(&["dockerd", "docker", "runc"])
        || !native_only("dockerd must execute the shim, a foreign binary to the host")
    {
        return;
    }
    let conf = TempDir::new("docker-hooks");
    let marks = TempDir::new("docker-marks");
    let hooks = marker_hooks_file(conf.path(), "10-mark.json", marks.path(), &["prestart", "poststop"]);
    let dockerd = Dockerd::start(&json!({
        "runtimes": {
            "oci-add-hooks": {
                "path": bin(),
                "runtimeArgs": ["--hook-config-path", conf.path(), "--runtime-path", "runc"]
            }
        }
    }));
    dockerd.import_busybox("oah-busybox");

    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none", "--runtime=oci-add-hooks"];
        args.extend(extra);
        args.extend(["oah-busybox", "/bin/echo", "hello from busybox"]);
        dockerd.docker(&args)
    };
    let out = run(&[]);
    assert!(out.status.success(), "docker run: {}\n{}", stderr(&out), dockerd.log());
    assert_eq!(stdout(&out), "hello from busybox\n");
    assert_eq!(markers(marks.path()), ["prestart", "poststop"]);

    // `docker info` runs `<path> <runtimeArgs> --version` through the shim.
    let out = dockerd.docker(&["info", "--format", "{{json .Runtimes}}"]);
    assert!(stdout(&out).contains("oci-add-hooks"), "{}", stdout(&out));

    // A broken hook file: docker run fails, and says why.
    write(&hooks, r#"{"hooks": {"prestart": [{"path": "relative/hook"}]}}"#, 0o644);
    let out = run(&[]);
    assert!(!out.status.success());
    eprintln!("docker run error as the user sees it: {}", stderr(&out));
    let reason = format!("oci-add-hooks: {}: hooks.prestart[0].path: must be an absolute path", hooks.display());
    assert!(stderr(&out).contains(&reason), "docker run's error lacks the shim's reason: {}", stderr(&out));
    assert_eq!(markers(marks.path()), ["prestart", "poststop"], "no hook ran on the failed run");
}

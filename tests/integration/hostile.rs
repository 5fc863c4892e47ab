//! What an unprivileged user or a hostile bundle can try against the shim,
//! run as root as an engine runs it: hook files that block, vanish or are
//! reached through someone else's directory, oversized configurations, a
//! linked `config.json` or runtime log, keys that runc's Go decoder reads
//! differently, and a user's shim deleting a root shim's temporary file.
//! Each refusal is checked for its exact message and for what it leaves:
//! the runtime not run, the bundle byte for byte as it was, no temporary
//! file.

use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rustix::fs::{mknodat, FileType, Mode, CWD};
use serde_json::{json, Value};

use crate::util::*;

/// uid and gid 65534: nobody, nogroup.
const NOBODY: u32 = 65534;

fn mkfifo(path: &Path) {
    mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn one_hook(path: &str) -> Value {
    json!({"hooks": {"prestart": [{"path": path}]}})
}

/// `cmd` under `timeout 30`. A safety net, not a measurement: a shim that
/// blocks then fails its test (exit 124) instead of hanging the suite.
fn under_timeout(cmd: &Command) -> Command {
    let mut t = Command::new("timeout");
    t.arg("30").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => t.env(k, v),
            None => t.env_remove(k),
        };
    }
    t.stdin(Stdio::null());
    t
}

/// `create` of a Docker bundle through the shim with the hook configuration
/// paths `confs`, under `timeout 30`.
struct Run {
    rec: Recorder,
    bundle: Bundle,
}

impl Run {
    fn new() -> Run {
        Run::with_config(DOCKER_CONFIG)
    }

    fn with_config(config: impl AsRef<[u8]>) -> Run {
        Run { rec: Recorder::new(), bundle: Bundle::with_config(config) }
    }

    fn create(&self, confs: &[&Path]) -> Output {
        let mut cmd = shim();
        for conf in confs {
            cmd.arg("--hook-config-path").arg(conf);
        }
        cmd.arg("--runtime-path").arg(&self.rec.path).args(["create", "--bundle"]).arg(self.bundle.path()).arg("id");
        under_timeout(&cmd).output().unwrap()
    }

    /// Asserts the run failed with `message` and changed nothing.
    fn assert_refused(&self, out: &Output, message: &str, config: &[u8]) {
        assert_fails_with(out, message);
        assert!(!self.rec.ran(), "the runtime ran");
        assert_eq!(self.bundle.config_bytes(), config, "config.json changed");
        assert_eq!(self.bundle.entries(), ["config.json"], "something was left in the bundle");
    }
}

#[test]
fn regression_a_fifo_as_hook_config_path_fails_at_once_naming_it() {
    // The FIFO is nobody's, and no one ever opens its other end: a plain
    // open blocked the shim for good.
    let conf = TempDir::new("conf");
    let fifo = conf.join("hooks.json");
    mkfifo(&fifo);
    chown(&fifo, Some(NOBODY), Some(NOBODY)).unwrap();
    let run = Run::new();
    let out = run.create(&[&fifo]);
    run.assert_refused(
        &out,
        &format!("oci-add-hooks: {}: a FIFO, not a hook file or a directory of them", fifo.display()),
        DOCKER_CONFIG.as_bytes(),
    );
    // validate says the same.
    let out = under_timeout(shim().arg("validate").arg("--hook-config-path").arg(&fifo)).output().unwrap();
    assert_fails_with(
        &out,
        &format!("oci-add-hooks: {}: a FIFO, not a hook file or a directory of them", fifo.display()),
    );
}

#[test]
fn regression_a_json_entry_that_is_not_a_regular_file_is_an_error_not_skipped() {
    // The issue's case: hooks.d/20.json links to vendor/20.json, which
    // became a FIFO. Then a directory, and a FIFO in hooks.d itself.
    let conf = TempDir::new("conf");
    let hooks_d = conf.join("hooks.d");
    hook_file(&hooks_d, "10-a.json", &one_hook("/usr/bin/a"));
    std::fs::create_dir(conf.join("vendor")).unwrap();
    mkfifo(&conf.join("vendor/20.json"));
    symlink("../vendor/20.json", hooks_d.join("20.json")).unwrap();
    let entry = hooks_d.join("20.json");
    let want = |kind: &str| {
        format!(
            "oci-add-hooks: {}: {kind}, not a regular file; every *.json in a hook directory must be a hook file",
            entry.display()
        )
    };
    let run = Run::new();
    run.assert_refused(&run.create(&[&hooks_d]), &want("a FIFO"), DOCKER_CONFIG.as_bytes());

    std::fs::remove_file(conf.join("vendor/20.json")).unwrap();
    std::fs::create_dir(conf.join("vendor/20.json")).unwrap();
    run.assert_refused(&run.create(&[&hooks_d]), &want("a directory"), DOCKER_CONFIG.as_bytes());

    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    run.assert_refused(&run.create(&[&hooks_d]), &want("a FIFO"), DOCKER_CONFIG.as_bytes());

    // A regular file again: the run goes on, and both hooks are there.
    std::fs::remove_file(&entry).unwrap();
    hook_file(&hooks_d, "20.json", &one_hook("/usr/bin/b"));
    let out = run.create(&[&hooks_d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart"), ["/usr/bin/a", "/usr/bin/b", "/proc/5245/exe"]);
}

#[test]
fn regression_a_hook_reached_through_a_directory_others_may_write_is_refused() {
    let conf = TempDir::new("conf");
    let hooks_d = conf.join("hooks.d");
    let vendor = conf.join("vendor");
    hook_file(&vendor, "20.json", &one_hook("/usr/bin/vendor"));
    std::fs::create_dir(&hooks_d).unwrap();
    symlink(vendor.join("20.json"), hooks_d.join("20.json")).unwrap();
    let entry = hooks_d.join("20.json");
    let vendor = std::fs::canonicalize(&vendor).unwrap();
    let run = Run::new();

    // Through a link into a directory all may write: the issue's case.
    chmod(&vendor, 0o777);
    run.assert_refused(
        &run.create(&[&hooks_d]),
        &format!(
            "oci-add-hooks: {}: {}, a directory on its path, is writable by group or others (mode 0777); hooks \
             run as root, so only its owner may write a directory on the way to a hook file, sticky or not",
            entry.display(),
            vendor.display()
        ),
        DOCKER_CONFIG.as_bytes(),
    );
    // Sticky changes nothing.
    chmod(&vendor, 0o1777);
    let out = run.create(&[&hooks_d]);
    assert!(stderr(&out).contains("is writable by group or others (mode 1777)"), "{}", stderr(&out));
    // Nor does naming the file directly rather than its directory.
    let out = run.create(&[&entry]);
    assert!(stderr(&out).starts_with(&format!(
        "oci-add-hooks: {}: {}, a directory",
        entry.display(),
        vendor.display()
    )));
    // Another user's directory.
    chmod(&vendor, 0o755);
    chown(&vendor, Some(NOBODY), None).unwrap();
    run.assert_refused(
        &run.create(&[&hooks_d]),
        &format!(
            "oci-add-hooks: {}: {}, a directory on its path, is owned by uid 65534; hooks run as root, so every \
             directory on the way to a hook file must be owned by root",
            entry.display(),
            vendor.display()
        ),
        DOCKER_CONFIG.as_bytes(),
    );
    chown(&vendor, Some(0), None).unwrap();

    // A link on the way that sits in a directory others may write, though
    // what it leads to is safe: whoever writes that directory could point
    // the link elsewhere.
    let open = conf.join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    symlink(vendor.join("20.json"), open.join("20.json")).unwrap();
    std::fs::remove_file(&entry).unwrap();
    symlink(open.join("20.json"), &entry).unwrap();
    let out = run.create(&[&hooks_d]);
    let open = std::fs::canonicalize(&open).unwrap();
    assert!(
        stderr(&out).starts_with(&format!(
            "oci-add-hooks: {}: {}, a directory on its path",
            entry.display(),
            open.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!run.rec.ran());

    // Every directory on the way safe: the linked hook is added.
    std::fs::remove_file(&entry).unwrap();
    symlink("../vendor/20.json", &entry).unwrap();
    let out = run.create(&[&hooks_d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart")[0], "/usr/bin/vendor");
}

#[test]
fn links_are_followed_as_the_kernel_follows_them_up_to_its_limit_of_40() {
    // A chain of links, relative and absolute, through `..`: 40 are
    // followed, as the kernel would; a 41st is ELOOP.
    let conf = TempDir::new("conf");
    let real = hook_file(&conf.join("real"), "10.json", &one_hook("/usr/bin/chained"));
    let links = conf.join("links");
    std::fs::create_dir(&links).unwrap();
    let mut target = real.clone();
    for n in 0..40 {
        let link = links.join(format!("{n:02}.json"));
        match n % 2 {
            0 => symlink(&target, &link).unwrap(),
            _ => symlink(format!("../links/./{}", target.file_name().unwrap().to_string_lossy()), &link).unwrap(),
        }
        target = link;
    }
    let run = Run::new();
    let out = run.create(&[&target]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart")[0], "/usr/bin/chained");
    let one_more = links.join("40.json");
    symlink(&target, &one_more).unwrap();
    // The kernel agrees.
    assert!(std::fs::read(&target).is_ok());
    assert_eq!(std::fs::read(&one_more).unwrap_err().raw_os_error(), Some(40));
    let run = Run::new();
    run.assert_refused(
        &run.create(&[&one_more]),
        // ELOOP, in the words of the libc the binary is built with (musl:
        // "Symbolic link loop"; glibc: "Too many levels of symbolic links").
        &format!("oci-add-hooks: {}: {}", one_more.display(), std::io::Error::from_raw_os_error(40)),
        DOCKER_CONFIG.as_bytes(),
    );
}

#[test]
fn regression_hook_files_under_the_sticky_tmp_are_refused() {
    // /tmp is root's and sticky, mode 1777: a name in it is only safe while
    // it exists, so nothing under it is trusted, as OpenSSH and sudo hold.
    let tmp = Path::new("/tmp");
    assert_eq!(std::fs::metadata(tmp).unwrap().mode() & 0o7777, 0o1777, "the test assumes a sticky, mode 1777 /tmp");
    let conf = TempDir::new_in(tmp, "conf");
    let hooks = hook_file(conf.path(), "10.json", &one_hook("/usr/bin/a"));
    let run = Run::new();
    for path in [conf.path(), hooks.as_path()] {
        run.assert_refused(
            &run.create(&[path]),
            &format!(
                "oci-add-hooks: {}: /tmp, a directory on its path, is writable by group or others (mode 1777); hooks \
                 run as root, so only its owner may write a directory on the way to a hook file, sticky or not",
                path.display()
            ),
            DOCKER_CONFIG.as_bytes(),
        );
    }
}

#[test]
fn regression_hook_files_past_the_size_and_count_limits_are_refused() {
    // 1 MiB exactly is read; a byte more is not.
    let conf = TempDir::new("conf");
    let mut text = serde_json::to_vec(&one_hook("/usr/bin/big")).unwrap();
    text.resize(1 << 20, b' ');
    let big = conf.join("big.json");
    write(&big, &text, 0o644);
    let run = Run::new();
    let out = run.create(&[&big]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart")[0], "/usr/bin/big");
    text.push(b'\n');
    write(&big, &text, 0o644);
    let run = Run::new();
    run.assert_refused(
        &run.create(&[&big]),
        &format!("oci-add-hooks: {}: 1048577 bytes; a hook file may have at most 1048576 (1 MiB)", big.display()),
        DOCKER_CONFIG.as_bytes(),
    );

    // 1,000 files are read, in name order; one more, and the directory is
    // refused. 20,000 used to take 14 seconds.
    let many = TempDir::new("many");
    for n in 0..1000 {
        hook_file(many.path(), &format!("{n:05}.json"), &one_hook(&format!("/usr/bin/h{n:05}")));
    }
    let run = Run::new();
    let out = run.create(&[many.path()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let paths = hook_paths(&run.bundle.config(), "prestart");
    assert_eq!(paths.len(), 1001);
    assert_eq!((paths[0].as_str(), paths[999].as_str()), ("/usr/bin/h00000", "/usr/bin/h00999"));
    let too_many = |path: &Path| {
        format!(
            "oci-add-hooks: {}: more than 1000 hook files (with those of the paths before it); a configuration may \
             have at most 1000: combine hooks into fewer files",
            path.display()
        )
    };
    // With those of another directory.
    let one_more = TempDir::new("one-more");
    hook_file(one_more.path(), "x.json", &one_hook("/usr/bin/x"));
    let run = Run::new();
    run.assert_refused(
        &run.create(&[many.path(), one_more.path()]),
        &too_many(one_more.path()),
        DOCKER_CONFIG.as_bytes(),
    );
    // A file of the same name replaces, and is not one more.
    hook_file(one_more.path(), "00000.json", &one_hook("/usr/bin/x"));
    std::fs::remove_file(one_more.join("x.json")).unwrap();
    let out = run.create(&[many.path(), one_more.path()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart")[0], "/usr/bin/x");
    // In the directory itself: 20,000 files, refused as soon as the
    // listing passes 1,000.
    for n in 1000..20_000 {
        write(&many.join(format!("{n:05}.json")), "{", 0o644);
    }
    let run = Run::new();
    run.assert_refused(&run.create(&[many.path()]), &too_many(many.path()), DOCKER_CONFIG.as_bytes());
}

#[test]
fn regression_a_symlinked_config_json_is_refused_and_nothing_is_written() {
    // The issue's case: config.json links to a file of nobody's, mode 4751,
    // outside the bundle; the shim left a set-uid copy of it in the bundle.
    let conf = TempDir::new("conf");
    let hooks = hook_file(conf.path(), "10.json", &one_hook("/usr/bin/a"));
    let outside = TempDir::new("outside");
    let victim = outside.join("victim.json");
    write(&victim, DOCKER_CONFIG, 0o644);
    // In this order: a chown clears set-id bits.
    chown(&victim, Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&victim, 0o4751);
    let run = Run::new();
    std::fs::remove_file(run.bundle.config_path()).unwrap();
    symlink(&victim, run.bundle.config_path()).unwrap();
    let out = run.create(&[&hooks]);
    assert_fails_with(
        &out,
        &format!(
            "oci-add-hooks: {}: cannot read: a symbolic link; the shim replaces config.json with a new file, so it \
             must be the bundle's own regular file, not a link to one",
            run.bundle.config_path().display()
        ),
    );
    assert!(!run.rec.ran());
    assert_eq!(std::fs::read_link(run.bundle.config_path()).unwrap(), victim, "the link was replaced");
    assert_eq!(std::fs::read(&victim).unwrap(), DOCKER_CONFIG.as_bytes());
    let meta = std::fs::metadata(&victim).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o4751, NOBODY));
    assert_eq!(run.bundle.entries(), ["config.json"]);

    // A regular config.json of nobody's with set-id bits: the new file keeps
    // its owner and mode, but not the set-id bits.
    let run = Run::new();
    chown(run.bundle.config_path(), Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&run.bundle.config_path(), 0o6751);
    let out = run.create(&[&hooks]);
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::metadata(run.bundle.config_path()).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid(), meta.gid()), (0o751, NOBODY, NOBODY));
    assert_eq!(hook_paths(&run.bundle.config(), "prestart")[0], "/usr/bin/a");

    // A FIFO as config.json: refused at once.
    let run = Run::new();
    std::fs::remove_file(run.bundle.config_path()).unwrap();
    mkfifo(&run.bundle.config_path());
    let out = run.create(&[&hooks]);
    assert_fails_with(
        &out,
        &format!("oci-add-hooks: {}: cannot read: not a regular file", run.bundle.config_path().display()),
    );
    assert!(!run.rec.ran());
}

#[test]
fn regression_keys_gos_decoder_folds_onto_hooks_are_refused() {
    let conf = TempDir::new("conf");
    let hooks = hook_file(conf.path(), "10.json", &one_hook("/usr/bin/a"));
    for (config, spelt) in [
        (r#"{"ociVersion":"1.0.2","hooks":{"prestart":[]},"HOOKS":null}"#, r#"HOOKS"#),
        ("{\"ociVersion\":\"1.0.2\",\"hoo\u{212A}s\":null}", r#"hoo\u{212A}s"#),
        (r#"{"ociVersion":"1.0.2","hook\u017f":null}"#, r#"hook\u{017F}"#),
    ] {
        let run = Run::with_config(config);
        let out = run.create(&[&hooks]);
        run.assert_refused(
            &out,
            &format!(
                "oci-add-hooks: {}: hooks: given as \"{spelt}\", which runc reads as \"hooks\" (Go's encoding/json \
                 matches keys without regard to case) and other runtimes do not",
                run.bundle.config_path().display()
            ),
            config.as_bytes(),
        );
    }
}

#[test]
fn runc_itself_reads_a_key_in_another_case_as_hooks() {
    // Why the refusal above: runc (Go's encoding/json) takes "HOOKS" for
    // hooks, so a `"HOOKS": null` after the hooks cancels them.
    if !require(&["runc"]) {
        return;
    }
    let marks = TempDir::new("marks");
    let bundle = Bundle::busybox(&["true"], marks.path());
    let mut spec = bundle.config();
    spec["hooks"] = json!({"prestart": [marker_hook(marks.path(), "prestart")]});
    let mut text = serde_json::to_string(&spec).unwrap();
    let root = TempDir::new("runc-root");
    let run = |text: &str, id: &str| {
        write(&bundle.config_path(), text, 0o644);
        let out = Command::new("runc")
            .arg("--root")
            .arg(root.path())
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(format!("oah-fold-{id}-{}", std::process::id()))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "runc run: {}", stderr(&out));
    };
    run(&text, "plain");
    assert_eq!(markers(marks.path()), ["prestart"]);
    text.insert_str(text.len() - 1, ",\"HOO\u{212A}S\":null");
    run(&text, "folded");
    assert_eq!(markers(marks.path()), ["prestart"], "runc ran the hooks despite \"HOO\u{212A}S\": null");
}

#[test]
fn regression_a_field_when_reads_under_a_folded_key_is_refused_only_when_read() {
    let conf = TempDir::new("conf");
    let gated = hook_file(
        conf.path(),
        "10.json",
        &json!({"version": "1.0.0", "hook": {"path": "/usr/bin/gpu"}, "when": {"annotations": {"gpu": "."}}, "stages": ["prestart"]}),
    );
    let config = r#"{"ociVersion":"1.0.2","annotations":{"x":"y"},"Annotations":{"gpu":"1"}}"#;
    let run = Run::with_config(config);
    run.assert_refused(
        &run.create(&[&gated]),
        &format!(
            "oci-add-hooks: {}: annotations: given as \"Annotations\", which runc reads as \"annotations\" (Go's \
             encoding/json matches keys without regard to case) and other runtimes do not",
            run.bundle.config_path().display()
        ),
        config.as_bytes(),
    );
    // No hook with a condition: annotations are not read, and not judged.
    let plain = TempDir::new("conf");
    let plain = hook_file(plain.path(), "10.json", &one_hook("/usr/bin/a"));
    let out = run.create(&[&plain]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A hook file that fails the run (a relative hook path), so that the shim
/// writes its error to the runtime log.
fn failing_hooks(dir: &TempDir) -> PathBuf {
    hook_file(dir.path(), "bad.json", &one_hook("rel"))
}

/// `create` with `--log LOG --log-format json` and a failing hook file.
fn create_logging(hooks: &Path, log: &Path, run: &Run) -> Output {
    let mut cmd = shim();
    cmd.arg("--hook-config-path").arg(hooks).arg("--runtime-path").arg(&run.rec.path);
    cmd.arg("--log").arg(log).args(["--log-format", "json", "create", "--bundle"]).arg(run.bundle.path()).arg("id");
    under_timeout(&cmd).output().unwrap()
}

#[test]
fn regression_the_runtime_log_is_never_written_through_a_link() {
    let conf = TempDir::new("conf");
    let hooks = failing_hooks(&conf);
    let want = format!("oci-add-hooks: {}: hooks.prestart[0].path: must be an absolute path", hooks.display());
    let run = Run::new();
    let logs = TempDir::new("logs");
    // A link to another file: that file is not appended to; stderr still
    // carries the message.
    let victim = logs.join("shadow");
    write(&victim, "root:x:0:\n", 0o640);
    let log = logs.join("log.json");
    symlink(&victim, &log).unwrap();
    run.assert_refused(&create_logging(&hooks, &log, &run), &want, DOCKER_CONFIG.as_bytes());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:x:0:\n");
    // A dangling link: nothing is created where it points.
    let dangling = logs.join("dangling.json");
    symlink(logs.join("created-by-the-shim"), &dangling).unwrap();
    run.assert_refused(&create_logging(&hooks, &dangling, &run), &want, DOCKER_CONFIG.as_bytes());
    assert!(!logs.join("created-by-the-shim").exists());
    // A FIFO nobody reads: the shim does not wait for a reader.
    let fifo = logs.join("fifo.json");
    mkfifo(&fifo);
    run.assert_refused(&create_logging(&hooks, &fifo, &run), &want, DOCKER_CONFIG.as_bytes());
    // A missing log is created, as runc 1.1.5 creates it (mode 0644).
    let missing = logs.join("new.json");
    run.assert_refused(&create_logging(&hooks, &missing, &run), &want, DOCKER_CONFIG.as_bytes());
    let entry: Value = serde_json::from_str(std::fs::read_to_string(&missing).unwrap().trim_end()).unwrap();
    assert_eq!(entry["msg"], want.as_str());
    assert_eq!(std::fs::metadata(&missing).unwrap().mode() & 0o777, 0o644);
}

#[test]
fn regression_a_shim_run_by_a_user_leaves_a_live_root_writers_temporary_file() {
    if !require_root() {
        return;
    }
    // A root process that is alive (standing in for a root shim mid-write),
    // and the temporary file it would have, in a bundle of nobody's; and a
    // dead writer's. A shim run as nobody gets EPERM from kill(pid, 0) for
    // the live one, which it took for dead.
    let mut live = Command::new("sleep").arg("600").spawn().unwrap();
    let conf = TempDir::new("conf");
    let hooks = hook_file(conf.path(), "10.json", &one_hook("/usr/bin/a"));
    let bundle = Bundle::docker();
    let live_tmp = format!(".config.json.oci-add-hooks.{}.tmp", live.id());
    let dead_tmp = ".config.json.oci-add-hooks.4194305.tmp";
    write(&bundle.dir.join(&live_tmp), "{\"half", 0o600);
    write(&bundle.dir.join(dead_tmp), "{\"half", 0o600);
    for path in [bundle.path().to_owned(), bundle.config_path()] {
        chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let out = command(bin())
        .uid(NOBODY)
        .gid(NOBODY)
        .env_remove("OCI_ADD_HOOKS_CONFIG")
        .env_remove("OCI_ADD_HOOKS_RUNTIME")
        .arg("--hook-config-path")
        .arg(&hooks)
        .args(["--runtime-path", "/bin/true", "create", "--bundle"])
        .arg(bundle.path())
        .arg("id")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hook_paths(&bundle.config(), "prestart")[0], "/usr/bin/a");
    let mut want = vec![live_tmp, "config.json".to_owned()];
    want.sort();
    assert_eq!(bundle.entries(), want, "the live writer's file went, or the dead one's stayed");
}

//! The release artifacts `make dist` leaves in `dist/`: the static
//! binaries, the .deb and .rpm packages, and what the packages ship from
//! `packaging/`.
//!
//! The packages are inspected with the distributions' own tools, and the
//! amd64 .deb is installed on this machine for real (`dpkg -i`, then
//! removed and purged), so these tests run on their own: `make
//! test-packages` (after `make dist`), one at a time. `make test-native`
//! skips them, since a test elsewhere that expects no
//! `/etc/oci-add-hooks` could see the installed one. Under CI=true a
//! missing artifact fails the test; elsewhere it is skipped with a message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use oci_add_hooks::VERSION_LINE;
use serde_json::{json, Value};

use crate::util::{self, Bundle, Recorder, TempDir};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The size budget of each static binary: 900 KiB since the installer
/// configures containerd (it was 600 KiB for the shim and the Docker
/// installer). `make dist` builds them as they ship: opt-level "z", no
/// unwind tables, identical functions folded (docs/packaging.md, "Static
/// builds").
const MAX_BINARY_BYTES: u64 = 900 * 1024;
const CONFFILE: &str = "/etc/oci-add-hooks/hooks.d/README";
/// What postinst and %post print on a first install.
const INSTALL_HINT: &str = "    oci-add-hooks install --bin-dir /usr/bin\n";

/// Every file either package installs, with its mode (directories are not
/// listed: dpkg owns the parents of its files, the rpm those in `RPM_DIRS`).
const FILES: &[(&str, u32)] = &[
    ("/usr/bin/oci-add-hooks", 0o755),
    (CONFFILE, 0o644),
    ("/usr/share/doc/oci-add-hooks/examples/example.json", 0o644),
    ("/usr/share/doc/oci-add-hooks/examples/daemon.json.example", 0o644),
    ("/usr/share/man/man1/oci-add-hooks.1.gz", 0o644),
];
/// Files only the .deb has (Debian's places for them).
const DEB_ONLY: &[&str] = &[
    "/usr/share/doc/oci-add-hooks/copyright",
    "/usr/share/doc/oci-add-hooks/changelog.Debian.gz",
    "/usr/share/lintian/overrides/oci-add-hooks",
];
/// Files only the .rpm has.
const RPM_ONLY: &[&str] = &["/usr/share/licenses/oci-add-hooks/LICENSE"];
/// The directories the rpm owns: its own, not those every system has.
const RPM_DIRS: &[&str] = &[
    "/etc/oci-add-hooks",
    "/etc/oci-add-hooks/hooks.d",
    "/usr/share/doc/oci-add-hooks",
    "/usr/share/doc/oci-add-hooks/examples",
    "/usr/share/licenses/oci-add-hooks",
];

/// One architecture's artifacts: Docker's and Debian's name, rpm's name,
/// and how `file` names the machine.
struct Arch {
    deb: &'static str,
    rpm: &'static str,
    file_machine: &'static str,
}

const AMD64: Arch = Arch { deb: "amd64", rpm: "x86_64", file_machine: "x86-64" };
const ARM64: Arch = Arch { deb: "arm64", rpm: "aarch64", file_machine: "ARM aarch64" };

impl Arch {
    fn binary(&self) -> PathBuf {
        dist().join(self.deb).join("oci-add-hooks")
    }

    fn deb_name(&self) -> String {
        format!("oci-add-hooks_{VERSION}-1_{}.deb", self.deb)
    }

    fn rpm_name(&self) -> String {
        format!("oci-add-hooks-{VERSION}-1.{}.rpm", self.rpm)
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn dist() -> PathBuf {
    repo().join("dist")
}

/// The artifact at `dist/<name>`, or None (test skipped) if it was not
/// built; under CI=true a missing artifact fails.
fn artifact(name: &str) -> Option<PathBuf> {
    let path = dist().join(name);
    if path.exists() {
        return Some(path);
    }
    let msg = format!("{} missing: run `make dist` (make test-packages does)", path.display());
    assert!(!util::ci(), "{msg}");
    eprintln!("not run: {msg}");
    None
}

/// Runs `cmd`, asserts it succeeded, and returns its stdout.
fn ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}): {}{}", out.status, util::stdout(&out), util::stderr(&out));
    util::stdout(&out)
}

fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The files a package should hold: the common ones and `only` its own.
fn expected_files(only: &[&str]) -> Vec<String> {
    sorted(FILES.iter().map(|(p, _)| p.to_string()).chain(only.iter().map(|p| p.to_string())).collect())
}

/// A control field of a .deb.
fn deb_field(deb: &Path, field: &str) -> String {
    ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field)).trim_end().to_owned()
}

#[test]
fn static_binaries_are_within_budget() {
    if !util::require(&["file"]) {
        return;
    }
    for arch in [AMD64, ARM64] {
        let Some(bin) = artifact(&format!("{}/oci-add-hooks", arch.deb)) else { return };
        let size = bin.metadata().unwrap().len();
        eprintln!("{}: {size} bytes ({:.1} KiB)", bin.display(), size as f64 / 1024.0);
        assert!(size <= MAX_BINARY_BYTES, "{}: {size} bytes, over the {MAX_BINARY_BYTES}-byte budget", bin.display());
        let file = ok(Command::new("file").arg("-b").arg(&bin));
        assert!(file.contains("statically linked"), "{}: {file}", bin.display());
        assert!(file.contains(arch.file_machine), "{}: {file}", bin.display());
        assert!(file.contains("stripped") && !file.contains("not stripped"), "{}: {file}", bin.display());
    }
}

#[test]
fn sha256sums_cover_every_artifact() {
    let Some(sums) = artifact("SHA256SUMS") else { return };
    let text = std::fs::read_to_string(&sums).unwrap();
    let names = sorted(text.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n.to_owned())).collect());
    let want = sorted(
        [AMD64, ARM64].iter().flat_map(|a| [format!("{}/oci-add-hooks", a.deb), a.deb_name(), a.rpm_name()]).collect(),
    );
    assert_eq!(names, want);
    ok(Command::new("sha256sum").arg("--check").arg("--strict").arg("SHA256SUMS").current_dir(dist()));
}

#[test]
fn deb_packages_have_their_metadata_files_and_conffile() {
    for arch in [AMD64, ARM64] {
        let Some(deb) = artifact(&arch.deb_name()) else { return };
        let info = ok(Command::new("dpkg-deb").arg("-I").arg(&deb));
        for want in ["conffiles", "control", "md5sums", "postinst"] {
            assert!(info.contains(want), "{}: no {want} in\n{info}", deb.display());
        }
        assert_eq!(deb_field(&deb, "Package"), "oci-add-hooks");
        assert_eq!(deb_field(&deb, "Version"), format!("{VERSION}-1"));
        assert_eq!(deb_field(&deb, "Architecture"), arch.deb);
        assert_eq!(deb_field(&deb, "Recommends"), "runc");
        // A static binary depends on nothing, and an empty field is an error.
        assert!(!ok(Command::new("dpkg-deb").arg("-f").arg(&deb)).contains("Depends:"), "{}", deb.display());

        // dpkg-deb -c: `-rwxr-xr-x root/root 583136 2026-01-01 00:00 ./usr/bin/oci-add-hooks`
        let listing = ok(Command::new("dpkg-deb").arg("-c").arg(&deb));
        let mut files = Vec::new();
        for line in listing.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (perms, owner, path) = (fields[0], fields[1], fields[5].trim_start_matches('.'));
            assert_eq!(owner, "root/root", "{line}");
            if perms.starts_with('-') {
                let want = FILES.iter().find(|(p, _)| *p == path).map_or(0o644, |(_, m)| *m);
                assert_eq!(perms, mode_string(want), "{line}");
                files.push(path.to_owned());
            }
        }
        assert_eq!(sorted(files), expected_files(DEB_ONLY), "{}", deb.display());

        let ctrl = TempDir::new("deb-control");
        ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(ctrl.join("DEBIAN")));
        assert_eq!(std::fs::read_to_string(ctrl.join("DEBIAN/conffiles")).unwrap(), format!("{CONFFILE}\n"));
        // md5sums covers every file, and matches what is in the package.
        let root = TempDir::new("deb-root");
        ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
        let md5sums = std::fs::read_to_string(ctrl.join("DEBIAN/md5sums")).unwrap();
        let summed: Vec<String> = md5sums.lines().map(|l| format!("/{}", &l[34..])).collect();
        assert_eq!(sorted(summed), expected_files(DEB_ONLY));
        ok(Command::new("md5sum")
            .arg("--check")
            .arg("--strict")
            .arg(ctrl.join("DEBIAN/md5sums"))
            .current_dir(root.path()));
        // The package never touches Docker's configuration: outside its
        // comments, postinst does not even name it.
        let postinst = std::fs::read_to_string(ctrl.join("DEBIAN/postinst")).unwrap();
        let code: Vec<&str> = postinst.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
        assert!(!code.iter().any(|l| l.contains("docker") || l.contains("daemon.json")), "{postinst}");
    }
}

/// `ls -l` style permissions of a regular file.
fn mode_string(mode: u32) -> String {
    let mut s = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

#[test]
fn rpm_packages_have_their_metadata_files_config_and_docs() {
    if !util::require(&["rpm"]) {
        return;
    }
    for arch in [AMD64, ARM64] {
        let Some(rpm) = artifact(&arch.rpm_name()) else { return };
        let info = ok(Command::new("rpm").arg("-qip").arg(&rpm));
        for want in [
            "Name        : oci-add-hooks".to_owned(),
            format!("Version     : {VERSION}"),
            "Release     : 1".to_owned(),
            format!("Architecture: {}", arch.rpm),
            "License     : Apache-2.0".to_owned(),
        ] {
            assert!(info.lines().any(|l| l == want), "{}: no {want:?} in\n{info}", rpm.display());
        }
        let query = |args: &[&str]| ok(Command::new("rpm").arg("-qp").args(args).arg(&rpm));
        let files = sorted(query(&["--list"]).lines().map(str::to_owned).collect());
        let mut want = expected_files(RPM_ONLY);
        want.extend(RPM_DIRS.iter().map(|d| d.to_string()));
        assert_eq!(files, sorted(want), "{}", rpm.display());
        let modes = query(&["--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME}\\n]"]);
        for dir in RPM_DIRS {
            assert!(modes.lines().any(|l| l == format!("{dir} drwxr-xr-x root:root")), "{dir}: {modes}");
        }
        assert_eq!(query(&["--configfiles"]), format!("{CONFFILE}\n"));
        // config(noreplace): %{FILEFLAGS} has RPMFILE_CONFIG (1) and RPMFILE_NOREPLACE (16).
        let flags = query(&["--qf", "[%{FILENAMES} %{FILEFLAGS}\\n]"]);
        let readme_flags: u32 = flags
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{CONFFILE} ")))
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("{CONFFILE} not in\n{flags}"));
        assert_eq!(readme_flags & (1 | 16), 1 | 16, "{CONFFILE} flags {readme_flags}");
        let docs = sorted(query(&["--docfiles"]).lines().map(str::to_owned).collect());
        assert_eq!(
            docs,
            sorted(
                FILES
                    .iter()
                    .map(|(p, _)| p.to_string())
                    .filter(|p| p.starts_with("/usr/share/"))
                    .chain(RPM_ONLY.iter().map(|p| p.to_string()))
                    .collect()
            )
        );
        assert_eq!(query(&["--recommends"]), "runc\n");
        assert!(query(&["--scripts"]).contains(INSTALL_HINT.trim()), "{}", rpm.display());
        assert_eq!(query(&["--qf", "%{ARCH}"]), arch.rpm);
    }
}

#[test]
fn lintian_is_clean_apart_from_justified_overrides() {
    if !util::require(&["lintian"]) {
        return;
    }
    let debs: Vec<PathBuf> = [AMD64, ARM64].iter().filter_map(|a| artifact(&a.deb_name())).collect();
    if debs.len() < 2 {
        return;
    }
    let out = output(
        Command::new("lintian").args(["--fail-on", "error,warning", "--display-level", ">=warning"]).args(&debs),
    );
    let report = util::stdout(&out);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "lintian ({}):\n{report}{}",
        out.status,
        util::stderr(&out)
    );

    // Each override says why, in a comment just above it.
    let overrides = std::fs::read_to_string(repo().join("packaging/debian/lintian-overrides")).unwrap();
    let mut previous = "";
    for line in overrides.lines() {
        if !line.is_empty() && !line.starts_with('#') {
            assert!(previous.starts_with('#'), "override without a comment saying why: {line}");
        }
        previous = line;
    }
}

#[test]
fn deb_installs_runs_a_container_keeps_conffile_edits_and_removes_cleanly() {
    if !util::require(&["dpkg", "runc"]) {
        return;
    }
    let Some(deb) = artifact(&AMD64.deb_name()) else { return };
    let _cleanup = Purge;
    // Left installed by an earlier run that was interrupted.
    if installed_status().is_some() {
        ok(Command::new("dpkg").args(["--purge", "oci-add-hooks"]));
    }

    let out = ok(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(out.contains(INSTALL_HINT), "postinst did not print the install command:\n{out}");
    assert_eq!(installed_status().as_deref(), Some("install ok installed"));
    let version = ok(Command::new("/usr/bin/oci-add-hooks").arg("--version"));
    assert_eq!(version, format!("{VERSION_LINE}\n"));
    for (path, mode) in FILES {
        let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777, *mode, "{path}");
    }
    // md5sums let dpkg check every installed file.
    assert_eq!(ok(Command::new("dpkg").args(["--verify", "oci-add-hooks"])), "");

    run_container_through_installed_shim();

    // The command postinst prints, run from the packaged binary itself (with
    // --no-docker, --no-containerd and --no-crio: this machine's engines are
    // not the test's), then undone: the package's file is neither rewritten
    // nor removed.
    let engines = ["--no-docker", "--no-containerd", "--no-crio"];
    let said = ok(Command::new("/usr/bin/oci-add-hooks").args(["install", "--bin-dir", "/usr/bin"]).args(engines));
    assert!(said.contains("/usr/bin/oci-add-hooks: already this executable"), "{said}");
    let said = ok(Command::new("/usr/bin/oci-add-hooks").args([
        "uninstall",
        "--bin-dir",
        "/usr/bin",
        "--no-docker",
        "--no-containerd",
    ]));
    assert!(!said.contains("removed /usr/bin/oci-add-hooks"), "{said}");
    assert_eq!(ok(Command::new("dpkg").args(["--verify", "oci-add-hooks"])), "");
    assert!(!Path::new("/etc/oci-add-hooks/installed.json").exists());

    // An operator edits the conffile; a reinstall keeps the edit, quietly.
    let edited = format!("{}# edited by the packages test\n", std::fs::read_to_string(CONFFILE).unwrap());
    std::fs::write(CONFFILE, &edited).unwrap();
    let verify = output(Command::new("dpkg").args(["--verify", "oci-add-hooks"]));
    assert!(util::stdout(&verify).contains(&format!(" c {CONFFILE}")), "dpkg --verify: {}", util::stdout(&verify));
    let out = ok(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(!out.contains(INSTALL_HINT), "postinst printed the install command on a reinstall:\n{out}");
    assert_eq!(std::fs::read_to_string(CONFFILE).unwrap(), edited);

    // Removed: nothing of the package is left but the conffile.
    ok(Command::new("dpkg").args(["--remove", "oci-add-hooks"]));
    assert_eq!(installed_status().as_deref(), Some("deinstall ok config-files"));
    for path in expected_files(DEB_ONLY) {
        if path != CONFFILE {
            assert!(!Path::new(&path).exists(), "{path} left after dpkg --remove");
        }
    }
    assert_eq!(std::fs::read_to_string(CONFFILE).unwrap(), edited);
    assert_eq!(
        ok(Command::new("dpkg").args(["--listfiles", "oci-add-hooks"])),
        format!("/etc\n/etc/oci-add-hooks\n/etc/oci-add-hooks/hooks.d\n{CONFFILE}\n")
    );

    // Purged: the conffile goes too, and the machine is as it was.
    ok(Command::new("dpkg").args(["--purge", "oci-add-hooks"]));
    assert_eq!(installed_status(), None);
    assert!(!Path::new(CONFFILE).exists());
}

/// `dpkg-query`'s Status of the package, if dpkg knows it.
fn installed_status() -> Option<String> {
    let out = output(Command::new("dpkg-query").args(["--show", "--showformat=${Status}", "oci-add-hooks"]));
    let status = util::stdout(&out);
    (out.status.success() && status != "unknown ok not-installed").then_some(status)
}

/// Purges the package if a test stops half-way, so the machine is left as
/// it was found.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(TEST_HOOK_FILE);
        if std::thread::panicking() && installed_status().is_some() {
            let _ = Command::new("dpkg").args(["--purge", "oci-add-hooks"]).status();
        }
    }
}

const TEST_HOOK_FILE: &str = "/etc/oci-add-hooks/hooks.d/50-packages-test.json";

/// A busybox container run by the installed binary with no options at all:
/// hooks from the default directory, runc from PATH. With only the README
/// there, no hook is added; with a hook file, its hooks run around the
/// container's own process.
fn run_container_through_installed_shim() {
    let markers = TempDir::new("pkg-markers");
    let body = format!("echo container >> {}/hooks.log", markers.path().display());
    let run = |id: &str, bundle: &Bundle| {
        ok(Command::new("/usr/bin/oci-add-hooks")
            .env_remove("OCI_ADD_HOOKS_CONFIG")
            .env_remove("OCI_ADD_HOOKS_RUNTIME")
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(format!("oah-pkg-{id}-{}", std::process::id())));
    };

    let bundle = Bundle::busybox(&["sh", "-c", &body], markers.path());
    let before = bundle.config_bytes();
    run("nohooks", &bundle);
    assert_eq!(util::markers(markers.path()), ["container"]);
    assert_eq!(bundle.config_bytes(), before, "config.json written with no hooks configured");

    std::fs::remove_file(markers.join("hooks.log")).unwrap();
    util::hook_file(
        Path::new("/etc/oci-add-hooks/hooks.d"),
        "50-packages-test.json",
        &json!({"hooks": {
            "createRuntime": [util::marker_hook(markers.path(), "createRuntime")],
            "poststop": [util::marker_hook(markers.path(), "poststop")],
        }}),
    );
    let bundle = Bundle::busybox(&["sh", "-c", &body], markers.path());
    run("hooks", &bundle);
    std::fs::remove_file(TEST_HOOK_FILE).unwrap();
    assert_eq!(util::markers(markers.path()), ["createRuntime", "container", "poststop"]);
}

#[test]
fn rpm_installs_into_a_scratch_root_and_keeps_config_edits() {
    if !util::require(&["rpm", "busybox"]) {
        return;
    }
    let Some(rpm) = artifact(&AMD64.rpm_name()) else { return };
    let root = scratch_rpm_root();
    let before = tree(root.path());
    let rpm_in = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.arg("--root").arg(root.path()).args(args);
        cmd
    };

    let out = ok(rpm_in(&["-i", "--nodeps"]).arg(&rpm));
    assert!(out.contains(INSTALL_HINT), "%post did not print the install command:\n{out}");
    assert_eq!(ok(&mut rpm_in(&["-q", "oci-add-hooks"])), format!("oci-add-hooks-{VERSION}-1.x86_64\n"));
    let bin = root.join("usr/bin/oci-add-hooks");
    assert_eq!(ok(Command::new(&bin).arg("--version")), format!("{VERSION_LINE}\n"));
    for (path, mode) in FILES {
        let meta = std::fs::metadata(root.join(&path[1..])).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777, *mode, "{path}");
    }
    // The package owns its directories (it used to create them as the
    // parents of its files only, and `rpm -e` left them).
    for dir in RPM_DIRS {
        assert_eq!(ok(&mut rpm_in(&["-qf", dir])), format!("oci-add-hooks-{VERSION}-1.x86_64\n"), "{dir}");
    }

    // config(noreplace): a reinstall keeps an edit; erasing saves it.
    let conffile = root.join(&CONFFILE[1..]);
    let edited = format!("{}# edited by the packages test\n", std::fs::read_to_string(&conffile).unwrap());
    std::fs::write(&conffile, &edited).unwrap();
    let out = ok(rpm_in(&["-U", "--replacepkgs", "--nodeps"]).arg(&rpm));
    assert!(!out.contains(INSTALL_HINT), "%post printed the install command on a reinstall:\n{out}");
    assert_eq!(std::fs::read_to_string(&conffile).unwrap(), edited);
    ok(&mut rpm_in(&["-e", "oci-add-hooks"]));
    assert!(!bin.exists());
    assert!(!conffile.exists());
    assert_eq!(std::fs::read_to_string(root.join(format!("{}.rpmsave", &CONFFILE[1..]))).unwrap(), edited);
    // Nothing else is left of the package: the saved edit and the
    // directories it is in, and the system directories rpm created as
    // parents (a real system's filesystem package owns those) or for its
    // scriptlets (/var/tmp).
    let mut left: Vec<String> = tree(root.path()).into_iter().filter(|p| !before.contains(p)).collect();
    let db = ok(Command::new("rpm").args(["--eval", "%{_dbpath}"])).trim().to_owned();
    left.retain(|p| !p.starts_with(&db) && !db.starts_with(&format!("{p}/")));
    let system = [
        "/etc",
        "/usr",
        "/usr/bin",
        "/usr/share",
        "/usr/share/doc",
        "/usr/share/licenses",
        "/usr/share/man",
        "/usr/share/man/man1",
        "/var",
        "/var/tmp",
    ];
    left.retain(|p| !system.contains(&p.as_str()));
    assert_eq!(
        left,
        ["/etc/oci-add-hooks", "/etc/oci-add-hooks/hooks.d", "/etc/oci-add-hooks/hooks.d/README.rpmsave"],
        "left behind by rpm -e"
    );
}

/// Every path below `root`, as `/`-rooted paths, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(format!("/{}", p.strip_prefix(root).unwrap().display()));
            if p.symlink_metadata().unwrap().is_dir() {
                walk(&p, root, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    sorted(out)
}

/// An empty root for `rpm --root`, with an rpm database and a static
/// busybox as /bin/sh for the %post scriptlet, which rpm runs chrooted.
fn scratch_rpm_root() -> TempDir {
    let root = TempDir::new("rpm-root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    util::copy_executable(Path::new("/bin/busybox"), &root.join("bin/sh"));
    ok(Command::new("rpm").arg("--root").arg(root.path()).arg("--initdb"));
    root
}

#[test]
fn arm64_packages_are_arm64_and_their_binary_runs_under_qemu() {
    if !util::require(&["qemu-aarch64-static", "rpm", "busybox", "file"]) {
        return;
    }
    let (Some(deb), Some(rpm)) = (artifact(&ARM64.deb_name()), artifact(&ARM64.rpm_name())) else { return };
    assert_eq!(deb_field(&deb, "Architecture"), "arm64");
    assert_eq!(ok(Command::new("rpm").args(["-qp", "--qf", "%{ARCH}"]).arg(&rpm)), "aarch64");

    let from_deb = TempDir::new("deb-arm64");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(from_deb.path()));
    let from_rpm = scratch_rpm_root();
    ok(Command::new("rpm").arg("--root").arg(from_rpm.path()).args(["-i", "--nodeps", "--ignorearch"]).arg(&rpm));
    for bin in [from_deb.join("usr/bin/oci-add-hooks"), from_rpm.join("usr/bin/oci-add-hooks")] {
        let file = ok(Command::new("file").arg("-b").arg(&bin));
        assert!(file.contains("ARM aarch64") && file.contains("statically linked"), "{}: {file}", bin.display());
        assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(ARM64.binary()).unwrap(), "{}", bin.display());
        let out = ok(Command::new("qemu-aarch64-static").arg(&bin).arg("--version"));
        assert_eq!(out, format!("{VERSION_LINE}\n"));
        // It merges a hook and hands over to a (native) runtime.
        let hooks = TempDir::new("arm64-hooks");
        let file = util::hook_file(hooks.path(), "10.json", &json!({"hooks": {"prestart": [{"path": "/bin/true"}]}}));
        let bundle = Bundle::docker();
        let rec = Recorder::new();
        let out = util::create_with(
            Command::new("qemu-aarch64-static").arg(&bin).arg("--hook-config-path").arg(&file),
            &rec,
            &bundle,
        );
        assert!(out.status.success(), "stderr: {}", util::stderr(&out));
        assert!(rec.ran());
        assert_eq!(bundle.config()["hooks"]["prestart"][0], json!({"path": "/bin/true"}));
    }
}

#[test]
fn example_hook_file_is_accepted_and_merged_by_the_shim() {
    let example = repo().join("packaging/hooks.d/example.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    assert!(doc.get("comment").is_some(), "the example explains itself under \"comment\"");
    // As an operator would install it: a copy, mode 0644.
    let hooks = TempDir::new("example");
    let file = hooks.join("50-example.json");
    util::write(&file, std::fs::read(&example).unwrap(), 0o644);
    let bundle = Bundle::docker();
    let rec = Recorder::new();
    let out = util::create_with(util::shim().arg("--hook-config-path").arg(&file), &rec, &bundle);
    assert!(out.status.success(), "stderr: {}", util::stderr(&out));
    let config = bundle.config();
    for stage in ["createRuntime", "poststop"] {
        let want = &doc["hooks"][stage][0];
        assert_eq!(&config["hooks"][stage][0], want, "{stage}");
    }

    // The hook directory as packaged (the README alone) adds nothing.
    let dir = TempDir::new("packaged-hooks.d");
    util::write(&dir.join("README"), std::fs::read(repo().join("packaging/hooks.d/README")).unwrap(), 0o644);
    let bundle = Bundle::docker();
    let out = util::create_with(util::shim().arg("--hook-config-path").arg(dir.path()), &rec, &bundle);
    assert!(out.status.success(), "stderr: {}", util::stderr(&out));
    assert_eq!(bundle.config_bytes(), util::DOCKER_CONFIG.as_bytes());
}

#[test]
fn daemon_json_example_registers_the_packaged_binary() {
    let text = std::fs::read(repo().join("packaging/docker/daemon.json.example")).unwrap();
    let doc: Value = serde_json::from_slice(&text).unwrap();
    let runtime = &doc["runtimes"]["oci-add-hooks"];
    assert_eq!(runtime["path"], "/usr/bin/oci-add-hooks");
    assert!(FILES.iter().any(|(p, _)| *p == "/usr/bin/oci-add-hooks"));
    assert_eq!(runtime["runtimeArgs"], json!(["--runtime-path", "runc"]));
}

/// The Debian changelog is for this version (the man page's is checked in
/// docs.rs, which needs no `make dist`).
#[test]
fn debian_changelog_is_for_this_version() {
    let changelog = std::fs::read_to_string(repo().join("packaging/debian/changelog")).unwrap();
    assert!(
        changelog.starts_with(&format!("oci-add-hooks ({VERSION}-1) ")),
        "packaging/debian/changelog: {}",
        changelog.lines().next().unwrap_or("")
    );
}

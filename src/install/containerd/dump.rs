//! The check by containerd itself: the host's own `containerd config
//! dump` of a configuration, before and after install's change, and the
//! rule the two dumps must keep (the same, plus or minus the one runtime).
//!
//! Owns finding the host's containerd binary, running it below the host
//! root (chrooted, from `/`, as its service runs, so that imports resolve
//! as containerd resolves them) on a scratch copy beside config.toml, and
//! comparing dumps. It must never write config.toml itself, nor start,
//! signal or stop containerd (that is `daemon`'s), and a binary that
//! cannot be run here skips the check, saying so, rather than guess.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::super::host::Host;
use super::block::{self, Want};
use super::config::{self, key_text, quoted};

/// The program containerd is.
const PROGRAM: &str = "containerd";

/// Why the check could not be made.
#[derive(Debug)]
pub(crate) enum DumpError {
    Binary {
        path: PathBuf,
        why: String,
    },
    /// `config dump` failed; its last line on stderr.
    Check {
        binary: String,
        config: String,
        line: String,
    },
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::Binary { path, why } => write!(f, "{}: {why}", path.display()),
            DumpError::Check { binary, config, line } => {
                write!(f, "`{binary} --config {config} config dump` fails: {line}")
            }
        }
    }
}

impl std::error::Error for DumpError {}

/// The host's containerd binary (a host path): `given`, else the first of
/// the usual places; `None` if there is none.
pub(crate) fn find_binary(host: &Host, given: Option<&str>) -> Result<Option<String>, DumpError> {
    let Some(given) = given else { return Ok(host.program(PROGRAM)) };
    if !host.file(given, true).is_ok_and(|f| f.is_file()) {
        let path = host.file(given, false).map_or_else(|_| host.shown(given), |f| f.here().to_owned());
        return Err(DumpError::Binary { path, why: "--containerd-bin: no such file".into() });
    }
    Ok(Some(given.to_owned()))
}

/// What `config dump` made of a file.
#[derive(Debug)]
pub(crate) enum Dump {
    Text(String),
    /// The binary could not be run here, and why (a host root without its
    /// loader and libraries, as a test's).
    Skipped(String),
}

/// Runs the host's `binary --config CONFIG config dump` (`config default`
/// when `config` is `None`: what containerd runs on without a file), in
/// the host root: chrooted when it is not `/`, from `/` as its service
/// runs, so that imports resolve as containerd resolves them.
pub(crate) fn config_dump(root: &Path, binary: &str, config: Option<&str>) -> Result<Dump, DumpError> {
    let mut cmd = Command::new(binary);
    match config {
        Some(c) => cmd.arg("--config").arg(c).args(["config", "dump"]),
        None => cmd.args(["config", "default"]),
    };
    cmd.stdin(Stdio::null()).env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if root == Path::new("/") {
        cmd.current_dir("/");
    } else {
        let dir = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| DumpError::Binary { path: root.to_owned(), why: "has a NUL byte".into() })?;
        // SAFETY: runs in the child between fork and exec; chroot and chdir
        // are plain syscalls (async-signal-safe), on a string made before
        // the fork, and nothing is allocated.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::chroot(dir.as_c_str())?;
                rustix::process::chdir(c"/")?;
                Ok(())
            });
        }
    }
    let shown = root.join(binary.trim_start_matches('/'));
    let out = match cmd.output() {
        Ok(o) => o,
        // The binary or its loader is not there (a dynamic binary under a
        // root without /lib), or it is not for this machine.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOEXEC) => {
            return Ok(Dump::Skipped(format!("cannot run {}: {e}", shown.display())))
        }
        Err(e) => {
            let why = match e.kind() {
                io::ErrorKind::PermissionDenied => {
                    format!("cannot run it chrooted to the host root: {e} (the installer needs CAP_SYS_CHROOT)")
                }
                _ => format!("cannot run it: {e}"),
            };
            return Err(DumpError::Binary { path: shown, why });
        }
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(no message)");
        return Err(DumpError::Check {
            binary: binary.to_owned(),
            config: config.unwrap_or("(none)").to_owned(),
            line: format!("{} ({})", line.trim(), out.status),
        });
    }
    String::from_utf8(out.stdout)
        .map(Dump::Text)
        .map_err(|_| DumpError::Binary { path: shown, why: "config dump printed something that is not UTF-8".into() })
}

/// Checks that `after` (a `config dump`) is `before` plus runtime
/// `runtime`'s tables and nothing else: every other line the same, in the
/// same order, the `imports` line aside (it names the files dumped). With
/// `binary`, the runtime must be there and run it.
pub(crate) fn dump_adds_only(before: &str, after: &str, runtime: &str, binary: Option<&str>) -> Result<(), String> {
    let (b, _) = without_runtime(before, runtime);
    let (a, section) = without_runtime(after, runtime);
    if let Some(binary) = binary {
        let shows = |s: &[(usize, &str)]| {
            s.iter().any(|(_, l)| {
                let l = l.trim();
                l == format!("BinaryName = {}", quoted(binary)) || l == format!("BinaryName = '{binary}'")
            })
        };
        match section {
            None => return Err(format!("runtime {runtime} is not in it: containerd did not read the new table")),
            Some(s) if !shows(&s) => {
                return Err(format!("runtime {runtime} does not have BinaryName {binary:?} in it"))
            }
            Some(_) => {}
        }
    }
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (b.get(i), a.get(i));
        if x.map(|l| l.1) != y.map(|l| l.1) {
            let show =
                |l: Option<&(usize, &str)>| l.map_or("(end)".to_owned(), |(n, t)| format!("line {n}: {:?}", t.trim()));
            return Err(format!("it differs from before elsewhere: before, {}; after, {}", show(x), show(y)));
        }
    }
    Ok(())
}

/// Whether the dump `text` has runtime `runtime`.
pub(crate) fn has_runtime(text: &str, runtime: &str) -> bool {
    without_runtime(text, runtime).1.is_some()
}

/// Checks that runtime `want.runtime` in the dump `after` is runtime
/// `default` of the dump `before` with the shim's changes
/// (`config::for_shim`), every key and table of it: the new handler
/// behaves as the default one does but for the shim.
pub(crate) fn runtime_is_copy(before: &str, after: &str, default: &str, want: &Want) -> Result<(), String> {
    let unreadable = |e: config::ConfigError| format!("it is not TOML that can be read: {e}");
    let (before, after) = (config::parse(before).map_err(unreadable)?, config::parse(after).map_err(unreadable)?);
    let table = |c: &config::Config, name: &str| c.runtime(name).map_err(|e| e.to_string());
    let (Some(original), Some(copy)) = (table(&before, default)?, table(&after, want.runtime)?) else {
        return Err(format!("runtime {default} or {} is not in it", want.runtime));
    };
    match block::for_shim(&original, want).differs(&copy) {
        None => Ok(()),
        Some(why) => {
            Err(format!("runtime {} is not runtime {default} with the shim as its BinaryName: {why}", want.runtime))
        }
    }
}

/// A dump's lines (numbered from 1) without the top-level `imports` line
/// and without runtime `runtime`'s tables, and those tables' lines.
#[allow(clippy::type_complexity)]
fn without_runtime<'a>(dump: &'a str, runtime: &str) -> (Vec<(usize, &'a str)>, Option<Vec<(usize, &'a str)>>) {
    let names = [key_text(runtime), quoted(runtime), format!("'{runtime}'")];
    let is_header = |l: &str| l.starts_with('[');
    let path = |l: &str| l.trim_start_matches('[').trim_end_matches(']').to_owned();
    let ours = |l: &str| names.iter().any(|n| path(l).ends_with(&format!(".containerd.runtimes.{n}")));
    let mut kept = Vec::new();
    let mut section: Option<Vec<(usize, &str)>> = None;
    let mut inside: Option<String> = None;
    let mut seen_header = false;
    for (i, line) in dump.lines().enumerate() {
        let t = line.trim();
        if is_header(t) {
            seen_header = true;
            inside = match &inside {
                Some(p) if path(t).starts_with(&format!("{p}.")) => inside,
                _ if ours(t) => Some(path(t)),
                _ => None,
            };
        } else if !seen_header && t.starts_with("imports =") {
            continue;
        }
        match inside {
            Some(_) => section.get_or_insert_with(Vec::new).push((i + 1, line)),
            None => kept.push((i + 1, line)),
        }
    }
    (kept, section)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/", $name))
        };
    }

    const BIN: &str = "/usr/local/bin/oci-add-hooks";

    #[test]
    fn no_binary_under_a_root_is_none_and_a_given_one_must_exist() {
        let root = std::env::temp_dir().join(format!("oah-ctrd-bin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        let host = Host::open(root.clone()).unwrap();
        assert_eq!(find_binary(&host, None).unwrap(), None);
        assert_eq!(
            find_binary(&host, Some("/opt/containerd")).unwrap_err().to_string(),
            format!("{}/opt/containerd: --containerd-bin: no such file", root.display())
        );
        std::fs::write(root.join("usr/bin/containerd"), "").unwrap();
        assert_eq!(find_binary(&host, None).unwrap().as_deref(), Some("/usr/bin/containerd"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_dump_may_gain_the_runtime_and_nothing_else() {
        let before = fixture!("1.6.20/debian.dump");
        // Debian's file plus runc as built in plus the runtime.
        let after = fixture!("1.6.20/debian.after.dump");
        dump_adds_only(before, after, "oci-add-hooks", Some(BIN)).unwrap();
        // Plus the runtime alone: runc's table goes (FINDINGS 1b).
        let e = dump_adds_only(before, fixture!("1.6.20/runtime-only.dump"), "oci-add-hooks", Some(BIN)).unwrap_err();
        assert!(e.starts_with("it differs from before elsewhere: before, line 102: \"[plugins.\\\"io.containerd.grpc.v1.cri\\\".containerd.runtimes.runc]\""), "{e}");
        assert_eq!(
            dump_adds_only(before, before, "oci-add-hooks", Some(BIN)).unwrap_err(),
            "runtime oci-add-hooks is not in it: containerd did not read the new table"
        );
        assert_eq!(
            dump_adds_only(before, after, "oci-add-hooks", Some("/other")).unwrap_err(),
            "runtime oci-add-hooks does not have BinaryName \"/other\" in it"
        );
        // Uninstall's direction: the same rule, read the other way.
        dump_adds_only(before, after, "oci-add-hooks", None).unwrap();
        dump_adds_only(before, before, "oci-add-hooks", None).unwrap();
        // The imports line names the file dumped: not a difference.
        let moved = before.replace("/tmp/oah-fixtures/config.toml", "/etc/containerd/.config.toml.tmp");
        dump_adds_only(before, &moved, "oci-add-hooks", None).unwrap();
        let e = dump_adds_only(before, &moved.replace("/usr/lib/cni", "/opt/cni/bin"), "x", None).unwrap_err();
        assert!(e.contains("before, line 72: \"bin_dir = \\\"/usr/lib/cni\\\"\"; after, line 72:"), "{e}");
    }

    /// What each release made of the files with install's block: the
    /// dump as before plus the runtime, and the runtime runc's table with
    /// the shim (record.sh dumped the golden blocks).
    #[test]
    fn each_release_dumps_the_block_as_runc_plus_the_shim() {
        macro_rules! case {
            ($release:literal, $shape:literal) => {
                (
                    concat!($release, " ", $shape),
                    include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/tests/fixtures/containerd/",
                        $release,
                        "/",
                        $shape,
                        ".dump"
                    )),
                    include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/tests/fixtures/containerd/",
                        $release,
                        "/",
                        $shape,
                        ".after.dump"
                    )),
                )
            };
        }
        let pods = ["example.com/*".to_owned(), "other.org/gpu".to_owned()];
        let cases = [
            (case!("1.6.20", "debian"), &[][..]),
            (case!("1.6.20", "kubeadm"), &pods[..]),
            (case!("1.6.20", "default"), &pods[..]),
            (case!("1.6.20", "v1"), &[][..]),
            (case!("1.7.24", "debian"), &[][..]),
            (case!("1.7.24", "kubeadm"), &pods[..]),
            (case!("1.7.24", "default"), &pods[..]),
            (case!("1.7.24", "v1"), &[][..]),
            (case!("2.1.9", "debian"), &[][..]),
        ];
        for ((name, before, after), pod_annotations) in cases {
            let want = Want { runtime: "oci-add-hooks", binary: BIN, pod_annotations };
            dump_adds_only(before, after, "oci-add-hooks", Some(BIN)).unwrap_or_else(|e| panic!("{name}: {e}"));
            runtime_is_copy(before, after, "runc", &want).unwrap_or_else(|e| panic!("{name}: {e}"));
            // Not the annotations given: named.
            let other = Want { pod_annotations: &["x/*".to_owned()], ..want };
            let e = runtime_is_copy(before, after, "runc", &other).unwrap_err();
            assert!(
                e.starts_with(
                    "runtime oci-add-hooks is not runtime runc with the shim as its BinaryName: pod_annotations"
                ),
                "{name}: {e}"
            );
        }
        // 2.1.9 and a version 1 file: the runtime never reaches it.
        let (before, after) = (fixture!("2.1.9/v1.dump"), fixture!("2.1.9/v1.after.dump"));
        assert!(!has_runtime(after, "oci-add-hooks") && has_runtime(after, "runc"));
        assert!(dump_adds_only(before, after, "oci-add-hooks", Some(BIN))
            .unwrap_err()
            .starts_with("runtime oci-add-hooks is not in it"));
    }
}

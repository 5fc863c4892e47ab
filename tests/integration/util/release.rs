//! The containerd releases the node and CRI tests run against: the
//! machine's own (Debian 12's 1.6.20, on PATH) and those `make deps`
//! fetches with tests/releases/fetch.sh (trixie's 1.7.24 and sid's 2.1.9,
//! unpacked into `$OCI_ADD_HOOKS_RELEASES`, by default
//! `$HOME/.cache/oci-add-hooks/containerd`). Only the tests use this file.
//!
//! A test written once with `on_each_release!` becomes one test per
//! release, named after it (`NAME_on_1_6_20`, `NAME_on_1_7_24`,
//! `NAME_on_2_1_9`), so that a failure names the containerd. A release
//! that is not there skips its test with a message, and fails it under
//! `CI=true`. This module must never install a release or run one over
//! the machine's own paths: the node (node.rs) binds its binaries over
//! `/usr/bin` inside its private mount namespace only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::basics::{ci, which};
use super::dockerd::stderr;

/// The machine's own containerd (on PATH), Debian 12's.
const MACHINES: &str = "1.6.20";

/// The programs of a release a node runs: the daemon, its client, and the
/// runc shim it starts for every task.
pub const BINARIES: [&str; 3] = ["containerd", "ctr", "containerd-shim-runc-v2"];

/// One containerd release, found on this machine.
#[derive(Debug, Clone)]
pub struct Release {
    /// As containerd says it (`1.7.24`).
    pub version: &'static str,
    /// The directory of its `BINARIES`.
    pub bin_dir: PathBuf,
}

/// For `fn NAME(release: &Release)`, one test per release, `NAME_on_1_6_20`,
/// `NAME_on_1_7_24` and `NAME_on_2_1_9`, each calling it with that release
/// (see `on_release`). The function is written as any other, so that
/// rustfmt and clippy see it whole.
macro_rules! on_each_release {
    ($name:ident) => {
        paste::paste! {
            #[test]
            fn [<$name _on_1_6_20>]() {
                $crate::util::on_release("1.6.20", $name)
            }
            #[test]
            fn [<$name _on_1_7_24>]() {
                $crate::util::on_release("1.7.24", $name)
            }
            #[test]
            fn [<$name _on_2_1_9>]() {
                $crate::util::on_release("2.1.9", $name)
            }
        }
    };
}

/// Runs `test` with release `version` if it is on this machine; see
/// `Release::find`.
pub fn on_release(version: &'static str, test: fn(&Release)) {
    if let Some(release) = Release::find(version) {
        test(&release);
    }
}

/// Where `make deps` unpacks the fetched releases (tests/releases/fetch.sh
/// takes the same).
pub fn releases_dir() -> PathBuf {
    match std::env::var_os("OCI_ADD_HOOKS_RELEASES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(&std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/oci-add-hooks/containerd"),
    }
}

impl Release {
    /// Release `version`: the machine's own if that is it, else the one
    /// `make deps` unpacked; its `containerd --version` must say it. None
    /// (with a message) when it is not there; under CI=true that fails.
    pub fn find(version: &'static str) -> Option<Release> {
        let bin_dir = match version {
            MACHINES => which("containerd").and_then(|c| c.parent().map(Path::to_owned)),
            _ => Some(releases_dir().join(version).join("usr/bin")),
        };
        let missing = |why: String| {
            let msg = format!("containerd {version}: {why}: run `make deps` (tests/releases/fetch.sh)");
            assert!(!ci(), "{msg}");
            eprintln!("not run: {msg}");
            None
        };
        let Some(bin_dir) = bin_dir else { return missing("no containerd on PATH".into()) };
        if let Some(b) = BINARIES.iter().map(|b| bin_dir.join(b)).find(|b| !b.is_file()) {
            return missing(format!("no {}", b.display()));
        }
        let out = Command::new(bin_dir.join("containerd")).arg("--version").stdin(Stdio::null()).output();
        let said = out.as_ref().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        // `containerd github.com/containerd/containerd 1.6.20~ds1 ` (Debian
        // keeps its revision on the version).
        let ours =
            said.split_whitespace().any(|w| w.trim_start_matches('v').split(['~', '+', '-']).next() == Some(version));
        if !ours {
            return missing(format!("{} --version says {said:?}", bin_dir.join("containerd").display()));
        }
        Some(Release { version, bin_dir })
    }

    /// One of its `BINARIES`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// Whether it is the machine's own, at the path the node runs it from.
    pub fn is_machines(&self) -> bool {
        self.bin_dir == Path::new("/usr/bin")
    }

    /// Its major version: 1, or 2 (config version 3, its plugins renamed).
    pub fn major(&self) -> u32 {
        self.version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }

    /// `containerd config default`, as kubeadm's set-up guide has it
    /// written to `/etc/containerd/config.toml`.
    pub fn default_config(&self) -> String {
        let out =
            Command::new(self.bin("containerd")).args(["config", "default"]).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "containerd {} config default: {}", self.version, stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A kubeadm node's config: `config default` with runc's
    /// `SystemdCgroup = true` (kubeadm's default cgroup driver since 1.22).
    /// Pods cannot run with it here (runc's systemd driver needs systemd);
    /// for those, `default_config()` is the cgroupfs driver's config.
    pub fn kubeadm_config(&self) -> String {
        let config = self.default_config();
        assert_eq!(config.matches("SystemdCgroup = false").count(), 1, "runc's options in:\n{config}");
        config.replace("SystemdCgroup = false", "SystemdCgroup = true")
    }

    /// The table header of runtime `name` of the CRI plugin as this
    /// release's `config dump` writes it.
    pub fn runtime_header(&self, name: &str) -> String {
        match self.major() {
            1 => format!("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{name}]"),
            _ => format!("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.{name}]"),
        }
    }
}

//! The command line of `oci-add-hooks install` and `uninstall`.
//!
//! Owns the options, their defaults, their checks and the help text. Pure:
//! it never looks at the host. Options are recognised anywhere after the
//! subcommand, as `--opt VALUE` or `--opt=VALUE` (the `=` form is split here
//! first, since pico-args reads `=` only from UTF-8 arguments). Paths that
//! end up in `daemon.json`, containerd's configuration or the install record
//! must be UTF-8 (they are JSON and TOML strings); the rest stay `OsString`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::args::{Action, PROGRAM};
use crate::hook_files::DEFAULT_ROOT;
use crate::runtime::DEFAULT_RUNTIME;

/// `--help`: the options, each with its default.
pub(crate) const HELP: &str = include_str!("help.txt");

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) help: bool,
    pub(crate) host_root: PathBuf,
    pub(crate) bin_dir: String,
    pub(crate) config_dir: String,
    pub(crate) hooks: Vec<PathBuf>,
    pub(crate) runtime_path: String,
    pub(crate) runtime_name: String,
    pub(crate) wait: bool,
    /// `--force`: an edited block of install's is replaced, not refused.
    pub(crate) force: bool,
    pub(crate) docker: DockerOptions,
    pub(crate) containerd: ContainerdOptions,
    pub(crate) crio: CrioOptions,
}

/// The Docker step's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DockerOptions {
    /// false with `--no-docker`; else when Docker is set up here.
    pub(crate) enabled: bool,
    pub(crate) config: String,
    pub(crate) pidfile: String,
    /// Given: this one; `None`: found from dockerd (`dockerd::api_socket`).
    pub(crate) socket: Option<String>,
    pub(crate) reload: bool,
    pub(crate) set_default: bool,
}

/// The containerd step's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContainerdOptions {
    /// `--containerd` (`Some(true)`), `--no-containerd` (`Some(false)`), or
    /// neither: when containerd's config file or socket exists.
    pub(crate) enabled: Option<bool>,
    pub(crate) config: String,
    pub(crate) socket: String,
    pub(crate) bin: Option<String>,
    pub(crate) restart: Restart,
    pub(crate) timeout: u64,
    pub(crate) pod_annotations: Vec<String>,
}

/// The CRI-O step's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CrioOptions {
    /// Some(true) with `--crio` or `--crio-hooks-dir`, Some(false) with
    /// `--no-crio`, None: if CRI-O is there.
    pub(crate) enabled: Option<bool>,
    pub(crate) hooks_dir: Option<String>,
}

/// How containerd is made to load its new configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Restart {
    /// SIGTERM, then wait for its supervisor to start it again.
    Signal,
    /// Nothing: say what to run.
    None,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            help: false,
            host_root: PathBuf::from("/"),
            bin_dir: "/usr/local/bin".into(),
            config_dir: DEFAULT_ROOT.into(),
            hooks: Vec::new(),
            runtime_path: DEFAULT_RUNTIME.into(),
            runtime_name: "oci-add-hooks".into(),
            wait: false,
            force: false,
            docker: DockerOptions {
                enabled: true,
                config: "/etc/docker/daemon.json".into(),
                pidfile: "/var/run/docker.pid".into(),
                socket: None,
                reload: true,
                set_default: false,
            },
            containerd: ContainerdOptions {
                enabled: None,
                config: "/etc/containerd/config.toml".into(),
                socket: "/run/containerd/containerd.sock".into(),
                bin: None,
                restart: Restart::Signal,
                timeout: 60,
                pod_annotations: Vec::new(),
            },
            crio: CrioOptions { enabled: None, hooks_dir: None },
        }
    }
}

impl Options {
    pub(crate) fn binary(&self) -> String {
        format!("{}/{}", self.bin_dir.trim_end_matches('/'), PROGRAM)
    }

    pub(crate) fn hooks_dir(&self) -> String {
        format!("{}/hooks.d", self.config_dir.trim_end_matches('/'))
    }

    pub(crate) fn record(&self) -> String {
        format!("{}/{}", self.config_dir.trim_end_matches('/'), super::record::FILE_NAME)
    }
}

const VALUE_OPTIONS: [&str; 16] = [
    "--host-root",
    "--bin-dir",
    "--config-dir",
    "--hooks",
    "--runtime-path",
    "--runtime-name",
    "--docker-config",
    "--docker-pidfile",
    "--docker-socket",
    "--containerd-config-file",
    "--containerd-socket",
    "--containerd-bin",
    "--containerd-restart",
    "--containerd-timeout",
    "--pod-annotations",
    "--crio-hooks-dir",
];
const FLAGS: [&str; 11] = [
    "--set-default",
    "--force",
    "--no-docker",
    "--no-reload",
    "--containerd",
    "--no-containerd",
    "--crio",
    "--no-crio",
    "--wait",
    "--help",
    "-h",
];
/// Uninstall removes what the record names, wherever install put it.
const INSTALL_ONLY: [&str; 7] =
    ["--hooks", "--set-default", "--force", "--pod-annotations", "--crio", "--no-crio", "--crio-hooks-dir"];

/// Parses the arguments after `install` or `uninstall`. The error is one
/// line naming the option and why.
pub(crate) fn parse(action: Action, args: Vec<OsString>) -> Result<Options, String> {
    let mut split = Vec::with_capacity(args.len());
    for arg in args {
        let bytes = arg.as_bytes();
        let eq = bytes.iter().position(|&b| b == b'=');
        match eq.map(|i| (&bytes[..i], &bytes[i + 1..])) {
            Some((name, value)) if bytes.starts_with(b"--") => {
                let name = String::from_utf8_lossy(name).into_owned();
                if !VALUE_OPTIONS.contains(&name.as_str()) {
                    return Err(format!("{name}: not an option that takes a value"));
                }
                split.push(OsString::from(name));
                split.push(OsStr::from_bytes(value).to_owned());
            }
            _ => split.push(arg),
        }
    }
    for arg in &split {
        if let Some(opt) = INSTALL_ONLY.iter().find(|o| arg.as_bytes() == o.as_bytes()) {
            if action == Action::Uninstall {
                return Err(format!("{opt}: an install option (uninstall removes what install recorded)"));
            }
        }
    }

    let mut p = pico_args::Arguments::from_vec(split);
    let d = Options::default();
    let flag = |p: &mut pico_args::Arguments, name: &'static str| p.contains(name);
    let mut o =
        Options { help: flag(&mut p, "--help") | flag(&mut p, "-h"), wait: flag(&mut p, "--wait"), ..d.clone() };
    o.docker.set_default = flag(&mut p, "--set-default");
    o.force = flag(&mut p, "--force");
    o.docker.enabled = !flag(&mut p, "--no-docker");
    o.docker.reload = !flag(&mut p, "--no-reload");
    o.crio.enabled = match (flag(&mut p, "--crio"), flag(&mut p, "--no-crio")) {
        (true, true) => return Err("--crio, --no-crio: give one or the other".into()),
        (true, false) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    o.containerd.enabled = match (flag(&mut p, "--containerd"), flag(&mut p, "--no-containerd")) {
        (true, true) => return Err("--containerd and --no-containerd: give one or the other".into()),
        (force, skip) => (force || skip).then_some(force),
    };
    if o.help {
        return Ok(o);
    }
    o.host_root = value(&mut p, "--host-root")?.map_or(d.host_root, PathBuf::from);
    if !o.host_root.is_absolute() {
        return Err("--host-root: must be an absolute path".into());
    }
    o.hooks = p
        .values_from_os_str("--hooks", owned)
        .map_err(|e| pico(e, "--hooks"))?
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if o.hooks.iter().any(|h| h.as_os_str().is_empty()) {
        return Err("--hooks: value must not be empty".into());
    }
    for (field, name) in [
        (&mut o.bin_dir, "--bin-dir"),
        (&mut o.config_dir, "--config-dir"),
        (&mut o.docker.config, "--docker-config"),
        (&mut o.docker.pidfile, "--docker-pidfile"),
        (&mut o.containerd.config, "--containerd-config-file"),
        (&mut o.containerd.socket, "--containerd-socket"),
    ] {
        if let Some(v) = utf8_value(&mut p, name)? {
            *field = host_path(name, v)?;
        }
    }
    if let Some(v) = utf8_value(&mut p, "--docker-socket")? {
        o.docker.socket = Some(host_path("--docker-socket", v)?);
    }
    containerd_options(&mut p, &mut o.containerd)?;
    if let Some(v) = utf8_value(&mut p, "--crio-hooks-dir")? {
        if o.crio.enabled == Some(false) {
            return Err("--crio-hooks-dir: names where --no-crio puts nothing".into());
        }
        if v.trim_end_matches('/').is_empty() {
            return Err(format!("--crio-hooks-dir: {v:?}: must be a directory below /"));
        }
        o.crio.hooks_dir = Some(host_path("--crio-hooks-dir", v)?);
        o.crio.enabled = Some(true);
    }
    if let Some(v) = utf8_value(&mut p, "--runtime-path")? {
        o.runtime_path = v;
    }
    if let Some(v) = utf8_value(&mut p, "--runtime-name")? {
        let ok = v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            return Err(format!(
                "--runtime-name: {v:?}: must start with a letter or digit and hold only letters, \
                 digits, '.', '_' and '-'"
            ));
        }
        o.runtime_name = v;
    }
    if let Some(left) = p.finish().into_iter().next() {
        let known = VALUE_OPTIONS.iter().chain(&FLAGS).any(|o| left.as_bytes() == o.as_bytes());
        return Err(if known {
            format!("{}: given more than once", left.to_string_lossy())
        } else {
            format!("unexpected argument {:?}", left.to_string_lossy())
        });
    }
    Ok(o)
}

/// The containerd step's options that are not plain host paths.
fn containerd_options(p: &mut pico_args::Arguments, o: &mut ContainerdOptions) -> Result<(), String> {
    if let Some(v) = utf8_value(p, "--containerd-bin")? {
        o.bin = Some(host_path("--containerd-bin", v)?);
    }
    o.restart = match utf8_value(p, "--containerd-restart")?.as_deref() {
        None | Some("signal") => Restart::Signal,
        Some("none") => Restart::None,
        Some(v) => return Err(format!("--containerd-restart: {v:?}: must be signal or none")),
    };
    if let Some(v) = utf8_value(p, "--containerd-timeout")? {
        o.timeout = v
            .parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(|| format!("--containerd-timeout: {v:?}: must be a whole number of seconds, 1 to 3600"))?;
    }
    // Each value may be a comma-separated list (annotation keys hold no
    // comma), so that the DaemonSet passes one ConfigMap key through an
    // environment variable; an empty one (an empty key) means none.
    let values: Vec<String> = p.values_from_str("--pod-annotations").map_err(|e| pico(e, "--pod-annotations"))?;
    for v in values {
        if v.contains("$(") {
            return Err(format!(
                "--pod-annotations: {v:?}: a Kubernetes variable reference that was not expanded \
                 (is the ConfigMap key missing?)"
            ));
        }
        for pattern in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // The characters of annotation keys (DNS-name prefix, '/',
            // name) and of the glob containerd matches them with (Go's
            // filepath.Match: `pkg/cri/util`'s FilterAnnotations).
            if !pattern.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/*?[]!^".contains(&b)) {
                return Err(format!(
                    "--pod-annotations: {pattern:?}: a pattern of annotation keys holds only letters, digits, \
                     '.', '_', '-', '/' and the glob characters '*', '?', '[', ']', '!', '^'"
                ));
            }
            if !o.pod_annotations.iter().any(|p| p == pattern) {
                o.pod_annotations.push(pattern.to_owned());
            }
        }
    }
    Ok(())
}

fn value(p: &mut pico_args::Arguments, name: &'static str) -> Result<Option<OsString>, String> {
    match p.opt_value_from_os_str(name, owned).map_err(|e| pico(e, name))? {
        Some(v) if v.is_empty() => Err(format!("{name}: value must not be empty")),
        v => Ok(v),
    }
}

fn owned(v: &OsStr) -> Result<OsString, String> {
    Ok(v.to_owned())
}

fn utf8_value(p: &mut pico_args::Arguments, name: &'static str) -> Result<Option<String>, String> {
    match value(p, name)? {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(Some)
            .map_err(|v| format!("{name}: {:?}: must be UTF-8 (it is written into JSON)", v.to_string_lossy())),
    }
}

fn pico(err: pico_args::Error, name: &str) -> String {
    match err {
        pico_args::Error::OptionWithoutAValue(_) => format!("{name}: missing value"),
        pico_args::Error::Utf8ArgumentParsingFailed { cause, .. } => cause,
        pico_args::Error::ArgumentParsingFailed { cause } => cause,
        other => format!("{name}: {other}"),
    }
}

/// A host path: absolute, without `..` (it must stay below the host root).
fn host_path(name: &str, v: String) -> Result<String, String> {
    if !v.starts_with('/') {
        return Err(format!("{name}: {v:?}: must be an absolute path (as the host sees it)"));
    }
    if v.split('/').any(|c| c == "..") {
        return Err(format!("{name}: {v:?}: must not contain \"..\""));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn install(args: &[&str]) -> Result<Options, String> {
        parse(Action::Install, os(args))
    }

    #[test]
    fn defaults() {
        let o = install(&[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.binary(), "/usr/local/bin/oci-add-hooks");
        assert_eq!(o.hooks_dir(), "/etc/oci-add-hooks/hooks.d");
        assert_eq!(o.record(), "/etc/oci-add-hooks/installed.json");
    }

    #[test]
    fn every_option_in_both_forms() {
        let o = install(&[
            "--host-root=/host",
            "--bin-dir",
            "/opt/bin/",
            "--config-dir=/etc/x",
            "--hooks",
            "/cfg/a.json",
            "--hooks=/cfg/dir",
            "--runtime-path=/usr/bin/crun",
            "--runtime-name",
            "hooked",
            "--set-default",
            "--no-docker",
            "--docker-config=/d/daemon.json",
            "--docker-pidfile",
            "/d/pid",
            "--docker-socket=/d/sock",
            "--no-reload",
            "--containerd",
            "--containerd-config-file=/c/config.toml",
            "--containerd-socket",
            "/c/sock",
            "--containerd-bin=/c/containerd",
            "--containerd-restart",
            "none",
            "--containerd-timeout=5",
            "--pod-annotations",
            "example.com/*, other.org/gpu",
            "--pod-annotations=",
            "--pod-annotations=example.com/*",
            "--crio-hooks-dir=/etc/containers/oci/hooks.d",
            "--wait",
        ])
        .unwrap();
        assert_eq!(o.host_root, PathBuf::from("/host"));
        assert_eq!(o.binary(), "/opt/bin/oci-add-hooks");
        assert_eq!(o.hooks_dir(), "/etc/x/hooks.d");
        assert_eq!(o.hooks, [PathBuf::from("/cfg/a.json"), PathBuf::from("/cfg/dir")]);
        assert_eq!((o.runtime_path.as_str(), o.runtime_name.as_str()), ("/usr/bin/crun", "hooked"));
        assert_eq!(
            (o.docker.config.as_str(), o.docker.pidfile.as_str(), o.docker.socket.as_deref()),
            ("/d/daemon.json", "/d/pid", Some("/d/sock"))
        );
        assert!(o.docker.set_default && !o.docker.enabled && !o.docker.reload && o.wait);
        assert_eq!(o.containerd.enabled, Some(true));
        assert_eq!(
            (o.containerd.config.as_str(), o.containerd.socket.as_str(), o.containerd.bin.as_deref()),
            ("/c/config.toml", "/c/sock", Some("/c/containerd"))
        );
        assert_eq!((o.containerd.restart, o.containerd.timeout), (Restart::None, 5));
        // Comma-separated lists (a ConfigMap key), empty ones, duplicates.
        assert_eq!(o.containerd.pod_annotations, ["example.com/*", "other.org/gpu"]);
        assert_eq!(install(&["--no-containerd"]).unwrap().containerd.enabled, Some(false));
        assert_eq!((o.crio.enabled, o.crio.hooks_dir.as_deref()), (Some(true), Some("/etc/containers/oci/hooks.d")));
        assert_eq!(install(&["--crio"]).unwrap().crio.enabled, Some(true));
        assert_eq!(install(&["--no-crio"]).unwrap().crio.enabled, Some(false));
    }

    #[test]
    fn help_lists_every_option_with_its_default() {
        for opt in VALUE_OPTIONS.iter().chain(&FLAGS).filter(|o| **o != "-h") {
            assert!(HELP.contains(&format!("  {opt} ")), "{opt} missing from --help");
        }
        for default in [
            "(default: /;",
            "/usr/local/bin)",
            "/etc/oci-add-hooks)",
            "(default: runc)",
            "(default: oci-add-hooks)",
            "/etc/docker/daemon.json)",
            "/var/run/docker.pid)",
            "/var/run/docker.sock; not there",
            "/etc/containerd/config.toml)",
            "/run/containerd/containerd.sock)",
            "(default: 60)",
            "/usr/share/containers/oci/hooks.d)",
        ] {
            assert!(HELP.contains(default), "{default}");
        }
        assert!(install(&["--bin-dir", "x", "--help"]).unwrap().help);
    }

    #[test]
    fn errors_name_the_option_and_why() {
        let cases: [(&[&str], &str); 16] = [
            (&["--bin-dir", "usr/bin"], "--bin-dir: \"usr/bin\": must be an absolute path (as the host sees it)"),
            (&["--docker-config=/etc/../x"], "--docker-config: \"/etc/../x\": must not contain \"..\""),
            (&["--host-root", "host"], "--host-root: must be an absolute path"),
            (&["--bin-dir"], "--bin-dir: missing value"),
            (&["--hooks="], "--hooks: value must not be empty"),
            (&["--wait=yes"], "--wait: not an option that takes a value"),
            (&["--bin-dir=/a", "--bin-dir=/b"], "--bin-dir: given more than once"),
            (&["--set-default", "--set-default"], "--set-default: given more than once"),
            (&["--frobnicate"], "unexpected argument \"--frobnicate\""),
            (&["--runtime-name", "a b"], "--runtime-name: \"a b\": must start with a letter or digit and hold only letters, digits, '.', '_' and '-'"),
            (&["--containerd", "--no-containerd"], "--containerd and --no-containerd: give one or the other"),
            (&["--containerd-restart=kill"], "--containerd-restart: \"kill\": must be signal or none"),
            (&["--containerd-timeout=0"], "--containerd-timeout: \"0\": must be a whole number of seconds, 1 to 3600"),
            (&["--containerd-bin=containerd"], "--containerd-bin: \"containerd\": must be an absolute path (as the host sees it)"),
            (&["--pod-annotations", "a b/*"], "--pod-annotations: \"a b/*\": a pattern of annotation keys holds only letters, digits, '.', '_', '-', '/' and the glob characters '*', '?', '[', ']', '!', '^'"),
            // A DaemonSet whose ConfigMap lacks the key passes this on.
            (&["--pod-annotations", "$(POD_ANNOTATIONS)"], "--pod-annotations: \"$(POD_ANNOTATIONS)\": a Kubernetes variable reference that was not expanded (is the ConfigMap key missing?)"),
        ];
        for (args, want) in cases {
            assert_eq!(install(args).unwrap_err(), want, "{args:?}");
        }
        assert_eq!(
            parse(Action::Uninstall, os(&["--hooks", "/a.json"])).unwrap_err(),
            "--hooks: an install option (uninstall removes what install recorded)"
        );
        assert_eq!(
            parse(Action::Uninstall, os(&["--pod-annotations", "a/*"])).unwrap_err(),
            "--pod-annotations: an install option (uninstall removes what install recorded)"
        );
        assert!(parse(Action::Uninstall, os(&["--no-containerd", "--containerd-restart=none"])).is_ok());
        for (args, want) in [
            (&["--crio", "--no-crio"][..], "--crio, --no-crio: give one or the other"),
            (&["--no-crio", "--crio-hooks-dir=/h"], "--crio-hooks-dir: names where --no-crio puts nothing"),
            (&["--crio-hooks-dir", "h"], "--crio-hooks-dir: \"h\": must be an absolute path (as the host sees it)"),
            (&["--crio", "--crio"], "--crio: given more than once"),
            (&["--crio-hooks-dir=//"], "--crio-hooks-dir: \"//\": must be a directory below /"),
        ] {
            assert_eq!(install(args).unwrap_err(), want, "{args:?}");
        }
        assert_eq!(
            parse(Action::Uninstall, os(&["--crio"])).unwrap_err(),
            "--crio: an install option (uninstall removes what install recorded)"
        );
    }

    #[test]
    fn non_utf8_values() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(b"/cfg/\xff.json".to_vec());
        let o = parse(Action::Install, vec!["--hooks".into(), odd.clone()]).unwrap();
        assert_eq!(o.hooks, [PathBuf::from(odd.clone())]);
        let mut eq = b"--host-root=/h\xff".to_vec();
        let o = parse(Action::Install, vec![OsString::from_vec(std::mem::take(&mut eq))]).unwrap();
        assert_eq!(o.host_root.as_os_str().as_bytes(), b"/h\xff");
        let err = parse(Action::Install, vec!["--bin-dir".into(), OsString::from_vec(b"/b\xff".to_vec())]).unwrap_err();
        assert_eq!(err, "--bin-dir: \"/b\u{fffd}\": must be UTF-8 (it is written into JSON)");
    }
}

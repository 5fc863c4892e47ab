//! What the shim knows of OCI runtimes' command lines, as data.
//!
//! This module owns the facts: which global flags take a value, which
//! subcommands build a container from a bundle, and how those subcommands
//! name the bundle and the spec file. Each fact cites where it comes from, so
//! that a new runtime flag is a one-line change with a source beside it.
//!
//! It must never parse anything itself; `args` and `bundle` do that, with
//! these tables. Getting a value-taking flag wrong is the dangerous mistake:
//! listing a boolean flag here would make the parser swallow the argument
//! after it (say, `--bundle`), so only flags documented to take a value are
//! listed.

/// Global flags that take a value, by long name without dashes.
///
/// Each accepts `--name VALUE` and `--name=VALUE`; Go runtimes (urfave/cli)
/// also accept one dash, `-name VALUE`.
pub(crate) const GLOBAL_VALUE_FLAGS: &[&str] = &[
    // runc(8), GLOBAL OPTIONS: `--root path`; crun(1): `--root=DIR`;
    // youki liboci-cli GlobalOpts: `-r, --root`.
    "root",
    // runc(8): `--log path`; crun(1): `--log=LOG-DESTINATION`;
    // youki GlobalOpts: `-l, --log`.
    "log",
    // runc(8): `--log-format text|json`; crun(1): `--log-format=FORMAT`;
    // youki GlobalOpts: `--log-format`.
    "log-format",
    // crun(1) and youki's main options: `--log-level=LEVEL`.
    "log-level",
    // runc(8): `--criu path`.
    "criu",
    // runc(8): `--rootless true|false|auto` (a value, not a switch).
    "rootless",
    // crun(1): `--cgroup-manager=MANAGER`.
    "cgroup-manager",
];

/// Global short flags that take a value: youki GlobalOpts declares
/// `#[clap(short, long)]` for `log` and `root`.
pub(crate) const GLOBAL_VALUE_SHORT_FLAGS: &[(&str, &str)] = &[("l", "log"), ("r", "root")];

/// Subcommands that create a container from a bundle, and so read its
/// `config.json`: runc(8) `create`, `run`, `restore`; crun(1) the same.
/// Every other subcommand is handed over without reading a file.
pub(crate) const BUNDLE_SUBCOMMANDS: &[&str] = &["create", "run", "restore"];

/// The bundle flag: runc-create(8), runc-run(8), runc-restore(8)
/// `--bundle|-b path`; crun(1) `--bundle=PATH`; youki liboci-cli Create
/// `-b, --bundle`. Go's flag package also takes the long name with one dash.
pub(crate) const BUNDLE_LONG: &str = "bundle";
pub(crate) const BUNDLE_SHORT: &str = "b";

/// crun(1) CREATE OPTIONS / RUN OPTIONS: `--config=FILE` (short `-f`),
/// "Override the configuration file to use. The default value is
/// config.json"; a relative value is taken relative to the bundle.
pub(crate) const CONFIG_LONG: &str = "config";
pub(crate) const CONFIG_SHORT: &str = "f";

/// The spec file in a bundle: runtime-spec bundle.md, "config.json ... MUST
/// be in the root of the bundle directory".
pub(crate) const SPEC_FILE: &str = "config.json";

/// Value-taking options of `create`, `run` and `restore`, by long name,
/// other than the bundle and config flags. Only used to step over their
/// values while looking for the bundle.
pub(crate) const BUNDLE_SUBCOMMAND_VALUE_FLAGS: &[&str] = &[
    // runc-create(8), runc-run(8), crun(1): `--console-socket path`,
    // `--pid-file path`, `--preserve-fds N`.
    "console-socket",
    "pid-file",
    "preserve-fds",
    // runc-restore(8), crun(1) RESTORE OPTIONS.
    "image-path",
    "work-path",
    "manage-cgroups-mode",
    "empty-ns",
    "lsm-profile",
    "lsm-mount-context",
    // runc-checkpoint(8)/crun(1): `--parent-path` (accepted by restore in
    // some versions; listed so its value is never read as a flag).
    "parent-path",
];

/// The global log flags' names, for writing the shim's error where the
/// caller looks for the runtime's.
pub(crate) const LOG_FLAG: &str = "log";
pub(crate) const LOG_FORMAT_FLAG: &str = "log-format";

/// crun(1): `--log` is `BACKEND:SPECIFIER`, with backends `file:PATH`,
/// `journald:IDENTIFIER` and `syslog:IDENTIFIER`; no backend means a file.
pub(crate) const LOG_FILE_BACKEND: &str = "file:";
pub(crate) const LOG_NON_FILE_BACKENDS: &[&str] = &["journald:", "syslog:"];

/// The version flag as a first runtime argument: what `docker info` sends
/// (runc(8) `--version|-v`; crun(1) `-V, --version`).
pub(crate) const VERSION_FLAG: &str = "--version";

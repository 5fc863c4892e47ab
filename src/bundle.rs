//! Reading the runtime's command line: its global flags, its subcommand,
//! and, for the subcommands that create a container, the spec file.
//!
//! Pure functions over the runtime's arguments, with the facts taken from
//! `runtime_cli`. They must never touch the file system: the bundle path
//! found here is resolved by the caller, against the current directory, as
//! the runtime itself would.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::runtime_cli as cli;

/// What the global flags and the subcommand of a runtime call say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RuntimeCall<'a> {
    /// `--log`: where the caller reads the runtime's errors from.
    pub log: Option<&'a OsStr>,
    /// `--log-format`.
    pub log_format: Option<&'a OsStr>,
    /// The subcommand and everything after it.
    pub subcommand: Option<(&'a OsStr, &'a [OsString])>,
}

/// A flag as written: its name without dashes, whether it had one dash, and
/// an inline `=value`.
struct Flag<'a> {
    name: &'a [u8],
    single_dash: bool,
    inline: Option<&'a OsStr>,
}

impl<'a> Flag<'a> {
    /// The flag's value: inline (`--flag=value`), else the next argument,
    /// which `i` (the index after the flag) then steps over.
    fn value(&self, args: &'a [OsString], i: &mut usize) -> Option<&'a OsStr> {
        if self.inline.is_some() {
            return self.inline;
        }
        *i += 1;
        args.get(*i - 1).map(OsString::as_os_str)
    }
}

fn flag(arg: &OsStr) -> Option<Flag<'_>> {
    let bytes = arg.as_bytes();
    let (body, single_dash) = if let Some(b) = bytes.strip_prefix(b"--") {
        (b, false)
    } else if let Some(b) = bytes.strip_prefix(b"-") {
        (b, true)
    } else {
        return None;
    };
    if body.is_empty() {
        return None;
    }
    Some(match body.iter().position(|&b| b == b'=') {
        Some(i) => Flag { name: &body[..i], single_dash, inline: Some(OsStr::from_bytes(&body[i + 1..])) },
        None => Flag { name: body, single_dash, inline: None },
    })
}

/// The canonical long name of a global flag that takes a value.
fn global_value_flag(f: &Flag<'_>) -> Option<&'static str> {
    let long = cli::GLOBAL_VALUE_FLAGS.iter().find(|n| n.as_bytes() == f.name).copied();
    let short = || {
        cli::GLOBAL_VALUE_SHORT_FLAGS
            .iter()
            .find(|(s, _)| f.single_dash && s.as_bytes() == f.name)
            .map(|&(_, long)| long)
    };
    long.or_else(short)
}

/// Walks the global flags to the subcommand, noting the log flags.
pub fn parse_call(args: &[OsString]) -> RuntimeCall<'_> {
    let mut call = RuntimeCall::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_os_str();
        if arg.as_bytes() == b"--" {
            i += 1;
            break;
        }
        let Some(f) = flag(arg) else { break };
        i += 1;
        let Some(name) = global_value_flag(&f) else { continue };
        let value = f.value(args, &mut i);
        match name {
            cli::LOG_FLAG => call.log = value,
            cli::LOG_FORMAT_FLAG => call.log_format = value,
            _ => {}
        }
    }
    if let Some(sub) = args.get(i) {
        call.subcommand = Some((sub.as_os_str(), &args[i + 1..]));
    }
    call
}

/// The spec file a bundle-creating subcommand will read, as the runtime
/// would find it: `<bundle>/config.json`, the bundle being `--bundle`/`-b`
/// or the current directory, and crun's `--config`/`-f` replacing the file
/// name (relative to the bundle). `None` when the subcommand does not
/// create a container, or the call is malformed (a bundle flag with no
/// value), which the runtime will report itself.
pub fn spec_path(call: &RuntimeCall<'_>) -> Option<PathBuf> {
    let (sub, args) = call.subcommand?;
    if !cli::BUNDLE_SUBCOMMANDS.iter().any(|s| s.as_bytes() == sub.as_bytes()) {
        return None;
    }
    let mut bundle: Option<&OsStr> = None;
    let mut config: Option<&OsStr> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_os_str();
        i += 1;
        if arg.as_bytes() == b"--" {
            break;
        }
        let Some(f) = flag(arg) else { continue };
        let is = |long: &str, short: &str| f.name == long.as_bytes() || (f.single_dash && f.name == short.as_bytes());
        let slot = if is(cli::BUNDLE_LONG, cli::BUNDLE_SHORT) {
            &mut bundle
        } else if is(cli::CONFIG_LONG, cli::CONFIG_SHORT) {
            &mut config
        } else {
            if cli::BUNDLE_SUBCOMMAND_VALUE_FLAGS.iter().any(|n| n.as_bytes() == f.name) {
                f.value(args, &mut i);
            }
            continue;
        };
        // The last occurrence wins, as with Go's flag package and argp.
        *slot = Some(f.value(args, &mut i)?);
    }
    // An empty value is the default, as runc takes `--bundle ""` (it only
    // changes directory for a non-empty bundle); an empty `--config` is
    // read as config.json too, so that a runtime that does the same gets
    // its hooks, and one that does not fails on its own.
    let bundle = Path::new(bundle.filter(|b| !b.is_empty()).unwrap_or(OsStr::new(".")));
    Some(bundle.join(config.filter(|c| !c.is_empty()).unwrap_or(OsStr::new(cli::SPEC_FILE))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn spec(args: &[&str]) -> Option<PathBuf> {
        let args = os(args);
        spec_path(&parse_call(&args))
    }

    #[test]
    fn every_bundle_form_runc_accepts() {
        for form in [
            &["create", "--bundle", "/b", "id"][..],
            &["create", "--bundle=/b", "id"],
            &["create", "-b", "/b", "id"],
            &["create", "-b=/b", "id"],
            &["create", "-bundle", "/b", "id"],
            &["create", "-bundle=/b", "id"],
            &["run", "-d", "--bundle", "/b", "id"],
            &["restore", "--image-path", "/img", "-b", "/b", "id"],
            &["create", "id", "--bundle", "/b"],
        ] {
            assert_eq!(spec(form), Some(PathBuf::from("/b/config.json")), "{form:?}");
        }
    }

    #[test]
    fn no_bundle_flag_means_the_current_directory() {
        assert_eq!(spec(&["create", "id"]), Some(PathBuf::from("./config.json")));
        assert_eq!(spec(&["--root", "/r", "run", "id"]), Some(PathBuf::from("./config.json")));
    }

    #[test]
    fn values_of_other_flags_are_not_taken_for_the_bundle() {
        assert_eq!(spec(&["create", "--pid-file", "-b", "id"]), Some(PathBuf::from("./config.json")));
        assert_eq!(
            spec(&["create", "--console-socket=/s", "--detach", "--bundle", "/b", "id"]),
            Some(PathBuf::from("/b/config.json"))
        );
        // After `--` nothing is a flag.
        assert_eq!(spec(&["create", "--", "-b", "/b"]), Some(PathBuf::from("./config.json")));
    }

    #[test]
    fn crun_config_flag_names_the_spec_file_relative_to_the_bundle() {
        assert_eq!(spec(&["create", "-b", "/b", "--config", "other.json", "id"]), Some(PathBuf::from("/b/other.json")));
        assert_eq!(spec(&["run", "-f", "/abs.json", "id"]), Some(PathBuf::from("/abs.json")));
        assert_eq!(spec(&["create", "--config=c.json", "id"]), Some(PathBuf::from("./c.json")));
    }

    #[test]
    fn other_subcommands_read_nothing() {
        for sub in ["start", "state", "kill", "delete", "exec", "features", "ps", "spec", "list"] {
            assert_eq!(spec(&["--root", "/r", sub, "-b", "/b", "id"]), None, "{sub}");
        }
        assert_eq!(spec(&[]), None);
        assert_eq!(spec(&["--debug"]), None);
    }

    #[test]
    fn a_bundle_flag_without_value_is_left_to_the_runtime() {
        assert_eq!(spec(&["create", "--bundle"]), None);
    }

    #[test]
    fn regression_empty_bundle_or_config_values_mean_the_defaults() {
        // Found by fuzzing: `-b "" -f ""` gave an empty path, `-f ""` the
        // bundle directory itself.
        assert_eq!(spec(&["run", "-b", "", "-f", "", "id"]), Some(PathBuf::from("./config.json")));
        assert_eq!(spec(&["create", "--bundle=", "id"]), Some(PathBuf::from("./config.json")));
        assert_eq!(spec(&["create", "-b", "/b", "--config=", "id"]), Some(PathBuf::from("/b/config.json")));
    }

    #[test]
    fn global_flags_of_runc_crun_and_youki() {
        let args = os(&[
            "--root",
            "/run/docker/runtime-runc/moby",
            "--log",
            "/b/log.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "--debug",
            "--rootless",
            "false",
            "--criu=/usr/sbin/criu",
            "--cgroup-manager",
            "systemd",
            "--log-level=debug",
            "-root",
            "/r",
            "-l",
            "/youki.log",
            "-r",
            "/r2",
            "create",
            "--bundle",
            "/b",
            "id",
        ]);
        let call = parse_call(&args);
        assert_eq!(call.log, Some(OsStr::new("/youki.log")));
        assert_eq!(call.log_format, Some(OsStr::new("json")));
        let (sub, rest) = call.subcommand.unwrap();
        assert_eq!(sub, "create");
        assert_eq!(rest, &os(&["--bundle", "/b", "id"])[..]);
        assert_eq!(spec_path(&call), Some(PathBuf::from("/b/config.json")));
    }

    #[test]
    fn a_value_that_looks_like_a_subcommand_is_still_a_value() {
        let args = os(&["--root", "create", "state", "id"]);
        let call = parse_call(&args);
        assert_eq!(call.subcommand.unwrap().0, "state");
        assert_eq!(spec_path(&call), None);
    }

    #[test]
    fn global_value_flag_at_the_end() {
        let args = os(&["--log"]);
        let call = parse_call(&args);
        assert_eq!(call.log, None);
        assert_eq!(call.subcommand, None);
    }
}

//! The shim's own command line: which mode it runs in, and where its own
//! options end and the runtime's arguments begin.
//!
//! Owns the help text and the version line, and the split of argv into the shim's leading options and the runtime's
//! arguments. It must never look inside the runtime's part (that is
//! `bundle`'s job, with `runtime_cli`'s tables) and never turn an argument
//! into a `String`: arguments stay `OsString` from argv to `execve`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The binary's name; a symlink named `oci-add-hooks-NAME` reads
/// `/etc/oci-add-hooks/NAME.d` by default, and install puts it on a host
/// under this name.
pub const PROGRAM: &str = "oci-add-hooks";

/// What `--version` prints.
pub const VERSION_LINE: &str = concat!("oci-add-hooks ", env!("CARGO_PKG_VERSION"));

/// What `--help` prints.
pub const USAGE: &str = "\
usage: oci-add-hooks [--hook-config-path PATH]... [--runtime-path PATH|NAME] [--] RUNTIME-ARGS...
       oci-add-hooks validate [--hook-config-path PATH]... [--spec CONFIG_JSON | --engine crio]
       oci-add-hooks --version | --help
       oci-add-hooks install|uninstall [OPTIONS]   (see oci-add-hooks install --help)

Merges the configured OCI hooks into the bundle's config.json for the runtime
subcommands create, run and restore, then execs the runtime with RUNTIME-ARGS
unchanged. Every other subcommand is handed over without reading any file.

  --hook-config-path PATH  a hook file, or a directory of *.json hook files;
                           may be repeated (default: $OCI_ADD_HOOKS_CONFIG,
                           else /etc/oci-add-hooks/hooks.d)
  --runtime-path PATH|NAME the runtime; a bare name is looked up in PATH
                           (default: $OCI_ADD_HOOKS_RUNTIME, else runc)

validate loads the hook configuration as a run would and prints, per stage,
the hooks it would add and the file each came from; with --spec, only those
whose `when` matches that config.json, and why each other one does not.
With --engine crio, it prints instead the hooks.d files CRI-O and podman read
that install --crio writes from that configuration, in the order they apply.
";

pub const HOOK_CONFIG_PATH: &str = "--hook-config-path";
pub const RUNTIME_PATH: &str = "--runtime-path";
pub const SPEC: &str = "--spec";
pub const ENGINE: &str = "--engine";

/// What the shim was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// `oci-add-hooks --help` (alone).
    Help,
    /// `oci-add-hooks --version` (alone).
    Version,
    /// `oci-add-hooks install ...` or `uninstall ...`; the options are
    /// parsed by `install`.
    Install(Action, Vec<OsString>),
    /// `oci-add-hooks validate ...`.
    Validate(Vec<OsString>),
    /// Everything else: merge hooks, then hand over to the runtime.
    Runtime(Invocation),
}

/// The installer's two subcommands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Install,
    Uninstall,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Uninstall => "uninstall",
        }
    }
}

/// A runtime invocation: the shim's own options and what goes to the runtime.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub hook_config_paths: Vec<PathBuf>,
    pub runtime_path: Option<OsString>,
    pub runtime_args: Vec<OsString>,
}

/// `oci-add-hooks validate [--hook-config-path P]... [--spec CONFIG_JSON | --engine crio]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValidateArgs {
    pub hook_config_paths: Vec<PathBuf>,
    pub spec: Option<PathBuf>,
    /// None: what the shim adds.
    pub engine: Option<Engine>,
}

/// An engine that reads hook files itself, for `validate --engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// CRI-O, and podman: both read hooks.d files through containers/common.
    Crio,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    MissingValue(&'static str),
    EmptyValue(&'static str),
    Repeated(&'static str),
    Unexpected(OsString),
    Invalid { opt: &'static str, why: String },
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::MissingValue(opt) => write!(f, "{opt}: missing value"),
            ArgsError::EmptyValue(opt) => write!(f, "{opt}: value must not be empty"),
            ArgsError::Repeated(opt) => write!(f, "{opt}: given more than once"),
            ArgsError::Unexpected(arg) => {
                write!(f, "unexpected argument {:?}", arg.to_string_lossy())
            }
            ArgsError::Invalid { opt, why } => write!(f, "{opt}: {why}"),
        }
    }
}

impl std::error::Error for ArgsError {}

/// Decides the mode from the arguments after argv[0].
pub fn parse(args: Vec<OsString>) -> Result<Mode, ArgsError> {
    let first = args.first().map(|a| a.as_bytes());
    match first {
        Some(b"install") => return Ok(Mode::Install(Action::Install, args[1..].to_vec())),
        Some(b"uninstall") => return Ok(Mode::Install(Action::Uninstall, args[1..].to_vec())),
        // `validate --help` is answered by the one help text, which covers it.
        Some(b"validate") if args.len() == 2 && matches!(args[1].as_bytes(), b"--help" | b"-h") => {
            return Ok(Mode::Help)
        }
        Some(b"validate") => return Ok(Mode::Validate(args[1..].to_vec())),
        Some(b"--version") if args.len() == 1 => return Ok(Mode::Version),
        Some(b"--help" | b"-h") if args.len() == 1 => return Ok(Mode::Help),
        _ => {}
    }
    split(args).map(Mode::Runtime)
}

/// Separates the shim's leading options from the runtime's arguments.
///
/// Only a prefix of the shim's two options (and an optional `--`) is ours;
/// the first argument that is not one of them starts the runtime's part,
/// which is kept whole and in order. pico-args is given the prefix alone,
/// since it would otherwise find `--runtime-path` anywhere in the list.
pub fn split(args: Vec<OsString>) -> Result<Invocation, ArgsError> {
    let mut rest = args.into_iter().peekable();
    let mut parsed = own_prefix(&mut rest, &[HOOK_CONFIG_PATH, RUNTIME_PATH])?;
    let runtime_args: Vec<OsString> = rest.collect();
    let hook_config_paths = hook_config_paths(&mut parsed)?;
    let runtime_path = parsed
        .opt_value_from_os_str(RUNTIME_PATH, |v| non_empty(v, RUNTIME_PATH).map(OsStr::to_owned))
        .map_err(|e| from_pico(e, RUNTIME_PATH))?;
    finish(parsed, &[RUNTIME_PATH])?;
    Ok(Invocation { hook_config_paths, runtime_path, runtime_args })
}

/// Parses `validate`'s arguments: the same `--hook-config-path` as the
/// shim's, and `--spec` or `--engine`; nothing else.
pub fn parse_validate(args: Vec<OsString>) -> Result<ValidateArgs, ArgsError> {
    let mut rest = args.into_iter().peekable();
    let mut parsed = own_prefix(&mut rest, &[HOOK_CONFIG_PATH, SPEC, ENGINE])?;
    if let Some(extra) = rest.next() {
        return Err(ArgsError::Unexpected(extra));
    }
    let hook_config_paths = hook_config_paths(&mut parsed)?;
    let spec = parsed
        .opt_value_from_os_str(SPEC, |v| non_empty(v, SPEC).map(PathBuf::from))
        .map_err(|e| from_pico(e, SPEC))?;
    let engine = parsed
        .opt_value_from_os_str(ENGINE, |v| non_empty(v, ENGINE).map(OsStr::to_owned))
        .map_err(|e| from_pico(e, ENGINE))?;
    let engine = match engine {
        None => None,
        // podman reads the same files through the same code as CRI-O.
        Some(v) if v == "crio" || v == "podman" => Some(Engine::Crio),
        Some(v) => {
            let why = format!("{:?}: must be crio (or podman, which reads the same files)", v.to_string_lossy());
            return Err(ArgsError::Invalid { opt: ENGINE, why });
        }
    };
    if engine.is_some() && spec.is_some() {
        let why = "prints the files for every container, so it takes no --spec".into();
        return Err(ArgsError::Invalid { opt: ENGINE, why });
    }
    finish(parsed, &[SPEC, ENGINE])?;
    Ok(ValidateArgs { hook_config_paths, spec, engine })
}

/// Takes the leading `opts` (and an optional `--` after them) off `rest`,
/// for pico-args, which is given the prefix alone since it would otherwise
/// find an option anywhere in the list.
fn own_prefix(
    rest: &mut std::iter::Peekable<std::vec::IntoIter<OsString>>,
    opts: &[&'static str],
) -> Result<pico_args::Arguments, ArgsError> {
    let mut own = Vec::new();
    while let Some(arg) = rest.peek() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            rest.next();
            break;
        }
        let Some(opt) = own_option(bytes, opts) else { break };
        // `--opt=value` becomes `--opt value`: pico-args reads `=` only from
        // UTF-8 arguments, and a path need not be UTF-8.
        let inline = bytes.get(opt.len() + 1..).map(|v| OsStr::from_bytes(v).to_owned());
        rest.next();
        let value = match inline {
            Some(v) => v,
            None => rest.next().ok_or(ArgsError::MissingValue(opt))?,
        };
        own.push(OsString::from(opt));
        own.push(value);
    }
    Ok(pico_args::Arguments::from_vec(own))
}

fn hook_config_paths(parsed: &mut pico_args::Arguments) -> Result<Vec<PathBuf>, ArgsError> {
    parsed
        .values_from_os_str(HOOK_CONFIG_PATH, |v| non_empty(v, HOOK_CONFIG_PATH).map(PathBuf::from))
        .map_err(|e| from_pico(e, HOOK_CONFIG_PATH))
}

/// Only a second one of the `singles` can be left over: the prefix holds
/// nothing but the options taken and their values.
fn finish(parsed: pico_args::Arguments, singles: &[&'static str]) -> Result<(), ArgsError> {
    let Some(left) = parsed.finish().into_iter().next() else { return Ok(()) };
    match singles.iter().find(|s| left.as_bytes() == s.as_bytes()) {
        Some(single) => Err(ArgsError::Repeated(single)),
        None => Err(ArgsError::Unexpected(left)),
    }
}

/// The option of `opts` that `arg` is (`--opt` or `--opt=value`), if any.
fn own_option(arg: &[u8], opts: &[&'static str]) -> Option<&'static str> {
    opts.iter().copied().find(|opt| {
        let opt = opt.as_bytes();
        arg == opt || (arg.starts_with(opt) && arg.get(opt.len()) == Some(&b'='))
    })
}

fn non_empty<'a>(value: &'a OsStr, opt: &'static str) -> Result<&'a OsStr, ArgsError> {
    if value.is_empty() {
        Err(ArgsError::EmptyValue(opt))
    } else {
        Ok(value)
    }
}

fn from_pico(err: pico_args::Error, opt: &'static str) -> ArgsError {
    match err {
        pico_args::Error::OptionWithoutAValue(_) => ArgsError::MissingValue(opt),
        // Our value parsers only ever fail on an empty value.
        _ => ArgsError::EmptyValue(opt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn inv(args: &[&str]) -> Invocation {
        match parse(os(args)) {
            Ok(Mode::Runtime(inv)) => inv,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn own_options_in_both_forms_and_repeated_paths() {
        let i = inv(&[
            "--hook-config-path",
            "/a",
            "--hook-config-path=/b",
            "--runtime-path=runc",
            "--root",
            "/r",
            "create",
        ]);
        assert_eq!(i.hook_config_paths, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(i.runtime_path, Some(OsString::from("runc")));
        assert_eq!(i.runtime_args, os(&["--root", "/r", "create"]));
    }

    #[test]
    fn own_options_after_the_first_runtime_argument_belong_to_the_runtime() {
        let i = inv(&["--root", "/r", "--runtime-path", "x", "create"]);
        assert_eq!(i.runtime_path, None);
        assert_eq!(i.runtime_args, os(&["--root", "/r", "--runtime-path", "x", "create"]));
    }

    #[test]
    fn double_dash_ends_own_options_and_is_not_passed_on() {
        let i = inv(&["--runtime-path", "runc", "--", "--hook-config-path", "x"]);
        assert_eq!(i.runtime_path, Some(OsString::from("runc")));
        assert_eq!(i.runtime_args, os(&["--hook-config-path", "x"]));
    }

    #[test]
    fn a_value_that_looks_like_an_option_is_still_a_value() {
        let i = inv(&["--hook-config-path", "--runtime-path", "state", "x"]);
        assert_eq!(i.hook_config_paths, vec![PathBuf::from("--runtime-path")]);
        assert_eq!(i.runtime_args, os(&["state", "x"]));
    }

    #[test]
    fn similar_names_are_not_ours() {
        let i = inv(&["--runtime-pathx", "y"]);
        assert_eq!(i.runtime_path, None);
        assert_eq!(i.runtime_args, os(&["--runtime-pathx", "y"]));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(os(&["--runtime-path"])), Err(ArgsError::MissingValue(RUNTIME_PATH)));
        assert_eq!(parse(os(&["--hook-config-path="])), Err(ArgsError::EmptyValue(HOOK_CONFIG_PATH)));
        assert_eq!(parse(os(&["--runtime-path", "a", "--runtime-path=b"])), Err(ArgsError::Repeated(RUNTIME_PATH)));
        assert_eq!(ArgsError::MissingValue(RUNTIME_PATH).to_string(), "--runtime-path: missing value");
    }

    #[test]
    fn modes() {
        assert_eq!(parse(os(&["--version"])), Ok(Mode::Version));
        assert_eq!(parse(os(&["--help"])), Ok(Mode::Help));
        assert_eq!(
            parse(os(&["install", "--set-default"])),
            Ok(Mode::Install(Action::Install, os(&["--set-default"])))
        );
        assert_eq!(parse(os(&["validate"])), Ok(Mode::Validate(vec![])));
        assert_eq!(parse(os(&["validate", "--help"])), Ok(Mode::Help));
        // --version with anything else goes to the runtime, which prints its own.
        assert_eq!(inv(&["--runtime-path", "runc", "--version"]).runtime_args, os(&["--version"]));
        // A subcommand name later on is the runtime's.
        assert_eq!(inv(&["--root", "x", "install"]).runtime_args, os(&["--root", "x", "install"]));
    }

    #[test]
    fn validate_options() {
        let v = parse_validate(os(&["--hook-config-path", "/a", "--spec=/b/config.json", "--hook-config-path=/c"]))
            .unwrap();
        assert_eq!(v.hook_config_paths, vec![PathBuf::from("/a"), PathBuf::from("/c")]);
        assert_eq!(v.spec, Some(PathBuf::from("/b/config.json")));
        assert_eq!(parse_validate(vec![]), Ok(ValidateArgs::default()));
        assert_eq!(parse_validate(os(&["--spec", "a", "--spec", "b"])), Err(ArgsError::Repeated(SPEC)));
        assert_eq!(parse_validate(os(&["--spec"])), Err(ArgsError::MissingValue(SPEC)));
        assert_eq!(parse_validate(os(&["--spec="])), Err(ArgsError::EmptyValue(SPEC)));
        assert_eq!(
            parse_validate(os(&["--runtime-path", "runc"])),
            Err(ArgsError::Unexpected("--runtime-path".into()))
        );
        assert_eq!(parse_validate(os(&["--spec", "a", "--", "x"])), Err(ArgsError::Unexpected("x".into())));
    }

    #[test]
    fn validate_engine() {
        let v = parse_validate(os(&["--engine=crio", "--hook-config-path", "/a"])).unwrap();
        assert_eq!((v.engine, v.hook_config_paths), (Some(Engine::Crio), vec![PathBuf::from("/a")]));
        assert_eq!(parse_validate(os(&["--engine", "podman"])).unwrap().engine, Some(Engine::Crio));
        let err = |args: &[&str]| parse_validate(os(args)).unwrap_err().to_string();
        assert_eq!(
            err(&["--engine", "docker"]),
            "--engine: \"docker\": must be crio (or podman, which reads the same files)"
        );
        assert_eq!(
            err(&["--engine", "crio", "--spec", "c.json"]),
            "--engine: prints the files for every container, so it takes no --spec"
        );
        assert_eq!(err(&["--engine", "crio", "--engine", "crio"]), "--engine: given more than once");
        assert_eq!(err(&["--engine"]), "--engine: missing value");
        assert_eq!(err(&["--engine="]), "--engine: value must not be empty");
    }

    #[test]
    fn non_utf8_arguments_pass_through_untouched() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(vec![b'c', 0xff, b'd']);
        let i = split(vec![OsString::from("--runtime-path"), odd.clone(), odd.clone()]).unwrap();
        assert_eq!(i.runtime_path, Some(odd.clone()));
        assert_eq!(i.runtime_args, vec![odd]);
    }
}

//! oci-add-hooks: an OCI runtime shim that merges configured hooks into a
//! bundle's `config.json`, then hands the process over to the real runtime;
//! and, in `install`, the installer that puts it on a host.
//!
//! This file owns the order of a run (the shim's, and `validate`'s) and the
//! one error type the binary reports: everything is read, validated and
//! resolved before the bundle is touched, so a failed run leaves the bundle
//! as it found it. The shim's modules beside it each own one concept, and
//! their dependencies run one way (`json` <- `spec` <- `when` <- `hooks` <-
//! `hook_files` <- this file; `args`, `runtime_cli`, `bundle`, `atomic`,
//! `runtime`, `runtime_log`, `oci_hooks` and `validate` beside them). `install` uses the
//! shim's modules and nothing of the shim uses it; the `install` feature
//! (on by default) builds it. See docs/design.md for the map.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod args;
pub(crate) mod atomic;
pub mod bundle;
pub(crate) mod hook_files;
pub mod hooks;
#[cfg(feature = "install")]
pub(crate) mod install;
pub(crate) mod json;
pub(crate) mod oci_hooks;
pub(crate) mod runtime;
pub(crate) mod runtime_cli;
pub mod runtime_log;
pub mod spec;
pub(crate) mod trust;
pub(crate) mod validate;
pub(crate) mod walk;
pub(crate) mod when;

pub use args::VERSION_LINE;
use args::{Invocation, Mode};
use hook_files::Source;

/// Everything that can stop a run.
#[derive(Debug)]
pub(crate) enum Error {
    Args(args::ArgsError),
    Hooks(hook_files::LoadError),
    SpecRead {
        path: PathBuf,
        err: io::Error,
    },
    Spec {
        path: PathBuf,
        err: spec::SpecError,
    },
    SpecWrite {
        path: PathBuf,
        err: io::Error,
    },
    Runtime(runtime::RuntimeError),
    #[cfg(feature = "install")]
    Install(Box<install::InstallError>),
    /// `install` or `uninstall` in a build without the installer.
    #[cfg(not(feature = "install"))]
    NoInstaller(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Args(e) => write!(f, "{e} (see oci-add-hooks --help)"),
            Error::Hooks(e) => e.fmt(f),
            Error::SpecRead { path, err } => write!(f, "{}: cannot read: {err}", path.display()),
            Error::Spec { path, err } => write!(f, "{}: {err}", path.display()),
            Error::SpecWrite { path, err } => {
                write!(f, "{}: cannot write (left unchanged): {err}", path.display())
            }
            Error::Runtime(e) => e.fmt(f),
            #[cfg(feature = "install")]
            Error::Install(e) => e.fmt(f),
            #[cfg(not(feature = "install"))]
            Error::NoInstaller(action) => {
                write!(f, "{action}: this build has no installer (built without the cargo feature \"install\")")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A failed run: the error, and the runtime log to report it in as well.
#[derive(Debug)]
pub struct Failure {
    error: Error,
    log: Option<runtime_log::LogTarget>,
}

impl Failure {
    /// The one line the user sees: `oci-add-hooks: <what failed>: <why>`.
    pub(crate) fn message(&self) -> String {
        format!("oci-add-hooks: {}", self.error)
    }

    /// Prints the message to stderr and appends it to the runtime log.
    pub fn report(&self) {
        let msg = self.message();
        eprintln!("{msg}");
        if let Some(log) = &self.log {
            log.append(&msg);
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, log: None }
    }
}

/// Runs the shim on `argv` (argv[0] included). Returns only when there is
/// nothing to hand over (help, version, validate, install) or on failure:
/// otherwise the runtime has replaced this process.
pub fn run(argv: Vec<OsString>) -> Result<ExitCode, Failure> {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    match args::parse(argv.collect()).map_err(Error::Args)? {
        Mode::Help => {
            print!("{}", args::USAGE);
            Ok(ExitCode::SUCCESS)
        }
        Mode::Version => {
            println!("{VERSION_LINE}");
            Ok(ExitCode::SUCCESS)
        }
        Mode::Install(action, args) => install(action, args),
        Mode::Validate(args) => validate(args, &argv0).map_err(Failure::from),
        Mode::Runtime(inv) => Err(hand_over(inv, &argv0)),
    }
}

#[cfg(feature = "install")]
fn install(action: args::Action, args: Vec<OsString>) -> Result<ExitCode, Failure> {
    install::run(action, args).map_err(|e| Error::Install(Box::new(e)).into())
}

/// Without the installer, `install` and `uninstall` only say so.
#[cfg(not(feature = "install"))]
fn install(action: args::Action, _args: Vec<OsString>) -> Result<ExitCode, Failure> {
    Err(Error::NoInstaller(action.name()).into())
}

/// `oci-add-hooks validate`: loads the hook configuration and, with
/// `--spec`, the container's spec, as a run would, and prints the report;
/// with `--engine crio`, the hooks.d files CRI-O and podman would read.
fn validate(args: Vec<OsString>, argv0: &OsStr) -> Result<ExitCode, Error> {
    let args = args::parse_validate(args).map_err(Error::Args)?;
    let source = source(args.hook_config_paths, argv0);
    let files = hook_files::load(&source).map_err(Error::Hooks)?;
    if let Some(args::Engine::Crio) = args.engine {
        let converted = oci_hooks::convert(&files).map_err(|e| Error::Hooks(hook_files::LoadError::Hook(e)))?;
        print!("{}", validate::crio_report(&source, &converted));
        return Ok(ExitCode::SUCCESS);
    }
    let out = match &args.spec {
        // Without a spec nothing can fail: no condition is evaluated.
        None => validate::report(&source, &files, &hooks::select(&files, None).unwrap_or_default(), None),
        Some(path) => {
            let (bytes, _) = read_spec(path)?;
            let spec = spec::parse(&bytes).map_err(spec_err(path))?;
            let selected = hooks::select(&files, Some(&spec)).map_err(spec_err(path))?;
            let container = validate::Container { path, hooks: spec.hooks() };
            validate::report(&source, &files, &selected, Some(container))
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn spec_err(path: &Path) -> impl FnOnce(spec::SpecError) -> Error + '_ {
    move |err| Error::Spec { path: path.to_owned(), err }
}

/// Merges hooks if the call creates a container, then execs the runtime.
/// Returns only the failure.
fn hand_over(inv: Invocation, argv0: &OsStr) -> Failure {
    let call = bundle::parse_call(&inv.runtime_args);
    // Worked out only on failure: a call that succeeds never needs it.
    let fail = |error| Failure { error, log: runtime_log::LogTarget::of(&call) };

    if inv.runtime_args.first().is_some_and(|a| a == runtime_cli::VERSION_FLAG) {
        // `docker info` asks the runtime for its version: say which shim is
        // in front, then let the runtime answer too.
        println!("{VERSION_LINE}");
    }
    let env_runtime = std::env::var_os(runtime::RUNTIME_ENV).filter(|v| !v.is_empty());
    let name = inv.runtime_path.as_deref().or(env_runtime.as_deref()).unwrap_or(OsStr::new(runtime::DEFAULT_RUNTIME));
    let path_env = std::env::var_os("PATH");
    let runtime = match runtime::resolve(name, path_env.as_deref(), runtime::FileId::current_exe()) {
        Ok(r) => r,
        Err(e) => return fail(Error::Runtime(e)),
    };
    if let Some(spec_path) = bundle::spec_path(&call) {
        if let Err(e) = add_hooks(&source(inv.hook_config_paths, argv0), &spec_path) {
            return fail(e);
        }
    }
    fail(Error::Runtime(runtime::exec(&runtime, &inv.runtime_args)))
}

/// Where the hook configuration comes from: options, else
/// `OCI_ADD_HOOKS_CONFIG`, else the default for the name we were called by.
pub(crate) fn source(options: Vec<PathBuf>, argv0: &OsStr) -> Source {
    Source::choose(options, std::env::var_os(hook_files::CONFIG_ENV), argv0)
}

/// Reads a spec's bytes (`spec::parse` borrows them, and the write keeps
/// every byte it does not change), and what the write must keep of the
/// file: never through a symbolic link, never from anything but a regular
/// file (`atomic::read_original`).
pub(crate) fn read_spec(spec_path: &Path) -> Result<(Vec<u8>, atomic::Original), Error> {
    atomic::read_original(spec_path).map_err(|err| Error::SpecRead { path: spec_path.to_owned(), err })
}

/// Loads the hook configuration and merges the hooks that apply to this
/// container into the spec at `spec_path`, writing the spec only if it
/// changed. With no hooks configured the spec is not even read.
pub(crate) fn add_hooks(source: &Source, spec_path: &Path) -> Result<(), Error> {
    let files = hook_files::load(source).map_err(Error::Hooks)?;
    if files.iter().all(|f| f.hooks.is_empty()) {
        return Ok(());
    }
    let (bytes, original) = read_spec(spec_path)?;
    let mut spec = spec::parse(&bytes).map_err(spec_err(spec_path))?;
    let selected = hooks::select(&files, Some(&spec)).map_err(spec_err(spec_path))?;
    let mut applying = selected.iter().filter(|s| s.applies()).peekable();
    if applying.peek().is_none() {
        return Ok(());
    }
    let additions = applying.flat_map(|s| s.hook.stages.iter().map(move |stage| (*stage, &s.hook.hook)));
    if spec::merge(&mut spec, additions).map_err(spec_err(spec_path))? {
        atomic::replace_original(spec_path, &spec::to_bytes(&spec), &original)
            .map_err(|err| Error::SpecWrite { path: spec_path.to_owned(), err })?;
    }
    Ok(())
}

//! oci-add-hooks: an OCI runtime shim that merges configured hooks into a
//! bundle's `config.json`, then hands the process over to the real runtime.
//!
//! This file owns the order of a run and the one error type the binary
//! reports: everything is read, validated and resolved before the bundle is
//! touched, so a failed run leaves the bundle as it found it. The modules
//! beside it each own one concept: `args` (the shim's command line),
//! `runtime_cli` (facts about runtimes' command lines), `bundle` (the
//! runtime call and its spec file), `hooks` (the hook file formats),
//! `when` (hooks.d conditions), `hook_files` (finding and trusting hook
//! files), `spec` (the merge), `atomic` (the write), `runtime` (resolution
//! and exec), `runtime_log` (errors where Docker looks for them) and
//! `validate` (the report of what a run would add).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod args;
pub mod atomic;
pub mod bundle;
pub mod containerd;
pub mod daemon_json;
pub mod dockerd;
pub mod hook_files;
pub mod hooks;
pub mod host;
pub mod install;
pub mod install_options;
pub mod manifest;
pub mod runtime;
pub mod runtime_cli;
pub mod runtime_log;
pub mod sha256;
pub mod signals;
pub mod spec;
pub mod validate;
pub mod when;

use args::{Invocation, Mode};
use hook_files::Source;

pub const VERSION_LINE: &str = concat!("oci-add-hooks ", env!("CARGO_PKG_VERSION"));

pub const USAGE: &str = "\
usage: oci-add-hooks [--hook-config-path PATH]... [--runtime-path PATH|NAME] [--] RUNTIME-ARGS...
       oci-add-hooks validate [--hook-config-path PATH]... [--spec CONFIG_JSON]
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
";

/// Everything that can stop a run.
#[derive(Debug)]
pub enum Error {
    Args(args::ArgsError),
    Hooks(hook_files::LoadError),
    SpecRead { path: PathBuf, err: io::Error },
    Spec { path: PathBuf, err: spec::SpecError },
    SpecWrite { path: PathBuf, err: io::Error },
    Runtime(runtime::RuntimeError),
    Install(Box<install::InstallError>),
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
            Error::Install(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// A failed run: the error, and the runtime log to report it in as well.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub log: Option<runtime_log::LogTarget>,
}

impl Failure {
    /// The one line the user sees: `oci-add-hooks: <what failed>: <why>`.
    pub fn message(&self) -> String {
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
/// nothing to hand over (help, version) or on failure: otherwise the
/// runtime has replaced this process.
pub fn run(argv: Vec<OsString>) -> Result<ExitCode, Failure> {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    match args::parse(argv.collect()).map_err(Error::Args)? {
        Mode::Help => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Mode::Version => {
            println!("{VERSION_LINE}");
            Ok(ExitCode::SUCCESS)
        }
        Mode::Install(args) => {
            install::run(install_options::Action::Install, args).map_err(|e| Error::Install(Box::new(e)).into())
        }
        Mode::Uninstall(args) => {
            install::run(install_options::Action::Uninstall, args).map_err(|e| Error::Install(Box::new(e)).into())
        }
        Mode::Validate(args) => validate::run(args, &argv0).map_err(Failure::from),
        Mode::Runtime(inv) => Err(hand_over(inv, &argv0)),
    }
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
pub fn source(options: Vec<PathBuf>, argv0: &OsStr) -> Source {
    Source::choose(options, std::env::var_os(hook_files::CONFIG_ENV), argv0)
}

/// Reads a spec's bytes (`spec::parse` borrows them, and the write keeps
/// every byte it does not change).
pub fn read_spec(spec_path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(spec_path).map_err(|err| Error::SpecRead { path: spec_path.to_owned(), err })
}

/// Loads the hook configuration and merges the hooks that apply to this
/// container into the spec at `spec_path`, writing the spec only if it
/// changed. With no hooks configured the spec is not even read.
pub fn add_hooks(source: &Source, spec_path: &Path) -> Result<(), Error> {
    let files = hook_files::load(source).map_err(Error::Hooks)?;
    let configured = || files.iter().flat_map(|f| &f.hooks);
    if configured().next().is_none() {
        return Ok(());
    }
    let spec_err = |err| Error::Spec { path: spec_path.to_owned(), err };
    let bytes = read_spec(spec_path)?;
    let mut spec = spec::parse(&bytes).map_err(spec_err)?;
    // Conditions see the bundle's spec as the engine wrote it, before the
    // merge; only the fields they read are parsed, and only if some hook
    // has conditions.
    let view = match configured().any(|h| h.when.is_some()) {
        true => Some(spec.view(when::SPEC_FIELDS).map_err(spec_err)?),
        false => None,
    };
    let container = view.as_ref().map(when::Container::of).transpose().map_err(spec_err)?;
    // The hooks whose `when` the container meets (a hook without one
    // applies to every container), in configured order.
    let applying: Vec<_> = configured().filter(|h| when::unmet(h, container.as_ref()).is_empty()).collect();
    if applying.is_empty() {
        return Ok(());
    }
    let additions = applying.iter().flat_map(|h| h.stages.iter().map(move |s| (*s, &h.hook)));
    if spec::merge(&mut spec, additions).map_err(spec_err)? {
        atomic::replace(spec_path, &spec::to_bytes(&spec))
            .map_err(|err| Error::SpecWrite { path: spec_path.to_owned(), err })?;
    }
    Ok(())
}

//! The containerd step's check by containerd itself: the host's binary,
//! found once and run on scratch copies beside config.toml (through the
//! `Containerd` seam), and what its dumps before and after install's change
//! must show.
//!
//! Owns the `Checker` the step asks for dumps, what the report says of the
//! check, and the rule the step applies to the two dumps. It must never
//! write config.toml or leave a scratch copy behind (a copy is removed when
//! dropped), and never treat a binary that cannot run as a passed check.

use std::ffi::OsStr;
use std::io;
use std::path::Path;

use super::super::error::{InstallError, Report};
use super::super::host::{Host, HostFile};
use super::super::options::Options;
use super::block::Want;
use super::config::Version;
use super::daemon::Containerd;
use super::dump::{self, Dump};
use crate::atomic::Scratch;

/// The host's containerd binary, for `config dump`, while it can be run.
pub(crate) struct Checker<'a> {
    host: &'a Host,
    sys: &'a dyn Containerd,
    pub(crate) binary: Option<String>,
    /// Why there is no binary to check with, once there is none.
    pub(crate) unavailable: Option<String>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(
        host: &'a Host,
        sys: &'a dyn Containerd,
        o: &Options,
        report: &mut Report,
    ) -> Result<Checker<'a>, InstallError> {
        let binary = dump::find_binary(host, o.containerd.bin.as_deref()).map_err(InstallError::ContainerdCheck)?;
        let unavailable = binary.is_none().then(|| {
            format!(
                "there is no containerd binary under {} (looked in {})",
                host.root().display(),
                Host::program_dirs()
            )
        });
        if let Some(why) = &unavailable {
            report.note(format_args!("containerd: check skipped: {why}"));
        }
        Ok(Checker { host, sys, binary, unavailable })
    }

    /// containerd's dump of `text` as config.toml (`file`: a scratch copy
    /// beside it, so that relative imports resolve the same), or of no file
    /// at all; `None` once the binary cannot be run. A refusal names `what`
    /// was checked.
    pub(crate) fn dump(
        &mut self,
        file: &HostFile,
        text: Option<&str>,
        what: &str,
        report: &mut Report,
    ) -> Result<Option<String>, InstallError> {
        let Some(binary) = self.binary.clone() else { return Ok(None) };
        let here = file.here();
        let copy = match text {
            Some(t) => Some(copy_beside(self.host, file, here.file_name().unwrap_or_default(), t.as_bytes())?),
            None => None,
        };
        let config = copy.as_ref().map(|(_, host_path)| host_path.as_str());
        let dumped = self.sys.config_dump(self.host.root(), &binary, config).map_err(|e| match e {
            dump::DumpError::Check { line, .. } => InstallError::Refused {
                path: here.to_owned(),
                why: format!("containerd refuses {what}: `{binary} config dump` says: {line} (nothing changed)"),
            },
            e => InstallError::ContainerdCheck(e),
        });
        match dumped? {
            Dump::Text(t) => Ok(Some(t)),
            Dump::Skipped(why) => {
                report.note(format_args!("containerd: check skipped: {why}"));
                self.binary = None;
                self.unavailable = Some(why);
                Ok(None)
            }
        }
    }

    /// Says that the check passed: the whole configuration is as before,
    /// `change` ("plus runtime X" or "without runtime X").
    pub(crate) fn said(&self, here: &Path, change: &str, report: &mut Report) {
        if let Some(b) = &self.binary {
            report.note(format_args!(
                "containerd: checked the new {} with `{b} config dump`: containerd's whole configuration as \
                 before, {change}",
                here.display()
            ));
        }
    }
}

/// A scratch copy of `bytes`, named after `name`, beside config.toml
/// (`config`): in its directory, or the nearest one above it that exists,
/// so that containerd resolves relative imports in it as in config.toml.
/// Made at that directory's descriptor; returned with its host path, which
/// the host's containerd, chrooted to the host root, resolves inside it.
pub(crate) fn copy_beside(
    host: &Host,
    config: &HostFile,
    name: &OsStr,
    bytes: &[u8],
) -> Result<(Scratch, String), InstallError> {
    let (dir, dir_here) = config.nearest_dir().map_err(|e| scratch_err(config.here(), e))?;
    let copy = Scratch::new(dir, name, bytes).map_err(|e| scratch_err(&dir_here.join(name), e))?;
    let copy_here = dir_here.join(copy.name());
    let rest = copy_here.strip_prefix(host.root()).unwrap_or(&copy_here);
    let host_path = Path::new("/").join(rest).display().to_string();
    Ok((copy, host_path))
}

/// What containerd's dumps before and after install's change must show:
/// the same, plus the runtime (`dump::dump_adds_only`), and the runtime
/// exactly the default's table with the shim's changes (`block::for_shim`).
/// A version 1 file that the runtime did not reach says so: containerd 2.x
/// reads no version 1 CRI runtimes (measured with 2.1.9: its config dump
/// warns that it ignores `containerd` in `io.containerd.grpc.v1.cri`).
pub(crate) fn after_check(
    before: &str,
    after: &str,
    default: &str,
    want: &Want,
    version: Version,
) -> Result<(), String> {
    if let Err(why) = dump::dump_adds_only(before, after, want.runtime, Some(want.binary)) {
        let migrate = version == Version::V1 && !dump::has_runtime(after, want.runtime);
        return Err(match migrate {
            true => format!(
                "{why}; this containerd no longer reads a version 1 file's CRI runtimes: migrate config.toml \
                 (`containerd config migrate`, containerd 2.x) and install again"
            ),
            false => why,
        });
    }
    dump::runtime_is_copy(before, after, default, want)
}

fn scratch_err(near: &Path, err: io::Error) -> InstallError {
    InstallError::Io { path: near.to_owned(), what: "write a copy beside it for containerd to check", err }
}

//! The CRI-O and podman step: the hook files, as hooks.d 1.0.0 files
//! (`oci_hooks`), put into the directory CRI-O reads hook files from.
//!
//! Owns finding that directory (CRI-O's configuration files read in
//! CRI-O's order, `config` working out the value), the checks made
//! before anything is written (no file install did not write is replaced,
//! and none in a directory CRI-O reads later hides one of ours), and
//! writing the files. CRI-O watches its hooks directories and reads them
//! again on every change (cri-o `cmd/crio/main.go` starts containers/common's
//! `Manager.Monitor`, an fsnotify watch), and podman reads them at each
//! container start, so this step must never register a runtime, edit a
//! configuration file or signal a process.

mod config;

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use rustix::fs::FileType;

use super::error::{io_err, InstallError, Log, Report};
use super::files::{host_file, Put};
use super::host::{Host, HostFile};
use super::options::Options;
use super::record::CrioFiles;
use crate::hook_files;
use crate::hooks::HookFile;
use crate::oci_hooks;
use config::HooksDirs;

/// CRI-O's configuration file and drop-in directory (cri-o
/// `pkg/config/config_unix.go` `CrioConfigPath`, `CrioConfigDropInPath`).
pub(crate) const CONFIG: &str = "/etc/crio/crio.conf";
pub(crate) const DROPIN_DIR: &str = "/etc/crio/crio.conf.d";

/// The step as planned.
#[derive(Default)]
pub(crate) struct CrioWork {
    /// The directory, and why it is that one; None: the step does not run.
    dir: Option<(String, String)>,
    /// Each file, and the hook it comes from.
    puts: Vec<(Put, String)>,
    /// What the plan found: hook paths that are not on the host.
    pub(crate) report: Report,
}

impl CrioWork {
    /// The step of an install of `files`, given in the order the shim
    /// applies them; `old` is what the last install recorded. Returns the
    /// record of the files too (None: there are none).
    pub(crate) fn plan_install(
        host: &Host,
        o: &Options,
        files: &[HookFile],
        old: &[CrioFiles],
    ) -> Result<(CrioWork, Option<CrioFiles>), InstallError> {
        if !o.crio.enabled.unwrap_or_else(|| present(host)) {
            return Ok((CrioWork::default(), None));
        }
        let (dir, why, later) = match &o.crio.hooks_dir {
            Some(dir) => (dir.trim_end_matches('/').to_owned(), "--crio-hooks-dir".to_owned(), Vec::new()),
            None => configured(host)?,
        };
        if dir == o.hooks_dir().trim_end_matches('/') {
            return Err(InstallError::Refused {
                path: host_file(host, &dir, true)?.here().to_owned(),
                why: "is the shim's own hooks.d, which would then read each hook twice: give CRI-O another \
                      --crio-hooks-dir"
                    .into(),
            });
        }
        let converted = oci_hooks::convert(files).map_err(InstallError::Hook)?;
        let mut work = CrioWork::default();
        let mut names = Vec::with_capacity(converted.files.len());
        let mut missing: Vec<String> = Vec::new();
        for f in converted.files {
            let file = host_file(host, &format!("{dir}/{}", f.name), false)?;
            let here = file.here().to_owned();
            // Read again by the shim's own parser of the format, as the
            // engines will read it, before anything is written.
            crate::hooks::parse(&here, &f.bytes).map_err(InstallError::Hook)?;
            let recorded = old.iter().any(|c| c.dir == dir && c.files.contains(&f.name));
            if !recorded && exists(&file)? {
                return Err(InstallError::Refused {
                    path: here,
                    why: format!(
                        "exists and was not put there by install; not replaced with the hooks.d file for {}: \
                         remove it",
                        f.from()
                    ),
                });
            }
            for l in &later {
                let masking = host_file(host, &format!("{l}/{}", f.name), false)?;
                if exists(&masking)? {
                    return Err(InstallError::Refused {
                        path: masking.here().to_owned(),
                        why: format!(
                            "CRI-O reads {l} after {dir}, so this file would hide the one of the same name \
                             install puts there (for {}): remove or rename it",
                            f.from()
                        ),
                    });
                }
            }
            let on_host = || host.file(&f.hook_path, true).is_ok_and(|h| h.exists().unwrap_or(false));
            if !missing.contains(&f.hook_path) && !on_host() {
                missing.push(f.hook_path.clone());
            }
            let from = f.from();
            work.puts.push((Put::new(file, f.bytes, 0o644), from));
            names.push(f.name);
        }
        let dir_file = host_file(host, &dir, true)?;
        if let Ok(st) = dir_file.lstat() {
            hook_files::check_trusted(dir_file.here(), st.st_uid, st.st_mode, rustix::process::geteuid().as_raw())
                .map_err(InstallError::HookFiles)?;
        }
        for path in &missing {
            work.report.note(format_args!(
                "{path}: not on this host; CRI-O and podman leave out a hook whose path is missing when they read \
                 {dir}, and CRI-O reads it again only when a file there changes"
            ));
        }
        let record = (!names.is_empty()).then(|| CrioFiles { dir: dir.clone(), files: names });
        work.dir = Some((dir, why));
        Ok((work, record))
    }

    /// The directory, if there are files to put into it.
    pub(crate) fn dir_to_create(&self) -> Option<&str> {
        self.dir.as_ref().filter(|_| !self.puts.is_empty()).map(|(d, _)| d.as_str())
    }

    /// Writes the files that are not in place yet.
    pub(crate) fn apply(&self, log: &mut Log) -> Result<(), InstallError> {
        let Some((dir, why)) = &self.dir else { return Ok(()) };
        for (put, from) in &self.puts {
            match put.apply()? {
                true => log.say(format_args!("installed {} (from {from})", put.here.display())),
                false => log.say(format_args!("{}: already installed, unchanged", put.here.display())),
            }
        }
        log.say(format_args!(
            "CRI-O: hooks.d files in {dir} ({why}); CRI-O reads them again on every change there and podman at \
             each container start: nothing registered, edited or signalled"
        ));
        Ok(())
    }
}

/// Whether CRI-O is set up on the host: its configuration file or drop-in
/// directory is there, as every CRI-O package ships one of them. A bare
/// `/etc/crio` is not enough: mounting it into a pod (the DaemonSet does)
/// creates it on a node without CRI-O.
fn present(host: &Host) -> bool {
    host.file(CONFIG, true).is_ok_and(|f| f.is_file()) || host.file(DROPIN_DIR, true).is_ok_and(|f| f.is_dir())
}

/// Whether anything (a link too) is at `file`.
fn exists(file: &HostFile) -> Result<bool, InstallError> {
    file.exists().map_err(io_err(file.here(), "look at"))
}

/// The directory CRI-O's configuration names (the first of `hooks_dir`),
/// why, and the directories CRI-O reads after it.
fn configured(host: &Host) -> Result<(String, String, Vec<String>), InstallError> {
    let mut files = Vec::new();
    let config = host_file(host, CONFIG, true)?;
    match config.read_text() {
        Ok(text) => files.push((config.here().to_owned(), text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(config.here(), "read CRI-O's configuration")(e)),
    }
    read_dropins(host, DROPIN_DIR, &mut files)?;
    let HooksDirs { dirs, set_in } =
        config::hooks_dirs(&files).map_err(|e| InstallError::Refused { path: e.file, why: e.why })?;
    let from = match &set_in {
        Some(file) => format!("the first of crio.runtime.hooks_dir in {}", file.display()),
        None => "CRI-O's default".to_owned(),
    };
    let bad = |why: String| InstallError::Refused { path: set_in.clone().unwrap_or_default(), why };
    let Some((first, later)) = dirs.split_first() else {
        return Err(bad(
            "crio.runtime.hooks_dir: empty, so CRI-O reads no hook files at all; name a directory there, or give \
             --crio-hooks-dir (or --no-crio)"
                .into(),
        ));
    };
    for (i, d) in dirs.iter().enumerate() {
        let trimmed = d.trim_end_matches('/');
        if trimmed.is_empty() || !d.starts_with('/') || d.split('/').any(|c| c == "..") {
            return Err(bad(format!(
                "crio.runtime.hooks_dir[{i}]: {d:?}: install writes only below / and by an absolute path without \
                 ..; give --crio-hooks-dir"
            )));
        }
    }
    let later = later.iter().map(|d| d.trim_end_matches('/').to_owned()).collect();
    Ok((first.trim_end_matches('/').to_owned(), from, later))
}

/// Every file below the drop-in directory `dir` (a host path), as CRI-O
/// reads them (`UpdateFromPath`: Go's `filepath.Walk`, names in byte order,
/// every file whatever its name, subdirectories at their place, a link
/// read as the file it names and never walked into).
fn read_dropins(host: &Host, dir: &str, files: &mut Vec<(PathBuf, String)>) -> Result<(), InstallError> {
    let listed = host_file(host, dir, true)?;
    let here = listed.here();
    let mut names: Vec<(OsString, PathBuf)> = match listed.list() {
        Ok(names) => names
            .into_iter()
            .map(|name| {
                let path = here.join(&name);
                (name, path)
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(here, "read CRI-O's drop-in directory")(e)),
    };
    hook_files::by_name(&mut names);
    for (name, path) in names {
        let Some(name) = name.to_str() else {
            return Err(InstallError::Refused { path, why: "file name is not UTF-8".into() });
        };
        let host_path = format!("{dir}/{name}");
        let entry = host_file(host, &host_path, false)?;
        let st = entry.lstat().map_err(io_err(entry.here(), "read CRI-O's configuration"))?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            read_dropins(host, &host_path, files)?;
            continue;
        }
        let target = host_file(host, &host_path, true)?;
        let text = target.read_text().map_err(io_err(target.here(), "read CRI-O's configuration"))?;
        files.push((entry.here().to_owned(), text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Action;
    use crate::hooks;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    use super::super::fake_host::FakeHost;

    fn plan(root: &FakeHost, args: &[&str], old: &[CrioFiles]) -> Result<(CrioWork, Option<CrioFiles>), InstallError> {
        let o = root.options(Action::Install, args);
        let files = [hooks::parse(
            Path::new("/src/10-a.json"),
            br#"{"hooks": {"prestart": [{"path": "/bin/true"}], "poststop": [{"path": "/usr/bin/gone"}]}}"#,
        )
        .unwrap()];
        CrioWork::plan_install(&Host::open(root.0.clone()).unwrap(), &o, &files, old)
    }

    const OPENSHIFT: &str = "[crio.runtime]\nhooks_dir = [\n  \"/etc/containers/oci/hooks.d\",\n  \"/run/containers/oci/hooks.d\",\n  \"/usr/share/containers/oci/hooks.d\",\n]\n";

    #[test]
    fn the_first_configured_directory_gets_one_file_per_hook() {
        let root = FakeHost::new("first");
        root.write("/etc/crio/crio.conf.d/00-default", OPENSHIFT);
        root.write("/bin/true", "");
        let (work, record) = plan(&root, &[], &[]).unwrap();
        let (dir, why) = work.dir.as_ref().unwrap();
        assert_eq!(dir, "/etc/containers/oci/hooks.d");
        let dropin = root.0.join("etc/crio/crio.conf.d/00-default");
        assert_eq!(why, &format!("the first of crio.runtime.hooks_dir in {}", dropin.display()));
        let puts: Vec<(PathBuf, &str)> = work.puts.iter().map(|(p, from)| (p.here.clone(), from.as_str())).collect();
        assert_eq!(
            puts,
            [
                (
                    root.0.join("etc/containers/oci/hooks.d/0001-10-a-prestart-0.json"),
                    "/src/10-a.json hooks.prestart[0]"
                ),
                (
                    root.0.join("etc/containers/oci/hooks.d/0002-10-a-poststop-0.json"),
                    "/src/10-a.json hooks.poststop[0]"
                ),
            ]
        );
        assert_eq!(
            work.report.lines(),
            ["/usr/bin/gone: not on this host; CRI-O and podman leave out a hook whose path is missing when they \
              read /etc/containers/oci/hooks.d, and CRI-O reads it again only when a file there changes"]
        );
        assert_eq!(work.dir_to_create(), Some("/etc/containers/oci/hooks.d"));
        let record = record.unwrap();
        assert_eq!(record.files, ["0001-10-a-prestart-0.json", "0002-10-a-poststop-0.json"]);

        // --crio-hooks-dir wins; no CRI-O and no option: no step.
        let (work, _) = plan(&root, &["--crio-hooks-dir", "/srv/hooks/"], &[]).unwrap();
        assert_eq!(work.dir, Some(("/srv/hooks".to_owned(), "--crio-hooks-dir".to_owned())));
        let bare = FakeHost::new("bare");
        let (work, record) = plan(&bare, &[], &[]).unwrap();
        assert!(work.dir.is_none() && work.puts.is_empty() && record.is_none());
        let (work, _) = plan(&bare, &["--crio"], &[]).unwrap();
        assert_eq!(work.dir, Some((config::DEFAULT_HOOKS_DIR.to_owned(), "CRI-O's default".to_owned())));
        let (work, _) = plan(&root, &["--no-crio"], &[]).unwrap();
        assert!(work.dir.is_none());
        let err = plan(&root, &["--crio-hooks-dir", "/etc/oci-add-hooks/hooks.d"], &[]).err().unwrap().to_string();
        assert!(err.ends_with("etc/oci-add-hooks/hooks.d: is the shim's own hooks.d, which would then read each hook twice: give CRI-O another --crio-hooks-dir"), "{err}");
    }

    #[test]
    fn refusals_name_the_file_and_why() {
        let root = FakeHost::new("refuse");
        root.write("/etc/crio/crio.conf.d/00-default", OPENSHIFT);
        root.write("/etc/containers/oci/hooks.d/0001-10-a-prestart-0.json", "{}");
        let err = |r: &FakeHost, old: &[CrioFiles]| plan(r, &[], old).err().unwrap().to_string();
        let here = root.0.join("etc/containers/oci/hooks.d/0001-10-a-prestart-0.json");
        assert_eq!(
            err(&root, &[]),
            format!(
                "{}: exists and was not put there by install; not replaced with the hooks.d file for /src/10-a.json \
                 hooks.prestart[0]: remove it",
                here.display()
            )
        );
        // Recorded: ours to replace.
        let ours =
            CrioFiles { dir: "/etc/containers/oci/hooks.d".into(), files: vec!["0001-10-a-prestart-0.json".into()] };
        assert!(plan(&root, &[], &[ours]).is_ok());

        let masked = FakeHost::new("masked");
        masked.write("/etc/crio/crio.conf.d/00-default", OPENSHIFT);
        masked.write("/usr/share/containers/oci/hooks.d/0002-10-a-poststop-0.json", "{}");
        assert_eq!(
            err(&masked, &[]),
            format!(
                "{}: CRI-O reads /usr/share/containers/oci/hooks.d after /etc/containers/oci/hooks.d, so this file \
                 would hide the one of the same name install puts there (for /src/10-a.json hooks.poststop[0]): \
                 remove or rename it",
                masked.0.join("usr/share/containers/oci/hooks.d/0002-10-a-poststop-0.json").display()
            )
        );

        let empty = FakeHost::new("empty");
        empty.write("/etc/crio/crio.conf", "[crio.runtime]\nhooks_dir = []\n");
        assert_eq!(
            err(&empty, &[]),
            format!(
                "{}: crio.runtime.hooks_dir: empty, so CRI-O reads no hook files at all; name a directory there, or \
                 give --crio-hooks-dir (or --no-crio)",
                empty.0.join("etc/crio/crio.conf").display()
            )
        );
        empty.write("/etc/crio/crio.conf.d/10-rel.conf", "[crio.runtime]\nhooks_dir = [\"hooks.d\"]\n");
        assert!(err(&empty, &[]).ends_with(
            "10-rel.conf: crio.runtime.hooks_dir[0]: \"hooks.d\": install writes only below / and by an absolute \
             path without ..; give --crio-hooks-dir"
        ));
        empty.write("/etc/crio/crio.conf.d/20-bad.conf", "[crio.runtime\n");
        assert!(err(&empty, &[]).contains("20-bad.conf: not valid TOML (CRI-O would not start): "));
    }

    #[test]
    fn drop_ins_are_read_as_cri_o_walks_them() {
        let root = std::env::temp_dir().join(format!("oah-crio-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let d = root.join("etc/crio/crio.conf.d");
        std::fs::create_dir_all(d.join("20-sub")).unwrap();
        for (name, text) in
            [("30-z.conf", "z"), ("00-default", "a"), ("20-sub/x", "sub"), ("B.conf", "B"), ("b.conf", "b")]
        {
            std::fs::write(d.join(name), text).unwrap();
        }
        std::fs::write(root.join("target"), "link").unwrap();
        symlink("/target", d.join("25-link.conf")).unwrap();
        let mut files = Vec::new();
        read_dropins(&Host::open(root.clone()).unwrap(), DROPIN_DIR, &mut files).unwrap();
        let got: Vec<(String, &str)> =
            files.iter().map(|(p, t)| (p.strip_prefix(&d).unwrap().display().to_string(), t.as_str())).collect();
        assert_eq!(
            got,
            [
                ("00-default".to_owned(), "a"),
                ("20-sub/x".to_owned(), "sub"),
                ("25-link.conf".to_owned(), "link"),
                ("30-z.conf".to_owned(), "z"),
                ("B.conf".to_owned(), "B"),
                ("b.conf".to_owned(), "b"),
            ]
        );
        assert!(present(&Host::open(root.clone()).unwrap()));
        std::fs::remove_dir_all(root.join("etc/crio/crio.conf.d")).unwrap();
        assert!(!present(&Host::open(root.clone()).unwrap()), "a bare /etc/crio is not CRI-O");
        std::fs::remove_dir_all(root).unwrap();
    }
}

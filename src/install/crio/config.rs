//! CRI-O's configuration, as far as install reads it: the directories CRI-O
//! reads hook files from (`hooks_dir` in `[crio.runtime]`).
//!
//! Owns how CRI-O's files combine into the one value it uses. Pure: it is
//! handed the files' texts in the order CRI-O reads them (`crio` reads and
//! orders them) and never writes or edits one. The facts, from cri-o/cri-o:
//! - `internal/criocli/criocli.go` `mergeConfigFiles`: `/etc/crio/crio.conf`
//!   first, then the drop-in directory `/etc/crio/crio.conf.d`;
//! - `pkg/config/config.go` `UpdateFromPath`: every file below the drop-in
//!   directory, whatever its name (OpenShift's is `00-default`), walked with
//!   Go's `filepath.Walk`, which visits names in byte order; each file is
//!   decoded over the result so far (`UpdateFromDropInFile`), so a later
//!   file that sets an option replaces it, a whole list at once
//!   (docs/crio.conf.d.5.md: "the setting specified in file sorted last takes
//!   precedence"), and a file that does not set it leaves it;
//! - `pkg/config/config.go` `HooksDir []string toml:"hooks_dir"` in the
//!   runtime table, default `[hooks.DefaultDir]`,
//!   `/usr/share/containers/oci/hooks.d` (containers/common
//!   `pkg/hooks/hooks.go`); a later directory's file masks an earlier
//!   directory's file of the same name (the field's doc, and oci-hooks(5)).
//!
//! `crio --hooks-dir`, `--config`, `--config-dir` and `CONTAINER_HOOKS_DIR`
//! (criocli.go) override the files; install cannot see a daemon's command
//! line or environment, so `--crio-hooks-dir` is the way to say so.

use std::path::{Path, PathBuf};

/// CRI-O's hooks directories when no file sets `hooks_dir`, and podman's
/// (containers/common `pkg/config/default.go` `DefaultHooksDirs`).
pub(crate) const DEFAULT_HOOKS_DIR: &str = "/usr/share/containers/oci/hooks.d";

/// The option, as a path from the top of a file, for messages.
const FIELD: &str = "crio.runtime.hooks_dir";

/// The directories CRI-O reads hook files from, in increasing precedence.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HooksDirs {
    pub(crate) dirs: Vec<String>,
    /// The file whose `hooks_dir` it is; None: CRI-O's default.
    pub(crate) set_in: Option<PathBuf>,
}

/// A configuration file CRI-O would not start with: the file, and the
/// field and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) file: PathBuf,
    pub(crate) why: String,
}

/// The `hooks_dir` CRI-O ends up with, from `files` (path and text) in the
/// order CRI-O reads them.
pub(crate) fn hooks_dirs(files: &[(PathBuf, String)]) -> Result<HooksDirs, ConfigError> {
    let mut out = HooksDirs { dirs: vec![DEFAULT_HOOKS_DIR.to_owned()], set_in: None };
    for (path, text) in files {
        if let Some(dirs) = hooks_dir_of(path, text)? {
            out = HooksDirs { dirs, set_in: Some(path.clone()) };
        }
    }
    Ok(out)
}

/// The `hooks_dir` one file sets, if it sets one.
fn hooks_dir_of(path: &Path, text: &str) -> Result<Option<Vec<String>>, ConfigError> {
    let err = |why: String| ConfigError { file: path.to_owned(), why };
    let doc = toml_edit::Document::parse(text)
        .map_err(|e| err(format!("not valid TOML (CRI-O would not start): {}", e.to_string().trim_end())))?;
    let mut item = doc.as_item();
    for (i, key) in ["crio", "runtime"].into_iter().enumerate() {
        match item.get(key) {
            None => return Ok(None),
            Some(table) if table.is_table() || table.is_inline_table() => item = table,
            Some(other) => {
                let field = ["crio", "crio.runtime"][i];
                return Err(err(format!("{field}: must be a table, not {}", other.type_name())));
            }
        }
    }
    let Some(value) = item.get("hooks_dir") else { return Ok(None) };
    let not_strings = || err(format!("{FIELD}: must be an array of strings, not {}", value.type_name()));
    let array = value.as_array().ok_or_else(not_strings)?;
    let mut dirs = Vec::with_capacity(array.len());
    for (i, v) in array.iter().enumerate() {
        let dir = v.as_str().ok_or_else(|| err(format!("{FIELD}[{i}]: must be a string, not {}", v.type_name())))?;
        dirs.push(dir.to_owned());
    }
    Ok(Some(dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(texts: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
        texts.iter().map(|(p, t)| (PathBuf::from(p), (*t).to_owned())).collect()
    }

    fn dirs(texts: &[(&str, &str)]) -> Result<HooksDirs, ConfigError> {
        hooks_dirs(&files(texts))
    }

    fn set(dirs: &[&str], file: &str) -> HooksDirs {
        HooksDirs { dirs: dirs.iter().map(|d| (*d).to_owned()).collect(), set_in: Some(PathBuf::from(file)) }
    }

    #[test]
    fn no_file_or_none_setting_it_is_cri_os_default() {
        let default = HooksDirs { dirs: vec![DEFAULT_HOOKS_DIR.to_owned()], set_in: None };
        assert_eq!(dirs(&[]).unwrap(), default);
        let unrelated = [
            ("/etc/crio/crio.conf", "# all commented out\n[crio]\n[crio.runtime]\nlog_level = \"info\"\n"),
            ("/etc/crio/crio.conf.d/10-crio.conf", "[crio.image]\npause_image = \"x\"\n"),
        ];
        assert_eq!(dirs(&unrelated).unwrap(), default);
    }

    #[test]
    fn the_last_file_that_sets_it_wins_and_replaces_the_whole_list() {
        let got = dirs(&[
            ("/etc/crio/crio.conf", "[crio.runtime]\nhooks_dir = [\"/a\", \"/b\"]\n"),
            ("/etc/crio/crio.conf.d/10-x.conf", "[crio.runtime]\nhooks_dir = [\"/c\"]\n"),
            ("/etc/crio/crio.conf.d/20-y.conf", "[crio.runtime]\nselinux = true\n"),
        ])
        .unwrap();
        assert_eq!(got, set(&["/c"], "/etc/crio/crio.conf.d/10-x.conf"));
    }

    #[test]
    fn every_toml_spelling_of_the_key() {
        for text in [
            "[crio.runtime]\nhooks_dir = [\"/h\"]\n",
            "crio.runtime.hooks_dir = [\"/h\"]\n",
            "[crio]\nruntime = { hooks_dir = [\"/h\"] }\n",
            "[crio]\nruntime.hooks_dir = [\n  \"/h\", # the only one\n]\n",
        ] {
            assert_eq!(dirs(&[("/f", text)]).unwrap(), set(&["/h"], "/f"), "{text}");
        }
    }

    #[test]
    fn openshifts_drop_in_with_no_conf_suffix_and_three_directories() {
        // The layout OpenShift's machine-config-operator writes to
        // /etc/crio/crio.conf.d/00-default.
        let text = "[crio]\ninternal_wipe = true\n\n[crio.runtime]\nselinux = true\nhooks_dir = [\n    \
                    \"/etc/containers/oci/hooks.d\",\n    \"/run/containers/oci/hooks.d\",\n    \
                    \"/usr/share/containers/oci/hooks.d\",\n]\n\n[crio.runtime.runtimes.crun]\nruntime_root = \"/run/crun\"\n";
        let got = dirs(&[("/etc/crio/crio.conf.d/00-default", text)]).unwrap();
        assert_eq!(
            got,
            set(
                &["/etc/containers/oci/hooks.d", "/run/containers/oci/hooks.d", "/usr/share/containers/oci/hooks.d"],
                "/etc/crio/crio.conf.d/00-default"
            )
        );
    }

    #[test]
    fn an_empty_list_is_kept_it_means_no_hook_directory() {
        assert_eq!(dirs(&[("/f", "[crio.runtime]\nhooks_dir = []\n")]).unwrap(), set(&[], "/f"));
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let e = |text: &str| dirs(&[("/etc/crio/crio.conf", text)]).unwrap_err();
        let cases = [
            ("[crio.runtime]\nhooks_dir = \"/h\"\n", "crio.runtime.hooks_dir: must be an array of strings, not string"),
            ("[crio.runtime]\nhooks_dir = [\"/h\", 1]\n", "crio.runtime.hooks_dir[1]: must be a string, not integer"),
            ("crio = 1\n", "crio: must be a table, not integer"),
            ("[crio]\nruntime = [1]\n", "crio.runtime: must be a table, not array"),
        ];
        for (text, why) in cases {
            assert_eq!(e(text), ConfigError { file: "/etc/crio/crio.conf".into(), why: why.into() }, "{text}");
        }
        let bad = e("[crio.runtime\n");
        assert!(
            bad.why.starts_with("not valid TOML (CRI-O would not start): TOML parse error at line 1"),
            "{}",
            bad.why
        );
    }
}

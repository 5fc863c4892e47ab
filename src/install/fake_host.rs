//! A fake host root for the installer's unit tests: a temporary directory
//! standing for `/`, its files written by host path, its whole tree read
//! back to show what a plan or an apply changed, and removed when dropped.
//!
//! Test-only. It must never be used outside `#[cfg(test)]` code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::options::{self, Options};
use crate::args::Action;

/// A host root under the temp dir, removed when dropped.
pub(crate) struct FakeHost(pub(crate) PathBuf);

impl FakeHost {
    pub(crate) fn new(tag: &str) -> FakeHost {
        let root = std::env::temp_dir().join(format!("oah-host-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        FakeHost(root)
    }

    /// Where the host path is, here.
    pub(crate) fn here(&self, host_path: &str) -> PathBuf {
        self.0.join(host_path.trim_start_matches('/'))
    }

    /// Writes `text` at the host path, its directories created.
    pub(crate) fn write(&self, host_path: &str, text: &str) -> PathBuf {
        let here = self.here(host_path);
        std::fs::create_dir_all(here.parent().unwrap()).unwrap();
        std::fs::write(&here, text).unwrap();
        here
    }

    /// Every path below the root with the bytes of the files.
    pub(crate) fn tree(&self) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    out.push((p.clone(), None));
                    walk(&p, out);
                } else {
                    out.push((p.clone(), Some(std::fs::read(&p).unwrap())));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }

    /// The options of `action` with `--host-root` this root, then `args`.
    pub(crate) fn options(&self, action: Action, args: &[&str]) -> Options {
        let mut all: Vec<OsString> = vec!["--host-root".into(), self.0.clone().into()];
        all.extend(args.iter().map(OsString::from));
        options::parse(action, all).unwrap()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! The host's file system as the installer sees it: below `--host-root`.
//!
//! Owns turning a host path (`/etc/docker/daemon.json`) into the path to
//! open here (`/host/etc/docker/daemon.json`), following symbolic links as
//! the host would: an absolute link target (`/var/run -> /run`) starts again
//! at the host root, never at the installer's own root, and `..` never
//! climbs above it. It reads links but never writes.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Links followed in one path before giving up, as Linux's MAXSYMLINKS.
const MAX_LINKS: u32 = 40;

#[derive(Clone, Debug)]
pub(crate) struct Host {
    root: PathBuf,
}

impl Host {
    pub(crate) fn new(root: PathBuf) -> Host {
        Host { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `host_path` below the root. With `follow_last`, a link as the last
    /// component is followed too (a `daemon.json` that is a link is edited
    /// where it points); without, it is the link itself (a binary or hook
    /// file is replaced, not what a link of that name points to).
    pub(crate) fn path(&self, host_path: &str, follow_last: bool) -> PathBuf {
        if self.root == Path::new("/") {
            // The kernel resolves links in the directories against this
            // root already; a last component that is a link is still
            // followed here when asked (a rename onto the link would replace
            // the link, not the file it names).
            let mut here = PathBuf::from(host_path);
            let mut links = 0;
            while follow_last && links < MAX_LINKS {
                let Ok(target) = std::fs::read_link(&here) else { break };
                here = here.parent().unwrap_or(Path::new("/")).join(target);
                links += 1;
            }
            return here;
        }
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, Path::new(host_path));
        let mut here = self.root.clone();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                if here != self.root {
                    here.pop();
                }
                continue;
            }
            let next = here.join(&part);
            let follow = !pending.is_empty() || follow_last;
            // readlink fails on anything but a link: no stat needed first.
            match std::fs::read_link(&next) {
                Ok(target) if follow && links < MAX_LINKS => {
                    links += 1;
                    if target.is_absolute() {
                        here = self.root.clone();
                    }
                    push_components(&mut pending, &target);
                }
                _ => here = next,
            }
        }
        here
    }
}

/// Pushes `path`'s parts onto `stack` so that the first pops first.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    stack.extend(path.components().rev().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_owned()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_inside_the_root() {
        let root = std::env::temp_dir().join(format!("oah-host-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::create_dir_all(root.join("var")).unwrap();
        std::fs::create_dir_all(root.join("etc/docker")).unwrap();
        std::fs::create_dir_all(root.join("srv/docker")).unwrap();
        // Debian's /var/run -> /run (absolute), a relative link, a link loop.
        symlink("/run", root.join("var/run")).unwrap();
        symlink("../../srv/docker/real.json", root.join("etc/docker/daemon.json")).unwrap();
        symlink("loop", root.join("etc/loop")).unwrap();
        let host = Host::new(root.clone());
        assert_eq!(host.path("/var/run/docker.pid", false), root.join("run/docker.pid"));
        assert_eq!(host.path("/etc/docker/daemon.json", true), root.join("srv/docker/real.json"));
        assert_eq!(host.path("/etc/docker/daemon.json", false), root.join("etc/docker/daemon.json"));
        assert_eq!(host.path("/missing/dir/file", true), root.join("missing/dir/file"));
        assert_eq!(host.path("/../../etc/docker", true), root.join("etc/docker"));
        assert_eq!(host.path("/etc/loop", true), root.join("etc/loop"));
        assert_eq!(Host::new("/".into()).path("/var/run/x", true), PathBuf::from("/var/run/x"));
        std::fs::write(root.join("srv/docker/real.json"), "{}").unwrap();
        let link = root.join("etc/docker/daemon.json");
        let slash = Host::new("/".into());
        let followed = slash.path(link.to_str().unwrap(), true);
        assert!(followed.symlink_metadata().unwrap().is_file(), "{} is still the link", followed.display());
        assert_eq!(followed.canonicalize().unwrap(), root.join("srv/docker/real.json").canonicalize().unwrap());
        assert_eq!(slash.path(link.to_str().unwrap(), false), link);
        assert_eq!(slash.path(root.join("etc/loop").to_str().unwrap(), true), root.join("etc/loop"));
        std::fs::remove_dir_all(root).unwrap();
    }
}

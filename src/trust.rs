//! Whom the shim takes hooks from: the ownership and mode rules for hook
//! files and for every directory on the way to them.
//!
//! Hooks run as root on the host, so a hook file that someone else can
//! write, or reach through a directory they can write, hands them the
//! host. This module owns that judgement, as plain functions of an owner,
//! a mode and the shim's user, each giving the reason in words when it
//! refuses. It must never open or walk a path (`walk` does, on
//! descriptors) nor decide what a refusal does (`hook_files` refuses; it
//! never skips).

use std::path::Path;

use rustix::fs::Stat;

/// Why a file or directory of this owner and mode could be changed by
/// someone the shim must not take hooks from.
#[derive(Debug, PartialEq, Eq)]
enum Distrust {
    /// Owned by someone but root or the shim's user.
    Owner(u32),
    /// Writable by group or others (the permission bits).
    Writable(u32),
}

fn distrust(uid: u32, mode: u32, euid: u32) -> Option<Distrust> {
    if uid != 0 && uid != euid {
        Some(Distrust::Owner(uid))
    } else if mode & 0o022 != 0 {
        Some(Distrust::Writable(mode & 0o7777))
    } else {
        None
    }
}

/// " or uid N" when the shim does not run as root.
fn or_euid(euid: u32) -> String {
    if euid == 0 {
        String::new()
    } else {
        format!(" or uid {euid}")
    }
}

/// Why a hook file or directory of this owner and mode is not trusted, if
/// it is not: it may be written only by root or by the user the shim runs
/// as, for anyone else who can write it can run code as root.
pub(crate) fn why_not(uid: u32, mode: u32, euid: u32) -> Option<String> {
    Some(match distrust(uid, mode, euid)? {
        Distrust::Owner(uid) => format!(
            "owned by uid {uid}; hooks run as root, so hook files and directories must be owned by root{}",
            or_euid(euid)
        ),
        Distrust::Writable(mode) => format!(
            "writable by group or others (mode {mode:04o}); hooks run as root, so only the owner may write hook \
             files and directories (chmod go-w)"
        ),
    })
}

/// Why `dir`, a directory on the way to a hook file, is not trusted, if it
/// is not. It may be written only by
/// root or the shim's user too: whoever can write it can put another file,
/// a FIFO, or nothing, where the hook file was. That holds for a sticky
/// directory such as /tmp as well, and it is refused like any other, as
/// OpenSSH (`safe_path`) and sudo (`sudo_secure_dir`) refuse one: the
/// sticky bit keeps others from renaming or removing a name that is there,
/// not from taking one that is not (never made, or removed by a tmp cleaner
/// or a reboot), and the kernel's guard on links in sticky directories
/// (`fs.protected_symlinks`) does not apply to links this module follows
/// itself.
pub(crate) fn why_not_on_the_way(dir: &Path, st: &Stat, euid: u32) -> Option<String> {
    Some(match distrust(st.st_uid, st.st_mode, euid)? {
        Distrust::Owner(uid) => format!(
            "{}, a directory on its path, is owned by uid {uid}; hooks run as root, so every directory on \
             the way to a hook file must be owned by root{}",
            dir.display(),
            or_euid(euid)
        ),
        Distrust::Writable(mode) => format!(
            "{}, a directory on its path, is writable by group or others (mode {mode:04o}); hooks run as \
             root, so only its owner may write a directory on the way to a hook file, sticky or not",
            dir.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs as rfs;

    #[test]
    fn directories_on_the_way_are_held_to_the_same_rules() {
        let st = |uid: u32, mode: u32| {
            let mut st = rfs::stat("/").unwrap();
            st.st_uid = uid;
            st.st_mode = mode;
            st
        };
        let dir = Path::new("/x");
        assert!(why_not_on_the_way(dir, &st(0, 0o040755), 0).is_none());
        assert!(why_not_on_the_way(dir, &st(1000, 0o040700), 1000).is_none());
        // Sticky and world-writable, as /tmp: refused too.
        assert_eq!(
            why_not_on_the_way(Path::new("/tmp"), &st(0, 0o041777), 0).unwrap(),
            "/tmp, a directory on its path, is writable by group or others (mode 1777); hooks \
             run as root, so only its owner may write a directory on the way to a hook file, sticky or not"
        );
        assert_eq!(
            why_not_on_the_way(dir, &st(1000, 0o040755), 0).unwrap(),
            "/x, a directory on its path, is owned by uid 1000; hooks run as root, so every \
             directory on the way to a hook file must be owned by root"
        );
        assert!(why_not_on_the_way(dir, &st(1001, 0o040755), 1000).unwrap().contains("root or uid 1000"));
    }

    #[test]
    fn trust_rules() {
        assert!(why_not(0, 0o100644, 0).is_none());
        assert!(why_not(1000, 0o100600, 1000).is_none());
        assert!(why_not(0, 0o040755, 1000).is_none());
        assert_eq!(
            why_not(0, 0o100664, 0).unwrap(),
            "writable by group or others (mode 0664); hooks run as root, so only the \
             owner may write hook files and directories (chmod go-w)"
        );
        assert!(why_not(0, 0o040777, 0).is_some());
        assert_eq!(
            why_not(1000, 0o100644, 0).unwrap(),
            "owned by uid 1000; hooks run as root, so hook files and directories must \
             be owned by root"
        );
        assert!(why_not(1001, 0o100644, 1000).unwrap().contains("or uid 1000"));
    }
}

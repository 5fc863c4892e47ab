//! The host root's unit tests: paths resolved below it, links, and the
//! operations from directory descriptors (test-only).
use super::*;
use std::os::unix::fs::symlink;

fn scratch(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("oah-host-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Both ways of resolving: the kernel's, and the walk it falls back to.
fn both(root: &Path) -> [Host; 2] {
    let kernel = Host::open(root.to_owned()).unwrap();
    assert!(kernel.0.kernel.get());
    [kernel, Host::walk_only(root.to_owned()).unwrap()]
}

fn here(host: &Host, path: &str, follow: bool) -> PathBuf {
    host.file(path, follow).unwrap().here().to_owned()
}

#[test]
fn links_resolve_inside_the_root() {
    let root = scratch("links");
    for d in ["run", "var", "etc/docker", "srv/docker"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // Debian's /var/run -> /run (absolute), a relative link, a link loop.
    symlink("/run", root.join("var/run")).unwrap();
    symlink("../../srv/docker/real.json", root.join("etc/docker/daemon.json")).unwrap();
    symlink("loop", root.join("etc/loop")).unwrap();
    std::fs::write(root.join("srv/docker/real.json"), "{}").unwrap();
    for host in both(&root) {
        let walk = !host.0.kernel.get();
        assert_eq!(here(&host, "/var/run/docker.pid", false), root.join("run/docker.pid"), "walk: {walk}");
        assert_eq!(here(&host, "/etc/docker/daemon.json", true), root.join("srv/docker/real.json"));
        assert_eq!(here(&host, "/etc/docker/daemon.json", false), root.join("etc/docker/daemon.json"));
        assert_eq!(here(&host, "/missing/dir/file", true), root.join("missing/dir/file"));
        assert_eq!(here(&host, "/../../etc/docker", true), root.join("etc/docker"));
        assert_eq!(host.file("/etc/docker/daemon.json", true).unwrap().read().unwrap(), b"{}");
        // A link as the last component is not read through.
        let link = host.file("/etc/docker/daemon.json", false).unwrap();
        assert_eq!(link.read().unwrap_err().raw_os_error(), Some(Errno::LOOP.raw_os_error()));
        assert!(host.file("/etc/docker", true).unwrap().is_dir());
        assert!(!host.file("/etc/docker/nothing", true).unwrap().exists().unwrap());
        let looping = host.file("/etc/loop", true).unwrap_err();
        assert_eq!(looping.raw_os_error(), Some(Errno::LOOP.raw_os_error()), "{looping}");
        assert_eq!(host.walk(Path::new("/"), &mut 0).unwrap().1, root);
    }
    // A root given through a link is shown as given.
    let given = std::env::temp_dir().join(format!("oah-host-links-given-{}", std::process::id()));
    let _ = std::fs::remove_file(&given);
    symlink(&root, &given).unwrap();
    for host in both(&given) {
        assert_eq!(here(&host, "/etc/docker/daemon.json", true), given.join("srv/docker/real.json"));
    }
    std::fs::remove_file(&given).unwrap();
    // The root `/`, as install runs on the host itself.
    let slash = Host::open("/".into()).unwrap();
    let link = root.join("etc/docker/daemon.json");
    assert_eq!(slash.file(link.to_str().unwrap(), true).unwrap().here(), root.join("srv/docker/real.json"));
    assert_eq!(slash.file(link.to_str().unwrap(), false).unwrap().here(), link);
    std::fs::remove_dir_all(root).unwrap();
}

/// The repro of issue 12: 41 links, the last one absolute. The walk
/// kept the 41st in the path it returned, which the kernel then
/// resolved against the installer's own root: a daemon.json outside
/// the host root was rewritten.
#[test]
fn regression_the_41st_link_was_kept_and_resolved_outside_the_root() {
    let root = scratch("chain");
    let outside = scratch("chain-outside");
    std::fs::write(outside.join("daemon.json"), "{}").unwrap();
    for i in 0..40 {
        symlink(format!("/l{}", i + 1), root.join(format!("l{i}"))).unwrap();
    }
    symlink(&outside, root.join("l40")).unwrap();
    for host in both(&root) {
        for follow in [true, false] {
            let err = host.file("/l0/daemon.json", follow).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(Errno::LOOP.raw_os_error()), "{err}");
        }
    }
    // 40 links are still followed, as Linux does.
    std::fs::remove_file(root.join("l0")).unwrap();
    std::fs::create_dir(root.join("inside")).unwrap();
    std::fs::remove_file(root.join("l40")).unwrap();
    symlink("/inside", root.join("l40")).unwrap();
    for host in both(&root) {
        assert_eq!(here(&host, "/l1/daemon.json", true), root.join("inside/daemon.json"));
    }
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn listing_reading_through_a_link_and_the_nearest_directory_stay_below_the_root() {
    let root = scratch("more");
    let outside = scratch("more-outside");
    std::fs::write(outside.join("crio.conf"), "outside").unwrap();
    let d = root.join("etc/crio/crio.conf.d");
    std::fs::create_dir_all(d.join("20-sub")).unwrap();
    std::fs::write(d.join("10.conf"), "inside").unwrap();
    std::fs::write(d.join("30.conf"), b"\xff").unwrap();
    symlink("/etc/crio/crio.conf.d/10.conf", d.join("25-link.conf")).unwrap();
    // Absolute links out of the root: below it, they name nothing.
    symlink(outside.join("crio.conf"), d.join("40-away.conf")).unwrap();
    symlink(&outside, root.join("etc/away")).unwrap();
    for host in both(&root) {
        let file = |p: &str, follow| host.file(p, follow).unwrap();
        let mut names = file("/etc/crio/crio.conf.d", true).list().unwrap();
        names.sort();
        assert_eq!(names, ["10.conf", "20-sub", "25-link.conf", "30.conf", "40-away.conf"]);
        assert_eq!(file("/etc/away", true).list().unwrap_err().kind(), io::ErrorKind::NotFound);
        let link = file("/etc/crio/crio.conf.d/25-link.conf", false);
        assert!(!link.is_file());
        let target = link.followed().unwrap();
        assert!(target.is_file());
        assert_eq!(target.read_text().unwrap(), "inside");
        assert_eq!(target.here(), d.join("10.conf"));
        let away = file("/etc/crio/crio.conf.d/40-away.conf", true);
        assert_eq!(away.read_text().unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!away.is_file());
        let err = file("/etc/crio/crio.conf.d/30.conf", true).read_text().unwrap_err();
        assert_eq!((err.kind(), err.to_string().as_str()), (io::ErrorKind::InvalidData, "not UTF-8 text"));

        // The directory a file is in (through a link), or the nearest
        // one above it as written that is there.
        let nearest = |p: &str, follow| file(p, follow).nearest_dir().unwrap().1;
        assert_eq!(nearest("/etc/crio/crio.conf.d/25-link.conf", true), d);
        assert_eq!(nearest("/etc/missing/deeper/config.toml", true), root.join("etc"));
        assert_eq!(nearest("/etc/away/config.toml", true), root.join("etc"));
        assert_eq!(nearest("/etc/crio/crio.conf.d/40-away.conf", true), d);
        assert_eq!(nearest("/config.toml", true), root);
    }
    assert_eq!(std::fs::read_to_string(outside.join("crio.conf")).unwrap(), "outside");
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(outside).unwrap();
}

/// openat2 counts the links of its own resolution only: after a link
/// as the last component, followed here, 40 more in its target's
/// directories were followed too, 41 in all, where the host's kernel
/// stops at 40.
#[test]
fn regression_a_last_link_and_40_more_were_followed() {
    let root = scratch("last");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir(root.join("inside")).unwrap();
    for i in 1..40 {
        symlink(format!("/l{}", i + 1), root.join(format!("l{i}"))).unwrap();
    }
    symlink("/inside", root.join("l40")).unwrap();
    symlink("/l1/daemon.json", root.join("etc/daemon.json")).unwrap();
    symlink("/l2/daemon.json", root.join("etc/forty.json")).unwrap();
    for host in both(&root) {
        let err = host.file("/etc/daemon.json", true).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::LOOP.raw_os_error()), "{err}");
        assert_eq!(here(&host, "/etc/forty.json", true), root.join("inside/daemon.json"));
        assert_eq!(here(&host, "/etc/daemon.json", false), root.join("etc/daemon.json"));
    }
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn operations_work_from_the_directory_found_below_the_root() {
    let root = scratch("ops");
    let outside = scratch("ops-outside");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    // An absolute link to a directory that exists outside the root too:
    // below the root it is root/srv, which does not exist yet.
    symlink(&outside, root.join("etc/away")).unwrap();
    for host in both(&root) {
        let f = host.file(&format!("/etc/away/{}", "f.json"), false).unwrap();
        assert_eq!(f.write(b"x", Some(0o600)).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!f.remove().unwrap());
        let f = host.file("/etc/f.json", false).unwrap();
        f.write(b"one", Some(0o640)).unwrap();
        assert_eq!(f.lstat().unwrap().st_mode & 0o7777, 0o640);
        f.write(b"two", None).unwrap();
        assert_eq!(f.read().unwrap(), b"two");
        assert_eq!(f.lstat().unwrap().st_mode & 0o7777, 0o640);
        assert!(f.remove().unwrap());
        assert!(!f.remove().unwrap());
        let d = host.file("/etc/d", true).unwrap();
        d.create_dir(0o755).unwrap();
        assert!(d.is_dir());
        assert!(d.remove_dir().unwrap());
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing was written outside the root");
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(outside).unwrap();
}

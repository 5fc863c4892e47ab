//! The containerd drop-in that declares the shim as a CRI runtime.
//!
//! Owns the text of the one file install writes for containerd
//! (`/etc/containerd/conf.d/99-oci-add-hooks.toml`). Pure. The file is
//! generated whole and only ever replaced whole, so no TOML library is
//! needed; this module must never edit a TOML file someone else wrote.
//! containerd does not reload its configuration on SIGHUP: nothing here, or
//! in install, ever signals it.

/// Where the drop-in goes, relative to the host root.
pub(crate) const DROPIN: &str = "/etc/containerd/conf.d/99-oci-add-hooks.toml";
/// The first line of every drop-in install writes: how uninstall, with no
/// record to go by, recognises a file as ours.
pub(crate) const HEADER: &str = "# Written by `oci-add-hooks install`; `oci-add-hooks uninstall` removes it.";

/// The drop-in: runtime `name` of type `io.containerd.runc.v2`, whose shim
/// runs `binary` instead of runc. A runtime started as `BinaryName` gets no
/// arguments of ours, so the shim reads its defaults
/// (`/etc/oci-add-hooks/hooks.d`, runc from PATH).
pub(crate) fn dropin(name: &str, binary: &str) -> String {
    let table = format!("plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{}", basic_string(name));
    format!(
        "{HEADER}\n\
         # containerd reads it only if its config.toml imports it\n\
         # (imports = [\"/etc/containerd/conf.d/*.toml\"]), and only when restarted.\n\
         version = 2\n\
         \n\
         [{table}]\n\
         \x20 runtime_type = \"io.containerd.runc.v2\"\n\
         \n\
         [{table}.options]\n\
         \x20 BinaryName = {}\n",
        basic_string(binary)
    )
}

/// A TOML basic string (`"..."`). A JSON string is one, as TOML's escapes
/// are JSON's, except that TOML also wants DEL escaped.
fn basic_string(s: &str) -> String {
    crate::json::json_text(&s.into()).replace('\u{7f}', "\\u007F")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dropin_declares_a_runc_v2_runtime_with_our_binary() {
        assert_eq!(
            dropin("oci-add-hooks", "/usr/local/bin/oci-add-hooks"),
            "# Written by `oci-add-hooks install`; `oci-add-hooks uninstall` removes it.\n\
             # containerd reads it only if its config.toml imports it\n\
             # (imports = [\"/etc/containerd/conf.d/*.toml\"]), and only when restarted.\n\
             version = 2\n\
             \n\
             [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"oci-add-hooks\"]\n\
             \x20 runtime_type = \"io.containerd.runc.v2\"\n\
             \n\
             [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"oci-add-hooks\".options]\n\
             \x20 BinaryName = \"/usr/local/bin/oci-add-hooks\"\n"
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(basic_string("a\"b\\c\u{1}\u{7f}"), "\"a\\\"b\\\\c\\u0001\\u007F\"");
    }
}

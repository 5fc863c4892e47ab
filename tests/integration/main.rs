//! The integration tests: one test binary (as ripgrep and just do), running
//! the built `oci-add-hooks` as a user or a container engine would.

mod util;

mod docker;
mod install;
mod shim;

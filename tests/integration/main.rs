//! The integration tests: one test binary (as ripgrep and just do), running
//! the built `oci-add-hooks` as a user or a container engine would.

mod util;

mod containerd;
mod cri;
mod docker;
mod docs;
mod hooks_d;
mod hostile;
mod install;
mod layout;
mod node;
mod packages;
mod podman;
mod reliability;
mod shim;

//! The integration tests: one test binary (as ripgrep and just do), running
//! the built `oci-add-hooks` as a user or a container engine would.

// Test code: a panic is a failed test, so it may unwrap, and its helpers
// are `pub` to the modules that share them (Cargo.toml's lints are for the
// program itself).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[macro_use]
mod util;

mod containerd;
mod cri;
mod docker;
mod docs;
mod hooks_d;
mod hostile;
mod install;
mod layout;
mod lock;
mod node;
mod packages;
mod podman;
mod reliability;
mod shim;

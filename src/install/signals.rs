//! Waiting for SIGTERM or SIGINT, for `install --wait`.
//!
//! The installer image has no shell to `sleep infinity` in, so the
//! DaemonSet's container is `install --wait`: it installs, then sleeps until
//! Kubernetes stops it (a rolling update, an eviction, a deleted
//! DaemonSet) and exits 0. The signals are blocked before the install
//! starts and then taken with sigwait(3): no handler runs, so nothing
//! async-signal-unsafe can happen, and a SIGTERM that arrives mid-install
//! waits until the install is done instead of cutting it short. Neither std
//! nor rustix's stable API has signal masks, hence libc and `unsafe`. This
//! module must never be used once other threads exist: the mask is the
//! calling thread's.

use std::io;

/// SIGTERM and SIGINT, blocked in the calling thread for the rest of the
/// process (it exits after `wait`).
pub(crate) struct Blocked {
    set: libc::sigset_t,
}

/// Blocks SIGTERM and SIGINT, so that they stay pending until `wait`.
pub(crate) fn block_stop_signals() -> io::Result<Blocked> {
    // SAFETY: sigset_t is plain data; all-zero is a valid value for
    // sigemptyset to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, exclusively borrowed sigset_t for each call,
    // and pthread_sigmask is given a null old set, which it accepts.
    let rc = unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(Blocked { set })
}

impl Blocked {
    /// Waits until SIGTERM or SIGINT is pending and takes it; returns its
    /// name.
    pub(crate) fn wait(&self) -> io::Result<&'static str> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `self.set` was initialised by sigemptyset/sigaddset and
        // `sig` is a valid place for sigwait to write the signal number.
        let rc = unsafe { libc::sigwait(&self.set, &mut sig) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(if sig == libc::SIGINT { "SIGINT" } else { "SIGTERM" })
    }
}

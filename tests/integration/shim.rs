//! The runtime shim against a recording runtime and the real runc.

use crate::util::*;

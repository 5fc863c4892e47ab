//! Bundles: a directory holding a `config.json`, with Docker's own
//! `config.json` or a larger one grown from it. benches/shim.rs includes
//! this file (see mod.rs): everything in it must be used by that bench. The
//! methods of `Bundle` only the tests use are in mod.rs.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::basics::{write, TempDir};

/// The Docker 20.10 `config.json` from tests/fixtures (it carries Docker's
/// own prestart hook).
pub const DOCKER_CONFIG: &str = include_str!("../../fixtures/docker-config.json");

/// A bundle directory holding a `config.json`.
pub struct Bundle {
    pub dir: TempDir,
}

impl Bundle {
    /// A bundle under `parent` (see `TempDir::new_in`).
    pub fn with_config_in(parent: &Path, config: impl AsRef<[u8]>) -> Bundle {
        let dir = TempDir::new_in(parent, "bundle");
        write(&dir.join("config.json"), config, 0o644);
        Bundle { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_path()).unwrap()
    }

    /// Every file in the bundle directory (temporary files included).
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// The Docker `config.json` grown to at least `size` bytes with bind mounts
/// and environment entries, as a container with many volumes and variables
/// has; compact, as Docker writes it.
pub fn large_config(size: usize) -> Vec<u8> {
    let mut spec: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
    let mut len = DOCKER_CONFIG.len();
    let mut n = 0;
    while len < size {
        let mount = json!({
            "destination": format!("/data/volume-{n:07}"),
            "type": "bind",
            "source": format!("/var/lib/docker/volumes/volume-{n:07}/_data"),
            "options": ["rbind", "rprivate"],
        });
        let env = json!(format!("APP_SETTING_{n:07}=value-of-setting-{n:07}"));
        // Each entry adds its own length and a comma.
        len += mount.to_string().len() + env.to_string().len() + 2;
        spec["mounts"].as_array_mut().unwrap().push(mount);
        spec["process"]["env"].as_array_mut().unwrap().push(env);
        n += 1;
    }
    serde_json::to_vec(&spec).unwrap()
}

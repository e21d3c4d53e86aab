//! Shared helpers for jujusim's integration tests: a fresh model per test (destroyed on drop,
//! even when the test fails), running the real `jujusim` binary, reading the hook sequence the
//! `hooklog` test charm records, and the ops venvs.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_jujusim");

pub fn charms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Machines are namespaces: these tests need root. Fail loudly, never skip.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "jujusim integration tests need root (network and mount namespaces); run them as root"
    );
}

pub struct TestModel {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl TestModel {
    pub fn new(name: &str) -> TestModel {
        require_root();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("jsim-{name}-"))
            .tempdir_in("/tmp")
            .unwrap();
        let root = tmp.path().join("model");
        let m = TestModel { tmp, root };
        m.ok(&["init", "--name", name]);
        m
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        self.cmd_env(args, &[])
    }

    pub fn cmd_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        // Bounded: a hung command fails the test instead of hanging it.
        Command::new("timeout")
            .arg("600")
            .arg(BIN)
            .envs(env.iter().copied())
            .arg("--model")
            .arg(&self.root)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "jujusim {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; returns (exit code, stderr).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args);
        assert!(
            !out.status.success(),
            "jujusim {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Copies a test charm so a test may change it.
    pub fn charm(&self, name: &str) -> PathBuf {
        let dest = self.tmp.path().join("src").join(name);
        std::fs::create_dir_all(&dest).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", charms_dir().join(name).display()))
            .arg(&dest)
            .status()
            .unwrap();
        assert!(st.success());
        dest
    }

    pub fn unit_charm_dir(&self, unit: &str) -> PathBuf {
        self.root
            .join("units")
            .join(unit.replace('/', "-"))
            .join("charm")
    }

    /// Puts a shell snippet the hooklog charm sources in hook `hook` of `unit`.
    pub fn script(&self, unit: &str, hook: &str, body: &str) {
        std::fs::write(
            self.unit_charm_dir(unit).join(format!("script-{hook}")),
            body,
        )
        .unwrap();
    }

    pub fn remove_script(&self, unit: &str, hook: &str) {
        std::fs::remove_file(self.unit_charm_dir(unit).join(format!("script-{hook}"))).unwrap();
    }

    /// Every hook the hooklog charm recorded, as `unit hook [remote] [departing=u]`.
    pub fn hooks(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.root.join("hook-sequence.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let mut parts = l.split_whitespace();
                let unit = parts.next().unwrap_or_default();
                let path = parts.next().unwrap_or_default();
                let hook = path.rsplit('/').next().unwrap_or_default();
                let mut out = format!("{unit} {hook}");
                for p in parts {
                    if let Some(r) = p.strip_prefix("remote=") {
                        if !r.is_empty() {
                            out.push(' ');
                            out.push_str(r);
                        }
                    }
                    if let Some(d) = p.strip_prefix("departing=") {
                        if !d.is_empty() {
                            out.push_str(&format!(" departing={d}"));
                        }
                    }
                }
                out
            })
            .collect()
    }

    /// The hooks one unit ran, without the unit name.
    pub fn hooks_of(&self, unit: &str) -> Vec<String> {
        self.hooks()
            .into_iter()
            .filter_map(|h| h.strip_prefix(&format!("{unit} ")).map(str::to_string))
            .collect()
    }

    pub fn clear_hooks(&self) {
        let _ = std::fs::remove_file(self.root.join("hook-sequence.log"));
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--format=json"])).unwrap()
    }

    pub fn show_unit(&self, unit: &str) -> Value {
        let v: Value =
            serde_json::from_str(&self.ok(&["show-unit", unit, "--format=json"])).unwrap();
        v[unit].clone()
    }

    /// The unit's bag in its relation on `endpoint`.
    pub fn own_bag(&self, unit: &str, endpoint: &str) -> Value {
        let info = self.show_unit(unit);
        info["relation-info"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["endpoint"] == endpoint)
            .map(|r| r["local-unit"]["data"].clone())
            .unwrap_or(Value::Null)
    }

    pub fn unit_status(&self, unit: &str) -> (String, String) {
        let st = self.status();
        let app = unit.split('/').next().unwrap();
        let u = &st["applications"][app]["units"][unit];
        (
            u["workload-status"]["current"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            u["workload-status"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    pub fn address(&self, unit: &str) -> String {
        let st = self.status();
        let app = unit.split('/').next().unwrap();
        st["applications"][app]["units"][unit]["public-address"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn net_index(&self) -> u8 {
        let m: Value =
            serde_json::from_slice(&std::fs::read(self.root.join("model.json")).unwrap()).unwrap();
        m["net_index"].as_u64().unwrap() as u8
    }
}

impl Drop for TestModel {
    fn drop(&mut self) {
        let _ = self.cmd(&["destroy"]);
    }
}

/// The python venv for an ops generation: `old` = ops 2.23.2 (≤ 3.3 argv forms), `new` =
/// ops ≥ 3.8. Created with `make ops-venvs` (under a lock) when absent.
pub fn ops_venv(generation: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = repo_root().join(format!(".venv-ops-{generation}"));
    if !venv.join(".installed").exists() {
        let st = Command::new("make")
            .arg("-C")
            .arg(repo_root())
            .arg("ops-venvs")
            .status()
            .expect("make is installed");
        assert!(
            st.success(),
            "`make ops-venvs` failed: the ops tests need PyPI access (ops==2.23.2, ops>=3.8)"
        );
    }
    let python = venv.join("bin/python3");
    let ok = Command::new(&python)
        .args(["-c", "import ops"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} has no ops; remove it and run `make ops-venvs`",
        venv.display()
    );
    venv.canonicalize().unwrap()
}

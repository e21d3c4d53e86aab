//! Shared harness for integration tests that drive `jujusim` with real charms, a real HAProxy
//! and real traffic.
//!
//! Every test gets a fresh model named after it (its own bridge, namespaces and directory);
//! dropping the [`Model`] runs `jujusim destroy`, so no HAProxy or web server outlives a test,
//! even a failing one. Our charm is assembled from this build's binary (`CARGO_BIN_EXE_…`), so
//! the tests exercise the code under test, not a stale `.charm`. Traffic goes only to the
//! model's own namespace addresses.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `jujusim` binary: `$JUJUSIM_BIN`, else the workspace's debug build (`make test` builds
/// it first). Missing is a loud failure, never a skip.
pub fn jujusim_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("JUJUSIM_BIN") {
        return PathBuf::from(bin);
    }
    let bin = root().join("target/debug/jujusim");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p jujusim` (make test does)",
        bin.display()
    );
    bin
}

/// A charm directory for haproxy-lb built from this test build's binary.
pub fn our_charm() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haproxy-lb-charm-{}", std::process::id()));
    if dir.join("dispatch").is_file() {
        return dir;
    }
    let staging = dir.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    for file in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        std::fs::copy(root().join(file), staging.join(file)).unwrap();
    }
    std::fs::copy(env!("CARGO_BIN_EXE_haproxy-lb"), staging.join("dispatch")).unwrap();
    // Another test of this process may have won the race: either copy is the same.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    dir
}

/// A test charm under `tests/charms/`.
pub fn test_charm(name: &str) -> PathBuf {
    root().join("tests/charms").join(name)
}

pub struct Model {
    pub dir: PathBuf,
}

impl Model {
    /// A fresh model for `test` (its name appears in the directory, for debugging).
    pub fn new(test: &str) -> Model {
        assert!(
            nix::unistd::geteuid().is_root(),
            "jujusim needs root (namespaces); run the tests as root"
        );
        let dir = std::env::temp_dir().join(format!("jujusim-{test}-{}", std::process::id()));
        let model = Model { dir };
        if model.dir.exists() {
            let _ = model.try_run(&["destroy"]);
            let _ = std::fs::remove_dir_all(&model.dir);
        }
        model.run(&["init", "--name", &test.replace('_', "-")]);
        model
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(jujusim_bin());
        cmd.arg("--model").arg(&self.dir).args(args);
        cmd
    }

    /// Run a CLI command; panic with its output when it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "jujusim {} failed ({}):\n{}\n{}\n--- debug-log tail ---\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.debug_log_tail(40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn try_run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run jujusim")
    }

    pub fn debug_log_tail(&self, lines: usize) -> String {
        let out = self.command(&["debug-log"]).output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Deploy haproxy-lb with `n` units and options.
    pub fn deploy_ours(&self, app: &str, n: usize, config: &[&str]) {
        let charm = our_charm();
        self.deploy(&charm, app, n, config);
    }

    pub fn deploy(&self, charm: &Path, app: &str, n: usize, config: &[&str]) {
        let n = n.to_string();
        let charm = charm.to_string_lossy();
        let mut args = vec!["deploy", &charm, app, "-n", &n];
        for c in config {
            args.push("--config");
            args.push(c);
        }
        self.run(&args);
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&self.run(&["status", "--format", "json"])).expect("status json")
    }

    fn unit_json(&self, unit: &str) -> Value {
        let app = unit.split('/').next().unwrap_or(unit);
        self.status()["applications"][app]["units"][unit].clone()
    }

    pub fn address(&self, unit: &str) -> String {
        let addr = self.unit_json(unit)["public-address"]
            .as_str()
            .unwrap_or_else(|| panic!("no address for {unit}: {}", self.status()))
            .to_owned();
        assert!(
            addr.starts_with("198.18."),
            "unit addresses must be the model's own namespace addresses: {addr}"
        );
        addr
    }

    /// (workload status, message) of a unit.
    pub fn workload(&self, unit: &str) -> (String, String) {
        let u = self.unit_json(unit);
        (
            u["workload-status"]["current"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            u["workload-status"]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        )
    }

    pub fn open_ports(&self, unit: &str) -> Vec<String> {
        self.unit_json(unit)["open-ports"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `jujusim show-unit` as JSON.
    pub fn show_unit(&self, unit: &str) -> Value {
        serde_json::from_str(&self.run(&["show-unit", unit, "--format", "json"]))
            .expect("show-unit json")
    }

    /// (workload status, message) of `unit`, a subordinate of `principal`.
    pub fn subordinate_workload(&self, principal: &str, unit: &str) -> (String, String) {
        let w = &self.unit_json(principal)["subordinates"][unit]["workload-status"];
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        (text(&w["current"]), text(&w["message"]))
    }

    /// The bag `remote` wrote on `unit`'s relation `endpoint`, as `unit` sees it (`show-unit`):
    /// key → value, `Null` when the relation or the unit is not there.
    pub fn related_bag(&self, unit: &str, endpoint: &str, remote: &str) -> Value {
        let shown = self.show_unit(unit);
        shown[unit]["relation-info"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["endpoint"] == endpoint)
            .map(|r| r["related-units"][remote]["data"].clone())
            .unwrap_or(Value::Null)
    }

    /// Run a shell command inside a unit's machine.
    pub fn exec(&self, unit: &str, cmd: &str) -> Output {
        self.try_run(&["exec", unit, "--", cmd])
    }

    /// The config HAProxy serves on a unit.
    pub fn haproxy_cfg(&self, unit: &str) -> String {
        let out = self.exec(unit, "cat /etc/haproxy/haproxy.cfg");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let _ = self.try_run(&["destroy"]);
    }
}

/// One HTTP/1.1 GET with `Connection: close`, bounded by `timeout`: (status, body).
pub fn http_get(
    addr: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let sock: SocketAddr = format!("{addr}:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&sock, timeout).map_err(|e| format!("connect {sock}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, body.to_owned()))
}

/// Poll `f` every 200 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

//! The charm binary run as Juju runs it, on "a machine of its own" (as `tests/dispatch.rs`
//! does): private tmpfs on every path the charm writes, its own network and PID namespaces
//! (the namespace's end kills any HAProxy a hook started). A shell snippet can run before and
//! after the hook inside that machine, e.g. to hold a lock or list what is left on disk.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_haproxy-lb");

/// Paths the charm writes on its machine.
pub const MACHINE_DIRS: &str = "/etc/haproxy /run /var/lib/haproxy /var/lib/haproxy-lb /var/log";

/// Juju's hook environment for `hook`, with `tools` first on the PATH (spec §1.2).
pub fn juju_env(tools: &str, charm_dir: &Path, hook: &str) -> BTreeMap<String, String> {
    [
        ("JUJU_UNIT_NAME", "haproxy-lb/0".to_owned()),
        ("JUJU_MODEL_NAME", "test".to_owned()),
        (
            "JUJU_MODEL_UUID",
            "2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e".to_owned(),
        ),
        ("JUJU_CHARM_DIR", charm_dir.display().to_string()),
        ("JUJU_VERSION", "3.6.8".to_owned()),
        ("JUJU_MACHINE_ID", "0".to_owned()),
        ("JUJU_AVAILABILITY_ZONE", String::new()),
        ("DEBIAN_FRONTEND", "noninteractive".to_owned()),
        ("JUJU_DISPATCH_PATH", format!("hooks/{hook}")),
        ("JUJU_HOOK_NAME", hook.to_owned()),
        ("PATH", format!("{tools}:/usr/sbin:/usr/bin:/sbin:/bin")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Runs `script` with `sh -c` on a machine of its own; `$0` in it is the charm binary.
pub fn run(script: &str, env: &BTreeMap<String, String>, cwd: &Path) -> Output {
    assert!(
        Path::new("/usr/sbin/haproxy").exists(),
        "this test needs Debian's haproxy package: run `make deps`"
    );
    let machine = format!(
        "set -e; for d in {MACHINE_DIRS}; do mkdir -p $d; mount -t tmpfs tmpfs $d; done; set +e; {script}"
    );
    Command::new("/usr/bin/unshare")
        .args([
            "--fork",
            "--pid",
            "--mount",
            "--net",
            "--propagation",
            "private",
        ])
        .args(["--", "/bin/sh", "-c", &machine, BIN])
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare (util-linux) must be installed")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `config-get --all --format=json` for a unit with every option at its `config.yaml` default.
pub fn config_defaults_json() -> String {
    let config: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../config.yaml")).expect("config.yaml");
    let mut out = serde_json::Map::new();
    if let Some(options) = config["options"].as_mapping() {
        for (name, option) in options {
            if let (Some(name), Some(default)) = (name.as_str(), option.get("default")) {
                out.insert(name.to_owned(), serde_json::to_value(default).unwrap());
            }
        }
    }
    serde_json::Value::Object(out).to_string()
}

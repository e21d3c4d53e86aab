//! Runs the demo `web` charm (`tests/charms/web`) the way Juju does: `dispatch` exec'd with a
//! fresh environment, `JUJU_DISPATCH_PATH=hooks/<name>`, and hook tools on `PATH`. The tools are
//! small recording fakes (until the simulator lands): `unit-get` answers the unit's address,
//! `config-get` a JSON file, `relation-set --file -` merges its JSON into `bag.json` (the unit's
//! website bag). The server the charm starts is killed when the [`WebUnit`] drops.
//! Addresses and ports: 127.0.3.0/24, 30000-39999 (this work's range).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn charm_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/web")
}

pub struct WebUnit {
    pub name: String,
    pub addr: String,
    dir: tempfile::TempDir,
}

const MERGE_BAG: &str = r#"import json, sys
path = sys.argv[1]
try:
    bag = json.load(open(path))
except (OSError, ValueError):
    bag = {}
for k, v in json.loads(sys.stdin.read() or "{}").items():
    if v == "":
        bag.pop(k, None)
    else:
        bag[k] = v
json.dump(bag, open(path, "w"))
"#;

impl WebUnit {
    pub fn new(name: &str, addr: &str) -> WebUnit {
        assert!(
            Path::new("/usr/bin/python3").exists(),
            "the web charm needs /usr/bin/python3 (apt-get install python3)"
        );
        let dir = tempfile::tempdir().unwrap();
        let charm = dir.path().join("charm");
        std::fs::create_dir_all(&charm).unwrap();
        for file in ["dispatch", "metadata.yaml", "config.yaml"] {
            std::fs::copy(charm_source().join(file), charm.join(file)).unwrap();
        }
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::write(dir.path().join("merge_bag.py"), MERGE_BAG).unwrap();
        let log = dir.path().join("calls").display().to_string();
        let root = dir.path().display().to_string();
        let fake = |name: &str, body: &str| {
            let path = tools.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        fake(
            "unit-get",
            &format!("echo \"unit-get $*\" >> {log}; echo '\"{addr}\"'"),
        );
        fake(
            "config-get",
            &format!("echo \"config-get $*\" >> {log}; cat {root}/config.json"),
        );
        fake(
            "relation-ids",
            &format!("echo \"relation-ids $*\" >> {log}; echo '[\"website:3\"]'"),
        );
        fake(
            "relation-set",
            &format!(
                "in=$(cat); echo \"relation-set $* $in\" >> {log}; \
                 printf '%s' \"$in\" | /usr/bin/python3 {root}/merge_bag.py {root}/bag.json"
            ),
        );
        fake("status-set", &format!("echo \"status-set $*\" >> {log}"));
        fake("juju-log", &format!("echo \"juju-log $*\" >> {log}"));
        let unit = WebUnit {
            name: name.to_owned(),
            addr: addr.to_owned(),
            dir,
        };
        unit.config(8080, "");
        unit
    }

    pub fn config(&self, port: u16, service_name: &str) {
        std::fs::write(
            self.dir.path().join("config.json"),
            format!("{{\"port\": {port}, \"service_name\": \"{service_name}\"}}\n"),
        )
        .unwrap();
    }

    pub fn hook(&self, name: &str) {
        let charm = self.dir.path().join("charm");
        let mut cmd = Command::new(charm.join("dispatch"));
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("tools").display()),
            )
            .env("JUJU_DISPATCH_PATH", format!("hooks/{name}"))
            .env("JUJU_HOOK_NAME", name)
            .env("JUJU_UNIT_NAME", &self.name)
            .env("JUJU_CHARM_DIR", &charm)
            .current_dir(&charm);
        if name.starts_with("website-relation") {
            cmd.env("JUJU_RELATION", "website")
                .env("JUJU_RELATION_ID", "website:3");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{} {name}: {}\n{}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// install, config-changed, start, website-relation-joined/changed: what Juju runs first.
    pub fn deploy_and_relate(&self) {
        for hook in [
            "install",
            "config-changed",
            "start",
            "website-relation-joined",
            "website-relation-changed",
        ] {
            self.hook(hook);
        }
    }

    pub fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    /// The unit's website bag as the other side reads it: Juju's address keys plus what the
    /// charm set.
    pub fn bag(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.dir.path().join("bag.json")).unwrap_or_default();
        let set: BTreeMap<String, String> = serde_json::from_str(&text).unwrap_or_default();
        let mut bag = BTreeMap::from([
            ("private-address".to_owned(), self.addr.clone()),
            ("ingress-address".to_owned(), self.addr.clone()),
            ("egress-subnets".to_owned(), format!("{}/32", self.addr)),
        ]);
        bag.extend(set);
        bag
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("charm/server.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }
}

impl Drop for WebUnit {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

//! The demo `web` charm (`tests/charms/web`) run as Juju would run it: `dispatch` exec'd with
//! a fresh environment, `JUJU_DISPATCH_PATH=hooks/<name>`, and hook tools on `PATH` (here small
//! recording fakes, so this test does not need the simulator). Proves: the server starts on
//! `unit-get private-address` and the `port` option, answers every path with the unit name,
//! restarts on a port change, publishes `hostname`/`port` on `website`, and dies on `stop`.
//! Loopback range of this work: 127.0.3.0/24, ports 30000-39999.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ADDR: &str = "127.0.3.10";

fn charm_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/web")
}

/// A copy of the charm plus fake hook tools, in a temp dir; kills the server on drop.
struct Unit {
    dir: tempfile::TempDir,
}

impl Unit {
    fn new() -> Unit {
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
        let calls = dir.path().join("calls");
        let fake = |name: &str, body: &str| {
            let path = tools.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let log = calls.display();
        fake(
            "unit-get",
            &format!("echo \"unit-get $*\" >> {log}; echo '\"{ADDR}\"'"),
        );
        fake(
            "config-get",
            &format!(
                "echo \"config-get $*\" >> {log}; cat {}",
                dir.path().join("config.json").display()
            ),
        );
        fake(
            "relation-ids",
            &format!("echo \"relation-ids $*\" >> {log}; echo '[\"website:3\"]'"),
        );
        fake(
            "relation-set",
            &format!("echo \"relation-set $* $(cat)\" >> {log}"),
        );
        fake("status-set", &format!("echo \"status-set $*\" >> {log}"));
        fake("juju-log", &format!("echo \"juju-log $*\" >> {log}"));
        Unit { dir }
    }

    fn config(&self, port: u16, service_name: &str) {
        std::fs::write(
            self.dir.path().join("config.json"),
            format!("{{\"port\": {port}, \"service_name\": \"{service_name}\"}}\n"),
        )
        .unwrap();
    }

    fn hook(&self, name: &str) {
        let charm = self.dir.path().join("charm");
        let mut cmd = Command::new(charm.join("dispatch"));
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("tools").display()),
            )
            .env("JUJU_DISPATCH_PATH", format!("hooks/{name}"))
            .env("JUJU_HOOK_NAME", name)
            .env("JUJU_UNIT_NAME", "web/1")
            .env("JUJU_CHARM_DIR", &charm)
            .current_dir(&charm);
        if name.starts_with("website-relation") {
            cmd.env("JUJU_RELATION", "website")
                .env("JUJU_RELATION_ID", "website:3");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("charm/server.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect((ADDR, port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn web_charm_serves_its_unit_name_and_follows_config() {
    let unit = Unit::new();
    unit.config(30310, "");
    unit.hook("install");
    let reply = get(30310, "/anything/at/all").unwrap();
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
    assert!(reply.ends_with("\r\n\r\nweb/1\n"), "{reply}");
    assert!(get(30310, "/health").unwrap().contains(" 200 "));
    let calls = unit.calls();
    assert!(
        calls.contains("status-set active serving on 127.0.3.10:30310"),
        "{calls}"
    );
    assert!(
        calls.contains("unit-get --format=json private-address"),
        "{calls}"
    );

    // start / config-changed with the same settings keep the same process.
    let first = unit.pid();
    unit.hook("start");
    assert_eq!(unit.pid(), first);

    // A port change restarts the server and republishes on every website relation.
    unit.config(30311, "web_service");
    unit.hook("config-changed");
    assert!(get(30311, "/").unwrap().ends_with("web/1\n"));
    assert!(get(30310, "/").is_err(), "old port still served");
    assert_ne!(unit.pid(), first);
    let calls = unit.calls();
    assert!(
        calls.contains(r#"relation-set -r website:3 --file - {"hostname": "127.0.3.10", "port": "30311", "service_name": "web_service"}"#),
        "{calls}"
    );

    // The relation hooks publish on their own relation.
    unit.hook("website-relation-joined");
    assert!(
        unit.calls().contains(r#"relation-set --file - {"hostname": "127.0.3.10", "port": "30311", "service_name": "web_service"}"#),
        "{}",
        unit.calls()
    );

    // stop kills it.
    let pid = unit.pid().unwrap();
    unit.hook("stop");
    assert!(get(30311, "/").is_err());
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(), "server {pid} still running after stop");
}

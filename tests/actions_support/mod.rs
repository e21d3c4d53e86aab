//! A unit for the action tests without the simulator: recording hook tools that answer like a
//! model with one `services` config option and no relations, settings under a temp dir, a real
//! HAProxy started by the same reconcile a hook runs, and an action runner that returns what
//! the action reported (`action-set` results or the `action-fail` message). Every address is
//! in 127.0.6.0/24, every port in 55000-59999 (this branch's range). HAProxy is stopped on
//! drop.
#![allow(dead_code)]

use crate::support::Recorder;
use haproxy_lb::charm::run_action_with;
use haproxy_lb::haproxy::{Paths, ReloadPolicy, Service};
use haproxy_lb::juju::{Context, Dispatch, HookTools, Invocation};
use haproxy_lb::reconcile::{self, Settings, Summary};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

pub fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 6, last])
}

/// The `services` option: one HTTP service on `front` balancing `servers` (name, port on
/// 127.0.6.<last>), health-checked every second.
pub fn services_option(front_port: u16, servers: &[(&str, u8, u16)]) -> String {
    let mut text = format!(
        "- service_name: web\n  service_host: 127.0.6.10\n  service_port: {front_port}\n  service_options: [balance roundrobin]\n  servers:\n"
    );
    for (name, last, port) in servers {
        text.push_str(&format!(
            "  - [{name}, 127.0.6.{last}, {port}, check inter 1s]\n"
        ));
    }
    text
}

/// What an action reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    Results(BTreeMap<String, String>),
    Failed(String),
}

impl Reported {
    pub fn results(self) -> BTreeMap<String, String> {
        match self {
            Reported::Results(r) => r,
            Reported::Failed(m) => panic!("the action failed: {m}"),
        }
    }

    pub fn failure(self) -> String {
        match self {
            Reported::Failed(m) => m,
            Reported::Results(r) => panic!("the action succeeded: {r:?}"),
        }
    }
}

pub struct Unit {
    pub recorder: Recorder,
    pub root: tempfile::TempDir,
    pub settings: Settings,
}

impl Unit {
    pub fn new(services: &str) -> Self {
        let recorder = Recorder::new();
        let root = tempfile::Builder::new()
            .prefix("actions-test")
            .tempdir()
            .unwrap();
        let settings = Settings {
            state_dir: root.path().join("var/lib/haproxy-lb"),
            files_dir: root.path().join("etc/haproxy/haproxy-lb"),
            haproxy: Paths::under(root.path()),
        };
        let unit = Unit {
            recorder,
            root,
            settings,
        };
        unit.set_services(services);
        unit.recorder.respond("is-leader", "true");
        unit.recorder.respond("unit-get", "\"127.0.6.10\"");
        unit.recorder.respond("relation-ids", "[]");
        unit.recorder.respond("opened-ports", "[]");
        unit
    }

    pub fn set_services(&self, services: &str) {
        let config = serde_json::json!({ "services": services });
        self.recorder.respond("config-get", &config.to_string());
    }

    pub fn tools(&self) -> HookTools {
        HookTools::new(self.recorder.bin_str())
    }

    pub fn service(&self) -> Service {
        let mut service = Service::new(self.settings.haproxy.clone());
        service.policy = ReloadPolicy {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(10),
            settle: Duration::from_millis(200),
        };
        service.stop_grace = Duration::from_secs(2);
        service
    }

    fn context(&self, dispatch_path: &str) -> Context {
        let path = self.recorder.bin_str();
        let vars: BTreeMap<String, String> = [
            ("JUJU_UNIT_NAME", "haproxy-lb/0"),
            ("JUJU_MODEL_NAME", "test"),
            ("JUJU_MODEL_UUID", "2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"),
            ("JUJU_CHARM_DIR", "/tmp/charm"),
            ("JUJU_VERSION", "3.6.8"),
            ("JUJU_DISPATCH_PATH", dispatch_path),
            ("JUJU_ACTION_UUID", "5"),
            ("PATH", path.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        match Context::from_parts(&vars, &["/tmp/charm/dispatch".to_owned()]).unwrap() {
            Invocation::Juju(ctx) => *ctx,
            other => panic!("{other:?}"),
        }
    }

    /// The reconcile a hook runs (the install step is not part of it).
    pub fn hook(&self) -> Summary {
        let ctx = self.context("hooks/config-changed");
        reconcile::reconcile(&ctx, &self.tools(), &self.settings).unwrap()
    }

    /// Run an action through the dispatcher, with `params` as `action-get` answers them.
    pub fn action(&self, name: &str, params: serde_json::Value) -> Reported {
        self.recorder.respond("action-get", &params.to_string());
        self.recorder.clear();
        let ctx = self.context(&format!("actions/{name}"));
        let Dispatch::Action(action) = &ctx.dispatch else {
            panic!("{:?}", ctx.dispatch)
        };
        run_action_with(&ctx, &self.tools(), action, &self.settings).unwrap();
        let calls = self.recorder.calls();
        let fails: Vec<_> = calls.iter().filter(|c| c.tool == "action-fail").collect();
        if let Some(fail) = fails.first() {
            assert_eq!(fail.args[0], "--");
            return Reported::Failed(fail.args[1].clone());
        }
        let mut results = BTreeMap::new();
        for call in calls.iter().filter(|c| c.tool == "action-set") {
            for arg in &call.args {
                let (k, v) = arg.split_once('=').unwrap();
                results.insert(k.to_owned(), v.to_owned());
            }
        }
        Reported::Results(results)
    }

    /// Every `status-set` since the last clear, as `status-set ...` lines.
    pub fn statuses(&self) -> Vec<String> {
        self.recorder
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("status-set"))
            .collect()
    }

    pub fn reloads(&self) -> u32 {
        self.service().show_proc().unwrap().reloads
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.settings.haproxy.log_file).unwrap_or_default()
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        let _ = self.service().stop();
    }
}

/// One `GET /` with `Connection: close`: `Ok(body)` or the error (refused, reset, timeout).
pub fn get(addr: SocketAddr) -> Result<String, String> {
    let mut conn =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no headers")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or("").to_owned());
    }
    Ok(body.to_owned())
}

//! The `bench-scale` bin, run by `make bench-render` (issue 11 §2): what `plan::build` +
//! `render::render` cost for 10, 1,000 and 10,000 backend servers, and what `haproxy -c` costs
//! on the same configs.
//!
//! Shape: every 10 servers form one service (a tcp frontend on its own port and a backend of 10
//! checked servers), like loadbalancer requests with 10 requirer units each; 10,000 servers are
//! 1,000 frontends and 1,000 backends. Addresses are 127.8.0.x and ports 63000-64999 (this
//! benchmark's loopback range): nothing connects to them, `haproxy -c` only parses.
//!
//! The process first moves itself into a network namespace of its own (`unshare(CLONE_NEWNET)`,
//! needs root), so `haproxy -c` can never query DNS or reach anything (`spec/haproxy.md` §9.13's
//! lesson: hostnames in a config make `-c` resolve them). Results go to stdout as JSON for
//! `bench/report.py`; this file owns nothing else and touches no shared state.

use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{
    self, Backend, Bind, FilePath, Frontend, GlobalSettings, HealthCheck, Host, Mode, Origin, Port,
    ProxyName, Server, ServerName, ServiceRequest, Source,
};
use haproxy_lb::render::{render, RuntimeFiles};
use std::time::{Duration, Instant};

const SERVERS_PER_SERVICE: usize = 10;
const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn requests(servers: usize) -> Vec<ServiceRequest> {
    let services = servers.div_ceil(SERVERS_PER_SERVICE);
    (0..services)
        .map(|s| {
            let frontend = ProxyName::new(&format!("fe-svc-{s:05}")).expect("valid name");
            let backend = ProxyName::new(&format!("be-svc-{s:05}")).expect("valid name");
            ServiceRequest {
                origin: Origin::LoadBalancer,
                source: Source::App {
                    relation: "lb-consumers:1".into(),
                    app: "bench".into(),
                    request: Some(format!("svc-{s:05}")),
                },
                service: format!("svc-{s:05}"),
                frontends: vec![Frontend {
                    name: frontend,
                    bind: Bind {
                        host: None,
                        port: Port::new(63000 + s as u16).expect("port"),
                    },
                    mode: Mode::Tcp,
                    tls: None,
                    directives: vec![],
                    routes: vec![],
                    default_backend: Some(backend.clone()),
                }],
                backends: vec![Backend {
                    name: backend,
                    mode: Mode::Tcp,
                    balance: None,
                    stickiness: None,
                    health_check: Some(HealthCheck {
                        path: None,
                        interval_s: 30,
                        fall: 3,
                        rise: 2,
                        probes: vec![],
                    }),
                    directives: vec![],
                    errorfiles: vec![],
                    servers: (0..SERVERS_PER_SERVICE.min(servers - s * SERVERS_PER_SERVICE))
                        .map(|i| {
                            let n = s * SERVERS_PER_SERVICE + i;
                            Server {
                                name: ServerName::new(&format!("unit-{i}")).expect("name"),
                                host: Host::parse(&format!("127.8.0.{}", 1 + n % 250))
                                    .expect("host"),
                                port: Port::new(63000 + (n % 2000) as u16).expect("port"),
                                weight: None,
                                check: true,
                                options: vec![],
                            }
                        })
                        .collect(),
                }],
            }
        })
        .collect()
}

fn inputs() -> PlanInputs {
    PlanInputs {
        global: GlobalSettings::default(),
        userlists: vec![],
        stats: None,
    }
}

fn files(dir: &std::path::Path) -> RuntimeFiles {
    let path = |p: &str| FilePath::new(&dir.join(p).to_string_lossy()).expect("file path");
    RuntimeFiles {
        admin_socket: path("admin.sock"),
        server_state: path("server-state"),
        chroot: None,
        user: None,
        group: None,
    }
}

/// Removes the configs this run wrote, even when an assertion fails half-way.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
        eprintln!("bench scale: cannot enter a network namespace of its own ({e}); run as root");
        std::process::exit(1);
    }
    let dir = std::env::temp_dir().join(format!("haproxy-lb-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = RemoveOnDrop(dir.clone());
    let runtime = files(&dir);
    let mut rows = Vec::new();
    for &servers in &SIZES {
        // Enough repetitions for ~1 s of work at the small end, at least 5 at the large end.
        let reps = (20_000 / servers).clamp(5, 500);
        let mut build_t = Vec::new();
        let mut render_t = Vec::new();
        let mut text = String::new();
        for _ in 0..reps {
            let reqs = requests(servers);
            let started = Instant::now();
            let (plan, rejections) = plan::build(inputs(), reqs);
            build_t.push(started.elapsed());
            assert!(rejections.is_empty(), "{rejections:?}");
            let started = Instant::now();
            text = render(&plan, &runtime).expect("render");
            render_t.push(started.elapsed());
        }
        let cfg = dir.join(format!("haproxy-{servers}.cfg"));
        std::fs::write(&cfg, &text).expect("write cfg");
        let mut check_t = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let out = std::process::Command::new("/usr/sbin/haproxy")
                .arg("-c")
                .arg("-f")
                .arg(&cfg)
                .output()
                .expect("run haproxy -c");
            check_t.push(started.elapsed());
            assert!(
                out.status.success(),
                "haproxy -c refused the {servers}-server config:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (b, r, c) = (median(build_t), median(render_t), median(check_t));
        eprintln!(
            "{servers:>6} servers: build {:>9.0} us, render {:>9.0} us ({:.2} us/server), haproxy -c {:>9.0} us, {} bytes",
            us(b),
            us(r),
            us(b + r) / servers as f64,
            us(c),
            text.len()
        );
        rows.push(format!(
            "{{\"servers\": {servers}, \"services\": {}, \"reps\": {reps}, \"build_us\": {:.1}, \"render_us\": {:.1}, \"per_server_us\": {:.3}, \"haproxy_check_us\": {:.1}, \"config_bytes\": {}}}",
            servers.div_ceil(SERVERS_PER_SERVICE),
            us(b),
            us(r),
            us(b + r) / servers as f64,
            us(c),
            text.len()
        ));
    }
    println!("{{\"rows\": [{}]}}", rows.join(", "));
}

//! `docs/haproxy.cfg.example` is what the renderer prints for a typical plan, and HAProxy
//! accepts it. Regenerate with `UPDATE_EXAMPLE=1 cargo test --test rendered_example_matches_docs`.

mod util;

use haproxy_lb::haproxy::Paths;
use haproxy_lb::plan::*;
use haproxy_lb::render::render;
use util::*;

const HASH: &str = "$6$Zx9Q2abcdEFgh$a6hSG0aeOcrxdf3keKBCdkp/eL/xMICQhhl0jU1eDt4CVb3mCMzv3FDnDBT6MK78OhFO.cTbTD5WFfF6RnPGe0";
const CRT_LIST: &str = "/etc/haproxy/haproxy-lb/certs/crt-list";

fn host_server(n: &str, host: &str, p: u16) -> Server {
    Server {
        host: Host::parse(host).unwrap(),
        ..server(n, "127.0.0.1".parse().unwrap(), p)
    }
}

/// A web app behind TLS with host routing and cookies, an API with least-connections, a
/// sticky database in tcp mode, and the stats listener.
fn example_plan() -> LoadBalancerPlan {
    let web = Backend {
        name: name("be_web"),
        mode: Mode::Http,
        balance: Some(Balance::RoundRobin),
        stickiness: Some(Stickiness::Cookie(CookieName::new("SRVID").unwrap())),
        health_check: Some(HealthCheck {
            path: Some(HttpPath::new("/health").unwrap()),
            interval_s: 5,
            fall: 3,
            rise: 2,
            probes: Vec::new(),
        }),
        directives: vec![],
        errorfiles: vec![],
        servers: vec![
            host_server("web-0", "10.0.0.10", 8080),
            host_server("web-1", "10.0.0.11", 8080),
        ],
    };
    let api = Backend {
        name: name("be_api"),
        mode: Mode::Http,
        balance: Some(Balance::LeastConn),
        stickiness: None,
        health_check: Some(HealthCheck {
            path: Some(HttpPath::new("/healthz").unwrap()),
            interval_s: 30,
            fall: 3,
            rise: 2,
            probes: Vec::new(),
        }),
        directives: vec![],
        errorfiles: vec![],
        servers: vec![
            Server {
                weight: Some(10),
                ..host_server("api-0", "10.0.0.20", 9000)
            },
            host_server("api-1", "2001:db8::21", 9000),
        ],
    };
    let db = Backend {
        name: name("be_db"),
        mode: Mode::Tcp,
        balance: Some(Balance::Source),
        stickiness: Some(Stickiness::SourceIp),
        health_check: Some(HealthCheck {
            path: None,
            interval_s: 10,
            fall: 3,
            rise: 2,
            probes: Vec::new(),
        }),
        directives: vec![],
        errorfiles: vec![],
        servers: vec![
            host_server("db-0", "db-0.internal.example", 5432),
            host_server("db-1", "10.0.0.31", 5432),
        ],
    };
    // kube-apiserver behind a tcp frontend: TLS passes through, the check is /livez over TLS
    // (`spec/loadbalancer.md` §7).
    let kube = Backend {
        name: name("be_kube"),
        mode: Mode::Tcp,
        balance: Some(Balance::RoundRobin),
        stickiness: None,
        health_check: Some(HealthCheck {
            path: None,
            interval_s: 30,
            fall: 3,
            rise: 2,
            probes: vec![Probe {
                port: port(6443),
                kind: ProbeKind::Https {
                    path: HttpPath::new("/livez").unwrap(),
                },
            }],
        }),
        directives: vec![],
        errorfiles: vec![],
        servers: vec![
            host_server("kube-0", "10.0.0.40", 6443),
            host_server("kube-1", "10.0.0.41", 6443),
        ],
    };
    let kube_fe = Frontend {
        name: name("fe_kube"),
        bind: Bind {
            host: None,
            port: port(6443),
        },
        mode: Mode::Tcp,
        tls: None,
        directives: vec![],
        routes: vec![],
        default_backend: Some(name("be_kube")),
    };
    let https = Frontend {
        name: name("fe_https"),
        bind: Bind {
            host: None,
            port: port(443),
        },
        mode: Mode::Http,
        tls: Some(TlsBind::CrtList(FilePath::new(CRT_LIST).unwrap())),
        directives: vec![],
        routes: vec![
            Route::Host {
                fqdn: Fqdn::new("api.example.com").unwrap(),
                backend: name("be_api"),
            },
            Route::Host {
                fqdn: Fqdn::new("*.apps.example.com").unwrap(),
                backend: name("be_web"),
            },
        ],
        default_backend: Some(name("be_web")),
    };
    let db_fe = Frontend {
        name: name("fe_db"),
        bind: Bind {
            host: None,
            port: port(5432),
        },
        mode: Mode::Tcp,
        tls: None,
        directives: vec![],
        routes: vec![],
        default_backend: Some(name("be_db")),
    };
    let api_fe = Frontend {
        name: name("fe_api"),
        bind: Bind {
            host: None,
            port: port(8080),
        },
        mode: Mode::Http,
        tls: None,
        directives: vec![],
        routes: vec![],
        default_backend: Some(name("be_api")),
    };
    let mut plan = plan(vec![]);
    plan.global = GlobalSettings::default();
    plan.frontends = vec![api_fe, db_fe, https, kube_fe];
    plan.backends = vec![api, db, kube, web];
    plan.userlists = vec![Userlist {
        name: name("ul_stats"),
        users: vec![(
            UserName::new("haproxy").unwrap(),
            CryptHash::new(HASH).unwrap(),
        )],
    }];
    plan.stats = Some(StatsListener {
        bind: Bind {
            host: Some("10.0.0.5".parse().unwrap()),
            port: port(10000),
        },
        userlist: name("ul_stats"),
        allowed: vec![
            Cidr::parse("127.0.0.1/32").unwrap(),
            Cidr::parse("10.0.0.0/8").unwrap(),
        ],
        refresh_s: Some(3),
    });
    plan
}

fn rendered() -> String {
    render(&example_plan(), &Paths::debian().runtime_files().unwrap()).unwrap()
}

#[test]
fn docs_example_is_what_the_renderer_prints() {
    let text = rendered();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/haproxy.cfg.example");
    if std::env::var_os("UPDATE_EXAMPLE").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/haproxy.cfg.example differs from the renderer's output; rerun with \
         UPDATE_EXAMPLE=1 and review the diff.\n--- rendered ---\n{text}"
    );
}

#[test]
fn docs_example_passes_haproxy_check_with_a_real_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("default.pem");
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=example.com", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl must be installed");
    assert!(status.success());
    let mut both = std::fs::read(&cert).unwrap();
    both.extend(std::fs::read(&key).unwrap());
    std::fs::write(&pem, both).unwrap();
    let list = dir.path().join("crt-list");
    std::fs::write(&list, format!("{}\n", pem.display())).unwrap();
    let text = rendered().replace(CRT_LIST, &list.to_string_lossy());
    haproxy_check(&text).unwrap_or_else(|e| panic!("haproxy -c refused the example:\n{e}\n{text}"));
}

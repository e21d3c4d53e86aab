//! Real HAProxy, real traffic on 127.0.2.x: a plan built from the newtypes is rendered,
//! checked, installed and served; reloads are verified; a rejected plan changes nothing.

mod util;

use haproxy_lb::haproxy::{apply, ApplyError, ApplyOutcome, ConfigError};
use haproxy_lb::plan::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use util::*;

fn spread(front: SocketAddr, requests: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..requests {
        let (status, body) = get(front).unwrap();
        assert_eq!(status, 200, "body {body}");
        *seen.entry(body).or_insert(0) += 1;
    }
    seen
}

#[test]
fn requests_spread_over_three_backends_and_a_dead_one_is_taken_out() {
    let mut backends: Vec<PyBackend> = (0..3)
        .map(|i| PyBackend::start(&format!("web-{i}"), ip(11 + i), 21001))
        .collect();
    let servers = (0..3)
        .map(|i| server(&format!("web-{i}"), ip(11 + i), 21001))
        .collect();
    let plan = plan(vec![service("web", Mode::Http, (ip(10), 21000), servers)]);
    let haproxy = Haproxy::new();
    assert!(matches!(
        apply(&haproxy.service, &plan).unwrap(),
        ApplyOutcome::Started { .. }
    ));
    let front = SocketAddr::new(ip(10), 21000);
    let seen = spread(front, 30);
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        vec!["web-0", "web-1", "web-2"],
        "{seen:?}"
    );
    assert!(seen.values().all(|n| *n == 10), "roundrobin: {seen:?}");

    backends[1].kill();
    // inter 1s fall 2: down within ~2-3 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = haproxy.service.admin().show_stat().unwrap();
        let row = stat
            .iter()
            .find(|r| r.proxy() == "be_web" && r.service() == "web-1")
            .unwrap();
        if row.status() == "DOWN" {
            break;
        }
        assert!(Instant::now() < deadline, "web-1 still {}", row.status());
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen = spread(front, 20);
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        vec!["web-0", "web-2"],
        "{seen:?}"
    );
}

#[test]
fn tcp_mode_forwards_bytes_to_an_echo_backend() {
    let _echo = EchoBackend::start(ip(21), 21101);
    let plan = plan(vec![service(
        "echo",
        Mode::Tcp,
        (ip(20), 21100),
        vec![server("echo-0", ip(21), 21101)],
    )]);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    assert!(haproxy.config_text().contains("option tcplog"));
    for round in 0..5 {
        let mut conn = TcpStream::connect(SocketAddr::new(ip(20), 21100)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let message = format!("hello {round}\n");
        conn.write_all(message.as_bytes()).unwrap();
        let mut buf = vec![0u8; message.len()];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), message);
    }
}

#[test]
fn unchanged_plan_writes_nothing_and_does_not_reload() {
    let _b = PyBackend::start("solo", ip(31), 21201);
    let plan = plan(vec![service(
        "solo",
        Mode::Http,
        (ip(30), 21200),
        vec![server("solo-0", ip(31), 21201)],
    )]);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    let before = haproxy.reloads();
    let modified = std::fs::metadata(&haproxy.service.paths.config)
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..3 {
        assert_eq!(
            apply(&haproxy.service, &plan).unwrap(),
            ApplyOutcome::Unchanged
        );
    }
    assert_eq!(haproxy.reloads(), before, "no reload for an unchanged plan");
    let after = std::fs::metadata(&haproxy.service.paths.config)
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(after, modified, "the config file was rewritten");
    assert!(!haproxy.service.paths.candidate.exists());
}

#[test]
fn plan_haproxy_rejects_is_not_installed_and_old_config_keeps_serving() {
    let _b = PyBackend::start("keep", ip(41), 21301);
    let good = plan(vec![service(
        "keep",
        Mode::Http,
        (ip(40), 21300),
        vec![server("keep-0", ip(41), 21301)],
    )]);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &good).unwrap();
    let live_before = haproxy.config_text();
    let reloads_before = haproxy.reloads();

    // Valid for every newtype, but the certificate file does not exist: `haproxy -c` fails.
    let mut bad = good.clone();
    let missing = haproxy.dir.path().join("no-such-cert.pem");
    bad.frontends[0].tls = Some(TlsBind::Certificates(vec![FilePath::new(
        &missing.to_string_lossy(),
    )
    .unwrap()]));
    let err = apply(&haproxy.service, &bad).unwrap_err();
    match &err {
        ApplyError::Config(ConfigError::Rejected { alerts, .. }) => {
            assert!(
                alerts
                    .iter()
                    .any(|a| a.contains("[ALERT]") && a.contains("no-such-cert.pem")),
                "{alerts:?}"
            );
        }
        other => panic!("expected a -c rejection, got {other}"),
    }
    assert!(err.to_string().contains("no-such-cert.pem"), "{err}");
    assert_eq!(haproxy.config_text(), live_before, "nothing installed");
    assert!(!haproxy.service.paths.candidate.exists());
    assert_eq!(haproxy.reloads(), reloads_before, "no reload attempted");
    assert_eq!(
        get(SocketAddr::new(ip(40), 21300)).unwrap(),
        (200, "keep".to_string())
    );
}

#[test]
fn port_taken_by_another_program_is_caught_before_install() {
    let _b = PyBackend::start("pre", ip(51), 21401);
    let good = plan(vec![service(
        "pre",
        Mode::Http,
        (ip(50), 21400),
        vec![server("pre-0", ip(51), 21401)],
    )]);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &good).unwrap();
    let live_before = haproxy.config_text();
    // `haproxy -c` passes this (§2), the reload would pause the live listeners for 2.4 s.
    let _squatter = std::net::TcpListener::bind((ip(52), 21402)).unwrap();
    let mut bad = good.clone();
    let (fe, be) = service(
        "squat",
        Mode::Http,
        (ip(52), 21402),
        vec![server("pre-1", ip(51), 21401)],
    );
    bad.frontends.push(fe);
    bad.backends.push(be);
    let err = apply(&haproxy.service, &bad).unwrap_err();
    assert!(
        matches!(&err, ApplyError::Config(ConfigError::WouldNotStart { problems }) if problems.iter().any(|p| p.contains("127.0.2.52:21402"))),
        "{err}"
    );
    assert_eq!(haproxy.config_text(), live_before);
}

#[test]
fn reload_under_load_loses_no_request_and_every_reload_is_verified() {
    let _backends: Vec<PyBackend> = (0..2)
        .map(|i| PyBackend::start(&format!("load-{i}"), ip(61 + i), 21501))
        .collect();
    let base = |weight: u16, extra: bool| {
        let mut servers = vec![
            Server {
                weight: Some(weight),
                ..server("load-0", ip(61), 21501)
            },
            server("load-1", ip(62), 21501),
        ];
        if extra {
            // Same backend under a second name: a structural change (server added).
            servers.push(server("load-1b", ip(62), 21501));
        }
        plan(vec![service("load", Mode::Http, (ip(60), 21500), servers)])
    };
    let haproxy = Haproxy::new();
    // Every round toggles a server, so each one is a structural change and must reload.
    apply(&haproxy.service, &base(1, true)).unwrap();
    let front = SocketAddr::new(ip(60), 21500);
    assert_eq!(get(front).unwrap().0, 200);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Bounded: at most 3000 requests and 25 s, one new connection per request, paced so the
    // load spans all 20 reloads.
    let client = std::thread::spawn(move || {
        let (mut ok, mut failed) = (0u32, Vec::new());
        let deadline = Instant::now() + Duration::from_secs(25);
        while ok + (failed.len() as u32) < 3000
            && Instant::now() < deadline
            && !flag.load(std::sync::atomic::Ordering::Relaxed)
        {
            match get(front) {
                Ok((200, _)) => ok += 1,
                other => failed.push(format!("{other:?}")),
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        (ok, failed, Instant::now())
    });
    let first = haproxy.reloads();
    let started = Instant::now();
    for round in 1..=20u16 {
        match apply(&haproxy.service, &base(round + 1, round % 2 == 0)).unwrap() {
            ApplyOutcome::Reloaded { reloads, .. } => {
                assert_eq!(reloads, first + u32::from(round), "verified counter")
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    let reload_time = started.elapsed();
    let reloads_done = Instant::now();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed, client_done) = client.join().unwrap();
    assert!(
        client_done >= reloads_done,
        "the client stopped ({ok} requests) before the reloads ended"
    );
    let table = haproxy.service.show_proc().unwrap();
    assert_eq!(table.reloads, first + 20);
    assert_eq!(table.failed, 0);
    assert!(ok > 100, "only {ok} requests in {reload_time:?}");
    assert!(
        failed.is_empty(),
        "{} failed of {}: {:?}",
        failed.len(),
        ok as usize + failed.len(),
        &failed[..failed.len().min(5)]
    );
    eprintln!("20 verified reloads in {reload_time:?}, {ok} requests, 0 failed");
}

/// `openssl s_server -www` on a port: answers any GET over TLS with 200. Killed on drop.
struct TlsHealth(std::process::Child);

impl TlsHealth {
    fn start(dir: &std::path::Path, host: std::net::IpAddr, port: u16) -> Self {
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let status = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=probe.example", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl must be installed");
        assert!(status.success());
        let child = std::process::Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(format!("{host}:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-www", "-quiet"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(SocketAddr::new(host, port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsHealth(child)
    }
}

impl Drop for TlsHealth {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn probes_on_other_ports_must_all_pass_for_a_server_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let _traffic = PyBackend::start("probed", ip(91), 21601);
    let mut http_health = PyBackend::start("healthy", ip(91), 21602);
    let mut tls_health = Some(TlsHealth::start(dir.path(), ip(91), 21603));
    let _connect = EchoBackend::start(ip(91), 21604);
    let (fe, mut be) = service(
        "probed",
        Mode::Tcp,
        (ip(90), 21600),
        vec![server("probed-0", ip(91), 21601)],
    );
    let path = || HttpPath::new("/livez").unwrap();
    be.health_check = Some(HealthCheck {
        path: None,
        interval_s: 1,
        fall: 1,
        rise: 1,
        probes: vec![
            Probe {
                port: port(21602),
                kind: ProbeKind::Http { path: path() },
            },
            Probe {
                port: port(21603),
                kind: ProbeKind::Https { path: path() },
            },
            Probe {
                port: port(21604),
                kind: ProbeKind::Connect,
            },
        ],
    });
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan(vec![(fe, be)])).unwrap();
    let status = || {
        haproxy
            .service
            .admin()
            .show_stat()
            .unwrap()
            .into_iter()
            .find(|r| r.proxy() == "be_probed" && r.service() == "probed-0")
            .map(|r| {
                (
                    r.status().to_owned(),
                    r.get("check_status").unwrap_or("").to_owned(),
                )
            })
            .unwrap()
    };
    let wait_for = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (now, check) = status();
            if now == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still {now} ({check}), want {want}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("UP");
    let front = SocketAddr::new(ip(90), 21600);
    assert_eq!(get(front).unwrap(), (200, "probed".to_string()));
    // The TLS probe's server goes away: the whole server is down although traffic would work.
    tls_health.take();
    wait_for("DOWN");
    // With its only server down, HAProxy closes tcp connections instead of forwarding.
    assert!(get(front).is_err() || get(front).unwrap().0 != 200);
    // Back, then the HTTP probe fails: down again.
    let _tls = TlsHealth::start(dir.path(), ip(91), 21603);
    wait_for("UP");
    http_health.kill();
    wait_for("DOWN");
}

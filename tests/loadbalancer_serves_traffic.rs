//! Requests from the `loadbalancer` interface become real traffic: our parse -> plan::build ->
//! the engine's render/apply -> real HAProxy, with the lb-requirer charm's own unit server on
//! two "units" (127.0.4.21, 127.0.4.22). Proves the kubernetes-control-plane-shaped request
//! (layer-4, TLS untouched), an http request with default backends, stickiness, TLS
//! termination with a requester's certificate, and that a withdrawn request's port closes.
//! Addresses 127.0.4.0/24, ports 40000-49999 (this branch's range).

mod util;

use haproxy_lb::haproxy::apply;
use haproxy_lb::interfaces::loadbalancer::{parse, LbSettings, Parsed, ENDPOINT};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{FilePath, GlobalSettings, LoadBalancerPlan, TimeValue, TimeoutName};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use util::{get, Haproxy};

const LB: [u8; 4] = [127, 0, 4, 1];
const UNITS: [(&str, [u8; 4]); 2] = [
    ("lb-requirer/0", [127, 0, 4, 21]),
    ("lb-requirer/1", [127, 0, 4, 22]),
];

/// The requirer charm's unit server on one address; killed on drop (and it exits by itself
/// after 120 s regardless).
struct UnitServer(Child);

impl UnitServer {
    fn start(unit: &str, address: [u8; 4], ports: &[u16]) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/charms/lb-requirer/src/unit_server.py");
        let ip = IpAddr::from(address);
        let child = Command::new("python3")
            .arg(script)
            .arg(ip.to_string())
            .arg("120")
            .arg(unit)
            .args(ports.iter().map(|p| p.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed");
        let server = UnitServer(child);
        for port in ports {
            let addr = SocketAddr::new(ip, *port);
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "unit server {unit} not listening on {addr}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        server
    }
}

impl Drop for UnitServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A request as the library writes it. `public: false` unless given: on the host, a wildcard
/// bind (`public: true`) can collide with any process's ephemeral client port (Linux picks them
/// from 32768-60999, which covers this branch's range); our own address cannot.
fn request(name: &str, fields: serde_json::Value) -> (String, String) {
    let mut body = json!({"id": format!("{name}-id"), "name": name, "public": false,
        "sent_hash": "0123456789abcdef0123456789abcdef"});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    (format!("request_{name}"), body.to_string())
}

fn snapshot(requests: &[(String, String)]) -> RelationSnapshot {
    let mut bag = Bag::from([("version".to_string(), "1".to_string())]);
    bag.extend(requests.iter().cloned());
    RelationSnapshot {
        id: 3,
        endpoint: ENDPOINT.into(),
        remote_app: "lb-requirer".into(),
        remote_app_bag: bag,
        units: UNITS
            .iter()
            .map(|(name, ip)| RemoteUnit {
                name: (*name).into(),
                bag: Bag::from([("ingress-address".to_string(), IpAddr::from(*ip).to_string())]),
            })
            .collect(),
        local_unit_bag: Bag::new(),
        local_app_bag: None,
        ingress_address: IpAddr::from(LB).to_string(),
    }
}

/// The hook's work for this interface: parse, write secret files 0600, build.
fn plan_for(requests: &[(String, String)], cert_dir: &Path) -> (Parsed, LoadBalancerPlan) {
    let settings = LbSettings {
        public_address: Some(IpAddr::from(LB).to_string()),
        vip: String::new(),
        external_hostname: String::new(),
        cert_dir: FilePath::new(cert_dir.to_str().unwrap()).unwrap(),
    };
    let parsed = parse(&[snapshot(requests)], &settings);
    assert!(parsed.rejections.is_empty(), "{:?}", parsed.rejections);
    for file in &parsed.files {
        std::fs::write(file.path.as_str(), file.contents.as_str()).unwrap();
        std::fs::set_permissions(file.path.as_str(), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let inputs = PlanInputs {
        global: GlobalSettings {
            timeouts: vec![
                (TimeoutName::Connect, TimeValue::new("2s").unwrap()),
                (TimeoutName::Client, TimeValue::new("30s").unwrap()),
                (TimeoutName::Server, TimeValue::new("30s").unwrap()),
            ],
            ..GlobalSettings::default()
        },
        userlists: vec![],
        stats: None,
    };
    let (plan, rejections) = haproxy_lb::plan::build(inputs, parsed.requests.clone());
    assert!(rejections.is_empty(), "{rejections:?}");
    (parsed, plan)
}

/// One TCP exchange: a line out, the unit server's line back.
fn tcp_line(addr: SocketAddr, text: &str) -> String {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(format!("{text}\n").as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}

fn units_seen(answers: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for answer in answers {
        let unit = answer.split_whitespace().next().unwrap_or("").to_owned();
        *seen.entry(unit).or_insert(0) += 1;
    }
    seen
}

fn both_units() -> Vec<String> {
    UNITS.iter().map(|(n, _)| n.to_string()).collect()
}

#[test]
fn kubernetes_and_http_requests_reach_both_units_and_withdrawal_closes_the_port() {
    let _servers: Vec<UnitServer> = UNITS
        .iter()
        .map(|(n, ip)| UnitServer::start(n, *ip, &[46443, 48080]))
        .collect();
    let certs = tempfile::tempdir().unwrap();
    let kcp = request(
        "api-server-external",
        json!({"protocol": "tcp", "port_mapping": {"40443": 46443},
        "health_checks": [{"protocol": "http", "port": 46443, "path": "/livez"}]}),
    );
    let web = request(
        "web",
        json!({"protocol": "http", "port_mapping": {"40080": 48080}, "public": false}),
    );
    let (parsed, plan) = plan_for(&[kcp.clone(), web.clone()], certs.path());
    assert_eq!(parsed.state.relations[0].requests.len(), 2);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    let config = haproxy.config_text();
    assert!(config.contains("bind 127.0.4.1:40443"), "{config}");
    assert!(config.contains("bind 127.0.4.1:40080"), "{config}");

    let lb_tcp = SocketAddr::new(IpAddr::from(LB), 40443);
    let seen = units_seen((0..10).map(|i| tcp_line(lb_tcp, &format!("hello {i}"))));
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        both_units(),
        "tcp: {seen:?}"
    );
    // Layer 4: the bytes arrive untouched (no HTTP framing added by HAProxy).
    let echo = tcp_line(lb_tcp, "ping \u{1} raw");
    assert!(
        both_units()
            .iter()
            .any(|u| echo == format!("{u} 46443 ping \u{1} raw")),
        "{echo:?}"
    );

    let lb_http = SocketAddr::new(IpAddr::from(LB), 40080);
    let seen = units_seen((0..10).map(|_| {
        let (status, body) = get(lb_http).unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }));
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        both_units(),
        "http: {seen:?}"
    );

    // The requirer withdraws `web`: its frontend goes, the port closes, kcp keeps serving.
    let (_, plan) = plan_for(&[kcp], certs.path());
    apply(&haproxy.service, &plan).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&lb_http, Duration::from_millis(300)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "port 40080 still open after withdrawal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!haproxy.config_text().contains("40080"));
    assert!(tcp_line(lb_tcp, "still").starts_with("lb-requirer/"));
}

/// `openssl req` self-signed pair for `lb.example`.
fn self_signed(dir: &Path) -> (String, String) {
    let key = dir.join("k.pem");
    let cert = dir.join("c.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-days",
            "2",
            "-subj",
            "/CN=lb.example",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

#[test]
fn sticky_requests_stay_on_one_unit_and_tls_is_terminated_with_the_requesters_certificate() {
    let _servers: Vec<UnitServer> = UNITS
        .iter()
        .map(|(n, ip)| UnitServer::start(n, *ip, &[46444, 48081]))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(scratch.path());
    let tcp_sticky = request(
        "db",
        json!({"protocol": "tcp", "port_mapping": {"40450": 46444}, "sticky": true}),
    );
    let http_sticky = request(
        "app",
        json!({"protocol": "http", "port_mapping": {"40451": 48081}, "sticky": true,
        "algorithm": ["LEAST_CONNECTIONS"]}),
    );
    let https = request(
        "secure",
        json!({"protocol": "https", "port_mapping": {"40452": 48081},
        "tls_termination": true, "tls_cert": cert, "tls_key": key}),
    );
    let tls_tcp = request(
        "tls-tcp",
        json!({"protocol": "tcp", "port_mapping": {"40453": 46444},
        "tls_termination": true, "tls_cert": cert, "tls_key": key}),
    );
    let (parsed, plan) = plan_for(&[tcp_sticky, http_sticky, https, tls_tcp], certs.path());
    assert_eq!(parsed.files.len(), 2, "one PEM per terminated request");
    let pem = &parsed.files[0];
    let mode = std::fs::metadata(pem.path.as_str())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    let config = haproxy.config_text();
    assert!(config.contains("balance leastconn"), "{config}");
    assert!(!config.contains("BEGIN"), "no PEM text in haproxy.cfg");

    let lb = |port| SocketAddr::new(IpAddr::from(LB), port);
    let seen = units_seen((0..6).map(|i| tcp_line(lb(40450), &format!("n{i}"))));
    assert_eq!(seen.len(), 1, "tcp sticky by source address: {seen:?}");

    // HTTP stickiness: the first answer sets SRVID; sending it back pins the unit.
    let mut conn = TcpStream::connect_timeout(&lb(40451), Duration::from_secs(3)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut first = String::new();
    std::io::Read::read_to_string(&mut conn, &mut first).unwrap();
    let cookie = first
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no SRVID cookie in {first}"))
        .to_owned();
    assert!(cookie.starts_with("SRVID="), "{cookie}");
    let mut units = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let mut conn = TcpStream::connect_timeout(&lb(40451), Duration::from_secs(3)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        conn.write_all(
            format!("GET / HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        units.insert(body.split_whitespace().next().unwrap_or("").to_owned());
    }
    assert_eq!(units.len(), 1, "cookie pins one unit: {units:?}");

    // TLS terminated with the requester's certificate, plain HTTP to the units.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "5",
            "-k",
            "-w",
            "\n%{http_code}",
            "--resolve",
            "lb.example:40452:127.0.4.1",
            "https://lb.example:40452/tls",
        ])
        .output()
        .expect("curl must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("lb-requirer/") && text.contains("48081 /tls") && text.ends_with("200"),
        "{text}"
    );
    let subject = Command::new("sh")
        .arg("-c")
        .arg("echo | openssl s_client -connect 127.0.4.1:40452 -servername lb.example 2>/dev/null | openssl x509 -noout -subject")
        .output()
        .unwrap();
    let subject = String::from_utf8_lossy(&subject.stdout);
    assert!(
        subject.contains("CN = lb.example"),
        "served certificate: {subject}"
    );

    // TLS terminated at layer 4: the unit gets the plain bytes.
    let out = Command::new("sh")
        .arg("-c")
        .arg("printf 'over tls\\n' | timeout 5 openssl s_client -quiet -connect 127.0.4.1:40453 2>/dev/null")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        both_units()
            .iter()
            .any(|u| line.trim_end() == format!("{u} 46444 over tls")),
        "{line:?}"
    );
}

/// Wait until every server of `backend` has `status` (UP/DOWN) in `show stat`.
fn wait_for_status(haproxy: &Haproxy, backend: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let stat = haproxy.service.admin().show_stat().unwrap();
        let rows: Vec<String> = stat
            .iter()
            .filter(|r| {
                r.proxy() == backend && r.service() != "BACKEND" && r.service() != "FRONTEND"
            })
            .map(|r| format!("{}={}", r.service(), r.status()))
            .collect();
        if !rows.is_empty() && rows.iter().all(|r| r.ends_with(&format!("={status}"))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: want all {status}, have {rows:?}\n{}",
            haproxy.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A TLS server on each unit (for `https` probes); killed on drop, exits after 60 s anyway.
struct TlsServer(Child);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_health_check_is_probed_on_its_own_port() {
    let _servers: Vec<UnitServer> = UNITS
        .iter()
        .map(|(n, ip)| UnitServer::start(n, *ip, &[46445, 48082]))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(scratch.path());
    std::fs::write(scratch.path().join("s.pem"), format!("{cert}{key}")).unwrap();
    let _tls: Vec<TlsServer> = UNITS
        .iter()
        .map(|(_, ip)| {
            TlsServer(
                Command::new("timeout")
                    .args(["60", "openssl", "s_server", "-quiet", "-www", "-cert"])
                    .arg(scratch.path().join("s.pem"))
                    .arg("-accept")
                    .arg(format!("{}:46446", IpAddr::from(*ip)))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("openssl must be installed"),
            )
        })
        .collect();
    for (_, ip) in UNITS {
        let addr = SocketAddr::new(IpAddr::from(ip), 46446);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "openssl s_server not listening on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let certs = tempfile::tempdir().unwrap();
    let healthy = request(
        "healthy",
        json!({"protocol": "http", "port_mapping": {"40460": 48082},
        "health_checks": [
            {"protocol": "http", "port": 48082, "path": "/healthz", "interval": 1, "retries": 1},
            {"protocol": "https", "port": 46446, "path": "/", "interval": 1},
            {"protocol": "tcp", "port": 46445, "interval": 1}]}),
    );
    let broken = request(
        "broken",
        json!({"protocol": "tcp", "port_mapping": {"40461": 46445},
        "health_checks": [
            {"protocol": "tcp", "port": 46445, "interval": 1, "retries": 1},
            {"protocol": "tcp", "port": 46999, "interval": 1, "retries": 1}]}),
    );
    let (_, plan) = plan_for(&[healthy, broken], certs.path());
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    let config = haproxy.config_text();
    for line in [
        "option tcp-check\n    tcp-check connect port 48082\n    tcp-check send \"GET /healthz HTTP/1.0\\r\\n\\r\\n\"\n    tcp-check expect rstring ^HTTP/1\\.[01]\\ [23]\n",
        "tcp-check connect port 46446 ssl\n    tcp-check send \"GET / HTTP/1.0\\r\\n\\r\\n\"\n",
        "tcp-check connect port 46445\n",
        "option tcp-check\n    tcp-check connect port 46445\n    tcp-check connect port 46999\n",
        "check inter 1s fall 1 rise 2 verify none",
    ] {
        assert!(config.contains(line), "missing {line:?} in\n{config}");
    }
    // Servers start UP; the broken sequence going DOWN shows checks run, and two more check
    // intervals later the healthy sequence (http, https and connect steps) still passes.
    wait_for_status(&haproxy, "lb-be-3-broken-40461", "DOWN");
    std::thread::sleep(Duration::from_millis(2500));
    wait_for_status(&haproxy, "lb-be-3-healthy-40460", "UP");
    let (status, body) = get(SocketAddr::new(IpAddr::from(LB), 40460)).unwrap();
    assert_eq!(status, 200, "{body}");
}

mod probe_properties {
    //! Any request's health checks, whatever their mix, render to a config `haproxy -c` accepts.
    use super::*;
    use haproxy_lb::haproxy::Paths;
    use haproxy_lb::render::render;
    use proptest::prelude::*;

    fn check() -> impl Strategy<Value = serde_json::Value> {
        (
            prop_oneof![Just("tcp"), Just("http"), Just("https")],
            1u16..=65535,
            proptest::option::of(proptest::string::string_regex("/[a-z0-9._~/-]{0,20}(\\?[a-z=&]{0,10})?").unwrap()),
            1u32..=120,
            1u32..=10,
        )
            .prop_map(|(protocol, port, path, interval, retries)| {
                json!({"protocol": protocol, "port": port, "path": path, "interval": interval, "retries": retries})
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn any_mix_of_checks_passes_haproxy_check(
            checks in proptest::collection::vec(check(), 1..5),
            protocol in prop_oneof![Just("tcp"), Just("http"), Just("https")],
            sticky in any::<bool>(),
        ) {
            let certs = tempfile::tempdir().unwrap();
            let req = request("p", json!({"protocol": protocol, "port_mapping": {"40470": 46470, "40471": 46471},
                "health_checks": checks, "sticky": sticky}));
            let (_, plan) = plan_for(&[req], certs.path());
            let dir = tempfile::tempdir().unwrap();
            let files = Paths::under(dir.path()).runtime_files().unwrap();
            let text = render(&plan, &files).unwrap();
            if let Err(stderr) = util::haproxy_check(&text) {
                panic!("haproxy -c refused:\n{stderr}\n{text}");
            }
        }
    }
}

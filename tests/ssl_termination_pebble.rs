//! ssl-termination against real HAProxy and Debian's Pebble ACME server on 127.0.5.x
//! (`spec/ssl-termination.md` §4.8): certificates issued over HTTP-01 answered by HAProxy itself,
//! SNI picks each site's certificate, basic auth, tenants do not leak, bad requests are
//! rejected alone, renewal under load loses no request, key files are 0600 and `haproxy.cfg`
//! holds no password.
//!
//! The driver below runs the same steps as `reconcile` (prepare, plan, files, apply, ACME when
//! due, re-apply, reload) without hook tools; the jujusim test covers the hook path.

use haproxy_lb::haproxy::{apply, ApplyOutcome, Paths, ReloadPolicy, Service};
use haproxy_lb::interfaces::ssl_termination::{SiteState, SiteStatus};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::{self, build::PlanInputs, GlobalSettings};
use haproxy_lb::reconcile::gather::Model;
use haproxy_lb::reconcile::ssl_termination::{prepare, SslTermination};
use haproxy_lb::reconcile::{files, Settings};
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST: &str = "127.0.5.1";
const HTTP_PORT: u16 = 50080;
const HTTPS_PORT: u16 = 50443;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 5, last])
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An upstream that names itself and says whether an Authorization header reached it.
const UPSTREAM: &str = r#"
import http.server, sys
name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = ("%s authorization=%s" % (name, "yes" if self.headers.get("Authorization") else "no")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
S((host, port), H).serve_forever()
"#;

fn upstream(name: &str, host: IpAddr, port: u16) -> Guard {
    let child = Command::new("python3")
        .args(["-c", UPSTREAM, name, &host.to_string(), &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    wait_port(&format!("{host}:{port}"));
    Guard(child)
}

fn wait_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pebble with its own API certificate (Debian ships none, §4.8) and a DNS server answering
/// every name with 127.0.5.1.
struct Pebble {
    _dns: Guard,
    _pebble: Guard,
    /// PEM of the CA of Pebble's API certificate (`acme_ca_certificate`).
    api_ca: String,
    api_ca_file: PathBuf,
    dir: PathBuf,
}

impl Pebble {
    fn start(dir: &Path, validity_s: u64) -> Pebble {
        for bin in ["/usr/bin/pebble", "/usr/bin/pebble-challtestsrv"] {
            assert!(
                Path::new(bin).is_file(),
                "{bin} missing: apt-get install pebble (make deps does)"
            );
        }
        std::fs::create_dir_all(dir).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test pebble api ca");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![HOST.to_string()]).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip(1))];
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join("api.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("api.key"), key.serialize_pem()).unwrap();
        let api_ca_file = dir.join("api-ca.pem");
        std::fs::write(&api_ca_file, ca.pem()).unwrap();
        let config = json!({"pebble": {
            "listenAddress": format!("{HOST}:50400"),
            "managementListenAddress": format!("{HOST}:50401"),
            "certificate": dir.join("api.pem"),
            "privateKey": dir.join("api.key"),
            "httpPort": HTTP_PORT,
            "tlsPort": 50402,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity_s,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let dns = Guard(
            Command::new("pebble-challtestsrv")
                .args([
                    "-defaultIPv4",
                    HOST,
                    "-defaultIPv6",
                    "",
                    "-dns01",
                    &format!("{HOST}:50053"),
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    "-management",
                    &format!("{HOST}:50055"),
                ])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(dir.join("dns.log")).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_port(&format!("{HOST}:50055"));
        let pebble = Guard(
            Command::new("pebble")
                .args(["-config"])
                .arg(dir.join("pebble.json"))
                .args(["-dnsserver", &format!("{HOST}:50053")])
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env_remove("PEBBLE_VA_ALWAYS_VALID")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(dir.join("pebble.log")).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_port(&format!("{HOST}:50400"));
        wait_port(&format!("{HOST}:50401"));
        Pebble {
            _dns: dns,
            _pebble: pebble,
            api_ca: ca.pem(),
            api_ca_file,
            dir: dir.to_owned(),
        }
    }

    /// Make `host` resolve to `address` (challtestsrv management API, §4.8).
    fn add_a(&self, host: &str, address: &str) {
        let body = json!({"host": format!("{host}."), "addresses": [address]}).to_string();
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "10", "-d", &body])
            .arg(format!("http://{HOST}:50055/add-a"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The root that issues leaf certificates (new at every start, §4.8).
    fn root(&self) -> PathBuf {
        let path = self.dir.join("issuing-root.pem");
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&self.api_ca_file)
            .arg(format!("https://{HOST}:50401/roots/0"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }
}

/// `curl` over TLS with SNI = `fqdn` to our HTTPS port; returns (status, body).
fn curl(fqdn: &str, root: &Path, user: Option<&str>, path: &str) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10"])
        .arg("--resolve")
        .arg(format!("{fqdn}:{HTTPS_PORT}:{HOST}"))
        .arg("--cacert")
        .arg(root);
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd
        .arg(format!("https://{fqdn}:{HTTPS_PORT}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn unit(name: &str, request: &str) -> RemoteUnit {
    RemoteUnit {
        name: name.into(),
        bag: Bag::from([("cert-request".to_owned(), request.to_owned())]),
    }
}

fn relation(id: u64, units: Vec<RemoteUnit>) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: "ssl-termination".into(),
        remote_app: units[0].name.split('/').next().unwrap().into(),
        remote_app_bag: Bag::new(),
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: None,
        ingress_address: HOST.into(),
    }
}

fn request(fqdns: &[&str], credentials: &str, upstream_port: u16, upstream_host: &str) -> String {
    json!({
        "contact-email": "",
        "credentials": credentials,
        "fqdn": fqdns,
        "nginx-config": [],
        "upstreams": [{"hostname": upstream_host, "port": upstream_port.to_string(), "private-address": upstream_host}],
    })
    .to_string()
}

struct World {
    settings: Settings,
    service: Service,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("sslterm-test")
            .tempdir()
            .unwrap();
        let paths = Paths::under(dir.path());
        let mut service = Service::new(paths.clone());
        service.policy = ReloadPolicy {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(10),
            settle: Duration::from_millis(200),
        };
        service.stop_grace = Duration::from_secs(2);
        let settings = Settings {
            state_dir: dir.path().join("var/lib/haproxy-lb"),
            files_dir: dir.path().join("etc/haproxy/haproxy-lb"),
            haproxy: paths,
        };
        World {
            settings,
            service,
            _dir: dir,
        }
    }

    /// Plan, files, apply (the reconcile steps that concern ssl-termination).
    fn apply(&self, ssl: &mut SslTermination) -> Result<ApplyOutcome, String> {
        let (request, userlists, wanted_files) = ssl.plan_parts().unwrap();
        let (plan, rejections) = plan::build(
            PlanInputs {
                global: GlobalSettings::default(),
                userlists,
                stats: None,
            },
            request.into_iter().collect(),
        );
        assert!(rejections.is_empty(), "{rejections:?}");
        ssl.note_build_rejections(&rejections);
        for f in &wanted_files {
            files::write(&files::WantedFile {
                path: &f.path,
                contents: &f.contents,
                mode: f.mode,
            })
            .unwrap();
        }
        apply(&self.service, &plan).map_err(|e| e.to_string())
    }

    /// One whole pass: prepare, apply, ACME when due, apply again, reload for new files.
    fn converge(&self, model: &Model) -> SslTermination {
        let mut ssl = prepare(&self.settings, model).unwrap();
        // Our address only: ports 50000-54999 lie in the host's ephemeral range.
        ssl.bind_on(ip(1));
        self.apply(&mut ssl).unwrap();
        if ssl.acme_due() {
            let changed = ssl.issue(&self.settings).unwrap();
            if !changed.is_empty() {
                if let ApplyOutcome::Unchanged = self.apply(&mut ssl).unwrap() {
                    self.service.reload().unwrap();
                }
            }
        }
        ssl
    }

    fn config(&self) -> String {
        std::fs::read_to_string(&self.settings.haproxy.config).unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.service.stop();
    }
}

fn model(config: Map<String, Value>, relations: Vec<RelationSnapshot>) -> Model {
    Model {
        config,
        leader: None,
        relations,
        public_address: HOST.into(),
    }
}

fn options(pebble: &Pebble) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert(
        "acme_directory_url".into(),
        format!("https://{HOST}:50400/dir").into(),
    );
    c.insert("acme_ca_certificate".into(), pebble.api_ca.clone().into());
    c.insert("ssl_termination_http_port".into(), HTTP_PORT.into());
    c.insert("ssl_termination_https_port".into(), HTTPS_PORT.into());
    c.insert("acme_retry_interval".into(), 600.into());
    c
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn states(ssl: &SslTermination) -> Vec<SiteStatus> {
    ssl.statuses()
}

/// One Pebble for the whole flow (it is slow to start and each test needs HAProxy on the same
/// ports): issuance, SNI, auth, isolation, bad input, files, renewal under load.
#[test]
fn pebble_issues_sites_served_by_sni_with_auth_and_renewal_loses_no_request() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "HAProxy's chroot needs root"
    );
    let scratch = tempfile::Builder::new().prefix("pebble").tempdir().unwrap();
    // 45 s certificates: due for renewal after 30 s (a third of the lifetime left, §4.5).
    let pebble = Pebble::start(scratch.path(), 45);
    let _alpha = upstream("alpha", ip(11), 50011);
    let _beta = upstream("beta", ip(12), 50012);
    let world = World::new();

    let good_alpha = request(
        &["alpha.example.com", "www.alpha.example.com"],
        "alice alpha-Secret:1",
        50011,
        "127.0.5.11",
    );
    let good_beta = request(&["beta.example.com"], "bob beta-pass", 50012, "127.0.5.12");
    let bad = [
        (
            "bad/0",
            request(&["*.wild.example.com"], "", 50011, "127.0.5.11"),
        ),
        (
            "bad/1",
            request(&["not_valid.example.com"], "", 50011, "127.0.5.11"),
        ),
        (
            "bad/2",
            request(&["port.example.com"], "", 50011, "127.0.5.11")
                .replace("\"50011\"", "\"http\""),
        ),
        ("bad/3", "{\"fqdn\": [\"json.example.com\"".to_string()),
        (
            "bad/4",
            request(
                &["newline.example.com"],
                "admin pass\nword",
                50011,
                "127.0.5.11",
            ),
        ),
    ];
    // gamma's name points where nothing listens: the CA cannot validate it (§4.5 "Failure").
    pebble.add_a("gamma.example.com", "127.0.5.99");
    let unreachable = request(&["gamma.example.com"], "", 50011, "127.0.5.11");
    let relations = vec![
        relation(1, vec![unit("alpha/0", &good_alpha)]),
        relation(2, vec![unit("beta/0", &good_beta)]),
        relation(3, bad.iter().map(|(n, r)| unit(n, r)).collect()),
        relation(4, vec![unit("gamma/0", &unreachable)]),
    ];
    let m = model(options(&pebble), relations);
    let ssl = world.converge(&m);
    let statuses = states(&ssl);
    assert_eq!(
        statuses.len(),
        3,
        "the two good sites and gamma: {statuses:?}"
    );
    // The failure names the fqdn, the CA's problem and the next attempt; it backs off.
    match &statuses[2].state {
        SiteState::Failed(message) => {
            assert!(
                message.starts_with("acme: gamma.example.com: urn:ietf:params:acme:error:"),
                "{message}"
            );
            assert!(message.contains("; next attempt after "), "{message}");
        }
        other => panic!("gamma: {other:?}"),
    }
    assert!(!ssl.acme_due(), "gamma backs off; the others are issued");
    let statuses: Vec<SiteStatus> = statuses[..2].to_vec();
    for s in &statuses {
        assert_eq!(
            s.state,
            SiteState::Ready,
            "{statuses:?}\n{}",
            world.config()
        );
        assert!(s.not_after.is_some());
    }
    let answers: std::collections::BTreeMap<u64, Bag> = ssl.answers(&m).into_iter().collect();
    assert_eq!(
        answers[&1]["status"],
        r#"["alpha.example.com", "www.alpha.example.com"]"#
    );
    assert_eq!(answers[&2]["status"], r#"["beta.example.com"]"#);
    assert_eq!(answers[&3]["status"], "[]");
    let detail: Value = serde_json::from_str(&answers[&3]["status-detail"]).unwrap();
    for (name, expected) in [
        ("bad/0", "wildcard"),
        ("bad/1", "not a valid host name"),
        ("bad/2", "upstreams[0].port \"http\" is not a port"),
        ("bad/3", "cert-request is not a JSON object"),
        ("bad/4", "credentials must be"),
    ] {
        assert_eq!(detail[name]["state"], "rejected", "{name}: {detail}");
        let message = detail[name]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{name}: {message}");
    }

    // SNI picks each site's certificate and the chain verifies against Pebble's root.
    let root = pebble.root();
    for fqdn in [
        "alpha.example.com",
        "www.alpha.example.com",
        "beta.example.com",
    ] {
        let (code, body) = curl(fqdn, &root, None, "/");
        assert_eq!(code, 401, "{fqdn}: {body}");
    }
    let (code, body) = curl(
        "alpha.example.com",
        &root,
        Some("alice:alpha-Secret:1"),
        "/x",
    );
    assert_eq!((code, body.as_str()), (200, "alpha authorization=no"));
    let (code, body) = curl(
        "www.alpha.example.com",
        &root,
        Some("alice:alpha-Secret:1"),
        "/",
    );
    assert_eq!((code, body.as_str()), (200, "alpha authorization=no"));
    let (code, body) = curl("beta.example.com", &root, Some("bob:beta-pass"), "/");
    assert_eq!((code, body.as_str()), (200, "beta authorization=no"));
    // No leaking: one tenant's credentials do not open the other's site.
    assert_eq!(
        curl("beta.example.com", &root, Some("alice:alpha-Secret:1"), "/").0,
        401
    );
    assert_eq!(
        curl("alpha.example.com", &root, Some("bob:beta-pass"), "/").0,
        401
    );
    assert_eq!(
        curl("alpha.example.com", &root, Some("alice:wrong"), "/").0,
        401
    );
    // beta's certificate does not cover alpha: asking beta's name gets beta's certificate only.
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("{HOST}:{HTTPS_PORT}"),
            "-servername",
            "beta.example.com",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("alpha.example.com"), "{text}");
    // Rejected names are not served: no certificate was asked for, the host gets 421.
    let (code, _) = curl_insecure("port.example.com", "/");
    assert_eq!(code, 421);
    // HSTS on every HTTPS answer, HAProxy's own 401 included (`http-after-response`).
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--max-time",
            "10",
            "--resolve",
        ])
        .arg(format!("alpha.example.com:{HTTPS_PORT}:{HOST}"))
        .arg("--cacert")
        .arg(&root)
        .arg(format!("https://alpha.example.com:{HTTPS_PORT}/"))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        headers.contains("strict-transport-security: max-age=63072000"),
        "{headers}"
    );
    assert!(headers.contains("www-authenticate: basic"), "{headers}");
    // Port 80: routed names are redirected, unknown tokens 404.
    assert_eq!(plain_get("alpha.example.com", "/page").0, 301);
    assert_eq!(
        plain_get("anything.example.com", "/.well-known/acme-challenge/abc").0,
        404
    );

    // Files: keys and certificates 0600, no plaintext password in haproxy.cfg.
    let certs = world.settings.files_dir.join("certs");
    for f in [
        "alpha.example.com.pem",
        "beta.example.com.pem",
        "default.pem",
        "crt-list",
    ] {
        assert_eq!(mode(&certs.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&certs), 0o700);
    assert_eq!(
        mode(&world.settings.state_dir.join("ssl-termination.json")),
        0o600
    );
    for entry in std::fs::read_dir(world.settings.state_dir.join("acme")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    let cfg = world.config();
    for secret in ["alpha-Secret", "beta-pass", "insecure-password"] {
        assert!(!cfg.contains(secret), "{secret} in haproxy.cfg");
    }
    assert!(cfg.contains("user alice password $6$"), "{cfg}");
    let state_text =
        std::fs::read_to_string(world.settings.state_dir.join("ssl-termination.json")).unwrap();
    assert!(!state_text.contains("alpha-Secret"));

    // A second pass with nothing due: no ACME, byte-identical haproxy.cfg.
    let again = world.converge(&m);
    assert!(!again.acme_due());
    assert_eq!(world.config(), cfg);

    // Renewal under load: wait until due, then renew while a bounded client loop runs.
    let not_after_before = statuses[0].not_after.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !prepare(&world.settings, &m).unwrap().acme_due() {
        assert!(Instant::now() < deadline, "never became due");
        std::thread::sleep(Duration::from_secs(1));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let load = {
        let (stop, ok, failed, root) = (stop.clone(), ok.clone(), failed.clone(), root.clone());
        std::thread::spawn(move || {
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (code, body) = curl("beta.example.com", &root, Some("bob:beta-pass"), "/");
                if code == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.lock().unwrap().push(format!("{code} {body}"));
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let renewed = world.converge(&m);
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let statuses = states(&renewed);
    assert_ne!(statuses[0].not_after, not_after_before, "not renewed");
    assert!(
        statuses[..2].iter().all(|s| s.state == SiteState::Ready),
        "{statuses:?}"
    );
    let failed = failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "{} failed of {}: {:?}",
        failed.len(),
        ok.load(Ordering::Relaxed),
        &failed[..failed.len().min(5)]
    );
    assert!(ok.load(Ordering::Relaxed) > 5, "the loop ran");
    // The renewed certificate is the one served now.
    let (code, _) = curl("beta.example.com", &root, Some("bob:beta-pass"), "/");
    assert_eq!(code, 200);
}

use std::sync::Mutex;

fn curl_insecure(fqdn: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .arg("--resolve")
        .arg(format!("{fqdn}:{HTTPS_PORT}:{HOST}"))
        .arg(format!("https://{fqdn}:{HTTPS_PORT}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (text.trim().parse().unwrap_or(0), text)
}

fn plain_get(host: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "-H",
        ])
        .arg(format!("Host: {host}"))
        .arg(format!("http://{HOST}:{HTTP_PORT}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (text.trim().parse().unwrap_or(0), text)
}

//! ssl-termination with certificates from Debian's Pebble ACME server, through the hook path
//! (issue 8, `spec/ssl-termination.md` §4.8): jujusim runs haproxy-lb with real HAProxy in its
//! machine's namespaces, `ssl-requirer` subordinates ask for sites, `web` units (and one header
//! echo) serve them. Pebble listens on the model's bridge address `198.18.N.1`: the charm's ACME
//! client reaches it from the unit, and its HTTP-01 validator reaches the unit's HAProxy.
//!
//! Proven with curl from the host verifying the chain against Pebble's issuing root (never `-k`):
//! issuance in the hooks, SNI per site, basic auth per tenant, Host routing and 421, HSTS, port
//! 80, `status`/`status-detail`, an ACME failure backing off alone, bad input rejected alone,
//! file modes and no plaintext password, an idle hook leaving `haproxy.cfg` byte-identical, and
//! renewal under bounded client loops with no failed request. A second model with two units
//! proves the ACME relay: a challenge validated at the unit that did not order it still succeeds.

mod pebble;
mod sim;
mod ssl_requirer;

use pebble::{Guard, Pebble, PebbleConfig};
use serde_json::{json, Value};
use sim::{test_charm, wait_for, Model};
use ssl_requirer::{add_site, our_bag, requirer_status};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The unit has its own network namespace: the production ports.
const HTTP: u16 = 80;
const HTTPS: u16 = 443;
/// Pebble's certificate lifetime: due for renewal 60 s after issuance (a third left, §4.5).
const VALIDITY_S: u64 = 90;
/// The header echo upstream, on the bridge address in the host namespace.
const ECHO_PORT: u16 = 18080;

const ALPHA: [&str; 2] = ["alpha.example.com", "www.alpha.example.com"];
const BETA: &str = "beta.example.com";
const ECHO: &str = "echo.example.com";
const GAMMA: &str = "gamma.example.com";
const ALICE: &str = "alice:alpha-Secret:1";
const BOB: &str = "bob:beta-pass";
const CAROL: &str = "carol:carol-pass";

/// The site's answer: whether an Authorization header reached the upstream (auth strips it).
const ECHO_UPSTREAM: &str = r#"
import http.server, sys
host, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def answer(self):
        seen = "yes" if self.headers.get("Authorization") else "no"
        body = ("echo %s authorization=%s" % (self.command, seen)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_OPTIONS = answer
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
S((host, port), H).serve_forever()
"#;

fn echo_upstream(host: IpAddr) -> Guard {
    pebble::assert_free(&format!("{host}:{ECHO_PORT}"));
    let child = Command::new("python3")
        .args([
            "-c",
            ECHO_UPSTREAM,
            &host.to_string(),
            &ECHO_PORT.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let guard = Guard(child);
    pebble::wait_port(&format!("{host}:{ECHO_PORT}"));
    guard
}

/// curl to our unit's HTTPS port with SNI (and Host) `fqdn`, the chain verified against `root`.
fn curl_verified(lb: &str, fqdn: &str, root: &Path) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--resolve"])
        .arg(format!("{fqdn}:{HTTPS}:{lb}"))
        .arg("--cacert")
        .arg(root);
    cmd
}

/// HTTPS to our unit with SNI (and Host) `fqdn`, chain verified against `root`: (status, body).
fn https(lb: &str, fqdn: &str, root: &Path, args: &[&str], path: &str) -> (u16, String) {
    let out = curl_verified(lb, fqdn, root)
        .args(["-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("https://{fqdn}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let code = code.trim().parse().unwrap_or(0);
    let body = if code == 0 {
        String::from_utf8_lossy(&out.stderr).into_owned()
    } else {
        body.trim().to_owned()
    };
    (code, body)
}

/// The response headers of a verified HTTPS GET, lowercased.
fn https_headers(lb: &str, fqdn: &str, root: &Path) -> String {
    let out = curl_verified(lb, fqdn, root)
        .args(["-o", "/dev/null", "-D", "-"])
        .arg(format!("https://{fqdn}/"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
}

/// Plain HTTP on our port 80 with `Host: host`: (status, Location header).
fn http(lb: &str, host: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "10"])
        .args(["-w", "%{http_code} %{redirect_url}", "-H"])
        .arg(format!("Host: {host}"))
        .arg(format!("http://{lb}:{HTTP}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, location) = text.split_once(' ').unwrap_or((&text, ""));
    (code.trim().parse().unwrap_or(0), location.trim().to_owned())
}

/// The certificate our unit serves for SNI `fqdn`, as `openssl x509 -text`-style fields.
fn served_cert(lb: &str, fqdn: &str, fields: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect {lb}:{HTTPS} -servername {fqdn} </dev/null 2>/dev/null \
             | openssl x509 -noout {fields}"
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The DNS names of the certificate served for SNI `fqdn`, sorted (Pebble picks the order).
fn served_names(lb: &str, fqdn: &str) -> Vec<String> {
    let mut names: Vec<String> = served_cert(lb, fqdn, "-ext subjectAltName")
        .split([',', '\n'])
        .filter_map(|part| part.trim().strip_prefix("DNS:").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// `notBefore=…`/`notAfter=…` of the served certificate as Unix seconds (GNU `date`).
fn served_validity(lb: &str, fqdn: &str) -> (u64, u64) {
    let text = served_cert(lb, fqdn, "-startdate -enddate");
    let seconds = |key: &str| -> u64 {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {text:?}"));
        let out = Command::new("date")
            .args(["-u", "+%s", "-d", value])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (seconds("notBefore="), seconds("notAfter="))
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// How many ACME orders our charm logged for `site` (its `juju-log` through the hook tools).
fn acme_attempts(m: &Model, site: &str) -> usize {
    let needle = format!("requesting a certificate site={site} ");
    m.debug_log_tail(usize::MAX)
        .lines()
        .filter(|l| l.contains(&needle))
        .count()
}

/// The lines of `userlist sslterm-users-<primary>` in `cfg`, trimmed.
fn userlist<'a>(cfg: &'a str, primary: &str) -> Vec<&'a str> {
    let header = format!("userlist sslterm-users-{primary}");
    cfg.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| l.starts_with(char::is_whitespace) && !l.trim().is_empty())
        .map(str::trim)
        .collect()
}

/// `stat -c '%a %U %n'` of `paths` inside our machine, one line each.
fn modes(m: &Model, paths: &str) -> Vec<String> {
    let out = m.exec("haproxy-lb/0", &format!("stat -c '%a %U %n' {paths}"));
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A bounded client loop (≤ 3000 requests, ≤ 120 s, until `stop`): verified HTTPS GETs to
/// `fqdn` with `user`, each expected to answer `expected`; returns (successes, failures).
fn client_loop(
    lb: &str,
    root: &Path,
    (fqdn, user, expected): (&'static str, &'static str, &'static str),
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    let (lb, root) = (lb.to_owned(), root.to_owned());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let (mut ok, mut failed) = (0, Vec::new());
        for _ in 0..3000 {
            if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                break;
            }
            match https(&lb, fqdn, &root, &["-u", user], "/") {
                (200, body) if body == expected => ok += 1,
                (code, body) => failed.push(format!("{fqdn}: {code} {body}")),
            }
        }
        (ok, failed)
    })
}

#[test]
fn pebble_issues_through_the_hooks_sites_served_by_sni_with_auth_failures_alone_renewal_loses_no_request(
) {
    let started = Instant::now();
    let m = Model::new("ssl_pebble");
    m.deploy_ours("haproxy-lb", 1, &[]);
    let lb = m.address("haproxy-lb/0");
    let unit_ip: Ipv4Addr = lb.parse().unwrap();
    let [a, b, c, _] = unit_ip.octets();
    // The host side of the model's bridge: reachable from the unit and towards it.
    let bridge = Ipv4Addr::new(a, b, c, 1);
    let scratch = tempfile::Builder::new().prefix("pebble").tempdir().unwrap();
    let pebble = Pebble::start(
        scratch.path(),
        PebbleConfig {
            listen: bridge.into(),
            http_port: HTTP,
            default_answer: unit_ip.into(),
            validity_s: VALIDITY_S,
        },
    );
    let _echo = echo_upstream(bridge.into());
    // `services=""` frees port 80 for the ssl-termination frontend.
    m.run(&[
        "config",
        "haproxy-lb",
        "services=",
        &format!("acme_directory_url={}", pebble.directory_url()),
        &format!("acme_ca_certificate={}", pebble.api_ca),
        &format!("ssl_termination_http_port={HTTP}"),
        &format!("ssl_termination_https_port={HTTPS}"),
    ]);
    m.deploy(&test_charm("web"), "web", 2, &[]);
    let web0 = m.address("web/0");
    let web1 = m.address("web/1");

    // Issuance through the hooks: three tenants, one with two names.
    add_site(
        &m,
        "site-a",
        &[
            format!("fqdns={}", ALPHA.join(" ")),
            "credentials=alice alpha-Secret:1".into(),
            format!("upstreams={web0}:8080"),
        ],
    );
    add_site(
        &m,
        "site-b",
        &[
            format!("fqdns={BETA}"),
            "credentials=bob beta-pass".into(),
            format!("upstreams={web1}:8080"),
        ],
    );
    add_site(
        &m,
        "site-echo",
        &[
            format!("fqdns={ECHO}"),
            "credentials=carol carol-pass".into(),
            format!("upstreams={bridge}:{ECHO_PORT}"),
        ],
    );
    let ready = wait_for(Duration::from_secs(90), || {
        ["site-a/0", "site-b/0", "site-echo/0"]
            .iter()
            .all(|u| requirer_status(&m, u) == ("active".into(), "Ready".into()))
            .then_some(())
    });
    assert!(
        ready.is_some(),
        "site-a {:?}, site-b {:?}, site-echo {:?}, haproxy-lb {:?}\n{}\n--- pebble ---\n{}",
        requirer_status(&m, "site-a/0"),
        requirer_status(&m, "site-b/0"),
        requirer_status(&m, "site-echo/0"),
        m.workload("haproxy-lb/0"),
        m.debug_log_tail(60),
        pebble.log_tail(30)
    );
    println!("issued through the hooks after {:?}", started.elapsed());
    let (kind, message) = m.workload("haproxy-lb/0");
    assert_eq!(kind, "active", "{message}");
    // Only ssl-termination is served: the status is worded exactly as §4.6 says.
    assert_eq!(message, format!("Ready ({}, {BETA}, {ECHO})", ALPHA[0]));

    // A hook with nothing due: no ACME, byte-identical haproxy.cfg, same certificates.
    let cfg = m.haproxy_cfg("haproxy-lb/0");
    let details_before: Vec<Value> = ["site-a/0", "site-b/0", "site-echo/0"]
        .iter()
        .map(|u| our_bag(&m, u).1)
        .collect();
    let attempts: Vec<usize> = [ALPHA[0], BETA, ECHO]
        .iter()
        .map(|s| acme_attempts(&m, s))
        .collect();
    assert_eq!(attempts, [1, 1, 1], "one order per site");
    m.run(&["fire", "haproxy-lb/0", "update-status"]);
    assert_eq!(
        m.haproxy_cfg("haproxy-lb/0"),
        cfg,
        "idle hook changed haproxy.cfg"
    );
    for site in [ALPHA[0], BETA, ECHO] {
        assert_eq!(acme_attempts(&m, site), 1, "idle hook ordered for {site}");
    }
    let details_after: Vec<Value> = ["site-a/0", "site-b/0", "site-echo/0"]
        .iter()
        .map(|u| our_bag(&m, u).1)
        .collect();
    assert_eq!(details_after, details_before, "idle hook reissued");

    // Each requirer's `status` lists exactly its own names; its detail says ready, not-after.
    for (unit, names) in [
        ("site-a/0", ALPHA.to_vec()),
        ("site-b/0", vec![BETA]),
        ("site-echo/0", vec![ECHO]),
    ] {
        let (status, detail) = our_bag(&m, unit);
        assert_eq!(status, json!(names), "{unit}");
        let entries = detail.as_object().unwrap();
        assert_eq!(entries.len(), 1, "{unit}: only its own entry: {detail}");
        let entry = &detail[unit];
        assert_eq!(entry["state"], "ready", "{unit}: {detail}");
        assert_eq!(entry["fqdn"], json!(names), "{unit}: {detail}");
        assert_eq!(entry["message"], "", "{unit}: {detail}");
        let not_after = entry["not-after"].as_str().unwrap_or("");
        assert!(
            not_after.len() == 20 && not_after.ends_with('Z'),
            "{unit}: {detail}"
        );
    }

    // SNI picks each site's own certificate (exactly its names), the chain verifies against
    // Pebble's issuing root; basic auth per tenant; the upstream's answer.
    let root = pebble.root();
    assert_eq!(served_names(&lb, ALPHA[0]), ALPHA.to_vec());
    assert_eq!(served_names(&lb, ALPHA[1]), ALPHA.to_vec());
    assert_eq!(served_names(&lb, BETA), vec![BETA]);
    assert_eq!(served_names(&lb, ECHO), vec![ECHO]);
    for fqdn in [ALPHA[0], ALPHA[1], BETA, ECHO] {
        assert_eq!(https(&lb, fqdn, &root, &[], "/").0, 401, "{fqdn}");
    }
    for fqdn in ALPHA {
        assert_eq!(
            https(&lb, fqdn, &root, &["-u", ALICE], "/x"),
            (200, "web/0".into()),
            "{fqdn}"
        );
    }
    assert_eq!(
        https(&lb, BETA, &root, &["-u", BOB], "/"),
        (200, "web/1".into())
    );
    // Authorization is not forwarded; OPTIONS (CORS preflight) needs no credentials.
    assert_eq!(
        https(&lb, ECHO, &root, &["-u", CAROL], "/"),
        (200, "echo GET authorization=no".into())
    );
    assert_eq!(
        https(&lb, ECHO, &root, &["-X", "OPTIONS"], "/"),
        (200, "echo OPTIONS authorization=no".into())
    );
    // No leaking: one tenant's credentials do not open another's site; a wrong password fails.
    assert_eq!(https(&lb, BETA, &root, &["-u", ALICE], "/").0, 401);
    assert_eq!(https(&lb, ALPHA[0], &root, &["-u", BOB], "/").0, 401);
    assert_eq!(https(&lb, ECHO, &root, &["-u", BOB], "/").0, 401);
    assert_eq!(
        https(&lb, ALPHA[0], &root, &["-u", "alice:wrong"], "/").0,
        401
    );
    // Routing follows Host, not SNI: an unknown Host on a valid TLS session gets 421.
    for host in ["unknown.example.com", "www.beta.example.com"] {
        let header = format!("Host: {host}");
        assert_eq!(
            https(&lb, ALPHA[0], &root, &["-u", ALICE, "-H", &header], "/").0,
            421,
            "{host}"
        );
    }
    // HSTS on every HTTPS answer, HAProxy's own 401 included.
    let headers = https_headers(&lb, ALPHA[0], &root);
    assert!(
        headers.contains("strict-transport-security: max-age=63072000"),
        "{headers}"
    );
    assert!(headers.contains("www-authenticate: basic"), "{headers}");
    // Port 80: routed names go to https, unknown ACME tokens and unknown names get 404.
    assert_eq!(
        http(&lb, ALPHA[1], "/page?q=1"),
        (301, format!("https://{}/page?q=1", ALPHA[1]))
    );
    assert_eq!(http(&lb, BETA, "/").0, 301);
    assert_eq!(
        http(&lb, ALPHA[0], "/.well-known/acme-challenge/unknownToken").0,
        404
    );
    assert_eq!(
        http(
            &lb,
            "anything.example.com",
            "/.well-known/acme-challenge/abc"
        )
        .0,
        404
    );
    assert_eq!(http(&lb, "anything.example.com", "/").0, 404);

    // Files: keys, certificates, crt-list, map, state and account files 0600 (dirs 0700),
    // root-owned; no plaintext password in haproxy.cfg or the state file.
    let files = modes(
        &m,
        "/etc/haproxy/haproxy-lb/certs/*.pem /etc/haproxy/haproxy-lb/certs/crt-list \
         /etc/haproxy/haproxy-lb/acme-challenges.map /var/lib/haproxy-lb/ssl-termination.json \
         /var/lib/haproxy-lb/acme/*",
    );
    for name in [
        "certs/default.pem",
        "certs/alpha.example.com.pem",
        "certs/beta.example.com.pem",
        "certs/echo.example.com.pem",
        "certs/crt-list",
        "acme-challenges.map",
        "ssl-termination.json",
    ] {
        assert!(
            files.iter().any(|l| l.ends_with(name)),
            "{name} missing: {files:?}"
        );
    }
    assert!(
        files
            .iter()
            .filter(|l| l.contains("/var/lib/haproxy-lb/acme/"))
            .any(|l| l.ends_with(".json")),
        "no ACME account file: {files:?}"
    );
    for line in &files {
        assert!(line.starts_with("600 root "), "{files:?}");
    }
    for line in modes(&m, "/etc/haproxy/haproxy-lb/certs /var/lib/haproxy-lb/acme") {
        assert!(line.starts_with("700 root "), "{line}");
    }
    for secret in [
        "alpha-Secret",
        "beta-pass",
        "carol-pass",
        "insecure-password",
    ] {
        assert!(!cfg.contains(secret), "{secret} in haproxy.cfg");
    }
    // Each site's userlist holds its own user only, as a SHA-512 crypt hash.
    for (primary, user) in [(ALPHA[0], "alice"), (BETA, "bob"), (ECHO, "carol")] {
        let users: Vec<&str> = userlist(&cfg, primary)
            .into_iter()
            .filter_map(|l| l.strip_prefix("user "))
            .collect();
        assert_eq!(users.len(), 1, "{primary}: {users:?}\n{cfg}");
        assert!(
            users[0].starts_with(&format!("{user} password $6$")),
            "{primary}: {users:?}"
        );
    }
    let state = m.exec(
        "haproxy-lb/0",
        "cat /var/lib/haproxy-lb/ssl-termination.json",
    );
    let state = String::from_utf8_lossy(&state.stdout);
    assert!(state.contains("$6$"), "{state}");
    for secret in ["alpha-Secret", "beta-pass", "carol-pass"] {
        assert!(!state.contains(secret), "{secret} in the state file");
    }

    // An ACME failure: Pebble's DNS sends gamma's validation where nothing listens. The site
    // fails alone, with the CA's problem and the next attempt, and backs off.
    let nowhere = format!("{a}.{b}.{c}.250");
    pebble.add_a(GAMMA, &nowhere);
    add_site(
        &m,
        "site-gamma",
        &[format!("fqdns={GAMMA}"), format!("upstreams={web1}:8080")],
    );
    let (status, detail) = our_bag(&m, "site-gamma/0");
    assert_eq!(status, json!([]), "{detail}");
    let entry = &detail["site-gamma/0"];
    assert_eq!(
        entry["state"],
        "failed",
        "{detail}\n{}",
        pebble.log_tail(30)
    );
    assert_eq!(entry["not-after"], Value::Null, "{detail}");
    let failure = entry["message"].as_str().unwrap().to_owned();
    assert!(
        failure.starts_with(&format!("acme: {GAMMA}: urn:ietf:params:acme:error:")),
        "{failure}"
    );
    assert!(failure.contains("; next attempt after "), "{failure}");
    let (kind, message) = m.workload("haproxy-lb/0");
    assert_eq!(kind, "blocked", "{message}");
    assert_eq!(message, format!("1 of 4 sites not ready: {GAMMA} failed"));
    let (kind, message) = requirer_status(&m, "site-gamma/0");
    assert_eq!(kind, "waiting");
    assert!(message.starts_with("failed: acme: "), "{message}");
    // Backing off: a further hook does not try again (a retry would move the next attempt).
    assert_eq!(acme_attempts(&m, GAMMA), 1);
    m.run(&["fire", "haproxy-lb/0", "update-status"]);
    assert_eq!(acme_attempts(&m, GAMMA), 1, "retried while backing off");
    assert_eq!(
        our_bag(&m, "site-gamma/0").1["site-gamma/0"]["message"],
        failure.as_str()
    );
    // The other sites are untouched.
    assert_eq!(
        https(&lb, BETA, &root, &["-u", BOB], "/"),
        (200, "web/1".into())
    );
    for unit in ["site-a/0", "site-b/0", "site-echo/0"] {
        assert_eq!(our_bag(&m, unit).1[unit]["state"], "ready", "{unit}");
        assert_eq!(requirer_status(&m, unit).1, "Ready", "{unit}");
    }

    // Bad input from the checklist (§6 item 5), each through its own requirer: rejected with
    // its reason, nothing else changes.
    let newline_credentials = json!({
        "contact-email": "",
        "credentials": "admin pass\nword",
        "fqdn": ["newline.example.com"],
        "nginx-config": [],
        "upstreams": [{"hostname": web1, "port": "8080", "private-address": web1}],
    })
    .to_string();
    let bad: [(&str, Vec<String>, &str); 5] = [
        (
            "bad-wildcard",
            vec![
                "fqdns=*.wild.example.com".into(),
                format!("upstreams={web1}:8080"),
            ],
            "wildcard",
        ),
        (
            "bad-fqdn",
            vec![
                "fqdns=not_valid.example.com".into(),
                format!("upstreams={web1}:8080"),
            ],
            "not a valid host name",
        ),
        (
            "bad-port",
            vec![
                "fqdns=port.example.com".into(),
                format!("upstreams={web1}:http"),
            ],
            "upstreams[0].port \"http\" is not a port",
        ),
        (
            "bad-json",
            vec![r#"raw_request={"fqdn": ["json.example.com""#.into()],
            "cert-request is not a JSON object",
        ),
        (
            "bad-credentials",
            vec![format!("raw_request={newline_credentials}")],
            "credentials must be",
        ),
    ];
    for (app, config, _) in &bad {
        add_site(&m, app, config);
    }
    for (app, _, reason) in &bad {
        let unit = format!("{app}/0");
        let (status, detail) = our_bag(&m, &unit);
        assert_eq!(status, json!([]), "{unit}");
        assert_eq!(detail[&unit]["state"], "rejected", "{unit}: {detail}");
        assert_eq!(detail[&unit]["not-after"], Value::Null, "{unit}: {detail}");
        let message = detail[&unit]["message"].as_str().unwrap_or("");
        assert!(message.contains(reason), "{unit}: {message}");
        let (kind, shown) = requirer_status(&m, &unit);
        assert_eq!(kind, "waiting", "{unit}");
        assert!(
            shown.starts_with("rejected: ") && shown.contains(reason),
            "{unit}: {shown}"
        );
    }
    let (kind, message) = m.workload("haproxy-lb/0");
    assert_eq!(kind, "blocked", "{message}");
    assert_eq!(message, format!("6 of 9 sites not ready: {GAMMA} failed"));
    // Rejected names are not served (421 on a valid session); the good sites still are.
    for host in [
        "port.example.com",
        "newline.example.com",
        "json.example.com",
    ] {
        let header = format!("Host: {host}");
        assert_eq!(
            https(&lb, BETA, &root, &["-u", BOB, "-H", &header], "/").0,
            421,
            "{host}"
        );
    }
    assert_eq!(
        https(&lb, ALPHA[1], &root, &["-u", ALICE], "/"),
        (200, "web/0".into())
    );
    assert_eq!(
        https(&lb, BETA, &root, &["-u", BOB], "/"),
        (200, "web/1".into())
    );
    assert!(!m.haproxy_cfg("haproxy-lb/0").contains("wild.example.com"));

    // Renewal under a bounded client loop: wait until beta is due (a third of its lifetime
    // left, §4.5), then an update-status hook renews while verified requests keep coming.
    let (not_before, not_after) = served_validity(&lb, BETA);
    let due_at = not_after - (not_after - not_before) / 3 + 2;
    let wait = due_at.saturating_sub(now_s());
    assert!(
        wait <= VALIDITY_S,
        "{not_before}..{not_after}, now {}",
        now_s()
    );
    println!("waiting {wait} s for beta to be due for renewal");
    std::thread::sleep(Duration::from_secs(wait));
    let not_after_before = our_bag(&m, "site-b/0").1["site-b/0"]["not-after"].clone();
    let serial_before = served_cert(&lb, BETA, "-serial");
    let alpha_serial_before = served_cert(&lb, ALPHA[1], "-serial");
    let cfg_before = m.haproxy_cfg("haproxy-lb/0");
    let stop = Arc::new(AtomicBool::new(false));
    // Two clients, on two renewed sites.
    let loads = [
        client_loop(&lb, &root, (BETA, BOB, "web/1"), stop.clone()),
        client_loop(&lb, &root, (ALPHA[1], ALICE, "web/0"), stop.clone()),
    ];
    std::thread::sleep(Duration::from_millis(500));
    m.run(&["fire", "haproxy-lb/0", "update-status"]);
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for load in loads {
        let (o, f) = load.join().unwrap();
        ok += o;
        failed.extend(f);
    }
    println!(
        "renewal under load: {ok} requests answered, {} failed",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} failed of {}: {:?}",
        failed.len(),
        ok + failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(ok > 5, "the loop ran: {ok}");
    let (_, detail) = our_bag(&m, "site-b/0");
    assert_ne!(
        detail["site-b/0"]["not-after"], not_after_before,
        "not renewed"
    );
    // alpha was issued before beta: due too, renewed in the same hook.
    assert_ne!(
        served_cert(&lb, ALPHA[1], "-serial"),
        alpha_serial_before,
        "alpha not renewed"
    );
    for unit in ["site-a/0", "site-b/0", "site-echo/0"] {
        assert_eq!(our_bag(&m, unit).1[unit]["state"], "ready", "{unit}");
    }
    assert_eq!(acme_attempts(&m, GAMMA), 1, "gamma still backing off");
    assert_ne!(
        served_cert(&lb, BETA, "-serial"),
        serial_before,
        "old certificate served"
    );
    assert_eq!(
        m.haproxy_cfg("haproxy-lb/0"),
        cfg_before,
        "a renewal changes certificate files only"
    );
    assert_eq!(
        https(&lb, BETA, &root, &["-u", BOB], "/"),
        (200, "web/1".into())
    );
    println!("whole test {:?}", started.elapsed());
}

/// Scaled out: Pebble's DNS sends every validation to unit 1, yet unit 0's own order succeeds,
/// because unit 1 relays challenges it does not know to its peers.
#[test]
fn a_challenge_validated_at_a_peer_unit_is_relayed_to_the_unit_that_ordered() {
    let m = Model::new("ssl_pebble_relay");
    m.deploy_ours("haproxy-lb", 2, &[]);
    let lb0 = m.address("haproxy-lb/0");
    let lb1 = m.address("haproxy-lb/1");
    let unit1: Ipv4Addr = lb1.parse().unwrap();
    let [a, b, c, _] = unit1.octets();
    let bridge = Ipv4Addr::new(a, b, c, 1);
    let scratch = tempfile::Builder::new()
        .prefix("pebble-relay")
        .tempdir()
        .unwrap();
    let pebble = Pebble::start(
        scratch.path(),
        PebbleConfig {
            listen: bridge.into(),
            http_port: HTTP,
            default_answer: unit1.into(),
            validity_s: 3600,
        },
    );
    m.run(&[
        "config",
        "haproxy-lb",
        "services=",
        &format!("acme_directory_url={}", pebble.directory_url()),
        &format!("acme_ca_certificate={}", pebble.api_ca),
        // The units order in separate hooks of one settle: unit 0 may order before unit 1
        // serves any ssl-termination frontend; that attempt fails and may retry a second later.
        "acme_retry_interval=1",
    ]);
    m.deploy(&test_charm("web"), "web", 1, &[]);
    let web0 = m.address("web/0");
    add_site(
        &m,
        "site-relay",
        &[
            "fqdns=relay.example.com".into(),
            format!("upstreams={web0}:8080"),
        ],
    );
    let ready = |unit: &str| m.workload(unit).1 == "Ready (relay.example.com)";
    let both = wait_for(Duration::from_secs(120), || {
        for unit in ["haproxy-lb/0", "haproxy-lb/1"] {
            if !ready(unit) {
                std::thread::sleep(Duration::from_millis(1500));
                m.run(&["fire", unit, "update-status"]);
            }
        }
        (ready("haproxy-lb/0") && ready("haproxy-lb/1")).then_some(())
    });
    assert!(
        both.is_some(),
        "{:?} {:?}\n{}\n--- pebble ---\n{}",
        m.workload("haproxy-lb/0"),
        m.workload("haproxy-lb/1"),
        m.debug_log_tail(60),
        pebble.log_tail(30)
    );
    // Each unit serves its own Pebble certificate for the name; the chain verifies.
    let root = pebble.root();
    for lb in [&lb0, &lb1] {
        assert_eq!(
            https(lb, "relay.example.com", &root, &[], "/"),
            (200, "web/0".into()),
            "{lb}"
        );
    }
    assert_ne!(
        served_cert(&lb0, "relay.example.com", "-serial"),
        served_cert(&lb1, "relay.example.com", "-serial"),
        "each unit ordered its own certificate"
    );
    // The relay answers challenges only: unknown tokens are still 404 on both units.
    for lb in [&lb0, &lb1] {
        assert_eq!(
            http(
                lb,
                "relay.example.com",
                "/.well-known/acme-challenge/unknownToken"
            )
            .0,
            404,
            "{lb}"
        );
    }
    // With no peer to ask (unit 0's HAProxy stopped), unit 1 still answers an unknown token
    // 404, not HAProxy's 503 (checklist 10), and still serves what it knows.
    let stopped = m.exec("haproxy-lb/0", "kill $(cat /run/haproxy.pid)");
    assert!(stopped.status.success(), "{stopped:?}");
    let gone = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect((lb0.as_str(), HTTP))
            .is_err()
            .then_some(())
    });
    assert!(gone.is_some(), "unit 0's HAProxy still listens");
    assert_eq!(
        http(
            &lb1,
            "relay.example.com",
            "/.well-known/acme-challenge/unknownToken"
        )
        .0,
        404
    );
    assert_eq!(
        https(&lb1, "relay.example.com", &root, &[], "/"),
        (200, "web/0".into())
    );
}

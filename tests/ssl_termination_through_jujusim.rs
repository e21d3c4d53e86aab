//! The ssl-termination interface end to end through jujusim (issue 8): haproxy-lb, two web
//! units as upstreams and the `ssl-requirer` test charm (a subordinate speaking the spec's wire
//! format) related on `ssl-termination`. Certificates are self-signed here
//! (`certificate_source=self-signed`, with withdrawal); issuance by Pebble through the same hook
//! path is proven in `ssl_termination_pebble_through_jujusim.rs`.

mod sim;
mod ssl_requirer;

use sim::{test_charm, wait_for, Model};
use ssl_requirer::{add_site, our_bag, requirer_status};
use std::process::Command;
use std::time::Duration;

const HTTPS: u16 = 50443;

/// curl over TLS to `addr` with SNI/Host `fqdn`, certificate not verified (self-signed):
/// (status, body, served certificate subject).
fn curl(addr: &str, fqdn: &str, user: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sk",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "5",
        "--resolve",
    ])
    .arg(format!("{fqdn}:{HTTPS}:{addr}"));
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd
        .arg(format!("https://{fqdn}:{HTTPS}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.trim().to_owned())
}

/// (status, lower-cased response headers) of an authenticated GET over TLS.
fn curl_headers(addr: &str, fqdn: &str, user: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}"])
        .args(["--max-time", "5", "-u", user, "--resolve"])
        .arg(format!("{fqdn}:{HTTPS}:{addr}"))
        .arg(format!("https://{fqdn}:{HTTPS}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let (headers, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), headers.to_owned())
}

/// The subject CN of the certificate served for SNI `fqdn`.
fn served_subject(addr: &str, fqdn: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect {addr}:{HTTPS} -servername {fqdn} </dev/null 2>/dev/null | openssl x509 -noout -subject"
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn two_requirers_served_with_their_own_certificates_and_users_a_bad_one_rejected_alone() {
    let m = Model::new("ssl_termination_requirers");
    // Configured after deploy: `services=""` frees port 80 before the ssl frontends exist.
    m.deploy_ours("haproxy-lb", 1, &[]);
    m.run(&[
        "config",
        "haproxy-lb",
        "services=",
        "certificate_source=self-signed",
        "ssl_termination_http_port=50080",
        "ssl_termination_https_port=50443",
    ]);
    m.deploy(&test_charm("web"), "web", 2, &[]);
    let web0 = m.address("web/0");
    let web1 = m.address("web/1");
    let site = |app: &str, config: &[String]| add_site(&m, app, config);
    site(
        "site-a",
        &[
            "fqdns=a.example.com www.a.example.com".into(),
            "credentials=alice alpha-Secret".into(),
            format!("upstreams={web0}:8080"),
        ],
    );
    site(
        "site-b",
        &[
            "fqdns=b.example.com".into(),
            "credentials=bob beta-pass".into(),
            format!("upstreams={web1}:8080"),
        ],
    );
    site(
        "site-bad",
        &[
            "fqdns=*.c.example.com".into(),
            format!("upstreams={web1}:8080"),
        ],
    );
    let lb = m.address("haproxy-lb/0");

    // The requirers see their names in `status` and go Ready; the bad one is told why.
    let ready = wait_for(Duration::from_secs(30), || {
        (requirer_status(&m, "site-a/0").1 == "Ready"
            && requirer_status(&m, "site-b/0").1 == "Ready")
            .then_some(())
    });
    assert!(
        ready.is_some(),
        "site-a {:?}, site-b {:?}, haproxy-lb {:?}\n{}",
        requirer_status(&m, "site-a/0"),
        requirer_status(&m, "site-b/0"),
        m.workload("haproxy-lb/0"),
        m.debug_log_tail(40)
    );
    let bad = wait_for(Duration::from_secs(15), || {
        let (_, message) = requirer_status(&m, "site-bad/0");
        message.starts_with("rejected").then_some(message)
    });
    assert!(
        bad.as_deref().is_some_and(|m| m.contains("wildcard")),
        "{:?}",
        requirer_status(&m, "site-bad/0")
    );
    // Our unit status words the sites as spec §4.6 does: one of three not ready, named.
    let (kind, lb_status) = m.workload("haproxy-lb/0");
    assert_eq!(kind, "blocked", "{lb_status}");
    assert_eq!(lb_status, "1 of 3 sites not ready: site-bad/0 rejected");

    // Auth per site, upstreams per site, no leaking between tenants.
    assert_eq!(curl(&lb, "a.example.com", None).0, 401);
    assert_eq!(
        curl(&lb, "a.example.com", Some("alice:alpha-Secret")),
        (200, "web/0".into())
    );
    assert_eq!(
        curl(&lb, "www.a.example.com", Some("alice:alpha-Secret")),
        (200, "web/0".into())
    );
    assert_eq!(
        curl(&lb, "b.example.com", Some("bob:beta-pass")),
        (200, "web/1".into())
    );
    assert_eq!(
        curl(&lb, "b.example.com", Some("alice:alpha-Secret")).0,
        401
    );
    assert_eq!(curl(&lb, "a.example.com", Some("bob:beta-pass")).0, 401);
    assert_eq!(curl(&lb, "c.example.com", None).0, 421);
    // SNI picks each site's own certificate.
    assert!(served_subject(&lb, "a.example.com").contains("a.example.com"));
    assert!(served_subject(&lb, "b.example.com").contains("b.example.com"));

    // No password in haproxy.cfg, key files 0600.
    let cfg = m.haproxy_cfg("haproxy-lb/0");
    assert!(
        !cfg.contains("alpha-Secret") && !cfg.contains("beta-pass"),
        "{cfg}"
    );
    assert!(cfg.contains("password $6$"), "{cfg}");
    let modes = m.exec(
        "haproxy-lb/0",
        "stat -c '%a %n' /etc/haproxy/haproxy-lb/certs/*.pem /etc/haproxy/haproxy-lb/certs/crt-list /var/lib/haproxy-lb/ssl-termination.json",
    );
    let modes = String::from_utf8_lossy(&modes.stdout).into_owned();
    assert!(modes.lines().count() >= 5, "{modes}");
    for line in modes.lines() {
        assert!(line.starts_with("600 "), "{modes}");
    }

    // One site's certificate file goes bad on disk: the next candidate fails `haproxy -c`, so
    // only that site is dropped and reported (§4.1, checklist 15) while the other is served
    // with the new config; the next hook makes a new certificate and serves the site again.
    let broken = m.exec(
        "haproxy-lb/0",
        "printf -- '-----BEGIN CERTIFICATE-----\\nbroken\\n-----END CERTIFICATE-----\\n' > /etc/haproxy/haproxy-lb/certs/b.example.com.pem",
    );
    assert!(broken.status.success(), "{broken:?}");
    m.run(&["config", "haproxy-lb", "hsts_max_age=600"]);
    assert_eq!(
        curl_headers(&lb, "a.example.com", "alice:alpha-Secret").0,
        200
    );
    assert!(
        curl_headers(&lb, "a.example.com", "alice:alpha-Secret")
            .1
            .contains("strict-transport-security: max-age=600"),
        "the new config is served"
    );
    assert_eq!(curl(&lb, "b.example.com", Some("bob:beta-pass")).0, 421);
    let (_, detail) = our_bag(&m, "site-b/0");
    assert_eq!(detail["site-b/0"]["state"], "failed", "{detail}");
    let message = detail["site-b/0"]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("configuration rejected by haproxy -c: ")
            && message.contains("b.example.com.pem"),
        "{message}"
    );
    let (kind, lb_status) = m.workload("haproxy-lb/0");
    assert_eq!(kind, "blocked", "{lb_status}");
    assert_eq!(lb_status, "2 of 3 sites not ready: b.example.com failed");
    m.run(&["fire", "haproxy-lb/0", "update-status"]);
    assert_eq!(
        curl(&lb, "b.example.com", Some("bob:beta-pass")),
        (200, "web/1".into())
    );
    let (status, detail) = our_bag(&m, "site-b/0");
    assert_eq!(status, serde_json::json!(["b.example.com"]));
    assert_eq!(detail["site-b/0"]["state"], "ready", "{detail}");

    // `default.pem` (first in the crt-list, shared by every site) holds a key that does not
    // match its certificate: HAProxy refuses the whole ssl part, so the isolation makes a new
    // `default.pem` and the new config is served with every site in the same hook.
    let default_pem = "/etc/haproxy/haproxy-lb/certs/default.pem";
    let mismatched = m.exec(
        "haproxy-lb/0",
        &format!(
            "cd \"$(mktemp -d)\" && openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out key.pem 2>/dev/null \
             && openssl x509 -in {default_pem} > cert.pem && cat cert.pem key.pem > {default_pem} && sha256sum {default_pem}"
        ),
    );
    assert!(mismatched.status.success(), "{mismatched:?}");
    m.run(&["config", "haproxy-lb", "hsts_max_age=700"]);
    assert!(
        curl_headers(&lb, "a.example.com", "alice:alpha-Secret")
            .1
            .contains("strict-transport-security: max-age=700"),
        "the new config is served"
    );
    assert_eq!(
        curl(&lb, "b.example.com", Some("bob:beta-pass")),
        (200, "web/1".into())
    );
    let after = m.exec("haproxy-lb/0", &format!("sha256sum {default_pem}"));
    assert_ne!(
        after.stdout, mismatched.stdout,
        "default.pem was made again"
    );
    assert_eq!(
        m.workload("haproxy-lb/0").1,
        "1 of 3 sites not ready: site-bad/0 rejected"
    );

    // Withdrawal: site-b sends {} and loses its site in that hook.
    m.run(&["config", "site-b", "fqdns="]);
    let gone = wait_for(Duration::from_secs(20), || {
        (curl(&lb, "b.example.com", Some("bob:beta-pass")).0 == 421).then_some(())
    });
    assert!(gone.is_some(), "b.example.com still served");
    assert_eq!(
        curl(&lb, "a.example.com", Some("alice:alpha-Secret")),
        (200, "web/0".into())
    );
    let (status, detail) = our_bag(&m, "site-a/0");
    assert_eq!(
        status,
        serde_json::json!(["a.example.com", "www.a.example.com"])
    );
    assert_eq!(detail["site-a/0"]["state"], "ready", "{detail}");
    let (status, detail) = our_bag(&m, "site-b/0");
    assert_eq!(status, serde_json::json!([]));
    assert_eq!(detail, serde_json::json!({}), "withdrawn: no entry");
}

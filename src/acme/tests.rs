use super::*;
use std::os::unix::fs::PermissionsExt;

fn options(source: CertificateSource, fallback: bool) -> AcmeOptions {
    AcmeOptions {
        directory_url: "https://127.0.0.1:14000/dir".into(),
        ca_certificate: None,
        contact: None,
        retry_interval_s: 600,
        source,
        self_signed_fallback: fallback,
    }
}

fn paths(dir: &Path) -> CertPaths {
    CertPaths {
        certs_dir: dir.join("certs"),
        state_file: dir.join("state/ssl-termination.json"),
        account_dir: dir.join("state/acme"),
    }
}

fn wanted(names: &[&str]) -> Wanted {
    Wanted {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        contact: None,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn nothing_on_disk_is_due_and_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let a = assess(
        &State::default(),
        &wanted(&["a.example.com"]),
        &options(CertificateSource::Acme, false),
        &paths(dir.path()),
        x509::now(),
    );
    assert!(a.due && !a.ready && a.served.is_none());
}

#[test]
fn self_signed_source_makes_ready_private_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let o = options(CertificateSource::SelfSigned, false);
    let mut state = State::default();
    let w = wanted(&["a.example.com", "www.a.example.com"]);
    let changed = ensure_local(&mut state, std::slice::from_ref(&w), &o, &p, x509::now()).unwrap();
    assert_eq!(changed, ["a.example.com"]);
    let a = assess(&state, &w, &o, &p, x509::now());
    assert!(a.ready && !a.due, "{a:?}");
    assert_eq!(mode(&p.cert_file("a.example.com")), 0o600);
    assert_eq!(mode(&p.certs_dir), 0o700);
    // A second pass changes nothing.
    assert!(ensure_local(&mut state, &[w], &o, &p, x509::now())
        .unwrap()
        .is_empty());
}

#[test]
fn the_fallback_is_served_but_never_ready() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let o = options(CertificateSource::Acme, true);
    let mut state = State::default();
    let w = wanted(&["a.example.com"]);
    ensure_local(&mut state, std::slice::from_ref(&w), &o, &p, x509::now()).unwrap();
    let a = assess(&state, &w, &o, &p, x509::now());
    assert!(a.served.is_some() && !a.ready && a.due, "{a:?}");
    assert_eq!(a.origin, Some(CertOrigin::Fallback));
}

#[test]
fn renewal_is_due_with_a_third_of_the_lifetime_left() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let o = options(CertificateSource::SelfSigned, false);
    let mut state = State::default();
    let w = wanted(&["a.example.com"]);
    ensure_local(&mut state, std::slice::from_ref(&w), &o, &p, x509::now()).unwrap();
    let r = state.sites.get("a.example.com").unwrap().clone();
    let (b, a) = (r.not_before.unwrap(), r.not_after.unwrap());
    let two_thirds = b + (a - b) * 2 / 3;
    assert!(!assess(&state, &w, &o, &p, two_thirds - 10).due);
    assert!(assess(&state, &w, &o, &p, two_thirds + 10).due);
    // Expired: not served any more.
    assert!(assess(&state, &w, &o, &p, a + 1).served.is_none());
    // Other names: due, the old one still served.
    let more = wanted(&["a.example.com", "b.example.com"]);
    let m = assess(&state, &more, &o, &p, x509::now());
    assert!(m.due && m.served.is_some() && !m.ready);
}

#[test]
fn failures_back_off_doubling_and_reset_on_change() {
    let mut state = State::default();
    let o = options(CertificateSource::Acme, false);
    let w = wanted(&["a.example.com"]);
    record_failure(&mut state, &w, &o, "acme: a.example.com: boom", 1000);
    assert_eq!(state.sites["a.example.com"].next_attempt, Some(1600));
    record_failure(&mut state, &w, &o, "acme: a.example.com: boom", 1600);
    assert_eq!(state.sites["a.example.com"].next_attempt, Some(2800));
    assert!(state.sites["a.example.com"]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("acme: a.example.com: boom; next attempt after 1970-01-01T00:46:40Z"));
    for _ in 0..30 {
        record_failure(&mut state, &w, &o, "x", 0);
    }
    assert_eq!(state.sites["a.example.com"].next_attempt, Some(6 * 3600));
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    assert!(assess(&state, &w, &o, &p, 10).backing_off);
    // Another name set is another attempt: no back-off.
    let other = wanted(&["a.example.com", "b.example.com"]);
    assert!(!assess(&state, &other, &o, &p, 10).backing_off);
}

#[test]
fn removed_sites_are_retired_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let o = options(CertificateSource::SelfSigned, false);
    let mut state = State::default();
    let w = wanted(&["a.example.com"]);
    ensure_local(&mut state, std::slice::from_ref(&w), &o, &p, x509::now()).unwrap();
    retire_removed(&state, &[], &p).unwrap();
    assert!(!p.cert_file("a.example.com").exists());
    assert!(p.certs_dir.join("retired/a.example.com.pem").is_file());
    let changed = ensure_local(&mut state, std::slice::from_ref(&w), &o, &p, x509::now()).unwrap();
    assert!(changed.is_empty(), "reused, not re-made");
    assert!(p.cert_file("a.example.com").is_file());
}

#[test]
fn the_default_certificate_is_made_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let first = ensure_default_cert(&p).unwrap();
    let bytes = std::fs::read(&first).unwrap();
    ensure_default_cert(&p).unwrap();
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
    assert_eq!(mode(&first), 0o600);
    // A file that holds no readable certificate is made again.
    std::fs::write(
        &first,
        "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    ensure_default_cert(&p).unwrap();
    let remade = std::fs::read(&first).unwrap();
    assert!(crate::acme::x509::validity(&remade).is_some());
    assert_ne!(remade, bytes);
}

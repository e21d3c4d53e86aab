//! Unit tests for `charm_config`: parsing, the last valid set, the stable password hash.

use super::*;
use serde_json::json;

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[test]
fn sha512_crypt_matches_openssl_passwd() {
    // `openssl passwd -6 -salt Zx9Q2abcdEFgh 'S3cret-pw'` (spec/haproxy.md §5).
    let hash = sha512_crypt("S3cret-pw", "Zx9Q2abcdEFgh").unwrap();
    assert_eq!(
        hash.as_str(),
        "$6$Zx9Q2abcdEFgh$a6hSG0aeOcrxdf3keKBCdkp/eL/xMICQhhl0jU1eDt4CVb3mCMzv3FDnDBT6MK78OhFO.cTbTD5WFfF6RnPGe0"
    );
}

#[test]
fn config_yaml_defaults_have_no_problem_and_match_the_plan_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (effective, problems) = resolve(&defaults(), dir.path());
    assert_eq!(problems, vec![]);
    assert_eq!(effective.global, GlobalSettings::default());
    assert_eq!(
        effective.monitoring, None,
        "enable_monitoring defaults to false"
    );
    assert_eq!(effective.vip, None);
    assert_eq!(effective.external_hostname, None);
    for option in OPTIONS {
        assert!(
            defaults().contains_key(*option),
            "{option} has no default in config.yaml"
        );
    }
}

#[test]
fn timeouts_parse_classic_text_with_ms_default_unit() {
    let t = parse_timeouts("queue 20000, client 50s,connect 5000 , server 1m").unwrap();
    let shown: Vec<String> = t.iter().map(|(n, v)| format!("{n} {v}")).collect();
    assert_eq!(
        shown,
        vec!["queue 20000", "client 50s", "connect 5000", "server 1m"]
    );
    assert_eq!(parse_timeouts("").unwrap(), vec![]);
}

#[test]
fn timeouts_refuse_unknown_names_bad_values_and_duplicates() {
    for (text, needle) in [
        ("bogus 5000", "unknown timeout 'bogus'"),
        ("client", "is not '<name> <time>'"),
        ("client 5 s", "is not '<name> <time>'"),
        ("client 5sec", "'5sec' is not a time"),
        ("client 5000\nserver 1", "is not '<name> <time>'"),
        ("client 1, client 2", "given twice"),
        ("client 25d", "is not a time"),
    ] {
        let err = parse_timeouts(text).unwrap_err();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn every_bad_value_names_its_option_value_and_problem() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("default_mode", json!("udp"), "must be http or tcp"),
        (
            "default_options",
            json!("httplog, bogus"),
            "unknown option 'bogus'",
        ),
        (
            "default_options",
            json!("httplog\nhttp-request deny"),
            "unknown option",
        ),
        ("default_retries", json!(-1), "between 0 and 100"),
        ("default_retries", json!("three"), "must be an integer"),
        (
            "default_timeouts",
            json!("client 5000 #"),
            "is not '<name> <time>'",
        ),
        ("global_maxconn", json!(0), "between 1 and"),
        ("global_maxconn", json!(1.5), "must be an integer"),
        (
            "global_hard_stop_after",
            json!("5 minutes"),
            "is not a time",
        ),
        (
            "global_default_bind_options",
            json!("no-tls-tickets ssl-max-ver"),
            "unknown option",
        ),
        ("enable_monitoring", json!("yes"), "must be true or false"),
        ("monitoring_port", json!(0), "between 1 and 65535"),
        ("monitoring_port", json!(70000), "between 1 and 65535"),
        (
            "monitoring_allowed_cidr",
            json!("10.0.0.0/33"),
            "is not an address or network",
        ),
        ("monitoring_username", json!("ad min"), "is not a user name"),
        ("monitoring_stats_refresh", json!(-3), "between 0 and 3600"),
        (
            "vip",
            json!("10.0.0.1; rm"),
            "must be empty or an IPv4/IPv6 address",
        ),
        (
            "external_hostname",
            json!("bad host"),
            "is not an IP address or a DNS name",
        ),
    ];
    for (option, value, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut current = defaults();
        current.insert(option.into(), value.clone());
        let (_, problems) = resolve(&current, dir.path());
        assert_eq!(problems.len(), 1, "{option}={value}: {problems:?}");
        let text = problems[0].to_string();
        assert_eq!(problems[0].option, option);
        assert!(text.starts_with(&format!("{option} = ")), "{text}");
        assert!(text.contains(needle), "{option}={value}: {text}");
    }
}

#[test]
fn a_bad_value_keeps_the_whole_last_valid_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut good = defaults();
    good.insert("global_maxconn".into(), json!(2000));
    good.insert("default_mode".into(), json!("tcp"));
    let (first, problems) = resolve(&good, dir.path());
    assert!(problems.is_empty());
    assert_eq!(first.global.maxconn, 2000);

    // One bad option: the good new maxconn is not applied either.
    let mut next = good.clone();
    next.insert("global_maxconn".into(), json!(3000));
    next.insert("default_timeouts".into(), json!("client forever"));
    let (kept, problems) = resolve(&next, dir.path());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].option, "default_timeouts");
    assert_eq!(kept, first);

    // Fixed: the new values apply.
    next.insert("default_timeouts".into(), json!("client 1m"));
    let (applied, problems) = resolve(&next, dir.path());
    assert!(problems.is_empty());
    assert_eq!(applied.global.maxconn, 3000);
}

#[test]
fn a_bad_value_with_no_last_valid_set_uses_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let mut current = defaults();
    current.insert("default_mode".into(), json!("udp"));
    current.insert("global_maxconn".into(), json!(5));
    let (effective, problems) = resolve(&current, dir.path());
    assert_eq!(problems.len(), 1);
    assert_eq!(effective.global, GlobalSettings::default());
}

fn monitored(password: &str) -> Map<String, Value> {
    let mut m = defaults();
    m.extend(map(json!({
        "enable_monitoring": true,
        "monitoring_port": 20404,
        "monitoring_allowed_cidr": "127.0.2.0/24, 10.0.0.0/8",
        "monitoring_username": "admin",
        "monitoring_password": password,
        "monitoring_stats_refresh": 5,
    })));
    m
}

#[test]
fn monitoring_password_hash_is_stable_and_changes_with_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = resolve(&monitored("S3cret-pw"), dir.path());
    let (b, _) = resolve(&monitored("S3cret-pw"), dir.path());
    let hash_a = a.monitoring.as_ref().unwrap().password_hash.clone();
    assert_eq!(hash_a, b.monitoring.unwrap().password_hash, "rehashed");
    let salt = hash_a.as_str().split('$').nth(2).unwrap().to_owned();
    assert_eq!(sha512_crypt("S3cret-pw", &salt), Some(hash_a.clone()));
    let (c, _) = resolve(&monitored("other-pw"), dir.path());
    let hash_c = c.monitoring.unwrap().password_hash;
    assert_ne!(hash_c, hash_a);
    let salt_c = hash_c.as_str().split('$').nth(2).unwrap();
    assert_eq!(sha512_crypt("other-pw", salt_c), Some(hash_c.clone()));
    let m = a.monitoring.unwrap();
    assert_eq!(m.port.get(), 20404);
    assert_eq!(m.allowed.len(), 2);
    assert_eq!(m.refresh_s, Some(5));
}

#[test]
fn the_password_is_never_stored_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    resolve(&monitored("S3cret-pw"), dir.path());
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("S3cret-pw"),
            "{} holds the password",
            path.display()
        );
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
}

#[test]
fn an_empty_password_generates_one_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = resolve(&monitored(""), dir.path());
    let generated = fs::read_to_string(dir.path().join(GENERATED_PASSWORD_FILE)).unwrap();
    assert_eq!(generated.len(), 24);
    let hash = a.monitoring.unwrap().password_hash;
    let salt = hash.as_str().split('$').nth(2).unwrap();
    assert_eq!(sha512_crypt(&generated, salt), Some(hash.clone()));
    let (b, _) = resolve(&monitored(""), dir.path());
    assert_eq!(b.monitoring.unwrap().password_hash, hash);
}

#[test]
fn monitoring_survives_a_bad_value_with_its_stored_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = resolve(&monitored("S3cret-pw"), dir.path());
    let mut bad = monitored("new-pw");
    bad.insert("monitoring_port".into(), json!("http"));
    let (kept, problems) = resolve(&bad, dir.path());
    assert_eq!(problems.len(), 1);
    assert_eq!(
        kept, good,
        "new password not applied while the config is bad"
    );
}

#[test]
fn a_non_string_password_is_reported_without_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut current = monitored("x");
    current.insert("monitoring_password".into(), json!(12345));
    let (_, problems) = resolve(&current, dir.path());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].value, "<hidden>");
    assert!(!problems[0].to_string().contains("12345"));
}

#[test]
fn monitoring_plan_parts_use_the_userlist_and_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (effective, _) = resolve(&monitored("S3cret-pw"), dir.path());
    let m = effective.monitoring.unwrap();
    let (listener, userlist) = m.plan_parts(None);
    assert_eq!(listener.userlist, userlist.name);
    assert_eq!(listener.bind.port, m.port);
    assert_eq!(userlist.users[0].1, m.password_hash);
}

#[test]
fn vip_and_external_hostname_parse() {
    let dir = tempfile::tempdir().unwrap();
    let mut current = defaults();
    current.insert("vip".into(), json!("2001:db8::5"));
    current.insert("external_hostname".into(), json!("lb.example.com"));
    let (effective, problems) = resolve(&current, dir.path());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(effective.vip, Some("2001:db8::5".parse().unwrap()));
    assert_eq!(
        effective.external_hostname.map(|h| h.to_string()),
        Some("lb.example.com".into())
    );
}

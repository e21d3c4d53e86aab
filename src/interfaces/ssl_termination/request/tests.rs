use super::*;
use proptest::prelude::*;

const REFERENCE: &str = r#"{"contact-email": "ops@example.com", "credentials": "admin s3cret", "fqdn": ["jenkins.example.com", "www.jenkins.example.com"], "nginx-config": ["client_max_body_size 10G"], "upstreams": [{"hostname": "10.0.0.5", "port": "8080", "private-address": "10.0.0.5"}, {"hostname": "10.0.0.6", "port": "8080", "private-address": "10.0.0.6"}]}"#;

fn request(raw: &str) -> CertRequest {
    match parse(Some(raw)) {
        Parsed::Request(r) => r,
        other => panic!("{raw}: {other:?}"),
    }
}

fn rejected(raw: &str) -> String {
    match parse(Some(raw)) {
        Parsed::Rejected(e) => e.message,
        other => panic!("{raw}: expected a rejection, got {other:?}"),
    }
}

/// A valid request with one field replaced by `value` (JSON text).
fn with(field: &str, value: &str) -> String {
    let mut v: Value = serde_json::from_str(REFERENCE).unwrap();
    v[field] = serde_json::from_str(value).unwrap();
    v.to_string()
}

#[test]
fn the_reference_request_parses_completely() {
    let r = request(REFERENCE);
    let names: Vec<&str> = r.fqdns.iter().map(|f| f.as_str()).collect();
    assert_eq!(names, ["jenkins.example.com", "www.jenkins.example.com"]);
    assert_eq!(r.primary().as_str(), "jenkins.example.com");
    assert_eq!(r.contact.as_deref(), Some("ops@example.com"));
    let creds = r.credentials.unwrap();
    assert_eq!(creds.user.as_str(), "admin");
    assert_eq!(creds.password.expose(), "s3cret");
    assert_eq!(r.upstreams.len(), 2);
    assert_eq!(r.upstreams[1].host.0, "10.0.0.6");
    assert_eq!(r.upstreams[1].port.get(), 8080);
    assert_eq!(r.body_limit, Some(10 << 30));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn falsy_values_withdraw_the_request() {
    for raw in ["", "{}", "[]", "null", "false", "0", "0.0", "\"\""] {
        assert_eq!(parse(Some(raw)), Parsed::Withdrawn, "{raw:?}");
    }
    assert_eq!(parse(None), Parsed::Withdrawn);
}

#[test]
fn truthy_non_objects_are_rejected_as_shape() {
    for raw in ["{not json", "\"text\"", "1", "[1]", "true", "plain words"] {
        assert_eq!(
            rejected(raw),
            "cert-request is not a JSON object",
            "{raw:?}"
        );
    }
}

#[test]
fn names_are_normalized_and_deduplicated() {
    let r = request(&with(
        "fqdn",
        r#"[" WWW.Example.COM. ", "www.example.com", "a.example.com"]"#,
    ));
    let names: Vec<&str> = r.fqdns.iter().map(|f| f.as_str()).collect();
    assert_eq!(names, ["www.example.com", "a.example.com"]);
}

#[test]
fn a_lone_fqdn_string_is_split_with_a_warning() {
    let r = request(&with("fqdn", r#""a.example.com b.example.com""#));
    assert_eq!(r.fqdns.len(), 2);
    assert!(r.warnings[0].contains("split on whitespace"));
}

#[test]
fn bad_requests_are_rejected_naming_the_field() {
    let long_name = format!("{}.com", "a".repeat(64));
    let many: Vec<String> = (0..101).map(|i| format!("n{i}.example.com")).collect();
    let cases: Vec<(String, &str)> = vec![
        (
            with("fqdn", r#"["*.example.com"]"#),
            "fqdn \"*.example.com\" is a wildcard",
        ),
        (with("fqdn", r#"["10.0.0.1"]"#), "is an IP address"),
        (with("fqdn", r#"["[::1]"]"#), "is an IP address"),
        (with("fqdn", r#"["bücher.de"]"#), "is not ASCII"),
        (with("fqdn", r#"["localhost"]"#), "two labels"),
        (
            with("fqdn", r#"["-a.example.com"]"#),
            "not a valid host name",
        ),
        (
            with("fqdn", r#"["a_b.example.com"]"#),
            "not a valid host name",
        ),
        (with("fqdn", r#"["example.123"]"#), "all digits"),
        (
            with("fqdn", &format!("[\"{long_name}\"]")),
            "not a valid host name",
        ),
        (with("fqdn", "[]"), "fqdn is empty"),
        (with("fqdn", "null"), "fqdn is missing"),
        (with("fqdn", "[1]"), "fqdn[0] 1 is not a string"),
        (
            with("fqdn", &serde_json::to_string(&many).unwrap()),
            "more than 100",
        ),
        (with("upstreams", "[]"), "upstreams is empty"),
        (with("upstreams", "null"), "upstreams is missing"),
        (
            with("upstreams", r#"[{"hostname": "a", "port": "http"}]"#),
            "upstreams[0].port \"http\" is not a port",
        ),
        (
            with("upstreams", r#"[{"hostname": "a", "port": "0"}]"#),
            "upstreams[0].port \"0\" is not a port",
        ),
        (
            with("upstreams", r#"[{"hostname": "a", "port": 65536}]"#),
            "upstreams[0].port 65536 is not a port",
        ),
        (
            with("upstreams", r#"[{"hostname": "a", "port": null}]"#),
            "upstreams[0].port null is not a port",
        ),
        (
            with(
                "upstreams",
                r#"[{"hostname": "a", "port": "80"}, {"hostname": "a b", "port": "80"}]"#,
            ),
            "upstreams[1].hostname \"a b\" is not a host",
        ),
        (
            with("upstreams", r#"[{"port": "80"}]"#),
            "upstreams[0] has no hostname or private-address",
        ),
        (
            with("credentials", r#""admin""#),
            "credentials must be \"user password\"",
        ),
        (
            with("credentials", r#""admin pass word""#),
            "credentials must be",
        ),
        (
            with("credentials", r#""admin pass\nword""#),
            "credentials must be",
        ),
        (
            with("credentials", r#""ad:min pw""#),
            "credentials user must be",
        ),
        (
            with("credentials", "\"ad\\u0001min pw\""),
            "credentials user must be",
        ),
        (
            with("credentials", r#""admin p\u0007w""#),
            "credentials password must be",
        ),
        (
            with("contact-email", r#""no-at-sign""#),
            "contact-email \"no-at-sign\"",
        ),
        (with("contact-email", r#""a@b@c""#), "one '@'"),
        (with("contact-email", r#""a b@c.d""#), "whitespace"),
    ];
    for (raw, expected) in cases {
        let message = rejected(&raw);
        assert!(message.contains(expected), "{raw}: {message}");
    }
}

#[test]
fn a_rejection_never_shows_the_password() {
    let message = rejected(&with("credentials", r#""admin topsecret\u0007""#));
    assert!(!message.contains("topsecret"), "{message}");
    assert!(!format!("{:?}", request(REFERENCE)).contains("s3cret"));
}

#[test]
fn ports_are_digits_or_integers_and_private_address_is_the_fallback() {
    let r = request(&with(
        "upstreams",
        r#"[{"hostname": "", "private-address": "10.1.1.1", "port": 8080}, {"hostname": "[::1]", "port": "80"}, {"hostname": "backend", "port": "81"}, {"hostname": "backend", "port": "81", "extra": 1}]"#,
    ));
    let got: Vec<(String, u16)> = r
        .upstreams
        .iter()
        .map(|u| (u.host.0.clone(), u.port.get()))
        .collect();
    assert_eq!(
        got,
        [
            ("10.1.1.1".to_string(), 8080),
            ("::1".to_string(), 80),
            ("backend".to_string(), 81)
        ]
    );
}

#[test]
fn missing_contact_and_credentials_mean_none() {
    let mut v: Value = serde_json::from_str(REFERENCE).unwrap();
    v.as_object_mut().unwrap().remove("contact-email");
    v["credentials"] = Value::Null;
    let r = request(&v.to_string());
    assert_eq!(r.contact, None);
    assert_eq!(r.credentials, None);
    let r = request(&with("credentials", r#""  ""#));
    assert_eq!(r.credentials, None);
}

#[test]
fn nginx_config_is_translated_or_warned_never_copied() {
    let r = request(&with(
        "nginx-config",
        r#"["client_max_body_size: 0;", "proxy_read_timeout 120", "proxy_connect_timeout 5s", "gzip on", "client_max_body_size 1x"]"#,
    ));
    assert_eq!(r.body_limit, None);
    assert_eq!(r.server_timeout.unwrap().as_str(), "120s");
    assert_eq!(r.connect_timeout.unwrap().as_str(), "5s");
    assert_eq!(
        r.warnings,
        [
            "nginx-config ignored: gzip on",
            "nginx-config ignored: client_max_body_size 1x"
        ]
    );
}

#[test]
fn tcp_streams_warn() {
    let r = request(&with("tcp", r#"[{"hosts": ["10.0.0.1"], "port": 22}]"#));
    assert_eq!(r.warnings, ["tcp streams are not supported"]);
}

#[test]
fn rejected_requests_keep_readable_names() {
    match parse(Some(&with("fqdn", r#"["Good.example.com", "*.bad.com"]"#))) {
        Parsed::Rejected(e) => assert_eq!(e.fqdns, ["good.example.com", "*.bad.com"]),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn any_text_parses_without_panicking(raw in ".{0,200}") {
        let _ = parse(Some(&raw));
    }

    #[test]
    fn accepted_names_are_always_plan_fqdns(name in "[a-zA-Z0-9.*_-]{1,40}") {
        if let Ok(f) = check_fqdn(&name) {
            prop_assert!(Fqdn::new(f.as_str()).is_ok());
            prop_assert!(!f.as_str().contains('*'));
        }
    }
}

use super::*;
use crate::interfaces::RemoteUnit;

const JENKINS: &str = r#"{"contact-email": "ops@example.com", "credentials": "admin s3cret", "fqdn": ["jenkins.example.com", "www.jenkins.example.com"], "nginx-config": ["client_max_body_size 10G"], "upstreams": [{"hostname": "10.0.0.5", "port": "8080", "private-address": "10.0.0.5"}, {"hostname": "10.0.0.6", "port": "8080", "private-address": "10.0.0.6"}]}"#;
const BLOG: &str = r#"{"contact-email": "", "credentials": "", "fqdn": ["blog.example.com"], "nginx-config": ["gzip on"], "upstreams": [{"hostname": "10.0.0.9", "port": "2368", "private-address": "10.0.0.9"}]}"#;

fn relation(id: u64, units: &[(&str, &str)]) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: ENDPOINT.into(),
        remote_app: units[0].0.split('/').next().unwrap().into(),
        remote_app_bag: Bag::new(),
        units: units
            .iter()
            .map(|(name, request)| RemoteUnit {
                name: (*name).into(),
                bag: Bag::from([(request::KEY.to_owned(), (*request).to_owned())]),
            })
            .collect(),
        local_unit_bag: Bag::new(),
        local_app_bag: None,
        ingress_address: "127.0.0.1".into(),
    }
}

#[test]
fn the_worked_example_answers_byte_for_byte() {
    let parsed = parse(&[
        relation(9, &[("blog-fqdn/0", BLOG)]),
        relation(7, &[("jenkins-fqdn/0", JENKINS)]),
    ]);
    assert_eq!(parsed.sites.len(), 2);
    assert_eq!(parsed.sites[0].primary().as_str(), "jenkins.example.com");
    let statuses = vec![
        SiteStatus {
            state: SiteState::Ready,
            not_after: Some("2026-03-01T12:00:00Z".into()),
        },
        SiteStatus {
            state: SiteState::Failed("acme: blog.example.com: urn:ietf:params:acme:error:connection: Connection refused; next attempt after 2026-01-01T10:20:00Z".into()),
            not_after: None,
        },
    ];
    let seven = answer(7, &parsed, &statuses);
    assert_eq!(
        seven["status"],
        r#"["jenkins.example.com", "www.jenkins.example.com"]"#
    );
    assert_eq!(
        seven["status-detail"],
        r#"{"jenkins-fqdn/0": {"fqdn": ["jenkins.example.com", "www.jenkins.example.com"], "message": "", "not-after": "2026-03-01T12:00:00Z", "state": "ready", "warnings": []}}"#
    );
    let nine = answer(9, &parsed, &statuses);
    assert_eq!(nine["status"], "[]");
    assert_eq!(
        nine["status-detail"],
        r#"{"blog-fqdn/0": {"fqdn": ["blog.example.com"], "message": "acme: blog.example.com: urn:ietf:params:acme:error:connection: Connection refused; next attempt after 2026-01-01T10:20:00Z", "not-after": null, "state": "failed", "warnings": ["nginx-config ignored: gzip on"]}}"#
    );
}

#[test]
fn a_bad_port_is_rejected_alone() {
    let bad = BLOG.replace(r#""port": "2368""#, r#""port": "http""#);
    let parsed = parse(&[
        relation(7, &[("jenkins-fqdn/0", JENKINS)]),
        relation(9, &[("blog-fqdn/0", &bad)]),
    ]);
    assert_eq!(parsed.sites.len(), 1);
    let nine = answer(9, &parsed, &[]);
    assert_eq!(nine["status"], "[]");
    assert!(
        nine["status-detail"].contains(r#""message": "upstreams[0].port \"http\" is not a port""#),
        "{}",
        nine["status-detail"]
    );
    assert!(nine["status-detail"].contains(r#""state": "rejected""#));
    let rejections = rejections(&parsed);
    assert_eq!(rejections.len(), 1);
    assert_eq!(
        rejections[0].to_string(),
        "blog-fqdn/0: upstreams[0].port \"http\" is not a port"
    );
}

#[test]
fn a_name_taken_by_an_earlier_relation_is_rejected_naming_the_holder() {
    let parsed = parse(&[
        relation(3, &[("blog-fqdn/0", BLOG)]),
        relation(4, &[("other/0", BLOG)]),
    ]);
    assert_eq!(parsed.sites.len(), 1);
    match &parsed.units[1].outcome {
        UnitOutcome::Rejected(e) => {
            assert_eq!(
                e.message,
                "fqdn blog.example.com already served for blog-fqdn/0"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn units_of_one_application_with_equal_names_form_one_site() {
    let second = BLOG.replace("10.0.0.9", "10.0.0.10");
    let parsed = parse(&[relation(3, &[("blog/0", BLOG), ("blog/1", &second)])]);
    assert_eq!(parsed.sites.len(), 1);
    assert_eq!(parsed.sites[0].units, ["blog/0", "blog/1"]);
    assert_eq!(parsed.sites[0].request.upstreams.len(), 2);
    let statuses = [SiteStatus {
        state: SiteState::Ready,
        not_after: None,
    }];
    let bag = answer(3, &parsed, &statuses);
    assert_eq!(bag["status"], r#"["blog.example.com"]"#);
    assert!(bag["status-detail"].contains(r#""blog/1": {"fqdn": ["blog.example.com"]"#));
}

#[test]
fn withdrawn_requests_have_no_entry() {
    let parsed = parse(&[relation(3, &[("blog/0", "{}"), ("blog/1", "")])]);
    assert!(parsed.sites.is_empty());
    let bag = answer(3, &parsed, &[]);
    assert_eq!(bag["status"], "[]");
    assert_eq!(bag["status-detail"], "{}");
}

#[test]
fn other_endpoints_are_ignored() {
    let mut r = relation(3, &[("blog/0", BLOG)]);
    r.endpoint = "reverseproxy".into();
    assert!(parse(&[r]).units.is_empty());
}

#[test]
fn relay_peers_are_the_peer_units_usable_addresses_once_each() {
    let peer = |name: &str, keys: &[(&str, &str)]| RemoteUnit {
        name: name.into(),
        bag: keys
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let mut peers = relation(1, &[("haproxy-lb/1", "")]);
    peers.endpoint = PEERS.into();
    peers.units = vec![
        peer(
            "haproxy-lb/1",
            &[
                ("ingress-address", "10.0.0.11"),
                ("private-address", "10.1.1.1"),
            ],
        ),
        peer(
            "haproxy-lb/2",
            &[("ingress-address", ""), ("private-address", "10.0.0.12")],
        ),
        peer("haproxy-lb/3", &[("ingress-address", "bad address\n")]),
        peer("haproxy-lb/4", &[]),
        peer("haproxy-lb/5", &[("ingress-address", "10.0.0.11")]),
    ];
    // Requirer units are never peers.
    let requirers = relation(2, &[("blog-fqdn/0", BLOG)]);
    let hosts: Vec<String> = relay_peers(&[peers, requirers])
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(hosts, ["10.0.0.11", "10.0.0.12"]);
}

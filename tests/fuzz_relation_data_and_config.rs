//! Fuzzing every input path (issue 10 item 1) with proptest, bounded case counts:
//! - raw `reverseproxy` unit bags and `lb-consumers` app bags (arbitrary keys and strings, corpus
//!   values, huge values, deeply nested JSON/YAML, duplicate keys in the JSON/YAML text, wrong
//!   JSON types) and config option values (any JSON type, any string, the `services` option):
//!   the pure reconcile never panics;
//! - every config rendered from such input passes `haproxy -c` (in an empty network namespace,
//!   so server host names never leave the box);
//! - an invalid requester next to a valid one is rejected with a message naming it and the
//!   field, and the config is byte-identical to a run without it.
//!
//! Invalid UTF-8 cannot reach the interfaces: the hook tools print JSON, which `HookTools`
//! decodes into `String`s (a tool printing invalid UTF-8 is a tool failure, see
//! `tool_failures_*`). `cargo fuzz` is not used: it needs a nightly toolchain and libFuzzer,
//! neither of which CI has (Rust 1.95 stable only); proptest runs the same properties bounded.

mod hostile;
mod util;

use haproxy_lb::interfaces::{Bag, RelationSnapshot};
use hostile::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn corpus_values() -> &'static [String] {
    static VALUES: OnceLock<Vec<String>> = OnceLock::new();
    VALUES.get_or_init(corpus)
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0..corpus_values().len()).prop_map(|i| corpus_values()[i].clone()),
        3 => ".{0,40}",
        2 => "[0-9]{1,6}",
        2 => "127\\.0\\.7\\.[0-9]{1,3}",
        2 => "[a-z][a-z0-9_-]{0,12}",
        1 => (1usize..1_000_000).prop_map(|n| "x".repeat(n)),
        1 => (1usize..5000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..2000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        1 => (1usize..2000).prop_map(|n| "- ".repeat(n) + "x"),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const REVERSEPROXY_KEYS: &[&str] = &[
    "port",
    "private-address",
    "ingress-address",
    "hostname",
    "service_name",
    "sitenames",
    "services",
    "all_services",
    "extended_data",
];

fn reverseproxy_bag() -> impl Strategy<Value = Bag> {
    let key = prop_oneof![
        4 => (0..REVERSEPROXY_KEYS.len()).prop_map(|i| REVERSEPROXY_KEYS[i].to_owned()),
        1 => ".{1,20}",
    ];
    let value = prop_oneof![
        3 => any_text(),
        1 => any_json().prop_map(|v| v.to_string()),
        1 => any_json().prop_map(|v| serde_yaml::to_string(&v).unwrap()),
        1 => services_doc(),
    ];
    prop::collection::btree_map(key, value, 0..8)
}

/// A `services` YAML document: a list of entries with known fields set to anything, sometimes
/// with a duplicated key (YAML's duplicate-key rule must not panic either).
fn services_doc() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("service_name"),
        Just("service_host"),
        Just("service_port"),
        Just("service_options"),
        Just("server_options"),
        Just("servers"),
        Just("backends"),
        Just("errorfiles"),
        Just("crts"),
    ];
    let entry = prop::collection::vec((field, any_json()), 0..6).prop_map(|fields| {
        let mut text = String::from("- service_name: fz\n");
        for (name, value) in fields {
            text.push_str(&format!("  {name}: {value}\n"));
        }
        text
    });
    prop::collection::vec(entry, 1..3).prop_map(|entries| entries.concat())
}

/// An `lb-consumers` app bag: a reference request with fields replaced by anything, keys
/// duplicated in the JSON text, or raw text.
fn lb_bag() -> impl Strategy<Value = Bag> {
    let field = prop_oneof![
        Just("id"),
        Just("name"),
        Just("protocol"),
        Just("port_mapping"),
        Just("backends"),
        Just("algorithm"),
        Just("sticky"),
        Just("health_checks"),
        Just("public"),
        Just("tls_termination"),
        Just("tls_cert"),
        Just("tls_key"),
        Just("ingress_address"),
        Just("sent_hash"),
        Just("bogus"),
    ];
    let request = (
        prop::collection::vec((field, any_json()), 0..4),
        prop::option::of(("[a-z_]{1,12}", any_json())),
    )
        .prop_map(|(changes, duplicate)| {
            let mut request = lb_request("fz", 60500, 8080, &["127.0.7.30"]);
            for (name, value) in changes {
                request[name] = value;
            }
            let mut text = request.to_string();
            if let Some((key, value)) = duplicate {
                // A duplicate key in the JSON text (serde_json keeps the last one).
                text.insert_str(1, &format!("\"{key}\": {value}, "));
            }
            text
        });
    (
        prop_oneof![Just("1".to_owned()), any_text()],
        prop_oneof![3 => request, 1 => any_text()],
        prop_oneof![
            Just("request_fz".to_owned()),
            any_text().prop_map(|t| format!("request_{t}"))
        ],
    )
        .prop_map(|(version, request, key)| {
            let mut bag = Bag::new();
            bag.insert("version".into(), version);
            bag.insert(key, request);
            bag
        })
}

fn relations() -> impl Strategy<Value = Vec<RelationSnapshot>> {
    (
        prop::collection::vec(reverseproxy_bag(), 0..3),
        prop::option::of(lb_bag()),
    )
        .prop_map(|(units, lb)| {
            let units = units
                .into_iter()
                .enumerate()
                .map(|(n, bag)| unit(&format!("web/{n}"), bag))
                .collect();
            let mut relations = vec![reverseproxy(1, "web", units)];
            if let Some(bag) = lb {
                relations.push(lb_consumer(
                    2,
                    "edge",
                    bag,
                    vec![unit("edge/0", bag_of(&[("ingress-address", "127.0.7.31")]))],
                ));
            }
            relations
        })
}

fn bag_of(pairs: &[(&str, &str)]) -> Bag {
    bag(pairs)
}

const OPTIONS: &[&str] = &[
    "services",
    "default_mode",
    "default_options",
    "default_retries",
    "default_timeouts",
    "global_maxconn",
    "global_hard_stop_after",
    "global_default_bind_options",
    "enable_monitoring",
    "monitoring_port",
    "monitoring_allowed_cidr",
    "monitoring_username",
    "monitoring_stats_refresh",
    "vip",
    "external_hostname",
];

fn config() -> impl Strategy<Value = Map<String, Value>> {
    let option = (0..OPTIONS.len()).prop_map(|i| OPTIONS[i].to_owned());
    let value = prop_oneof![
        2 => any_json(),
        1 => services_doc().prop_map(Value::String),
        1 => (1u64..70000).prop_map(|n| json!(n)),
    ];
    prop::collection::btree_map(option, value, 0..4).prop_map(|m| m.into_iter().collect())
}

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let state = dir.path().join("state");
    (dir, files, state)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// No panic, whatever the bags and config hold.
    #[test]
    fn arbitrary_bags_and_config_never_panic(config in config(), relations in relations()) {
        let (_dir, files, state) = dirs();
        let run = pipeline(&config, &relations, &files, &state);
        prop_assert!(run.text.starts_with("# haproxy.cfg generated by haproxy-lb"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever made it into the plan, HAProxy accepts the rendered config.
    #[test]
    fn every_rendered_config_passes_haproxy_check(config in config(), relations in relations()) {
        let (_dir, files, state) = dirs();
        let run = pipeline(&config, &relations, &files, &state);
        if let Err(stderr) = util::haproxy_check(&run.text) {
            prop_assert!(false, "haproxy -c refused:\n{stderr}\n{}", run.text);
        }
    }
}

/// The valid requester every isolation case keeps: one plain web unit.
fn valid_relation() -> RelationSnapshot {
    reverseproxy(
        1,
        "web",
        vec![unit(
            "web/0",
            bag_of(&[("private-address", "127.0.7.10"), ("port", "8080")]),
        )],
    )
}

fn intruder(field: &'static str, value: String) -> RelationSnapshot {
    let mut b = bag_of(&[("private-address", "127.0.7.11"), ("port", "8081")]);
    b.insert(field.to_owned(), value);
    reverseproxy(5, "intruder", vec![unit("intruder/0", b)])
}

fn intruder_lb(field: &'static str, value: Value) -> RelationSnapshot {
    let mut request = lb_request("intruder", 60501, 8080, &["127.0.7.32"]);
    request[field] = value;
    lb_consumer(
        6,
        "intruder",
        bag_of(&[("version", "1"), ("request_intruder", &request.to_string())]),
        // A unit, so a valid request with `backends: []` has servers and renders (then it is
        // not an intruder and the case is skipped).
        vec![unit(
            "intruder/0",
            bag_of(&[("ingress-address", "127.0.7.33")]),
        )],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// An invalid requester is rejected naming itself and the field; everyone else's config is
    /// byte-identical to a run without it.
    #[test]
    fn an_invalid_requester_never_changes_the_others_config(
        // Bags never hold an empty value: Juju deletes the key (juju-hook-tools.md §6.1), and
        // a unit without `port` is waited for, not rejected (http.md §3 step 4).
        rp in prop::option::of((
            prop_oneof![Just("port"), Just("service_name")],
            any_text().prop_filter("a bag value is never empty", |v| !v.is_empty()),
        )),
        lb in (prop_oneof![Just("protocol"), Just("port_mapping"), Just("backends"), Just("health_checks"), Just("algorithm")], any_json()),
    ) {
        let (_dir, files, state) = dirs();
        let intruding = match &rp {
            Some((field, value)) => intruder(field, value.clone()),
            None => intruder_lb(lb.0, lb.1.clone()),
        };
        let field = rp.as_ref().map_or(lb.0, |(f, _)| *f);
        let without = pipeline(&Map::new(), &[valid_relation()], &files, &state);
        let with = pipeline(&Map::new(), &[valid_relation(), intruding], &files, &state);
        prop_assume!(!with.text.contains("intruder"));
        let named: Vec<&String> = with.messages.iter().filter(|m| m.contains("intruder")).collect();
        prop_assert!(!named.is_empty(), "the intruder was dropped silently: {:?}", with.messages);
        let key = field.split('_').next().unwrap();
        prop_assert!(
            named.iter().any(|m| m.contains(key)),
            "no message names {field}: {named:?}"
        );
        prop_assert_eq!(with.text, without.text);
    }
}

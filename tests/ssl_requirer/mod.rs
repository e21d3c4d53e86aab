//! Shared steps for tests that drive the `ssl-requirer` test charm (`tests/charms/ssl-requirer`,
//! a subordinate speaking `spec/ssl-termination.md`'s wire format) against haproxy-lb/0 in a
//! jujusim model: add a requirer, read what we answer it, read its own status.
#![allow(dead_code)]

use crate::sim::{test_charm, Model};
use serde_json::Value;

/// Deploy an `ssl-requirer` as `app`, relate it to haproxy-lb and configure it. Each step
/// settles: the request, our reconcile (ACME included) and the answers all run in these hooks.
pub fn add_site(m: &Model, app: &str, config: &[String]) {
    m.deploy(&test_charm("ssl-requirer"), app, 1, &[]);
    m.run(&[
        "relate",
        "haproxy-lb:ssl-termination",
        &format!("{app}:ssl-termination"),
    ]);
    let mut args = vec!["config", app];
    args.extend(config.iter().map(String::as_str));
    m.run(&args);
}

/// Our `status` and `status-detail` (parsed JSON) as requirer unit `unit` sees them.
pub fn our_bag(m: &Model, unit: &str) -> (Value, Value) {
    let data = m.related_bag(unit, "ssl-termination", "haproxy-lb/0");
    let parse = |key: &str| serde_json::from_str(data[key].as_str().unwrap_or("null")).unwrap();
    (parse("status"), parse("status-detail"))
}

/// (workload status, message) of requirer unit `unit` (a subordinate of haproxy-lb/0).
pub fn requirer_status(m: &Model, unit: &str) -> (String, String) {
    m.subordinate_workload("haproxy-lb/0", unit)
}

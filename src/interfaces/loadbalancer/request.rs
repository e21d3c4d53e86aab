//! The wire schema of `request_<name>` values (`spec/loadbalancer.md` §2), read exactly as the
//! reference provider (`loadbalancer-interface` 1.2.1, marshmallow 3) reads them.
//!
//! This module only decodes: it turns one JSON string into a [`WireRequest`] whose fields have
//! the library's types and defaults, or a [`RequestError`] for anything the reference would skip
//! (§2.1). It decides nothing about what we can serve (that is `validate`), and it never puts a
//! TLS certificate or key into an error message or a `Debug` print.

use crate::plan::types::show;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The highest schema version we speak; written as our `version` key (§1).
pub const SCHEMA_VERSION: u32 = 1;

/// The 14 request keys, in the library's (sorted) order. `error_fields` keys must be among them.
pub const REQUEST_FIELDS: [&str; 14] = [
    "algorithm",
    "backends",
    "health_checks",
    "id",
    "ingress_address",
    "name",
    "port_mapping",
    "protocol",
    "public",
    "sent_hash",
    "sticky",
    "tls_cert",
    "tls_key",
    "tls_termination",
];

const HEALTH_CHECK_FIELDS: [&str; 5] = ["interval", "path", "port", "protocol", "retries"];

/// The four protocols of the schema's `Protocols` enum, matched case-sensitively by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Http,
    Https,
}

impl Protocol {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "http" => Protocol::Http,
            "https" => Protocol::Https,
            _ => return None,
        })
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Http => "http",
            Protocol::Https => "https",
        })
    }
}

/// An integer as Python's `int()` produced it. Values beyond `i128` saturate; they are far
/// outside every range we accept, so the saturation never changes a decision.
pub type WireInt = i128;

/// One element of `health_checks`, with the schema defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireHealthCheck {
    pub protocol: Protocol,
    pub port: WireInt,
    pub path: Option<String>,
    /// Seconds between checks; default 30.
    pub interval: WireInt,
    /// Failures before a backend is down; default 3.
    pub retries: WireInt,
}

/// A request as the reference provider loads it: every field present, defaults filled in.
#[derive(Clone, PartialEq, Eq)]
pub struct WireRequest {
    pub id: String,
    pub name: String,
    pub protocol: Protocol,
    /// (frontend port, backend port) in ascending numeric order of the frontend port; keys that
    /// normalise to the same integer keep the later value, as a Python dict does.
    pub port_mapping: Vec<(WireInt, WireInt)>,
    pub backends: Vec<String>,
    pub algorithm: Vec<String>,
    pub sticky: bool,
    pub health_checks: Vec<WireHealthCheck>,
    pub public: bool,
    pub tls_termination: bool,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub ingress_address: Option<String>,
    pub sent_hash: Option<String>,
}

impl fmt::Debug for WireRequest {
    // Hand-written so a TLS key (or certificate) can never reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("WireRequest")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("port_mapping", &self.port_mapping)
            .field("backends", &self.backends)
            .field("algorithm", &self.algorithm)
            .field("sticky", &self.sticky)
            .field("health_checks", &self.health_checks)
            .field("public", &self.public)
            .field("tls_termination", &self.tls_termination)
            .field("tls_cert", &redacted(&self.tls_cert))
            .field("tls_key", &redacted(&self.tls_key))
            .field("ingress_address", &self.ingress_address)
            .field("sent_hash", &self.sent_hash)
            .finish()
    }
}

/// Why a request is skipped without an answer: the reference provider would not load it (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("not a JSON object")]
    NotObject,
    #[error("unknown field {}", show(.0))]
    UnknownField(String),
    #[error("missing required field '{0}'")]
    Missing(&'static str),
    /// `field` is the request field (`health_checks` for anything inside a check).
    #[error("field '{field}': {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
}

/// Why a relation's requests are not read at all (§1 "Versioning").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("the requirer has not written 'version' yet")]
    Missing,
    #[error("the requirer's version {} is not an integer of at least 1", show(.0))]
    Invalid(String),
}

/// The schema to read a relation with: `min(1, int(remote version))`, refusing what would crash
/// the reference (a non-integer, or anything below 1).
pub fn schema_version(remote: Option<&str>) -> Result<u32, VersionError> {
    let text = remote.ok_or(VersionError::Missing)?;
    match python_int_from_str(text) {
        Some(v) if v >= 1 => Ok(SCHEMA_VERSION.min(u32::try_from(v).unwrap_or(u32::MAX))),
        _ => Err(VersionError::Invalid(text.to_owned())),
    }
}

/// A JSON value that keeps object members in document order (Python's `json.loads` does, and
/// the order decides which of two keys normalising to the same port wins).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(WireInt),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::Float(_) => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Int(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Json, E> {
                Ok(Json::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                // Python's dict: a repeated key keeps its first position and its last value.
                let mut members: Vec<(String, Json)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    match members.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => members.push((key, value)),
                    }
                }
                Ok(Json::Object(members))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Python's `int(str)`: surrounding whitespace, an optional sign, ASCII digits with single `_`
/// between them. (Python also takes non-ASCII decimal digits; we refuse those.)
fn python_int_from_str(text: &str) -> Option<WireInt> {
    let t = text.trim_matches(|c: char| c.is_whitespace());
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: WireInt = 0;
    let mut previous_underscore = false;
    for b in digits.bytes() {
        match b {
            b'_' if !previous_underscore => previous_underscore = true,
            b'0'..=b'9' => {
                previous_underscore = false;
                value = value
                    .saturating_mul(10)
                    .saturating_add(WireInt::from(b - b'0'));
            }
            _ => return None,
        }
    }
    Some(if negative { -value } else { value })
}

/// marshmallow `fields.Int()` (not strict): `int(value)`, refusing booleans and null.
fn to_int(value: &Json) -> Result<WireInt, String> {
    match value {
        Json::Int(i) => Ok(*i),
        // int(6443.5) == 6443; int(nan) and int(inf) raise.
        Json::Float(f) if f.is_finite() => Ok(f.trunc() as WireInt),
        Json::Str(s) => {
            python_int_from_str(s).ok_or_else(|| format!("{} is not an integer", show(s)))
        }
        other => Err(format!("{} is not an integer", other.kind())),
    }
}

/// marshmallow `fields.Bool()`: its truthy/falsy sets (1.0 equals 1 in Python, so it counts).
fn to_bool(value: &Json) -> Result<bool, String> {
    const TRUTHY: [&str; 14] = [
        "t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1",
    ];
    const FALSY: [&str; 14] = [
        "f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0",
    ];
    match value {
        Json::Bool(b) => Ok(*b),
        Json::Int(1) => Ok(true),
        Json::Int(0) => Ok(false),
        Json::Float(f) if *f == 1.0 => Ok(true),
        Json::Float(f) if *f == 0.0 => Ok(false),
        Json::Str(s) if TRUTHY.contains(&s.as_str()) => Ok(true),
        Json::Str(s) if FALSY.contains(&s.as_str()) => Ok(false),
        Json::Str(s) => Err(format!("{} is not a boolean", show(s))),
        other => Err(format!("{} is not a boolean", other.kind())),
    }
}

fn to_string(value: &Json) -> Result<String, String> {
    match value {
        Json::Str(s) => Ok(s.clone()),
        other => Err(format!("{} is not a string", other.kind())),
    }
}

fn to_string_list(value: &Json) -> Result<Vec<String>, String> {
    match value {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| to_string(item).map_err(|e| format!("item {i}: {e}")))
            .collect(),
        other => Err(format!("{} is not a list", other.kind())),
    }
}

/// The members of one JSON object, consumed field by field so unknown keys can be reported.
struct Fields {
    members: Vec<(String, Json)>,
}

impl Fields {
    fn take(&mut self, key: &str) -> Option<Json> {
        let at = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(at).1)
    }

    /// A field whose default is not null: null is refused (§2.1).
    fn with_default<T>(
        &mut self,
        field: &'static str,
        default: T,
        convert: impl Fn(&Json) -> Result<T, String>,
    ) -> Result<T, RequestError> {
        match self.take(field) {
            None => Ok(default),
            Some(Json::Null) => Err(invalid(field, "null is not allowed".into())),
            Some(v) => convert(&v).map_err(|p| invalid(field, p)),
        }
    }

    fn required<T>(
        &mut self,
        field: &'static str,
        convert: impl Fn(&Json) -> Result<T, String>,
    ) -> Result<T, RequestError> {
        match self.take(field) {
            None => Err(RequestError::Missing(field)),
            Some(Json::Null) => Err(invalid(field, "null is not allowed".into())),
            Some(v) => convert(&v).map_err(|p| invalid(field, p)),
        }
    }

    /// A string field that may be null or absent (default null).
    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, RequestError> {
        match self.take(field) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => to_string(&v).map(Some).map_err(|p| invalid(field, p)),
        }
    }

    /// A secret string field: errors never quote the value.
    fn nullable_secret(&mut self, field: &'static str) -> Result<Option<String>, RequestError> {
        match self.take(field) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(other) => Err(invalid(field, format!("{} is not a string", other.kind()))),
        }
    }

    fn finish(self, allowed: &[&str]) -> Result<(), RequestError> {
        match self.members.into_iter().next() {
            None => Ok(()),
            Some((key, _)) if allowed.contains(&key.as_str()) => {
                // Cannot happen: every allowed key was taken. Treat as unknown to stay safe.
                Err(RequestError::UnknownField(key))
            }
            Some((key, _)) => Err(RequestError::UnknownField(key)),
        }
    }
}

fn invalid(field: &'static str, problem: String) -> RequestError {
    RequestError::Invalid { field, problem }
}

fn protocol(value: &Json) -> Result<Protocol, String> {
    match value {
        Json::Str(s) => Protocol::parse(s)
            .ok_or_else(|| format!("{} is not one of tcp, udp, http, https", show(s))),
        other => Err(format!("{} is not a protocol name", other.kind())),
    }
}

fn port_mapping(value: &Json) -> Result<Vec<(WireInt, WireInt)>, String> {
    let Json::Object(members) = value else {
        return Err(format!("{} is not an object", value.kind()));
    };
    let mut pairs: Vec<(WireInt, WireInt)> = Vec::new();
    for (key, v) in members {
        let front = python_int_from_str(key)
            .ok_or_else(|| format!("key {} is not an integer", show(key)))?;
        let back = to_int(v).map_err(|e| format!("value of {}: {e}", show(key)))?;
        match pairs.iter_mut().find(|(f, _)| *f == front) {
            Some(slot) => slot.1 = back,
            None => pairs.push((front, back)),
        }
    }
    // The library dumps with sort_keys while the keys are integers: numeric order (§2.2).
    pairs.sort_by_key(|(front, _)| *front);
    Ok(pairs)
}

fn health_check(value: &Json) -> Result<WireHealthCheck, String> {
    let Json::Object(members) = value else {
        return Err(format!("{} is not an object", value.kind()));
    };
    let mut fields = Fields {
        members: members.clone(),
    };
    let describe = |e: RequestError| match e {
        RequestError::Invalid { field, problem } => format!("{field}: {problem}"),
        other => other.to_string(),
    };
    let check = WireHealthCheck {
        protocol: fields.required("protocol", protocol).map_err(describe)?,
        port: fields.required("port", to_int).map_err(describe)?,
        path: fields.nullable_string("path").map_err(describe)?,
        interval: fields
            .with_default("interval", 30, to_int)
            .map_err(describe)?,
        retries: fields
            .with_default("retries", 3, to_int)
            .map_err(describe)?,
    };
    fields.finish(&HEALTH_CHECK_FIELDS).map_err(describe)?;
    Ok(check)
}

fn health_checks(value: &Json) -> Result<Vec<WireHealthCheck>, String> {
    match value {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| health_check(item).map_err(|e| format!("check {i}: {e}")))
            .collect(),
        other => Err(format!("{} is not a list", other.kind())),
    }
}

impl WireRequest {
    /// Decode one `request_*` value (§2, §2.1). Any key order and whitespace is fine.
    pub fn parse(text: &str) -> Result<WireRequest, RequestError> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| RequestError::NotJson(e.to_string()))?;
        let Json::Object(members) = json else {
            return Err(RequestError::NotObject);
        };
        let mut f = Fields { members };
        let request = WireRequest {
            id: f.required("id", to_string)?,
            name: f.required("name", to_string)?,
            protocol: f.required("protocol", protocol)?,
            port_mapping: f.required("port_mapping", port_mapping)?,
            backends: f.with_default("backends", Vec::new(), to_string_list)?,
            algorithm: f.with_default("algorithm", Vec::new(), to_string_list)?,
            sticky: f.with_default("sticky", false, to_bool)?,
            health_checks: f.with_default("health_checks", Vec::new(), health_checks)?,
            public: f.with_default("public", true, to_bool)?,
            tls_termination: f.with_default("tls_termination", false, to_bool)?,
            tls_cert: f.nullable_secret("tls_cert")?,
            tls_key: f.nullable_secret("tls_key")?,
            ingress_address: f.nullable_string("ingress_address")?,
            sent_hash: f.nullable_string("sent_hash")?,
        };
        f.finish(&REQUEST_FIELDS)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KCP: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "8bac4854bc03e3640a2041dfaf77a112", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

    fn minimal(extra: &str) -> String {
        format!(
            r#"{{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {{"80": 8080}}{extra}}}"#
        )
    }

    #[test]
    fn kubernetes_control_plane_request_reads_every_field() {
        let r = WireRequest::parse(KCP).unwrap();
        assert_eq!(r.id, "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71");
        assert_eq!(r.name, "api-server-external");
        assert_eq!(r.protocol, Protocol::Tcp);
        assert_eq!(r.port_mapping, vec![(443, 6443)]);
        assert!(r.backends.is_empty() && r.algorithm.is_empty());
        assert!(!r.sticky && r.public && !r.tls_termination);
        assert_eq!(
            r.health_checks,
            vec![WireHealthCheck {
                protocol: Protocol::Http,
                port: 6443,
                path: Some("/livez".into()),
                interval: 30,
                retries: 3
            }]
        );
        assert_eq!(
            r.sent_hash.as_deref(),
            Some("8bac4854bc03e3640a2041dfaf77a112")
        );
        assert_eq!(
            (r.tls_cert, r.tls_key, r.ingress_address),
            (None, None, None)
        );
    }

    #[test]
    fn missing_optional_fields_take_the_schema_defaults() {
        let r = WireRequest::parse(&minimal(
            r#", "health_checks": [{"protocol": "tcp", "port": 22}]"#,
        ))
        .unwrap();
        assert!(r.public, "public defaults to true");
        assert!(!r.sticky && !r.tls_termination);
        assert_eq!(r.sent_hash, None);
        let hc = &r.health_checks[0];
        assert_eq!((hc.interval, hc.retries, hc.path.as_deref()), (30, 3, None));
    }

    #[test]
    fn port_mapping_is_in_numeric_key_order() {
        let r = WireRequest::parse(
            r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"8443": 443, "443": 6443, "80": 8080}}"#,
        )
        .unwrap();
        assert_eq!(r.port_mapping, vec![(80, 8080), (443, 6443), (8443, 443)]);
    }

    #[test]
    fn lenient_values_the_reference_accepts() {
        let cases: &[(&str, WireInt)] = &[
            (r#"{"80": "6443"}"#, 6443),
            (r#"{"80": 6443.0}"#, 6443),
            (r#"{"80": 6443.5}"#, 6443),
            (r#"{"80": " 6443 "}"#, 6443),
            (r#"{"80": "6_443"}"#, 6443),
            (r#"{"80": 70000}"#, 70000),
            (r#"{"80": -1}"#, -1),
        ];
        for (mapping, want) in cases {
            let text = format!(
                r#"{{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {mapping}}}"#
            );
            let r = WireRequest::parse(&text).unwrap_or_else(|e| panic!("{mapping}: {e}"));
            assert_eq!(r.port_mapping, vec![(80, *want)], "{mapping}");
        }
        for (value, want) in [
            ("\"yes\"", true),
            ("\"false\"", false),
            ("0", false),
            ("1", true),
            ("1.0", true),
            ("\"ON\"", true),
        ] {
            let r = WireRequest::parse(&minimal(&format!(r#", "sticky": {value}"#))).unwrap();
            assert_eq!(r.sticky, want, "{value}");
        }
        // Empty id and name, empty port_mapping, udp/path-with-tcp health checks.
        let r = WireRequest::parse(
            r#"{"id": "", "name": "", "protocol": "udp", "port_mapping": {}, "health_checks": [{"protocol": "udp", "port": 1, "path": "/x"}]}"#,
        )
        .unwrap();
        assert!(r.port_mapping.is_empty() && r.name.is_empty());
    }

    #[test]
    fn keys_normalising_to_one_port_keep_the_later_value() {
        let r = WireRequest::parse(
            r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"443": 1, "0443": 2}}"#,
        )
        .unwrap();
        assert_eq!(r.port_mapping, vec![(443, 2)]);
    }

    #[test]
    fn requests_the_reference_skips_are_errors() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not valid JSON"),
            ("[1]", "not a JSON object"),
            (&minimal(r#", "color": "red""#), "unknown field 'color'"),
            (
                r#"{"id": "i", "name": "n", "port_mapping": {"80": 80}}"#,
                "missing required field 'protocol'",
            ),
            (
                r#"{"id": "b0", "name": "bad", "protocol": "TCP", "port_mapping": {"80": 80}}"#,
                "field 'protocol': 'TCP' is not one of",
            ),
            (
                r#"{"id": "i", "name": "n", "protocol": "sctp", "port_mapping": {"80": 80}}"#,
                "'sctp' is not one of",
            ),
            (
                r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"abc": 80}}"#,
                "key 'abc' is not an integer",
            ),
            (
                r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"80": null}}"#,
                "null is not an integer",
            ),
            (
                r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"80": true}}"#,
                "a boolean is not an integer",
            ),
            (
                r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"80": "6443.0"}}"#,
                "'6443.0' is not an integer",
            ),
            (&minimal(r#", "public": null"#), "field 'public': null"),
            (&minimal(r#", "backends": null"#), "field 'backends': null"),
            (
                &minimal(r#", "backends": [1]"#),
                "item 0: a number is not a string",
            ),
            (
                &minimal(r#", "backends": "10.0.0.1""#),
                "a string is not a list",
            ),
            (
                &minimal(r#", "sticky": "maybe""#),
                "'maybe' is not a boolean",
            ),
            (&minimal(r#", "sticky": 2"#), "a number is not a boolean"),
            (
                r#"{"id": 5, "name": "n", "protocol": "tcp", "port_mapping": {}}"#,
                "field 'id': a number is not a string",
            ),
            (
                &minimal(r#", "health_checks": [{"protocol": "http", "port": 1, "timeout": 3}]"#),
                "unknown field 'timeout'",
            ),
            (
                &minimal(r#", "health_checks": [{"protocol": "http"}]"#),
                "missing required field 'port'",
            ),
            (
                &minimal(
                    r#", "health_checks": [{"protocol": "http", "port": 1, "interval": null}]"#,
                ),
                "interval: null is not allowed",
            ),
        ];
        for (text, want) in cases {
            let err = WireRequest::parse(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn errors_about_tls_fields_never_quote_the_value() {
        let err = WireRequest::parse(&minimal(r#", "tls_key": ["SECRET-KEY"]"#)).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let ok = WireRequest::parse(&minimal(r#", "tls_key": "SECRET-KEY""#)).unwrap();
        assert!(!format!("{ok:?}").contains("SECRET"));
    }

    #[test]
    fn duplicate_top_level_keys_keep_the_last_value() {
        let r = WireRequest::parse(&minimal(r#", "sticky": true, "sticky": false"#)).unwrap();
        assert!(!r.sticky);
    }

    #[test]
    fn schema_version_follows_min_of_one_and_remote() {
        assert_eq!(schema_version(Some("1")), Ok(1));
        assert_eq!(schema_version(Some("2")), Ok(1));
        assert_eq!(schema_version(Some(" 1 ")), Ok(1));
        assert_eq!(schema_version(None), Err(VersionError::Missing));
        for bad in ["0", "-1", "abc", "1.0", ""] {
            assert!(
                matches!(schema_version(Some(bad)), Err(VersionError::Invalid(_))),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_text(text in ".{0,200}") {
            let _ = WireRequest::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_json_shaped_text(
            port in proptest::prelude::any::<i64>(),
            key in "[0-9a-z_ +-]{0,8}",
            proto in "(tcp|udp|http|https|TCP)",
        ) {
            let text = format!(r#"{{"id": "i", "name": "n", "protocol": "{proto}", "port_mapping": {{"{key}": {port}}}}}"#);
            let _ = WireRequest::parse(&text);
        }
    }
}

//! The `response_<name>` values we write (`spec/loadbalancer.md` §3), serialised byte for byte
//! as the library's `json.dumps(obj, sort_keys=True)` would (§2.2).
//!
//! The types make the requirer's parse rules hold by construction: a success always carries a
//! non-empty address; an error is `unsupported` with at least one field reason keyed by a
//! request field, or `provider_error` with a non-empty message. Nothing here decides what to
//! answer; `validate` and `mod.rs` do.

use std::collections::BTreeMap;
use std::fmt;

/// A request field name, one of the 14 keys of §2: the only keys `error_fields` may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestField {
    Algorithm,
    Backends,
    HealthChecks,
    Id,
    IngressAddress,
    Name,
    PortMapping,
    Protocol,
    Public,
    SentHash,
    Sticky,
    TlsCert,
    TlsKey,
    TlsTermination,
}

impl RequestField {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestField::Algorithm => "algorithm",
            RequestField::Backends => "backends",
            RequestField::HealthChecks => "health_checks",
            RequestField::Id => "id",
            RequestField::IngressAddress => "ingress_address",
            RequestField::Name => "name",
            RequestField::PortMapping => "port_mapping",
            RequestField::Protocol => "protocol",
            RequestField::Public => "public",
            RequestField::SentHash => "sent_hash",
            RequestField::Sticky => "sticky",
            RequestField::TlsCert => "tls_cert",
            RequestField::TlsKey => "tls_key",
            RequestField::TlsTermination => "tls_termination",
        }
    }
}

impl fmt::Display for RequestField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reasons per request field; never empty (see [`FieldErrors::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<RequestField, String>);

impl FieldErrors {
    /// `None` when there is no reason: an `unsupported` answer without one would be refused by
    /// the requirer (§3 rule 3).
    pub fn new(fields: BTreeMap<RequestField, String>) -> Option<Self> {
        (!fields.is_empty()).then_some(FieldErrors(fields))
    }

    pub fn one(field: RequestField, reason: impl Into<String>) -> Self {
        FieldErrors(BTreeMap::from([(field, reason.into())]))
    }

    pub fn iter(&self) -> impl Iterator<Item = (RequestField, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// A non-empty free-text reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(String);

impl Message {
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Message(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What went wrong, in the two wire kinds (§3, §6 last paragraph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAnswer {
    /// A field value or feature we do not serve: `error: "unsupported"` + `error_fields`.
    Unsupported(FieldErrors),
    /// We failed, or a shared resource conflicts: `error: "provider_error"` + `error_message`.
    ProviderError(Message),
}

impl fmt::Display for ErrorAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorAnswer::Unsupported(fields) => {
                f.write_str("unsupported: ")?;
                for (n, (field, reason)) in fields.iter().enumerate() {
                    if n > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{field}: {reason}")?;
                }
                Ok(())
            }
            ErrorAnswer::ProviderError(message) => write!(f, "provider_error: {}", message.0),
        }
    }
}

/// A bare host to advertise: non-empty, no scheme, port or brackets (checked by the caller
/// that builds it from an IP or a validated host name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address(String);

impl Address {
    pub fn from_ip(ip: std::net::IpAddr) -> Self {
        Address(ip.to_string())
    }

    pub fn from_hostname(name: &crate::plan::Hostname) -> Self {
        Address(name.as_str().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One answer, ready to serialise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub outcome: Result<Address, ErrorAnswer>,
    /// The request's `sent_hash`, verbatim (null when it had none).
    pub received_hash: Option<String>,
}

impl Response {
    /// The canonical bytes (§2.2, §3): exactly five keys, sorted, `, ` and `: ` separators,
    /// ASCII-only escaping as Python's `json.dumps` does.
    pub fn to_wire(&self) -> String {
        let mut out = String::with_capacity(160);
        out.push_str("{\"address\": ");
        match &self.outcome {
            Ok(address) => push_json_string(&mut out, address.as_str()),
            Err(_) => out.push_str("null"),
        }
        out.push_str(", \"error\": ");
        out.push_str(match &self.outcome {
            Ok(_) => "null",
            Err(ErrorAnswer::Unsupported(_)) => "\"unsupported\"",
            // The enum *name* (underscore), never the display value "provider error" (§3).
            Err(ErrorAnswer::ProviderError(_)) => "\"provider_error\"",
        });
        out.push_str(", \"error_fields\": {");
        if let Err(ErrorAnswer::Unsupported(fields)) = &self.outcome {
            // RequestField's order is the names' code-point order, as sort_keys gives.
            for (n, (field, reason)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                push_json_string(&mut out, field.as_str());
                out.push_str(": ");
                push_json_string(&mut out, reason);
            }
        }
        out.push_str("}, \"error_message\": ");
        match &self.outcome {
            Err(ErrorAnswer::ProviderError(message)) => push_json_string(&mut out, &message.0),
            _ => out.push_str("null"),
        }
        out.push_str(", \"received_hash\": ");
        match &self.received_hash {
            Some(hash) => push_json_string(&mut out, hash),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }
}

/// Append `text` as a JSON string the way Python's `json.dumps` (ensure_ascii) writes it.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(h: &str) -> Option<String> {
        Some(h.to_owned())
    }

    #[test]
    fn success_matches_spec_example_a() {
        let r = Response {
            outcome: Ok(Address("203.0.113.10".into())),
            received_hash: hash("8bac4854bc03e3640a2041dfaf77a112"),
        };
        assert_eq!(
            r.to_wire(),
            r#"{"address": "203.0.113.10", "error": null, "error_fields": {}, "error_message": null, "received_hash": "8bac4854bc03e3640a2041dfaf77a112"}"#
        );
    }

    #[test]
    fn errors_match_spec_example_c() {
        let api = Response {
            outcome: Err(ErrorAnswer::ProviderError(
                Message::new("frontend port 443 is already in use").unwrap(),
            )),
            received_hash: hash("274aa963d06b910256c6adb5929096e9"),
        };
        assert_eq!(
            api.to_wire(),
            r#"{"address": null, "error": "provider_error", "error_fields": {}, "error_message": "frontend port 443 is already in use", "received_hash": "274aa963d06b910256c6adb5929096e9"}"#
        );
        let dns = Response {
            outcome: Err(ErrorAnswer::Unsupported(
                FieldErrors::new(BTreeMap::from([
                    (RequestField::TlsTermination, "not supported".to_string()),
                    (RequestField::Protocol, "udp is not supported".to_string()),
                ]))
                .unwrap(),
            )),
            received_hash: hash("bd1b3ffc6a0db028b2b7085d6248cf67"),
        };
        assert_eq!(
            dns.to_wire(),
            r#"{"address": null, "error": "unsupported", "error_fields": {"protocol": "udp is not supported", "tls_termination": "not supported"}, "error_message": null, "received_hash": "bd1b3ffc6a0db028b2b7085d6248cf67"}"#
        );
    }

    #[test]
    fn missing_sent_hash_is_echoed_as_null() {
        let r = Response {
            outcome: Ok(Address("fd00::5".into())),
            received_hash: None,
        };
        assert!(r.to_wire().ends_with(r#""received_hash": null}"#));
        assert!(r.to_wire().starts_with(r#"{"address": "fd00::5", "#));
    }

    #[test]
    fn strings_are_escaped_like_python_ensure_ascii() {
        let cases = [
            ("café", r#""caf\u00e9""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("l1\nl2\r\t\u{8}\u{c}", r#""l1\nl2\r\t\b\f""#),
            ("\u{1}\u{1f}\u{7f}", r#""\u0001\u001f\u007f""#),
            ("a/b", r#""a/b""#),
            ("😀", r#""\ud83d\ude00""#),
            ("\u{2028}", r#""\u2028""#),
        ];
        for (text, want) in cases {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, want, "{text:?}");
        }
    }

    #[test]
    fn request_field_order_is_code_point_order_of_names() {
        let all = [
            RequestField::Algorithm,
            RequestField::Backends,
            RequestField::HealthChecks,
            RequestField::Id,
            RequestField::IngressAddress,
            RequestField::Name,
            RequestField::PortMapping,
            RequestField::Protocol,
            RequestField::Public,
            RequestField::SentHash,
            RequestField::Sticky,
            RequestField::TlsCert,
            RequestField::TlsKey,
            RequestField::TlsTermination,
        ];
        let names: Vec<&str> = all.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, super::super::request::REQUEST_FIELDS);
        let mut sorted = all;
        sorted.sort();
        assert_eq!(sorted, all, "enum order must equal sorted name order");
    }

    #[test]
    fn empty_reasons_cannot_build_an_error() {
        assert!(FieldErrors::new(BTreeMap::new()).is_none());
        assert!(Message::new("").is_none());
    }

    proptest::proptest! {
        #[test]
        fn wire_output_is_ascii_and_valid_json(msg in "\\PC{1,40}", h in "[0-9a-f]{32}") {
            let r = Response {
                outcome: Err(ErrorAnswer::ProviderError(Message::new(msg.clone()).unwrap())),
                received_hash: Some(h),
            };
            let wire = r.to_wire();
            proptest::prop_assert!(wire.is_ascii());
            let v: serde_json::Value = serde_json::from_str(&wire).unwrap();
            proptest::prop_assert_eq!(v["error_message"].as_str(), Some(msg.as_str()));
        }
    }
}

//! Juju's own value types, validated on the way in: unit and application names, relation ids,
//! port ranges and workload statuses. Owns only parsing and printing (spec §3, §4.3, §4.12);
//! never runs a tool and never reads the environment.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::plan::types::show;

/// A value that does not have the shape Juju gives it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} {}: {reason}", show(.value))]
pub struct InvalidName {
    /// What was being parsed, e.g. `unit name`.
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl InvalidName {
    fn new(what: &'static str, value: &str, reason: &'static str) -> Self {
        Self {
            what,
            value: value.to_owned(),
            reason,
        }
    }
}

/// True when `name` matches Juju's application-name rule
/// `^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$` (spec §4.1): lowercase words joined by single
/// hyphens, each word after the first containing a letter.
fn is_app_name(name: &str) -> bool {
    let mut words = name.split('-');
    let Some(first) = words.next() else {
        return false;
    };
    let first_ok = first.starts_with(|c: char| c.is_ascii_lowercase())
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && words.all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
}

/// An application name, e.g. `haproxy-lb`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

impl AppName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_app_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidName::new(
                "application name",
                s,
                "expected lowercase words joined by hyphens, e.g. haproxy-lb",
            ))
        }
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unit name, e.g. `haproxy-lb/0`: the application and the unit number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitName {
    app: AppName,
    number: u64,
}

impl UnitName {
    pub fn app(&self) -> &AppName {
        &self.app
    }
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl FromStr for UnitName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidName::new("unit name", s, reason);
        let (app, number) = s
            .split_once('/')
            .ok_or_else(|| invalid("expected <application>/<number>, e.g. web/0"))?;
        let app: AppName = app
            .parse()
            .map_err(|_| invalid("the application part is not a valid application name"))?;
        // Juju's rule is `(0|[1-9][0-9]*)`: no sign, no leading zero.
        let digits_ok = !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
            && (number == "0" || !number.starts_with('0'));
        if !digits_ok {
            return Err(invalid(
                "the unit number must be 0 or a number without leading zeros",
            ));
        }
        let number = number
            .parse()
            .map_err(|_| invalid("the unit number is too large"))?;
        Ok(Self { app, number })
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.number)
    }
}

/// A relation as the hook tools name it: endpoint and numeric id, printed `endpoint:id`
/// (spec §3 "Relation id flag"; we always pass this stricter form to `-r`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelationId {
    endpoint: String,
    id: u64,
}

impl RelationId {
    /// A relation id from its parts; the endpoint must be a valid endpoint name.
    pub fn new(endpoint: &str, id: u64) -> Result<Self, InvalidName> {
        if !is_endpoint_name(endpoint) {
            return Err(InvalidName::new(
                "endpoint name",
                endpoint,
                "expected lowercase letters, digits, '-' or '_', starting with a letter",
            ));
        }
        Ok(Self {
            endpoint: endpoint.to_owned(),
            id,
        })
    }
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Endpoint names in metadata.yaml: lowercase, digits, `-` and `_`, starting with a letter.
pub(crate) fn is_endpoint_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses a decimal relation number the way Juju does (`strconv.Atoi` of the text after the
/// last `:`), but without a sign.
pub(crate) fn parse_relation_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl FromStr for RelationId {
    type Err = InvalidName;
    /// Parses `endpoint:id`, the form `relation-ids` prints and `JUJU_RELATION_ID` carries.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidName::new("relation id", s, reason);
        let (endpoint, number) = s
            .rsplit_once(':')
            .ok_or_else(|| invalid("expected <endpoint>:<number>, e.g. website:3"))?;
        let id = parse_relation_number(number).ok_or_else(|| invalid("the id is not a number"))?;
        Self::new(endpoint, id).map_err(|_| invalid("the endpoint is not a valid endpoint name"))
    }
}

impl fmt::Display for RelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.endpoint, self.id)
    }
}

/// The protocol of a port range (spec §4.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// What `open-port`, `close-port` and `opened-ports` speak: `80/tcp`, `8000-8999/udp` or
/// `icmp` (spec §4.12, §4.13). Construction guarantees `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortRange {
    Icmp,
    Ports {
        protocol: Protocol,
        from: u16,
        to: u16,
    },
}

impl PortRange {
    /// One TCP port, e.g. `80/tcp`.
    pub fn tcp(port: u16) -> Self {
        PortRange::Ports {
            protocol: Protocol::Tcp,
            from: port,
            to: port,
        }
    }

    /// A range; `None` when `from > to`.
    pub fn range(protocol: Protocol, from: u16, to: u16) -> Option<Self> {
        (from <= to).then_some(PortRange::Ports { protocol, from, to })
    }
}

impl FromStr for PortRange {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidName::new("port range", s, reason);
        // Juju lower-cases the argument before parsing (spec §4.12).
        let lower = s.to_ascii_lowercase();
        if lower == "icmp" {
            return Ok(PortRange::Icmp);
        }
        let (ports, protocol) = match lower.split_once('/') {
            Some((ports, "tcp")) => (ports, Protocol::Tcp),
            Some((ports, "udp")) => (ports, Protocol::Udp),
            Some(_) => return Err(invalid("the protocol must be tcp, udp or icmp")),
            None => (lower.as_str(), Protocol::Tcp),
        };
        let port = |text: &str| -> Result<u16, InvalidName> {
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid("a port is not a number"));
            }
            text.parse()
                .map_err(|_| invalid("a port is outside 0-65535"))
        };
        let (from, to) = match ports.split_once('-') {
            Some((from, to)) => (port(from)?, port(to)?),
            None => {
                let p = port(ports)?;
                (p, p)
            }
        };
        PortRange::range(protocol, from, to)
            .ok_or_else(|| invalid("the range ends before it starts"))
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRange::Icmp => f.write_str("icmp"),
            PortRange::Ports { protocol, from, to } if from == to => {
                write!(f, "{from}/{}", protocol.as_str())
            }
            PortRange::Ports { protocol, from, to } => {
                write!(f, "{from}-{to}/{}", protocol.as_str())
            }
        }
    }
}

/// The workload statuses a charm may set (spec §4.9: `error` and `unknown` are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadStatus {
    Maintenance,
    Blocked,
    Waiting,
    Active,
}

impl WorkloadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadStatus::Maintenance => "maintenance",
            WorkloadStatus::Blocked => "blocked",
            WorkloadStatus::Waiting => "waiting",
            WorkloadStatus::Active => "active",
        }
    }
}

impl fmt::Display for WorkloadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_follow_juju_rule() {
        for good in ["a", "web", "haproxy-lb", "my-app2", "a1-b2c"] {
            assert!(good.parse::<AppName>().is_ok(), "{good}");
        }
        for bad in [
            "", "Web", "1web", "web-", "-web", "web--x", "web-1", "web_x", "we b",
        ] {
            assert!(bad.parse::<AppName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_names_round_trip_and_reject_bad_numbers() {
        let unit: UnitName = "haproxy-lb/12".parse().unwrap();
        assert_eq!(unit.app().as_str(), "haproxy-lb");
        assert_eq!(unit.number(), 12);
        assert_eq!(unit.to_string(), "haproxy-lb/12");
        for bad in [
            "web", "web/", "web/01", "web/-1", "web/x", "/0", "Web/0", "web/0/1",
        ] {
            assert!(bad.parse::<UnitName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn relation_ids_parse_endpoint_and_number() {
        let rel: RelationId = "reverseproxy:7".parse().unwrap();
        assert_eq!((rel.endpoint(), rel.id()), ("reverseproxy", 7));
        assert_eq!(rel.to_string(), "reverseproxy:7");
        for bad in ["7", "db:", ":7", "db:x", "db:-1", "DB:1", "db:1 "] {
            assert!(bad.parse::<RelationId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn port_ranges_print_as_juju_does() {
        for (text, printed) in [
            ("80/tcp", "80/tcp"),
            ("80", "80/tcp"),
            ("8000-8999/UDP", "8000-8999/udp"),
            ("ICMP", "icmp"),
        ] {
            assert_eq!(text.parse::<PortRange>().unwrap().to_string(), printed);
        }
        for bad in [
            "",
            "abc",
            "80/sctp",
            "90-80/tcp",
            "70000/tcp",
            "1-70000",
            "-80",
        ] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
        assert_eq!(PortRange::range(Protocol::Tcp, 2, 1), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsers_never_panic(text in "\\PC{0,40}") {
                let _ = text.parse::<AppName>();
                let _ = text.parse::<UnitName>();
                let _ = text.parse::<RelationId>();
                let _ = text.parse::<PortRange>();
            }

            #[test]
            fn unit_names_round_trip(app in "[a-z][a-z0-9]{0,8}(-[a-z][a-z0-9]{0,5}){0,2}", n in 0u64..100_000) {
                let text = format!("{app}/{n}");
                let unit: UnitName = text.parse().unwrap();
                prop_assert_eq!(unit.to_string(), text);
                prop_assert_eq!(unit.number(), n);
            }

            #[test]
            fn relation_ids_round_trip(endpoint in "[a-z][a-z0-9_-]{0,20}", id in any::<u64>()) {
                let rel = RelationId::new(&endpoint, id).unwrap();
                prop_assert_eq!(rel.to_string().parse::<RelationId>().unwrap(), rel);
            }

            #[test]
            fn port_ranges_round_trip(a in any::<u16>(), b in any::<u16>(), udp in any::<bool>()) {
                let protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
                let range = PortRange::range(protocol, a.min(b), a.max(b)).unwrap();
                prop_assert_eq!(range.to_string().parse::<PortRange>().unwrap(), range);
            }
        }
    }
}

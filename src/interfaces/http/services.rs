//! The classic `services` YAML schema (`spec/http.md` §2, values §6): one document in, validated
//! [`ServiceEntry`]s out. Used for the `services` config option and the remote `services` and
//! `all_services` keys.
//!
//! Accepts block and flow YAML, Python-repr style (`[{'service_name': 'x'}]` is YAML flow),
//! `!!binary` values (serde_yaml hands them over as their base64 text; we decode as many base64
//! layers as it takes), integer or string ports, the `error_files` alias. Unknown keys are
//! debug-logged. Each entry is validated alone; an invalid entry is an [`EntryError`] naming the
//! field. This module never logs certificate or error-file contents and never touches HAProxy.

use super::base64;
use super::SecretBytes;
use crate::plan::directive::{is_comment, ServerOptionTemplate};
use crate::plan::types::show;
use crate::plan::{Directive, FilePath, Host, InvalidValue, Port, ProxyName, ServerName};
use serde_yaml::Value;
use std::net::IpAddr;

/// Where a document came from: some values are accepted only from the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The `services` config option: a `crts` directory path is allowed.
    Config,
    /// Relation data.
    Relation,
}

/// A bind address (`service_host`): an IP, or `*` for every IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindHost {
    Any,
    Ip(IpAddr),
}

impl BindHost {
    /// The wire form, for `all_services`.
    pub fn to_wire(self) -> String {
        match self {
            BindHost::Any => "*".to_owned(),
            BindHost::Ip(ip) => ip.to_string(),
        }
    }

    /// A specific address (not `0.0.0.0`, `::` or `*`): what `website` may publish (§4).
    pub fn specific(self) -> Option<IpAddr> {
        match self {
            BindHost::Ip(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        }
    }
}

/// One `[name, host, port, options]` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerEntry {
    pub name: ServerName,
    pub host: Host,
    pub port: Port,
    pub options: Vec<ServerOptionTemplate>,
}

/// One `{backend_name, servers}` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendEntry {
    pub name: ProxyName,
    pub servers: Vec<ServerEntry>,
}

/// A raw HTTP error response for `errorfile <status>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFileEntry {
    pub status: u16,
    pub content: SecretBytes,
}

/// One `crts` item (§2, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrtEntry {
    /// PEM with a certificate and a private key, to be written mode 0600.
    Pem(SecretBytes),
    /// The configured `ssl_cert`/`ssl_key`.
    Default,
    /// A certificate file someone else installs for this service.
    External,
    /// A directory of certificates (config only).
    Directory(FilePath),
}

/// A validated service definition. Missing `service_host`/`service_port` stay `None` until
/// the merge step fills them in (§3 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub name: ProxyName,
    pub host: Option<BindHost>,
    pub port: Option<Port>,
    pub service_options: Vec<Directive>,
    pub server_options: Vec<ServerOptionTemplate>,
    pub servers: Vec<ServerEntry>,
    pub backends: Vec<BackendEntry>,
    pub errorfiles: Vec<ErrorFileEntry>,
    pub crts: Vec<CrtEntry>,
}

/// Why a document is not a list of mappings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("is not valid YAML: {0}")]
    Yaml(String),
    #[error("is not a YAML list of mappings")]
    NotAList,
}

/// Why one entry was refused: the service (when its name was readable), the field, the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct EntryError {
    pub service: Option<String>,
    pub field: String,
    pub reason: String,
}

/// A problem that drops part of an entry but keeps the service (an `errorfiles` item, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryWarning {
    pub service: String,
    pub field: String,
    pub reason: String,
}

/// Parse a document into its raw entries. Empty text, `null` and `~` mean no services.
pub fn parse_document(text: &str) -> Result<Vec<Value>, DocumentError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value =
        serde_yaml::from_str(text).map_err(|e| DocumentError::Yaml(first_line(&e.to_string())))?;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Sequence(items) if items.iter().all(Value::is_mapping) => Ok(items),
        _ => Err(DocumentError::NotAList),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

const KNOWN_KEYS: [&str; 10] = [
    "service_name",
    "service_host",
    "service_port",
    "service_options",
    "server_options",
    "servers",
    "backends",
    "errorfiles",
    "error_files",
    "crts",
];

/// The `service_name` of a raw entry, if readable: for messages about entries that fail.
pub fn raw_name(entry: &Value) -> Option<String> {
    scalar_text(entry.get("service_name")?)
}

/// Validate one entry. Warnings are returned beside the entry (they dropped only an item).
pub fn parse_entry(
    entry: &Value,
    trust: Trust,
) -> Result<(ServiceEntry, Vec<EntryWarning>), EntryError> {
    let name_text = raw_name(entry);
    let fail = |field: &str, reason: String| EntryError {
        service: name_text.clone(),
        field: field.to_owned(),
        reason,
    };
    let Some(map) = entry.as_mapping() else {
        return Err(fail("services", "entry is not a mapping".to_owned()));
    };
    for key in map.keys() {
        let key = key.as_str().unwrap_or("?");
        if !KNOWN_KEYS.contains(&key) {
            tracing::debug!(key = %show(key), "ignoring unknown key in a services entry");
        }
    }
    let name = match &name_text {
        None => return Err(fail("service_name", "is missing".to_owned())),
        Some(text) => name(text).map_err(|e| fail("service_name", e))?,
    };
    let host = match entry.get("service_host") {
        None => None,
        Some(v) => Some(bind_host(v).map_err(|e| fail("service_host", e))?),
    };
    let port = match entry.get("service_port") {
        None | Some(Value::Null) => None,
        Some(v) => Some(port(v).map_err(|e| fail("service_port", e))?),
    };
    let service_options =
        directives(entry.get("service_options")).map_err(|e| fail("service_options", e))?;
    let server_options = service_server_options(entry.get("server_options"))
        .map_err(|e| fail("server_options", e))?;
    let default_servers =
        servers(entry.get("servers")).map_err(|(f, e)| fail(&format!("servers{f}"), e))?;
    let backends = match entry.get("backends") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => {
            let mut out: Vec<BackendEntry> = Vec::new();
            for (k, item) in items.iter().enumerate() {
                let field = format!("backends[{k}]");
                let bname = item
                    .get("backend_name")
                    .and_then(scalar_text)
                    .ok_or_else(|| fail(&field, "backend_name is missing".to_owned()))?;
                let bname =
                    self::name(&bname).map_err(|e| fail(&format!("{field}.backend_name"), e))?;
                let bservers = servers(item.get("servers"))
                    .map_err(|(f, e)| fail(&format!("{field}.servers{f}"), e))?;
                match out.iter_mut().find(|b| b.name == bname) {
                    Some(existing) => union_servers(&mut existing.servers, bservers),
                    None => out.push(BackendEntry {
                        name: bname,
                        servers: bservers,
                    }),
                }
            }
            out
        }
        Some(_) => return Err(fail("backends", "is not a list".to_owned())),
    };
    // use_backend may only target a backend of the same service (§5).
    for directive in &service_options {
        if let Some(target) = directive.use_backend_target() {
            if target != name.as_str() && !backends.iter().any(|b| b.name.as_str() == target) {
                return Err(fail(
                    "service_options",
                    format!(
                        "{} routes to {}, which is not a backend of this service",
                        show(&directive.to_string()),
                        show(target)
                    ),
                ));
            }
        }
    }
    let mut warnings = Vec::new();
    let errorfiles = errorfiles(entry, name.as_str(), &mut warnings);
    let crts = crts(entry.get("crts"), trust).map_err(|e| fail("crts", e))?;
    Ok((
        ServiceEntry {
            name,
            host,
            port,
            service_options,
            server_options,
            servers: default_servers,
            backends,
            errorfiles,
            crts,
        },
        warnings,
    ))
}

/// Add servers not already present (exact duplicates are dropped, §3 step 5).
/// Linear in the number of servers: a requester may send 100k of them (issue 10 item 7).
pub fn union_servers(into: &mut Vec<ServerEntry>, more: Vec<ServerEntry>) {
    let mut present: std::collections::HashSet<ServerEntry> = into.iter().cloned().collect();
    for server in more {
        if present.insert(server.clone()) {
            into.push(server);
        }
    }
}

/// Text of a string or number scalar (ports and names may arrive as either).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn no_control(text: &str) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        Err(format!("{} contains a control character", show(text)))
    } else {
        Ok(())
    }
}

/// A service or backend name: `http.md` §6 names, within what a proxy name may be here.
fn name(text: &str) -> Result<ProxyName, String> {
    no_control(text)?;
    ProxyName::new(text).map_err(|e| e.to_string())
}

/// A port as an integer or a decimal string (§6).
pub fn port(value: &Value) -> Result<Port, String> {
    let bad = |shown: String| Err(format!("{shown} is not a number 1-65535"));
    match value {
        Value::Number(n) => match n.as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(p) => Port::new(p).or_else(|_| bad(show(&n.to_string()))),
            None => bad(show(&n.to_string())),
        },
        Value::String(s) => Port::parse(s).or_else(|_| bad(show(s))),
        Value::Null => bad("null".to_owned()),
        other => bad(show(&format!("{other:?}"))),
    }
}

fn bind_host(value: &Value) -> Result<BindHost, String> {
    let text = match value {
        Value::String(s) => s.as_str(),
        Value::Null => return Err("null is not an address".to_owned()),
        _ => return Err("is not a string".to_owned()),
    };
    no_control(text)?;
    match text {
        "*" => Ok(BindHost::Any),
        "" | "None" | "null" => Err(format!("{} is not an address", show(text))),
        _ => text
            .parse::<IpAddr>()
            .map(BindHost::Ip)
            .map_err(|_| format!("{} is not an IPv4 or IPv6 address, '::' or '*'", show(text))),
    }
}

fn server_host(value: Option<&Value>) -> Result<Host, String> {
    let text = match value {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => return Err("null is not a host".to_owned()),
        Some(_) => return Err("is not a string".to_owned()),
    };
    no_control(text)?;
    if matches!(text, "" | "None" | "null") {
        return Err(format!("{} is not a host", show(text)));
    }
    Host::parse(text).map_err(|e| e.to_string())
}

/// A list of strings, or one comma-separated string (§2 `service_options`).
fn string_items(value: Option<&Value>, split_commas: bool) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if split_commas => Ok(s.split(',').map(str::to_owned).collect()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| {
                scalar_text(item).ok_or_else(|| "has an item that is not a string".to_owned())
            })
            .collect(),
        Some(_) => Err("is not a list or a string".to_owned()),
    }
}

fn directives(value: Option<&Value>) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    for line in string_items(value, true)? {
        if is_comment(&line) {
            tracing::info!(line = %show(&line), "dropping a comment line from service_options");
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        out.push(Directive::parse(line.trim()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Service-level `server_options`: a string splits on commas first, list items on whitespace.
fn service_server_options(value: Option<&Value>) -> Result<Vec<ServerOptionTemplate>, String> {
    let parse = |text: &str, commas: bool| {
        no_control(text)?;
        if commas {
            ServerOptionTemplate::parse_service_level(text)
        } else {
            ServerOptionTemplate::parse_words(text)
        }
        .map_err(|e: InvalidValue| e.to_string())
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => parse(s, true),
        Some(Value::Sequence(items)) => {
            let mut out = Vec::new();
            for item in items {
                let text = scalar_text(item)
                    .ok_or_else(|| "has an item that is not a string".to_owned())?;
                out.extend(parse(&text, false)?);
            }
            Ok(out)
        }
        Some(_) => Err("is not a list or a string".to_owned()),
    }
}

/// A `servers` entry's options: string, list or null; split on whitespace only (§5).
fn server_item_options(value: Option<&Value>) -> Result<Vec<ServerOptionTemplate>, String> {
    let mut out = Vec::new();
    for text in string_items(value, false)? {
        no_control(&text)?;
        out.extend(ServerOptionTemplate::parse_words(&text).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// `servers`: a list of `[name, host, port, options]`. Errors carry the item suffix (`[1]`).
fn servers(value: Option<&Value>) -> Result<Vec<ServerEntry>, (String, String)> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => return Err((String::new(), "is not a list".to_owned())),
    };
    let mut out = Vec::new();
    let mut items_read = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let at = |e: String| (format!("[{k}]"), e);
        let Some(parts) = item.as_sequence().filter(|p| (3..=4).contains(&p.len())) else {
            return Err(at("is not a list [name, host, port, options]".to_owned()));
        };
        let name_text =
            scalar_text(&parts[0]).ok_or_else(|| at("name is not a string".to_owned()))?;
        no_control(&name_text).map_err(at)?;
        let name = ServerName::new(&name_text).map_err(|e| at(e.to_string()))?;
        let host = server_host(parts.get(1)).map_err(at)?;
        let port = port(&parts[2]).map_err(at)?;
        let options = server_item_options(parts.get(3)).map_err(at)?;
        items_read.push(ServerEntry {
            name,
            host,
            port,
            options,
        });
    }
    // One union for the whole list: once per item was quadratic (100k servers took minutes).
    union_servers(&mut out, items_read);
    Ok(out)
}

/// HTTP statuses HAProxy accepts for `errorfile` (§6).
const ERRORFILE_STATUSES: [u16; 17] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
];
const MAX_ERRORFILE: usize = 16 * 1024;

/// Decode base64 until the bytes satisfy `done` (at most twice: a `!!binary` of base64 text).
fn decode_layers(text: &str, done: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let once = base64::decode(text)?;
    if done(&once) {
        return Some(once);
    }
    let twice = base64::decode(std::str::from_utf8(&once).ok()?)?;
    done(&twice).then_some(twice)
}

fn errorfiles(
    entry: &Value,
    service: &str,
    warnings: &mut Vec<EntryWarning>,
) -> Vec<ErrorFileEntry> {
    let mut out: Vec<ErrorFileEntry> = Vec::new();
    for key in ["errorfiles", "error_files"] {
        let items = match entry.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Sequence(items)) => items.as_slice(),
            Some(_) => {
                warnings.push(EntryWarning {
                    service: service.to_owned(),
                    field: key.to_owned(),
                    reason: "is not a list; ignored".to_owned(),
                });
                continue;
            }
        };
        for (k, item) in items.iter().enumerate() {
            let mut warn = |reason: String| {
                warnings.push(EntryWarning {
                    service: service.to_owned(),
                    field: format!("{key}[{k}]"),
                    reason,
                })
            };
            let status = item
                .get("http_status")
                .and_then(scalar_text)
                .and_then(|s| s.parse::<u16>().ok())
                .filter(|s| ERRORFILE_STATUSES.contains(s));
            let Some(status) = status else {
                warn("http_status is not one of 200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503 504; dropped".to_owned());
                continue;
            };
            let content = item
                .get("content")
                .and_then(Value::as_str)
                .and_then(|text| decode_layers(text, |b| b.starts_with(b"HTTP/")));
            match content {
                Some(bytes) if bytes.len() <= MAX_ERRORFILE => {
                    if out.iter().any(|e| e.status == status) {
                        warn(format!("a second response for status {status}; dropped"));
                    } else {
                        out.push(ErrorFileEntry {
                            status,
                            content: SecretBytes::new(bytes),
                        });
                    }
                }
                Some(_) => warn("content is larger than 16 KiB; dropped".to_owned()),
                None => warn(
                    "content is not base64 of an HTTP response (starting with HTTP/); dropped"
                        .to_owned(),
                ),
            }
        }
    }
    out
}

fn is_cert_and_key(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("-----BEGIN CERTIFICATE-----")
        && text
            .lines()
            .any(|l| l.starts_with("-----BEGIN") && l.ends_with("PRIVATE KEY-----"))
}

fn crts(value: Option<&Value>, trust: Trust) -> Result<Vec<CrtEntry>, String> {
    let items = string_items(value, false)?;
    let mut out = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let entry = match item.trim() {
            "DEFAULT" => CrtEntry::Default,
            "EXTERNAL" => CrtEntry::External,
            path if path.starts_with('/') => {
                if trust != Trust::Config {
                    return Err(format!(
                        "[{k}] is a directory path, accepted only from the services config option"
                    ));
                }
                CrtEntry::Directory(
                    FilePath::new(path.trim_end_matches('/')).map_err(|e| format!("[{k}] {e}"))?,
                )
            }
            text => {
                // Never show the value: it may be a private key.
                let pem =
                    decode_layers(text, |b| b.starts_with(b"-----BEGIN") || is_cert_and_key(b))
                        .ok_or_else(|| {
                            format!("[{k}] is not base64 of a PEM certificate and key")
                        })?;
                if !is_cert_and_key(&pem) {
                    return Err(format!("[{k}] lacks a certificate or a private key"));
                }
                CrtEntry::Pem(SecretBytes::new(pem))
            }
        };
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<ServiceEntry> {
        parse_document(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|v| parse_entry(v, Trust::Relation).map(|(e, _)| e))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn one_error(text: &str) -> EntryError {
        let docs = parse_document(text).unwrap_or_else(|e| panic!("{e}"));
        match parse_entry(&docs[0], Trust::Relation) {
            Ok((e, _)) => panic!("accepted {e:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn default_config_parses_like_classic() {
        let text = "- service_name: haproxy_service\n  service_host: \"0.0.0.0\"\n  service_port: 80\n  service_options: [balance leastconn, cookie SRVNAME insert]\n  server_options: maxconn 100 cookie S{i} check\n";
        let e = &entries(text)[0];
        assert_eq!(e.name.as_str(), "haproxy_service");
        assert_eq!(e.host, Some(BindHost::Ip("0.0.0.0".parse().unwrap())));
        assert_eq!(e.port.map(Port::get), Some(80));
        let opts: Vec<String> = e.service_options.iter().map(|d| d.to_string()).collect();
        assert_eq!(opts, ["balance leastconn", "cookie SRVNAME insert"]);
        let sopts: Vec<String> = e.server_options.iter().map(|d| d.to_string()).collect();
        assert_eq!(sopts, ["maxconn 100", "cookie S{i}", "check"]);
    }

    #[test]
    fn block_flow_and_python_repr_are_the_same() {
        let block =
            "- service_name: x\n  service_port: 81\n  servers:\n  - [a, 10.0.0.1, 80, check]\n";
        let flow =
            "[{service_name: x, service_port: '81', servers: [[a, 10.0.0.1, '80', [check]]]}]";
        let repr = "[{'service_name': 'x', 'service_port': 81, 'servers': [['a', '10.0.0.1', 80, 'check']]}]";
        let a = entries(block);
        assert_eq!(a, entries(flow));
        assert_eq!(a, entries(repr));
        assert_eq!(a[0].servers[0].port.get(), 80);
    }

    #[test]
    fn empty_and_null_documents_mean_no_services() {
        for text in ["", "  ", "~", "null"] {
            assert_eq!(parse_document(text).map(|v| v.len()), Ok(0), "{text:?}");
        }
    }

    #[test]
    fn non_lists_and_bad_yaml_are_document_errors() {
        assert_eq!(
            parse_document("service_name: x"),
            Err(DocumentError::NotAList)
        );
        assert_eq!(parse_document("[1, 2]"), Err(DocumentError::NotAList));
        assert!(matches!(
            parse_document("- {a: [}"),
            Err(DocumentError::Yaml(_))
        ));
    }

    #[test]
    fn entry_without_valid_name_is_refused() {
        assert_eq!(one_error("- {service_port: 80}").field, "service_name");
        for bad in ["'a b'", "'x/y'", "'a\\nb'", "\"web\\u0007\""] {
            let e = one_error(&format!("- {{service_name: {bad}}}"));
            assert_eq!(e.field, "service_name", "{bad}");
        }
    }

    #[test]
    fn bad_hosts_and_ports_are_refused() {
        for (text, field) in [
            ("- {service_name: x, service_host: None}", "service_host"),
            ("- {service_name: x, service_host: null}", "service_host"),
            ("- {service_name: x, service_host: ''}", "service_host"),
            (
                "- {service_name: x, service_host: example.com}",
                "service_host",
            ),
            ("- {service_name: x, service_port: 0}", "service_port"),
            ("- {service_name: x, service_port: 65536}", "service_port"),
            ("- {service_name: x, service_port: http}", "service_port"),
            ("- {service_name: x, service_port: 80.5}", "service_port"),
            (
                "- {service_name: x, servers: [[a, None, 80, check]]}",
                "servers[0]",
            ),
            ("- {service_name: x, servers: [[a, '', 80]]}", "servers[0]"),
            (
                "- {service_name: x, servers: [[a, 'h st', 80]]}",
                "servers[0]",
            ),
            (
                "- {service_name: x, servers: [[a, 10.0.0.1]]}",
                "servers[0]",
            ),
        ] {
            let e = one_error(text);
            assert_eq!(e.field, field, "{text}");
            assert_eq!(e.service.as_deref(), Some("x"));
        }
        let e = one_error("- {service_name: x, service_port: http}");
        assert_eq!(e.reason, "'http' is not a number 1-65535");
    }

    #[test]
    fn wildcard_and_ipv6_hosts_are_bind_addresses() {
        let e = entries(
            "- {service_name: x, service_host: '*'}\n- {service_name: y, service_host: '::'}",
        );
        assert_eq!(e[0].host, Some(BindHost::Any));
        assert_eq!(e[1].host.and_then(BindHost::specific), None);
    }

    #[test]
    fn options_outside_the_allow_list_refuse_the_entry() {
        let e = one_error("- {service_name: x, service_options: [mode http, lua-load x.lua]}");
        assert_eq!(e.field, "service_options");
        assert!(e.reason.starts_with("'lua-load x.lua'"), "{}", e.reason);
        let e = one_error("- {service_name: x, server_options: [crt /etc/key.pem]}");
        assert_eq!(e.field, "server_options");
        let e = one_error("- {service_name: x, servers: [[a, 10.0.0.1, 80, 'check {x}']]}");
        assert_eq!(e.field, "servers[0]");
    }

    #[test]
    fn comment_lines_are_dropped_not_refused() {
        let e =
            entries("- {service_name: x, service_options: ['# managed by landscape', mode http]}");
        assert_eq!(e[0].service_options.len(), 1);
    }

    #[test]
    fn service_options_as_one_comma_string() {
        let e = entries("- {service_name: x, service_options: 'mode http, balance roundrobin'}");
        assert_eq!(e[0].service_options.len(), 2);
    }

    #[test]
    fn use_backend_must_stay_in_the_service() {
        entries("- {service_name: x, service_options: [acl a path_beg /a, use_backend x-api if a], backends: [{backend_name: x-api, servers: []}]}");
        let e = one_error(
            "- {service_name: x, service_options: [acl a path_beg /a, use_backend other if a]}",
        );
        assert_eq!(e.field, "service_options");
        assert!(e.reason.contains("not a backend of this service"));
    }

    #[test]
    fn backends_need_a_name_and_merge_by_name() {
        let e = one_error("- {service_name: x, backends: [{servers: []}]}");
        assert_eq!(e.field, "backends[0]");
        let e = entries("- {service_name: x, backends: [{backend_name: b, servers: [[s1, 10.0.0.1, 80]]}, {backend_name: b, servers: [[s2, 10.0.0.2, 80]]}]}");
        assert_eq!(e[0].backends.len(), 1);
        assert_eq!(e[0].backends[0].servers.len(), 2);
    }

    const RESPONSE: &str = "HTTP/1.0 503 Service Unavailable\r\n\r\ndown\n";

    #[test]
    fn errorfiles_decode_base64_and_binary_and_alias() {
        let once = base64::encode(RESPONSE.as_bytes());
        let twice = base64::encode(once.as_bytes());
        let text = format!("- service_name: x\n  errorfiles: [{{http_status: 503, content: '{once}'}}]\n  error_files:\n  - http_status: '404'\n    content: !!binary {twice}\n");
        let docs = parse_document(&text).unwrap();
        let (e, warnings) = parse_entry(&docs[0], Trust::Relation).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(e.errorfiles.len(), 2);
        assert_eq!(e.errorfiles[1].status, 404);
        assert_eq!(e.errorfiles[0].content.expose(), RESPONSE.as_bytes());
    }

    #[test]
    fn bad_errorfiles_are_dropped_with_a_warning_and_the_service_stays() {
        let big =
            base64::encode(format!("HTTP/1.0 200 OK\r\n\r\n{}", "x".repeat(17000)).as_bytes());
        let not_http = base64::encode(b"<html>");
        let text = format!("- {{service_name: x, errorfiles: [{{http_status: 999, content: ''}}, {{http_status: 503, content: '{big}'}}, {{http_status: 500, content: '{not_http}'}}, {{http_status: 502, content: '!!!'}}]}}");
        let docs = parse_document(&text).unwrap();
        let (e, warnings) = parse_entry(&docs[0], Trust::Relation).unwrap();
        assert!(e.errorfiles.is_empty());
        let fields: Vec<&str> = warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "errorfiles[0]",
                "errorfiles[1]",
                "errorfiles[2]",
                "errorfiles[3]"
            ]
        );
    }

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

    #[test]
    fn crts_accept_pem_binary_default_and_external() {
        let once = base64::encode(PEM.as_bytes());
        let twice = base64::encode(once.as_bytes());
        let text =
            format!("- service_name: x\n  crts: ['{once}', !!binary {twice}, DEFAULT, EXTERNAL]\n");
        let e = entries(&text);
        assert_eq!(e[0].crts.len(), 4);
        assert_eq!(
            e[0].crts[1],
            CrtEntry::Pem(SecretBytes::new(PEM.as_bytes().to_vec()))
        );
        assert_eq!(e[0].crts[2], CrtEntry::Default);
    }

    #[test]
    fn crts_refuse_garbage_missing_key_and_relation_directories() {
        let cert_only =
            base64::encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        for crt in ["not base64!", cert_only.as_str(), "/etc/ssl/private"] {
            let e = one_error(&format!("- {{service_name: x, crts: ['{crt}']}}"));
            assert_eq!(e.field, "crts");
            assert!(
                !e.reason.contains(crt) || crt.starts_with('/'),
                "secret shown: {}",
                e.reason
            );
        }
        let docs = parse_document("- {service_name: x, crts: [/etc/ssl/private/]}").unwrap();
        let (e, _) = parse_entry(&docs[0], Trust::Config).unwrap();
        assert!(matches!(&e.crts[0], CrtEntry::Directory(p) if p.as_str() == "/etc/ssl/private"));
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let e = entries("- {service_name: x, is-proxy: true, x_servers: [[a, b, 1]]}");
        assert_eq!(e[0].servers.len(), 0);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_documents_never_panic_or_leak_forbidden_characters(text in "[ -~\\n]{0,200}") {
            if let Ok(items) = parse_document(&text) {
                for item in &items {
                    if let Ok((e, _)) = parse_entry(item, Trust::Relation) {
                        for d in &e.service_options {
                            proptest::prop_assert!(!d.to_string().contains(['"', '\'', '\\', '$', '#', '\n']));
                        }
                    }
                }
            }
        }

        #[test]
        fn yaml_shaped_noise_never_panics(
            name in "[a-z{}\\[\\]:,' -]{0,12}",
            port in "[0-9a-z-]{0,6}",
            opt in "[ -~]{0,40}",
        ) {
            let text = format!("[{{service_name: {name}, service_port: {port}, service_options: [{opt}], servers: [[{name}, {port}, {port}, {opt}]]}}]");
            if let Ok(items) = parse_document(&text) {
                for item in &items {
                    let _ = parse_entry(item, Trust::Relation);
                }
            }
        }
    }
}

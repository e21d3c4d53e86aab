//! `reverseproxy`: the `services` option and every `reverseproxy` relation's unit bags in,
//! `ServiceRequest`s (origin `Config` or `Http`) and `Rejection`s out, exactly as `spec/http.md`
//! §3 says (steps 1-7), plus the files the requests refer to and what `website` publishes.
//!
//! Reads only remote unit bags (never app bags, §1). Pure: the caller gathers the snapshots and
//! config values, writes the [`GeneratedFile`]s, and hands the requests to `plan::build`, which
//! resolves port and name conflicts in the order given here (§3 step 7).

use super::services::{
    self, parse_document, parse_entry, BackendEntry, BindHost, CrtEntry, EntryError, ServerEntry,
    ServiceEntry, Trust,
};
use super::{GeneratedFile, REVERSEPROXY};
use crate::interfaces::{sort_units, Bag, RelationSnapshot, RemoteUnit};
use crate::plan::types::{show, unit_token};
use crate::plan::{
    Backend, Bind, FilePath, Frontend, Host, Mode, Origin, Placement, Port, ProxyName, Rejection,
    Server, ServerName, ServiceRequest, Source, TlsBind,
};
use std::net::{IpAddr, Ipv4Addr};

/// The config option this module reads.
pub const SERVICES_OPTION: &str = "services";

/// Where generated files go (chosen by the caller; the plan only names them).
#[derive(Debug, Clone)]
pub struct Paths {
    /// `crts` PEMs as `<cert_dir>/<service>-<k>.pem`; an `EXTERNAL` certificate is expected at
    /// `<cert_dir>/<service>.pem`.
    pub cert_dir: FilePath,
    /// `errorfiles` as `<errorfile_dir>/<service>-<status>.http`.
    pub errorfile_dir: FilePath,
}

/// Everything §3 reads.
pub struct Inputs<'a> {
    /// Our unit, e.g. `haproxy-lb/0`: frontends are named `<unit, / → ->-<port>`.
    pub our_unit: &'a str,
    /// The last valid `services` option, from [`parse_config_services`].
    pub config_services: &'a [ServiceEntry],
    /// The `monitoring_port` option: base of automatic ports (§3 step 5).
    pub monitoring_port: u16,
    /// Every relation snapshot; only the `reverseproxy` ones are read. A relation in its
    /// `-broken` hook must not be in the list; departed units must not be in `units`.
    pub relations: &'a [RelationSnapshot],
    pub paths: &'a Paths,
    /// The configured default certificate file (`ssl_cert`/`ssl_key` or `SELFSIGNED`), for
    /// `crts: [DEFAULT]`.
    pub default_cert: Option<&'a FilePath>,
    /// Whether a file exists (for `crts: [EXTERNAL]`). The caller passes a real check.
    pub file_exists: &'a dyn Fn(&FilePath) -> bool,
}

/// One server as `website` publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedServer {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub options: Vec<String>,
}

/// A service this module asked to render, in the form `website`'s `all_services` needs (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedService {
    pub name: String,
    pub host: BindHost,
    pub port: Port,
    pub service_options: Vec<String>,
    pub server_options: Vec<String>,
    pub servers: Vec<PublishedServer>,
    pub backends: Vec<(String, Vec<PublishedServer>)>,
}

/// What §3 produces.
#[derive(Debug, Default)]
pub struct Outcome {
    /// In precedence order: config services in YAML order, then relation services.
    pub requests: Vec<ServiceRequest>,
    pub rejections: Vec<Rejection>,
    /// Files the requests name; write them before validating the config.
    pub files: Vec<GeneratedFile>,
    /// One per request, same order.
    pub published: Vec<PublishedService>,
    /// The default service (§3 step 1-2), whether or not it is rendered.
    pub default_service: Option<String>,
}

/// Why the `services` option is refused as a whole (config is the operator's: the caller keeps
/// the last valid value and blocks the unit with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config option services {0}")]
    Document(services::DocumentError),
    #[error("config option services: entry {index}{}: {error}", .error.service.as_ref().map(|s| format!(" ({})", crate::plan::types::one_line(s))).unwrap_or_default())]
    Entry { index: usize, error: EntryError },
}

/// Parse the `services` option (§3 step 1). Empty or `null`: no services. Dropped
/// `errorfiles` items come back as rejections (the service stays).
pub fn parse_config_services(
    text: &str,
) -> Result<(Vec<ServiceEntry>, Vec<Rejection>), ConfigError> {
    let items = parse_document(text).map_err(ConfigError::Document)?;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let (entry, entry_warnings) = parse_entry(item, Trust::Config)
            .map_err(|error| ConfigError::Entry { index, error })?;
        warnings.extend(entry_warnings.into_iter().map(|w| Rejection {
            source: config_source(),
            service: Some(w.service),
            field: w.field,
            reason: w.reason,
        }));
        entries.push(entry);
    }
    Ok((entries, warnings))
}

fn config_source() -> Source {
    Source::Config {
        option: SERVICES_OPTION.to_owned(),
    }
}

/// A service being assembled from one or more definitions (§3 step 5).
struct Merged {
    entry: ServiceEntry,
    origin: Origin,
    source: Source,
}

/// Merge a later definition into an earlier one: the first defined value of every field wins,
/// `servers` are unioned, `backends` merge by name (§3 step 5).
fn merge(into: &mut Merged, later: ServiceEntry, later_source: &Source) {
    let name = into.entry.name.to_string();
    let e = &mut into.entry;
    let mut ignored: Vec<&str> = Vec::new();
    fn first<T: PartialEq>(
        slot: &mut Option<T>,
        later: Option<T>,
        field: &'static str,
        ignored: &mut Vec<&str>,
    ) {
        match (slot.as_ref(), later) {
            (None, later) => *slot = later,
            (Some(a), Some(b)) if *a != b => ignored.push(field),
            _ => {}
        }
    }
    fn first_list<T: PartialEq>(
        slot: &mut Vec<T>,
        later: Vec<T>,
        field: &'static str,
        ignored: &mut Vec<&str>,
    ) {
        if slot.is_empty() {
            *slot = later;
        } else if !later.is_empty() && *slot != later {
            ignored.push(field);
        }
    }
    first(&mut e.host, later.host, "service_host", &mut ignored);
    first(&mut e.port, later.port, "service_port", &mut ignored);
    first_list(
        &mut e.service_options,
        later.service_options,
        "service_options",
        &mut ignored,
    );
    first_list(
        &mut e.server_options,
        later.server_options,
        "server_options",
        &mut ignored,
    );
    first_list(
        &mut e.errorfiles,
        later.errorfiles,
        "errorfiles",
        &mut ignored,
    );
    first_list(&mut e.crts, later.crts, "crts", &mut ignored);
    services::union_servers(&mut e.servers, later.servers);
    merge_backends(&mut e.backends, later.backends);
    for field in ignored {
        tracing::info!(service = %name, field, from = %later_source, kept_from = %into.source,
            "same-named service defined again with a different value; the first definition wins");
    }
}

fn merge_backends(into: &mut Vec<BackendEntry>, more: Vec<BackendEntry>) {
    for backend in more {
        match into.iter_mut().find(|b| b.name == backend.name) {
            Some(existing) => services::union_servers(&mut existing.servers, backend.servers),
            None => into.push(backend),
        }
    }
}

/// The services being assembled, in precedence order, and the default service.
struct Registry {
    merged: Vec<Merged>,
    default_service: Option<String>,
}

impl Registry {
    fn add(&mut self, entry: ServiceEntry, origin: Origin, source: &Source) {
        if self.default_service.is_none() {
            self.default_service = Some(entry.name.to_string());
        }
        match self.merged.iter_mut().find(|m| m.entry.name == entry.name) {
            Some(existing) => merge(existing, entry, source),
            None => self.merged.push(Merged {
                entry,
                origin,
                source: source.clone(),
            }),
        }
    }

    fn find(&mut self, name: &str) -> Option<&mut Merged> {
        self.merged
            .iter_mut()
            .find(|m| m.entry.name.as_str() == name)
    }

    fn exists(&self, name: &str) -> bool {
        self.merged.iter().any(|m| m.entry.name.as_str() == name)
    }
}

/// A bag value; an empty string means absent (§1: Juju deletes the key).
fn value<'b>(bag: &'b Bag, key: &str) -> Option<&'b String> {
    bag.get(key).filter(|v| !v.is_empty())
}

/// A backend address from a bag: `private-address`, then `ingress-address`, then `hostname`,
/// the first present and valid (§1).
fn address(bag: &Bag) -> Option<Host> {
    ["private-address", "ingress-address", "hostname"]
        .iter()
        .filter_map(|key| value(bag, key))
        .find_map(|value| Host::parse(value).ok())
}

fn reject(source: &Source, service: Option<&str>, field: &str, reason: String) -> Rejection {
    let rejection = Rejection {
        source: source.clone(),
        service: service.map(str::to_owned),
        field: field.to_owned(),
        reason,
    };
    tracing::warn!(%rejection, "rejected");
    rejection
}

fn entry_rejection(source: &Source, e: EntryError) -> Rejection {
    reject(source, e.service.as_deref(), &e.field, e.reason)
}

/// A plain unit waiting for step 4.
struct PlainUnit {
    unit: RemoteUnit,
    app: String,
    source: Source,
}

/// Run §3 over the config services and every `reverseproxy` relation.
pub fn parse(inputs: &Inputs) -> Outcome {
    let mut out = Outcome::default();
    let mut registry = Registry {
        merged: Vec::new(),
        default_service: None,
    };
    // Step 1: config services.
    for entry in inputs.config_services {
        registry.add(entry.clone(), Origin::Config, &config_source());
    }

    let mut relations: Vec<&RelationSnapshot> = inputs
        .relations
        .iter()
        .filter(|r| r.endpoint == REVERSEPROXY)
        .collect();
    relations.sort_by_key(|r| r.id);

    // Steps 2 and 3, for every unit in relation and unit order; plain units wait for step 4
    // until every named service exists, so the result does not depend on arrival order.
    let mut plain: Vec<PlainUnit> = Vec::new();
    for relation in &relations {
        let mut units = relation.units.clone();
        sort_units(&mut units);
        for unit in units {
            let source = Source::Unit {
                relation: relation.key(),
                unit: unit.name.clone(),
            };
            for key in unit.bag.keys() {
                if !KNOWN_UNIT_KEYS.contains(&key.as_str()) {
                    tracing::debug!(unit = %unit.name, key = %show(key), "ignoring unknown reverseproxy key");
                }
            }
            if let Some(text) = value(&unit.bag, "services") {
                unit_services(&mut registry, &mut out, text, &source);
                continue;
            }
            if let Some(text) = value(&unit.bag, "all_services") {
                upstream_services(&mut registry, &mut out, &unit, text, &source);
            }
            let app = if relation.remote_app.is_empty() {
                unit.name.split('/').next().unwrap_or_default().to_owned()
            } else {
                relation.remote_app.clone()
            };
            plain.push(PlainUnit { unit, app, source });
        }
    }

    // Step 4: plain units.
    for p in plain {
        plain_unit(&mut registry, &mut out, &p);
    }

    out.default_service = registry.default_service.clone();

    // Step 5: default host, automatic ports.
    let base = registry
        .merged
        .iter()
        .filter_map(|m| m.entry.port.map(Port::get))
        .max()
        .unwrap_or(inputs.monitoring_port);
    let mut unported: Vec<usize> = (0..registry.merged.len())
        .filter(|i| registry.merged[*i].entry.port.is_none())
        .collect();
    unported.sort_by(|a, b| {
        registry.merged[*a]
            .entry
            .name
            .cmp(&registry.merged[*b].entry.name)
    });
    let mut auto_rejected = Vec::new();
    for (k, index) in unported.into_iter().enumerate() {
        let port = u32::from(base) + 2 * (k as u32 + 1);
        match u16::try_from(port).ok().and_then(|p| Port::new(p).ok()) {
            Some(port) => registry.merged[index].entry.port = Some(port),
            None => auto_rejected.push(index),
        }
    }

    // Steps 6 and 7: servers, then requests in precedence order.
    for (index, merged) in registry.merged.into_iter().enumerate() {
        let name = merged.entry.name.to_string();
        if merged.entry.servers.is_empty()
            && merged.entry.backends.iter().all(|b| b.servers.is_empty())
        {
            tracing::info!(service = %name, "service has no servers; not rendered and claims nothing");
            continue;
        }
        if auto_rejected.contains(&index) {
            out.rejections.push(reject(
                &merged.source,
                Some(&name),
                "service_port",
                format!("no automatic port is left above {base}"),
            ));
            continue;
        }
        match service_request(inputs, merged) {
            Ok((request, published, files)) => {
                out.requests.push(request);
                out.published.push(published);
                out.files.extend(files);
            }
            Err(rejection) => out.rejections.push(*rejection),
        }
    }
    out
}

/// Keys of a remote `reverseproxy` unit bag this module reads or knows Juju sets (§1).
const KNOWN_UNIT_KEYS: [&str; 10] = [
    "port",
    "private-address",
    "ingress-address",
    "egress-subnets",
    "hostname",
    "service_name",
    "sitenames",
    "services",
    "all_services",
    "extended_data",
];

/// Step 2: a unit's own `services`. A bad document rejects the unit; it is not a plain unit.
fn unit_services(registry: &mut Registry, out: &mut Outcome, text: &str, source: &Source) {
    let items = match parse_document(text) {
        Ok(items) => items,
        Err(e) => {
            out.rejections
                .push(reject(source, None, "services", e.to_string()));
            return;
        }
    };
    for item in &items {
        match parse_entry(item, Trust::Relation) {
            Ok((entry, warnings)) => {
                for w in warnings {
                    out.rejections
                        .push(reject(source, Some(&w.service), &w.field, w.reason));
                }
                registry.add(entry, Origin::Http, source);
            }
            Err(e) => out.rejections.push(entry_rejection(source, e)),
        }
    }
}

/// Step 3: an upstream proxy's `all_services`: each service's servers become one server at the
/// upstream unit (`<unit>-<service_port>`), keeping the first server's options.
fn upstream_services(
    registry: &mut Registry,
    out: &mut Outcome,
    unit: &RemoteUnit,
    text: &str,
    source: &Source,
) {
    let items = match parse_document(text) {
        Ok(items) => items,
        Err(e) => {
            out.rejections
                .push(reject(source, None, "all_services", e.to_string()));
            return;
        }
    };
    let Some(host) = address(&unit.bag) else {
        tracing::info!(unit = %unit.name, "waiting for an address before using all_services");
        return;
    };
    for item in &items {
        // crts/errorfiles are dropped before validation: an upstream's certificate directory or
        // a bad error file must not cost us the service (classic leaked them here).
        let mut item = item.clone();
        if let Some(map) = item.as_mapping_mut() {
            for key in ["crts", "errorfiles", "error_files"] {
                map.remove(key);
            }
        }
        let (mut entry, _) = match parse_entry(&item, Trust::Relation) {
            Ok(parsed) => parsed,
            Err(e) => {
                out.rejections.push(entry_rejection(
                    source,
                    EntryError {
                        field: format!("all_services {}", e.field),
                        ..e
                    },
                ));
                continue;
            }
        };
        let name = entry.name.to_string();
        let Some(port) = entry.port else {
            out.rejections.push(reject(
                source,
                Some(&name),
                "all_services service_port",
                "is missing: the upstream service cannot be reached without it".to_owned(),
            ));
            continue;
        };
        let server_name = match ServerName::new(&format!("{}-{}", unit_token(&unit.name), port)) {
            Ok(n) => n,
            Err(e) => {
                out.rejections.push(reject(
                    source,
                    Some(&name),
                    "all_services servers",
                    e.to_string(),
                ));
                continue;
            }
        };
        let options = entry
            .servers
            .first()
            .map(|s| s.options.clone())
            .filter(|options| !options.is_empty())
            .unwrap_or_else(|| entry.server_options.clone());
        let upstream = ServerEntry {
            name: server_name,
            host: host.clone(),
            port,
            options,
        };
        let through_upstream = |servers: &mut Vec<ServerEntry>| {
            if !servers.is_empty() {
                *servers = vec![upstream.clone()];
            }
        };
        through_upstream(&mut entry.servers);
        for backend in &mut entry.backends {
            through_upstream(&mut backend.servers);
        }
        registry.add(entry, Origin::Http, source);
    }
}

/// Step 4: a unit without `services` joins services by `service_name`, `sitenames`, its app
/// name, else the default service.
fn plain_unit(registry: &mut Registry, out: &mut Outcome, p: &PlainUnit) {
    let bag = &p.unit.bag;
    let unit = p.unit.name.as_str();
    let Some(port_text) = value(bag, "port") else {
        tracing::info!(unit, "waiting for the unit to send its port");
        return;
    };
    let port = match Port::parse(port_text) {
        Ok(port) => port,
        Err(_) => {
            out.rejections.push(reject(
                &p.source,
                None,
                "port",
                format!("{} is not a number 1-65535", show(port_text)),
            ));
            return;
        }
    };
    let Some(host) = address(bag) else {
        tracing::info!(unit, "waiting for the unit to send a valid address");
        return;
    };

    let mut targets: Vec<String> = Vec::new();
    let push = |name: &str, targets: &mut Vec<String>| {
        if !targets.iter().any(|t| t == name) {
            targets.push(name.to_owned());
        }
    };
    if let Some(wanted) = value(bag, "service_name") {
        if !registry.exists(wanted) {
            out.rejections.push(reject(
                &p.source,
                None,
                "service_name",
                format!("{} names no service", show(wanted)),
            ));
            return;
        }
        push(wanted, &mut targets);
    }
    for site in bag
        .get("sitenames")
        .map(|s| s.split_whitespace())
        .into_iter()
        .flatten()
    {
        if registry.exists(site) {
            push(site, &mut targets);
        }
    }
    for candidate in [format!("{}_service", p.app), p.app.clone()] {
        if registry.exists(&candidate) {
            push(&candidate, &mut targets);
        }
    }
    if targets.is_empty() {
        match &registry.default_service {
            Some(default) => targets.push(default.clone()),
            None => {
                out.rejections.push(reject(
                    &p.source,
                    None,
                    "service_name",
                    "matches no service, and there is no default service: no service to attach to"
                        .to_owned(),
                ));
                return;
            }
        }
    }

    let base_name = format!("{}-{}", unit_token(unit), port);
    let mut servers = match ServerName::new(&base_name) {
        Ok(name) => vec![(name, host, port)],
        Err(e) => {
            out.rejections
                .push(reject(&p.source, None, "port", e.to_string()));
            return;
        }
    };
    servers.extend(extended_data(bag, &base_name, port, &p.source, out));

    for target in targets {
        if let Some(merged) = registry.find(&target) {
            let options = merged.entry.server_options.clone();
            let entries = servers
                .iter()
                .map(|(name, host, port)| ServerEntry {
                    name: name.clone(),
                    host: host.clone(),
                    port: *port,
                    options: options.clone(),
                })
                .collect();
            services::union_servers(&mut merged.entry.servers, entries);
        }
    }
}

/// `extended_data`: extra `{hostname, port, private-address}` hosts of one unit, named
/// `<unit>-<port>-<k>`. Bad JSON rejects only these extras.
fn extended_data(
    bag: &Bag,
    base_name: &str,
    unit_port: Port,
    source: &Source,
    out: &mut Outcome,
) -> Vec<(ServerName, Host, Port)> {
    let Some(text) = value(bag, "extended_data") else {
        return Vec::new();
    };
    let items = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(_) => {
            out.rejections.push(reject(
                source,
                None,
                "extended_data",
                "is not a JSON list".to_owned(),
            ));
            return Vec::new();
        }
        Err(e) => {
            out.rejections.push(reject(
                source,
                None,
                "extended_data",
                format!("is not valid JSON: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut extras = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let field = format!("extended_data[{k}]");
        let host = ["private-address", "ingress-address", "hostname"]
            .iter()
            .filter_map(|key| item.get(*key).and_then(|v| v.as_str()))
            .find_map(|value| Host::parse(value).ok());
        let port = match item.get("port") {
            None | Some(serde_json::Value::Null) => Ok(unit_port),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .and_then(|p| Port::new(p).ok())
                .ok_or_else(|| n.to_string()),
            Some(serde_json::Value::String(s)) => Port::parse(s).map_err(|_| s.clone()),
            Some(other) => Err(other.to_string()),
        };
        let name = ServerName::new(&format!("{base_name}-{}", k + 1));
        match (host, port, name) {
            (Some(host), Ok(port), Ok(name)) => extras.push((name, host, port)),
            (None, _, _) => out.rejections.push(reject(
                source,
                None,
                &field,
                "has no valid address".to_owned(),
            )),
            (_, Err(p), _) => out.rejections.push(reject(
                source,
                None,
                &field,
                format!("port {} is not a number 1-65535", show(&p)),
            )),
            (_, _, Err(e)) => out
                .rejections
                .push(reject(source, None, &field, e.to_string())),
        }
    }
    extras
}

/// Step 6 for one backend: rename duplicate names (`<name>-2`, …), replace `{i}`.
fn backend_servers(entries: &[ServerEntry]) -> Result<(Vec<Server>, Vec<PublishedServer>), String> {
    // A set, not a list: a requester may send 100k servers (issue 10 item 7).
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut servers = Vec::new();
    let mut published = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mut name = entry.name.to_string();
        if used.contains(&name) {
            name = (2..)
                .map(|n| format!("{}-{n}", entry.name))
                .find(|candidate| !used.contains(candidate))
                .unwrap_or_default();
        }
        let server_name = ServerName::new(&name).map_err(|e| format!("server {e}"))?;
        used.insert(name.clone());
        let options = entry
            .options
            .iter()
            .map(|o| o.instantiate(index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("server {name}: {e}"))?;
        published.push(PublishedServer {
            name: name.clone(),
            host: entry.host.to_string(),
            port: entry.port.get(),
            options: options.iter().map(|o| o.to_string()).collect(),
        });
        servers.push(Server {
            name: server_name,
            host: entry.host.clone(),
            port: entry.port,
            weight: None,
            check: false,
            options,
        });
    }
    Ok((servers, published))
}

type Built = (ServiceRequest, PublishedService, Vec<GeneratedFile>);

/// Steps 6-7 for one merged service: frontend, backends, files.
fn service_request(inputs: &Inputs, merged: Merged) -> Result<Built, Box<Rejection>> {
    let Merged {
        entry,
        origin,
        source,
    } = merged;
    let name = entry.name.to_string();
    let fail = |field: &str, reason: String| Box::new(reject(&source, Some(&name), field, reason));
    let port = entry
        .port
        .ok_or_else(|| fail("service_port", "is missing".to_owned()))?;
    let host = entry
        .host
        .unwrap_or(BindHost::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
    let frontend_name = ProxyName::new(&format!("{}-{}", unit_token(inputs.our_unit), port))
        .map_err(|e| fail("frontend", e.to_string()))?;

    let mut files = Vec::new();
    let file = |dir: &FilePath, leaf: String| {
        FilePath::new(&format!("{}/{leaf}", dir.as_str().trim_end_matches('/')))
            .map_err(|e| fail("path", e.to_string()))
    };
    let mut certificates = Vec::new();
    for (k, crt) in entry.crts.iter().enumerate() {
        match crt {
            CrtEntry::Pem(pem) => {
                let path = file(&inputs.paths.cert_dir, format!("{name}-{k}.pem"))?;
                files.push(GeneratedFile {
                    path: path.clone(),
                    contents: pem.clone(),
                    mode: 0o600,
                });
                certificates.push(path);
            }
            CrtEntry::Default => match inputs.default_cert {
                Some(path) => certificates.push(path.clone()),
                None => {
                    return Err(fail(
                        "crts",
                        "DEFAULT but no ssl_cert configured".to_owned(),
                    ))
                }
            },
            CrtEntry::External => {
                let path = file(&inputs.paths.cert_dir, format!("{name}.pem"))?;
                if !(inputs.file_exists)(&path) {
                    return Err(fail(
                        "crts",
                        format!("waiting for the EXTERNAL certificate {path}"),
                    ));
                }
                certificates.push(path);
            }
            CrtEntry::Directory(path) => certificates.push(path.clone()),
        }
    }
    let mut errorfiles = Vec::new();
    for errorfile in &entry.errorfiles {
        let path = file(
            &inputs.paths.errorfile_dir,
            format!("{name}-{}.http", errorfile.status),
        )?;
        files.push(GeneratedFile {
            path: path.clone(),
            contents: errorfile.content.clone(),
            mode: 0o644,
        });
        errorfiles.push((errorfile.status, path));
    }

    let mode = entry
        .service_options
        .iter()
        .filter_map(|d| d.mode())
        .next_back()
        .unwrap_or(Mode::Http);
    let placed = |wanted: Placement| {
        entry
            .service_options
            .iter()
            .filter(|d| d.placement() == wanted || d.placement() == Placement::Both)
            .cloned()
            .collect::<Vec<_>>()
    };
    let frontend = Frontend {
        name: frontend_name,
        bind: Bind {
            host: match host {
                BindHost::Any => None,
                BindHost::Ip(ip) => Some(ip),
            },
            port,
        },
        mode,
        tls: (!certificates.is_empty()).then_some(TlsBind::Certificates(certificates)),
        directives: placed(Placement::Frontend),
        routes: Vec::new(),
        default_backend: Some(entry.name.clone()),
    };

    let backend_directives = placed(Placement::Backend);
    let mut backends = Vec::new();
    let mut published_backends = Vec::new();
    let mut published_servers = Vec::new();
    let all = std::iter::once((&entry.name, &entry.servers))
        .chain(entry.backends.iter().map(|b| (&b.name, &b.servers)));
    for (k, (backend_name, entries)) in all.enumerate() {
        let (servers, published) = backend_servers(entries).map_err(|e| fail("servers", e))?;
        if k == 0 {
            published_servers = published;
        } else {
            published_backends.push((backend_name.to_string(), published));
        }
        backends.push(Backend {
            name: backend_name.clone(),
            mode,
            balance: None,
            stickiness: None,
            health_check: None,
            directives: backend_directives.clone(),
            errorfiles: errorfiles.clone(),
            servers,
        });
    }

    let published = PublishedService {
        name: name.clone(),
        host,
        port,
        service_options: entry
            .service_options
            .iter()
            .map(|d| d.to_string())
            .collect(),
        server_options: entry.server_options.iter().map(|o| o.to_string()).collect(),
        servers: published_servers,
        backends: published_backends,
    };
    let request = ServiceRequest {
        origin,
        source,
        service: name,
        frontends: vec![frontend],
        backends,
    };
    Ok((request, published, files))
}

#[cfg(test)]
mod tests;

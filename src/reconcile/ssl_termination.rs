//! The ssl-termination part of the reconcile (`spec/ssl-termination.md` §4.1): requests from
//! the `ssl-termination` relations, certificates on hand (self-signed/fallback made here, ACME
//! only when one is due and not backing off), the plan request and files, then — after HAProxy
//! serves the HTTP frontend — issuance, and the answers per relation.
//!
//! Joins `interfaces::ssl_termination` (wire, HAProxy shape) and `acme` (certificates); the
//! HTTP-01 board here is the only place that writes the challenge map and talks to HAProxy's
//! runtime API for it (`haproxy.md` §6: write the file, then `del map` + `add map`).

use super::gather::Model;
use super::Settings;
use crate::acme::client::ChallengeBoard;
use crate::acme::state::State;
use crate::acme::{self, CertPaths, Wanted};
use crate::haproxy::runtime::socket_command;
use crate::haproxy::{ApplyError, ConfigError};
use crate::interfaces::ssl_termination::options::{self, SslOptions};
use crate::interfaces::ssl_termination::proxy::{self, ProxySettings, RoutedSite};
use crate::interfaces::ssl_termination::{self as wire, Parsed, SiteState, SiteStatus};
use crate::interfaces::Bag;
use crate::plan::{
    CryptHash, FilePath, GlobalSettings, LoadBalancerPlan, Origin, Rejection, ServiceRequest,
    Source, UserName, Userlist,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// At most this much ACME per hook (§4.1).
const ACME_BUDGET: Duration = Duration::from_secs(300);

/// Everything the ssl-termination part knows during one reconcile.
pub struct SslTermination {
    pub parsed: Parsed,
    pub options: SslOptions,
    pub problems: Vec<String>,
    paths: CertPaths,
    proxy: ProxySettings,
    state: State,
    wanted: Vec<Wanted>,
    /// Set when `plan::build` refused the whole request (a port another service holds).
    refused: Option<String>,
    /// Whether any ssl-termination relation exists.
    related: bool,
    /// Sites HAProxy refused on their own this hook (primary → HAProxy's reason): not routed,
    /// reported failed, the others served (§4.1, checklist 15).
    refused_sites: BTreeMap<String, String>,
}

/// A site with a certificate to serve: its index in `parsed.sites`, the file, its user.
struct Servable {
    index: usize,
    cert: FilePath,
    user: Option<(UserName, CryptHash)>,
}

/// The plan request (`None` without sites), its userlists, and the files they name.
pub type PlanParts = (Option<ServiceRequest>, Vec<Userlist>, Vec<SslFile>);

/// One file to write: path, bytes, mode.
pub struct SslFile {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    pub mode: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SslError {
    #[error(transparent)]
    Cert(#[from] acme::CertError),
    #[error(transparent)]
    State(#[from] acme::state::StateError),
    #[error("an ssl-termination path cannot be named in haproxy.cfg: {0}")]
    Path(#[from] crate::plan::InvalidValue),
}

fn file_path(path: &Path) -> Result<FilePath, crate::plan::InvalidValue> {
    FilePath::new(&path.to_string_lossy())
}

pub fn challenge_map(settings: &Settings) -> PathBuf {
    settings.files_dir.join("acme-challenges.map")
}

fn relay_not_found(settings: &Settings) -> PathBuf {
    settings.files_dir.join("acme-relay-404.http")
}

/// Parse the relations and options, make the certificates that need no CA.
pub fn prepare(settings: &Settings, model: &Model) -> Result<SslTermination, SslError> {
    let parsed = wire::parse(&model.relations);
    let (options, problems) = options::parse(&model.config);
    let paths = CertPaths {
        certs_dir: settings.files_dir.join("certs"),
        state_file: settings.state_dir.join("ssl-termination.json"),
        account_dir: settings.state_dir.join("acme"),
    };
    let proxy = ProxySettings {
        http_port: options.http_port,
        https_port: options.https_port,
        hsts_max_age: options.hsts_max_age,
        crt_list: file_path(&paths.crt_list())?,
        challenge_map: file_path(&challenge_map(settings))?,
        default_cert: file_path(&paths.default_cert())?,
        peers: wire::relay_peers(&model.relations),
        relay_not_found: file_path(&relay_not_found(settings))?,
    };
    let wanted: Vec<Wanted> = parsed
        .sites
        .iter()
        .map(|site| Wanted {
            names: site.request.fqdns.iter().map(ToString::to_string).collect(),
            contact: site.request.contact.clone(),
        })
        .collect();
    let mut state = acme::load_state(&paths);
    acme::retire_removed(&state, &wanted, &paths)?;
    if !wanted.is_empty() {
        acme::ensure_default_cert(&paths)?;
        let made = acme::ensure_local(
            &mut state,
            &wanted,
            &options.acme,
            &paths,
            acme::x509::now(),
        )?;
        for primary in made {
            tracing::info!(site = %primary, "self-signed certificate made");
        }
    }
    // Forget removed sites' records except what lets a retired certificate come back.
    state.sites.retain(|primary, record| {
        wanted.iter().any(|w| w.primary() == primary)
            || (record.origin.is_some()
                && paths
                    .certs_dir
                    .join("retired")
                    .join(format!("{primary}.pem"))
                    .is_file())
    });
    acme::save_state(&state, &paths)?;
    Ok(SslTermination {
        parsed,
        options,
        problems,
        paths,
        proxy,
        state,
        wanted,
        refused: None,
        related: model.relations.iter().any(|r| r.endpoint == wire::ENDPOINT),
        refused_sites: BTreeMap::new(),
    })
}

/// Whether a rejection is the one for the whole ssl-termination request.
pub fn is_whole_request(rejection: &Rejection) -> bool {
    rejection.service.as_deref() == Some(proxy::SERVICE)
        && matches!(&rejection.source, Source::Config { option } if option == proxy::SERVICE)
}

impl SslTermination {
    /// The sites with a certificate on hand that HAProxy has not refused this hook.
    fn servable(&mut self) -> Result<Vec<Servable>, SslError> {
        let now = acme::x509::now();
        let mut out = Vec::new();
        for (index, (site, wanted)) in self.parsed.sites.iter().zip(&self.wanted).enumerate() {
            if self.refused_sites.contains_key(wanted.primary()) {
                continue;
            }
            let assessment =
                acme::assess(&self.state, wanted, &self.options.acme, &self.paths, now);
            let Some(cert) = assessment.served else {
                continue;
            };
            let user = match &site.request.credentials {
                Some(c) => Some((
                    c.user.clone(),
                    self.state.password_hash(
                        wanted.primary(),
                        c.user.as_str(),
                        c.password.expose(),
                    )?,
                )),
                None => None,
            };
            out.push(Servable {
                index,
                cert: file_path(&cert)?,
                user,
            });
        }
        acme::save_state(&self.state, &self.paths)?;
        Ok(out)
    }

    fn routed<'a>(&'a self, servable: &[Servable]) -> Vec<RoutedSite<'a>> {
        servable
            .iter()
            .map(|s| RoutedSite {
                site: &self.parsed.sites[s.index],
                cert: s.cert.clone(),
                user: s.user.clone(),
            })
            .collect()
    }

    /// The plan request (`None` without sites), its userlists and the files it names.
    pub fn plan_parts(&mut self) -> Result<PlanParts, SslError> {
        let servable = self.servable()?;
        let routed = self.routed(&servable);
        let Some((request, userlists)) =
            proxy::service_request(&self.proxy, &self.parsed.sites, &routed)
        else {
            return Ok((None, Vec::new(), Vec::new()));
        };
        let mut files = vec![SslFile {
            path: self.paths.crt_list(),
            contents: proxy::crt_list(&self.proxy, &routed).into_bytes(),
            mode: 0o600,
        }];
        let map = PathBuf::from(self.proxy.challenge_map.as_str());
        if !map.is_file() {
            files.push(SslFile {
                path: map,
                contents: Vec::new(),
                mode: 0o600,
            });
        }
        if !self.proxy.peers.is_empty() {
            files.push(SslFile {
                path: PathBuf::from(self.proxy.relay_not_found.as_str()),
                contents: proxy::RELAY_NOT_FOUND.as_bytes().to_vec(),
                mode: 0o600,
            });
        }
        Ok((Some(request), userlists, files))
    }

    /// HAProxy refused the ssl-termination request: check the shared part (frontends, 421
    /// backend, `default.pem`) alone, then each served site alone with it (its own crt-list),
    /// and stop routing the sites HAProxy refuses, so one bad site cannot take the others down
    /// (§4.1, checklist 15). A refused site whose certificate HAProxy names cannot load that
    /// file: it is forgotten, so the next round makes or orders a new one; a `default.pem`
    /// HAProxy cannot load is made again at once. Returns whether this call changed anything
    /// (a site left out, `default.pem` made again) worth another apply; `false` means the
    /// shared part itself is refused (or nothing explains the refusal) and the caller drops
    /// the whole request.
    pub fn isolate_refused_sites(
        &mut self,
        settings: &Settings,
        global: &GlobalSettings,
    ) -> Result<bool, SslError> {
        let scratch = self.paths.certs_dir.join("crt-list.check");
        let outcome = self.isolate_with(settings, global, &scratch);
        let _ = std::fs::remove_file(&scratch);
        outcome
    }

    fn isolate_with(
        &mut self,
        settings: &Settings,
        global: &GlobalSettings,
        scratch: &Path,
    ) -> Result<bool, SslError> {
        let mut proxy = self.proxy.clone();
        proxy.crt_list = file_path(scratch)?;
        let mut changed = false;
        if let Some(alerts) = self.refusal(settings, global, &proxy, &[])? {
            let default_cert = self.paths.default_cert();
            if !alerts
                .iter()
                .any(|a| a.contains(&*default_cert.to_string_lossy()))
            {
                return Ok(false);
            }
            tracing::warn!("haproxy cannot load default.pem; making a new one");
            let _ = std::fs::remove_file(&default_cert);
            acme::ensure_default_cert(&self.paths)?;
            if self.refusal(settings, global, &proxy, &[])?.is_some() {
                return Ok(false);
            }
            changed = true;
        }
        for one in self.servable()? {
            let Some(alerts) =
                self.refusal(settings, global, &proxy, std::slice::from_ref(&one))?
            else {
                continue;
            };
            let primary = self.wanted[one.index].primary().to_owned();
            let alert = super::isolate::first_alert(&alerts);
            tracing::warn!(site = %primary, "haproxy -c refused the site: {alert}");
            if alerts.iter().any(|a| a.contains(one.cert.as_str())) {
                if let Some(record) = self.state.sites.get_mut(&primary) {
                    record.origin = None;
                }
            }
            self.refused_sites.insert(primary, alert);
            changed = true;
        }
        acme::save_state(&self.state, &self.paths)?;
        Ok(changed)
    }

    /// HAProxy's alerts when the shared part with only `sites` routed (crt-list written to
    /// `proxy.crt_list`) is refused by `haproxy -c`; `None` when accepted.
    fn refusal(
        &self,
        settings: &Settings,
        global: &GlobalSettings,
        proxy: &ProxySettings,
        sites: &[Servable],
    ) -> Result<Option<Vec<String>>, SslError> {
        let routed = self.routed(sites);
        let Some((request, userlists)) = proxy::service_request(proxy, &self.parsed.sites, &routed)
        else {
            return Ok(None);
        };
        let crt_list = PathBuf::from(proxy.crt_list.as_str());
        acme::state::write_private(&crt_list, proxy::crt_list(proxy, &routed).as_bytes())?;
        let inputs = crate::plan::build::PlanInputs {
            global: global.clone(),
            userlists,
            stats: None,
        };
        let (plan, _) = crate::plan::build(inputs, vec![request]);
        match crate::haproxy::check(&settings.haproxy, &plan) {
            Err(ApplyError::Config(ConfigError::Rejected { alerts, .. })) => Ok(Some(alerts)),
            _ => Ok(None),
        }
    }

    /// A certificate made in this hook replaces the one HAProxy refused: let the next round
    /// route (and, if need be, isolate) that site again.
    pub fn forgive(&mut self, primaries: &[String]) {
        for primary in primaries {
            self.refused_sites.remove(primary);
        }
    }

    /// Files in the swept certificate directory that must stay.
    pub fn keep(&self) -> Vec<PathBuf> {
        let mut keep = vec![self.paths.default_cert(), self.paths.crt_list()];
        keep.extend(
            self.wanted
                .iter()
                .map(|w| self.paths.cert_file(w.primary())),
        );
        keep
    }

    /// `plan::build` refused the request (e.g. a port held by another service): every site
    /// fails with that reason (§4.4 "an unclaimable port fails every site").
    pub fn note_build_rejections(&mut self, rejections: &[Rejection]) {
        self.refused = rejections
            .iter()
            .find(|r| is_whole_request(r))
            .map(|r| format!("{} {}", r.field, r.reason));
    }

    /// HAProxy did not take the configuration: no site is served as planned.
    pub fn note_not_applied(&mut self) {
        if self.refused.is_none() {
            self.refused = Some("haproxy refused the configuration; see the unit status".into());
        }
    }

    /// A certificate is due and not backing off: worth an ACME round after HAProxy serves.
    pub fn acme_due(&self) -> bool {
        let now = acme::x509::now();
        self.refused.is_none()
            && self.options.acme.source == acme::CertificateSource::Acme
            && self.wanted.iter().any(|w| {
                let a = acme::assess(&self.state, w, &self.options.acme, &self.paths, now);
                a.due && !a.backing_off
            })
    }

    /// Run ACME for the due sites; the primaries whose certificate changed.
    pub fn issue(&mut self, settings: &Settings) -> Result<Vec<String>, SslError> {
        let board = HaproxyBoard {
            map_file: challenge_map(settings),
            admin_socket: settings.haproxy.admin_socket.clone(),
            entries: RefCell::new(BTreeMap::new()),
        };
        let changed = acme::issue_due(
            &mut self.state,
            &self.wanted,
            &self.options.acme,
            &self.paths,
            &board,
            ACME_BUDGET,
        );
        acme::save_state(&self.state, &self.paths)?;
        Ok(changed)
    }

    /// The state of each site, for the answers (§4.6).
    pub fn statuses(&self) -> Vec<SiteStatus> {
        let now = acme::x509::now();
        self.wanted
            .iter()
            .map(|w| {
                let a = acme::assess(&self.state, w, &self.options.acme, &self.paths, now);
                let not_after = a.not_after.map(acme::x509::rfc3339);
                let state = if let Some(reason) = &self.refused {
                    SiteState::Failed(format!("configuration: {reason}"))
                } else if let Some(alert) = self.refused_sites.get(w.primary()) {
                    SiteState::Failed(format!("configuration rejected by haproxy -c: {alert}"))
                } else if a.ready {
                    SiteState::Ready
                } else if let Some(failure) = a.failure {
                    SiteState::Failed(failure)
                } else {
                    SiteState::Pending
                };
                SiteStatus { state, not_after }
            })
            .collect()
    }

    /// Our bag on every ssl-termination relation.
    pub fn answers(&self, model: &Model) -> Vec<(u64, Bag)> {
        let statuses = self.statuses();
        model
            .relations
            .iter()
            .filter(|r| r.endpoint == wire::ENDPOINT)
            .map(|r| (r.id, wire::answer(r.id, &self.parsed, &statuses)))
            .collect()
    }

    /// The sites' states as the unit status words them (§4.6): rejected units by unit name,
    /// failed sites by primary name.
    pub fn status_summary(&self, plan: &LoadBalancerPlan) -> super::status::SslStatus {
        let mut out = super::status::SslStatus {
            plan_backends: plan
                .services
                .iter()
                .find(|s| s.origin == Origin::SslTermination)
                .map(|s| s.backends.len()),
            related: self.related,
            ..Default::default()
        };
        for (site, status) in self.parsed.sites.iter().zip(self.statuses()) {
            match status.state {
                SiteState::Ready => out.ready.push(site.primary().to_string()),
                SiteState::Pending => out.pending += 1,
                SiteState::Failed(_) => out.not_ready.push(format!("{} failed", site.primary())),
            }
        }
        for rejection in wire::rejections(&self.parsed) {
            if let Source::Unit { unit, .. } = &rejection.source {
                out.not_ready.push(format!("{unit} rejected"));
            }
        }
        out
    }

    /// Rejected requests and failed sites, for logs (the status counts them, §4.6).
    pub fn problems_for_status(&self) -> Vec<Rejection> {
        let mut out = wire::rejections(&self.parsed);
        for (site, status) in self.parsed.sites.iter().zip(self.statuses()) {
            if let SiteState::Failed(message) = status.state {
                out.push(Rejection {
                    source: Source::Unit {
                        relation: format!("{}:{}", wire::ENDPOINT, site.relation_id),
                        unit: site.owner().to_owned(),
                    },
                    service: Some(site.primary().to_string()),
                    field: "certificate".into(),
                    reason: message,
                });
            }
        }
        out
    }
}

/// HTTP-01 answers through HAProxy: the map file (survives reloads) and the runtime API.
struct HaproxyBoard {
    map_file: PathBuf,
    admin_socket: PathBuf,
    entries: RefCell<BTreeMap<String, String>>,
}

impl HaproxyBoard {
    fn write_file(&self) -> Result<(), String> {
        let text: String = self
            .entries
            .borrow()
            .iter()
            .map(|(t, k)| format!("{t} {k}\n"))
            .collect();
        acme::state::write_private(&self.map_file, text.as_bytes()).map_err(|e| e.to_string())
    }

    fn runtime(&self, command: &str) -> Result<String, String> {
        socket_command(&self.admin_socket, command, Duration::from_secs(5))
            .map_err(|e| e.to_string())
    }
}

impl ChallengeBoard for HaproxyBoard {
    fn publish(&self, token: &str, key_authorization: &str) -> Result<(), String> {
        self.entries
            .borrow_mut()
            .insert(token.to_owned(), key_authorization.to_owned());
        self.write_file()?;
        let map = self.map_file.display();
        // A bare `add map` would duplicate an existing key (§4.5).
        let _ = self.runtime(&format!("del map {map} {token}"));
        let answer = self.runtime(&format!("add map {map} {token} {key_authorization}"))?;
        if answer.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("HAProxy answered add map: {}", answer.trim()))
        }
    }

    fn withdraw(&self, token: &str) {
        self.entries.borrow_mut().remove(token);
        if let Err(e) = self.write_file() {
            tracing::warn!("cannot rewrite the challenge map: {e}");
        }
        let _ = self.runtime(&format!("del map {} {token}", self.map_file.display()));
    }
}

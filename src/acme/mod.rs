//! Certificates for ssl-termination sites (`spec/ssl-termination.md` §4.2, §4.3, §4.5, §4.6):
//! what is on disk, what is due, issuance through ACME ([`client`]) or self-signed, back-off per
//! site, retirement of removed sites' certificates, and the site states the interface reports.
//!
//! Files: `<certs>/<primary>.pem` (chain + key, 0600), `<certs>/default.pem`,
//! `<certs>/retired/`, the state file and `<state>/acme/` accounts (all 0600, dirs 0700).
//! This module never reads relation data and never runs HAProxy: challenges go through the
//! [`client::ChallengeBoard`] the caller gives, and reloading is the caller's job.

pub mod client;
pub mod http;
pub mod state;
pub mod x509;

use client::{ChallengeBoard, Client, Directory};
use state::{CertOrigin, SiteRecord, State, StateError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use x509::{rfc3339, UnixTime};

/// `certificate_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateSource {
    Acme,
    SelfSigned,
}

/// The §4.2 options that concern certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOptions {
    pub directory_url: String,
    pub ca_certificate: Option<String>,
    /// `acme_contact_email`: used when a request gives none.
    pub contact: Option<String>,
    /// Seconds to the first retry; doubles, capped at 6 h.
    pub retry_interval_s: u64,
    pub source: CertificateSource,
    pub self_signed_fallback: bool,
}

/// Where certificate files live.
#[derive(Debug, Clone)]
pub struct CertPaths {
    /// `D/certs` (0700).
    pub certs_dir: PathBuf,
    /// `/var/lib/haproxy-lb/ssl-termination.json`.
    pub state_file: PathBuf,
    /// `/var/lib/haproxy-lb/acme`.
    pub account_dir: PathBuf,
}

impl CertPaths {
    pub fn cert_file(&self, primary: &str) -> PathBuf {
        self.certs_dir.join(format!("{primary}.pem"))
    }
    pub fn default_cert(&self) -> PathBuf {
        self.certs_dir.join("default.pem")
    }
    pub fn crt_list(&self) -> PathBuf {
        self.certs_dir.join("crt-list")
    }
    fn retired(&self, primary: &str) -> PathBuf {
        self.certs_dir
            .join("retired")
            .join(format!("{primary}.pem"))
    }
}

/// One site as far as certificates care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// All names; the first is the primary.
    pub names: Vec<String>,
    /// The request's contact, else `acme_contact_email`.
    pub contact: Option<String>,
}

impl Wanted {
    pub fn primary(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }
}

/// What a site has and needs right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The file to serve, if any certificate is on disk for this site.
    pub served: Option<PathBuf>,
    pub origin: Option<CertOrigin>,
    pub not_after: Option<UnixTime>,
    /// Serving a valid certificate for the exact names from the configured source.
    pub ready: bool,
    /// A new certificate should be obtained (§4.5 "Due").
    pub due: bool,
    /// The last failure and when the next attempt may run.
    pub failure: Option<String>,
    pub backing_off: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot make a self-signed certificate for {name}: {detail}")]
    SelfSigned { name: String, detail: String },
    #[error("cannot move {path}: {source}")]
    Move {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn source_name(options: &AcmeOptions) -> &'static str {
    match options.source {
        CertificateSource::Acme => "acme",
        CertificateSource::SelfSigned => "self-signed",
    }
}

/// Any change of names, directory, CA, contact or source resets the back-off (§4.5).
fn attempt_key(wanted: &Wanted, options: &AcmeOptions) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        wanted.names.join(","),
        options.directory_url,
        options.ca_certificate.as_deref().map_or(0, str::len),
        wanted.contact.as_deref().unwrap_or(""),
        source_name(options)
    )
}

/// Decide for one site from the state and the files (no network, no writes).
pub fn assess(
    state: &State,
    wanted: &Wanted,
    options: &AcmeOptions,
    paths: &CertPaths,
    now: UnixTime,
) -> Assessment {
    let record = state.sites.get(wanted.primary());
    let file = paths.cert_file(wanted.primary());
    let on_disk = record.filter(|r| r.origin.is_some() && file.is_file());
    let configured = match options.source {
        CertificateSource::Acme => CertOrigin::Acme,
        CertificateSource::SelfSigned => CertOrigin::SelfSigned,
    };
    let valid_now = |r: &SiteRecord| {
        r.not_before.is_some_and(|b| b <= now + 300) && r.not_after.is_some_and(|a| a > now)
    };
    let exact = |r: &SiteRecord| {
        r.names == wanted.names
            && r.origin == Some(configured)
            && (configured != CertOrigin::Acme || r.directory == options.directory_url)
    };
    let ready = on_disk.is_some_and(|r| exact(r) && valid_now(r));
    let renew_soon = on_disk.is_some_and(|r| match (r.not_before, r.not_after) {
        (Some(b), Some(a)) => now >= a - (a - b) / 3,
        _ => true,
    });
    let due = !ready || renew_soon;
    let key = attempt_key(wanted, options);
    let (failure, backing_off) = match record {
        Some(r) if r.failures > 0 && r.attempt_key == key => (
            r.last_error.clone(),
            r.next_attempt.is_some_and(|t| t > now),
        ),
        _ => (None, false),
    };
    // A certificate is served while valid, even when due (old ones serve during renewal,
    // §4.2, checklist 13); an expired one is not.
    let served = on_disk.filter(|r| r.not_after.is_some_and(|a| a > now));
    Assessment {
        served: served.map(|_| file.clone()),
        origin: served.and_then(|r| r.origin),
        not_after: served.and_then(|r| r.not_after),
        ready,
        due,
        failure,
        backing_off,
    }
}

/// Make sure `default.pem` exists and holds a readable certificate (HAProxy refuses an empty
/// crt-list, §4.3, and refuses the whole ssl part when it cannot load this file).
pub fn ensure_default_cert(paths: &CertPaths) -> Result<PathBuf, CertError> {
    let path = paths.default_cert();
    let readable = std::fs::read(&path).is_ok_and(|pem| x509::validity(&pem).is_some());
    if !readable {
        let pem = self_signed(&["haproxy-lb.invalid".to_owned()], 3650)?;
        state::write_private(&path, pem.as_bytes())?;
    }
    Ok(path)
}

/// A self-signed certificate + key (rcgen, ECDSA P-256, CN = first name, every name a SAN).
pub fn self_signed(names: &[String], days: i64) -> Result<String, CertError> {
    let fail = |detail: String| CertError::SelfSigned {
        name: names.first().cloned().unwrap_or_default(),
        detail,
    };
    let key = rcgen::KeyPair::generate().map_err(|e| fail(e.to_string()))?;
    let mut params =
        rcgen::CertificateParams::new(names.to_vec()).map_err(|e| fail(e.to_string()))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&key).map_err(|e| fail(e.to_string()))?;
    Ok(format!("{}{}", cert.pem(), key.serialize_pem()))
}

/// Store a certificate for `wanted` and record it.
fn install(
    state: &mut State,
    paths: &CertPaths,
    wanted: &Wanted,
    pem: &str,
    origin: CertOrigin,
    directory: &str,
) -> Result<(), CertError> {
    state::write_private(&paths.cert_file(wanted.primary()), pem.as_bytes())?;
    let (not_before, not_after) = x509::validity(pem.as_bytes()).unzip();
    let record = state.sites.entry(wanted.primary().to_owned()).or_default();
    record.names = wanted.names.clone();
    record.origin = Some(origin);
    record.directory = directory.to_owned();
    record.not_before = not_before;
    record.not_after = not_after;
    if origin != CertOrigin::Fallback {
        record.failures = 0;
        record.next_attempt = None;
        record.last_error = None;
    }
    Ok(())
}

/// Certificates that need no CA: `certificate_source = self-signed`, and the fallback while
/// ACME has not delivered. Returns the primaries whose file changed.
pub fn ensure_local(
    state: &mut State,
    wanted: &[Wanted],
    options: &AcmeOptions,
    paths: &CertPaths,
    now: UnixTime,
) -> Result<Vec<String>, CertError> {
    let mut changed = Vec::new();
    for w in wanted {
        restore_retired(state, w, paths, now)?;
        let a = assess(state, w, options, paths, now);
        let origin = match options.source {
            CertificateSource::SelfSigned if a.due => CertOrigin::SelfSigned,
            CertificateSource::Acme
                if options.self_signed_fallback
                    && (a.served.is_none()
                        || (a.origin == Some(CertOrigin::Fallback)
                            && state
                                .sites
                                .get(w.primary())
                                .is_some_and(|r| r.names != w.names))) =>
            {
                CertOrigin::Fallback
            }
            _ => continue,
        };
        let pem = self_signed(&w.names, 90)?;
        install(state, paths, w, &pem, origin, "")?;
        changed.push(w.primary().to_owned());
    }
    Ok(changed)
}

/// Bring back a removed site's certificate if its names return before expiry (§4.3).
fn restore_retired(
    state: &State,
    wanted: &Wanted,
    paths: &CertPaths,
    now: UnixTime,
) -> Result<(), CertError> {
    let retired = paths.retired(wanted.primary());
    let live = paths.cert_file(wanted.primary());
    let usable = state
        .sites
        .get(wanted.primary())
        .is_some_and(|r| r.not_after.is_some_and(|a| a > now));
    if usable && retired.is_file() && !live.is_file() {
        std::fs::rename(&retired, &live).map_err(|source| CertError::Move {
            path: retired,
            source,
        })?;
    }
    Ok(())
}

/// Move certificates of sites no request names any more to `retired/` (never served there).
pub fn retire_removed(
    state: &State,
    active: &[Wanted],
    paths: &CertPaths,
) -> Result<(), CertError> {
    for primary in state.sites.keys() {
        if active.iter().any(|w| w.primary() == primary) {
            continue;
        }
        let live = paths.cert_file(primary);
        if live.is_file() {
            let retired = paths.retired(primary);
            state::write_private(&retired, b"")?;
            std::fs::rename(&live, &retired).map_err(|source| CertError::Move {
                path: live.clone(),
                source,
            })?;
            tracing::info!(site = %primary, "certificate retired");
        }
    }
    Ok(())
}

/// Obtain every due ACME certificate that is not backing off, within `budget` in total
/// (§4.1: at most 5 minutes of ACME per hook). Returns the primaries whose file changed.
pub fn issue_due(
    state: &mut State,
    wanted: &[Wanted],
    options: &AcmeOptions,
    paths: &CertPaths,
    board: &dyn ChallengeBoard,
    budget: Duration,
) -> Vec<String> {
    let mut changed = Vec::new();
    if options.source != CertificateSource::Acme {
        return changed;
    }
    let start = Instant::now();
    for w in wanted {
        let now = x509::now();
        let a = assess(state, w, options, paths, now);
        if !a.due || a.backing_off {
            continue;
        }
        let left = budget.saturating_sub(start.elapsed());
        if left < Duration::from_secs(5) {
            tracing::info!(site = %w.primary(), "ACME budget of this hook used up; next hook continues");
            break;
        }
        let client = Client {
            account_dir: paths.account_dir.clone(),
            directory: Directory {
                url: options.directory_url.clone(),
                ca_certificate: options.ca_certificate.clone(),
                contact: w.contact.clone().or_else(|| options.contact.clone()),
            },
        };
        tracing::info!(site = %w.primary(), names = w.names.len(), "requesting a certificate");
        match client.issue(&w.names, board, left) {
            Ok(issued) => {
                let pem = format!(
                    "{}\n{}",
                    issued.chain_pem.trim_end(),
                    issued.key_pem.trim_end()
                ) + "\n";
                match install(
                    state,
                    paths,
                    w,
                    &pem,
                    CertOrigin::Acme,
                    &options.directory_url,
                ) {
                    Ok(()) => {
                        tracing::info!(site = %w.primary(), "certificate issued");
                        changed.push(w.primary().to_owned());
                    }
                    Err(e) => record_failure(state, w, options, &e.to_string(), now),
                }
            }
            Err(e) => record_failure(state, w, options, &e.to_string(), now),
        }
    }
    changed
}

fn record_failure(
    state: &mut State,
    wanted: &Wanted,
    options: &AcmeOptions,
    error: &str,
    now: UnixTime,
) {
    let key = attempt_key(wanted, options);
    let record = state.sites.entry(wanted.primary().to_owned()).or_default();
    if record.attempt_key != key {
        record.failures = 0;
        record.attempt_key = key;
    }
    record.failures += 1;
    let exponent = (record.failures - 1).min(20);
    let delay = options
        .retry_interval_s
        .max(1)
        .saturating_mul(1u64 << exponent)
        .min(6 * 3600);
    let next = now + i64::try_from(delay).unwrap_or(6 * 3600);
    record.next_attempt = Some(next);
    record.last_error = Some(format!("{error}; next attempt after {}", rfc3339(next)));
    tracing::warn!(site = %wanted.primary(), failures = record.failures, "{error}");
}

/// Read the state (for callers that keep it across phases).
pub fn load_state(paths: &CertPaths) -> State {
    State::load(&paths.state_file)
}

pub fn save_state(state: &State, paths: &CertPaths) -> Result<(), CertError> {
    Ok(state.save(&paths.state_file)?)
}

/// True when `path` exists and is a regular file.
pub fn exists(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests;

//! `/var/lib/haproxy-lb/ssl-termination.json` (`spec/ssl-termination.md` §4.3): per site its
//! names, the source and validity of the certificate on disk, the ACME back-off, and the
//! basic-auth password hash. 0600, written through a temp file and a rename.
//!
//! Password hashes: a stored hash is reused when the password still verifies against it, so
//! unchanged credentials keep `haproxy.cfg` byte-identical (§4.4, checklist 8). The plaintext
//! is never stored.

use super::x509::UnixTime;
use crate::plan::CryptHash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;

use std::path::{Path, PathBuf};

/// Where a certificate on disk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertOrigin {
    Acme,
    /// `certificate_source = self-signed`.
    SelfSigned,
    /// `self_signed_fallback` while ACME has not delivered: served, never "ready".
    Fallback,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// The names the certificate on disk covers.
    pub names: Vec<String>,
    pub origin: Option<CertOrigin>,
    /// The ACME directory that issued it.
    #[serde(default)]
    pub directory: String,
    pub not_before: Option<UnixTime>,
    pub not_after: Option<UnixTime>,
    /// Failed attempts in a row for `attempt_key`.
    #[serde(default)]
    pub failures: u32,
    pub next_attempt: Option<UnixTime>,
    pub last_error: Option<String>,
    /// What the failures were for (names, options): any change resets the back-off (§4.5).
    #[serde(default)]
    pub attempt_key: String,
    pub user: Option<String>,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Keyed by primary name.
    pub sites: BTreeMap<String, SiteRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl State {
    /// Read the file; a missing or unreadable one is an empty state (the certificates are
    /// then re-checked from scratch, never lost: files stay on disk).
    pub fn load(path: &Path) -> State {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %path.display(), error = %e, "unreadable ssl-termination state; starting afresh");
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_private(path, &bytes)
    }

    /// The hash for `user`/`password` of site `primary`: the stored one if it still verifies,
    /// else a new one with a fresh 16-character salt.
    pub fn password_hash(
        &mut self,
        primary: &str,
        user: &str,
        password: &str,
    ) -> Result<CryptHash, StateError> {
        let record = self.sites.entry(primary.to_owned()).or_default();
        if let (Some(u), Some(stored)) = (&record.user, &record.password_hash) {
            if u == user && verify(password, stored) {
                if let Ok(hash) = CryptHash::new(stored) {
                    return Ok(hash);
                }
            }
        }
        let salt = random_salt()?;
        let hash = crate::charm_config::sha512_crypt(password, &salt)
            .unwrap_or_else(|| unreachable!("sha512_crypt with a 16-character crypt salt"));
        record.user = Some(user.to_owned());
        record.password_hash = Some(hash.to_string());
        Ok(hash)
    }
}

/// glibc-compatible check: hash `password` with the stored salt and compare.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(""), Some("6"), Some(salt)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if salt.starts_with("rounds=") {
        return false;
    }
    crate::charm_config::sha512_crypt(password, salt).is_some_and(|h| h.as_str() == stored)
}

const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_salt() -> Result<String, StateError> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| StateError::Io {
            action: "read",
            path: "/dev/urandom".into(),
            source,
        })?;
    Ok(bytes
        .iter()
        .map(|b| CRYPT_ALPHABET[usize::from(b & 63)] as char)
        .collect())
}

/// Write `bytes` to `path` with mode 0600 (parent 0700), atomically (`crate::private_file`).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    crate::private_file::write(path, bytes, 0o600).map_err(|e| StateError::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_spec_hash_vector_verifies() {
        let stored = "$6$abcdefgh$3rj1vTLX64btReFsM4MQ22otcD40l7vbtw7qCyr0dxc4kxNmgx53xVM8gWiLYbCqTHTbXFaVFU7ZT28pnvdyu0";
        assert!(verify("test", stored));
        assert!(!verify("test2", stored));
    }

    #[test]
    fn unchanged_credentials_reuse_the_hash_and_changes_make_a_new_one() {
        let mut state = State::default();
        let first = state
            .password_hash("a.example.com", "admin", "pw1")
            .unwrap();
        let again = state
            .password_hash("a.example.com", "admin", "pw1")
            .unwrap();
        assert_eq!(first, again);
        let changed = state
            .password_hash("a.example.com", "admin", "pw2")
            .unwrap();
        assert_ne!(first, changed);
        assert!(verify("pw2", changed.as_str()));
        let salt = changed.as_str().split('$').nth(2).unwrap();
        assert_eq!(salt.len(), 16);
    }

    #[test]
    fn state_is_saved_0600_without_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/ssl-termination.json");
        let mut state = State::default();
        state
            .password_hash("a.example.com", "admin", "hunter2-secret")
            .unwrap();
        state.save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("hunter2-secret"));
        assert_eq!(State::load(&path), state);
    }
}

//! The `http` interface (`spec/http.md`): `reverseproxy` (web charms behind us) in,
//! `website` (us to consumers) and the `reverseproxy` answer out.
//!
//! - [`services`]: the classic `services` YAML schema (§2, §6).
//! - [`reverseproxy`]: relation data + config to `ServiceRequest`s and `Rejection`s (§3).
//! - [`website`]: what we publish on `website` and `reverseproxy` (§1, §4).
//!
//! Pure functions over snapshots and config values: nothing here calls hook tools, writes files
//! or touches HAProxy. Files the plan needs (certificates, error responses) are returned as
//! [`GeneratedFile`]s for the caller to write.
//!
//! How a reconcile uses it:
//! 1. `reverseproxy::parse_config_services(config["services"])`: on `Err`, block the unit with
//!    the message and keep the last valid entries (§3 step 1).
//! 2. `reverseproxy::parse(&Inputs { .. })` with every `reverseproxy` snapshot (broken relations
//!    and departed units left out): requests in precedence order, rejections, files.
//! 3. Write `Outcome::files` (mode as given), then `plan::build` with these requests after the
//!    config's and before other interfaces', render, `haproxy -c`, install.
//! 4. For each `website` snapshot: `website::website_bag(&plan, &outcome, &snapshot)`; for each
//!    `reverseproxy` snapshot: `website::reverseproxy_bag(public_address, default_cert_pem)`;
//!    write `website::changes(local_bag, desired, &KEYS)` with `relation-set --file -`.

pub mod base64;
pub mod reverseproxy;
pub mod services;
pub mod website;

use crate::plan::FilePath;
use std::fmt;

/// Our endpoint that web charms relate to.
pub const REVERSEPROXY: &str = "reverseproxy";
/// Our endpoint that consumers relate to.
pub const WEBSITE: &str = "website";

/// Bytes that may be secret (a private key): never shown by `Debug`, never logged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    /// The bytes, for writing them to their file.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

/// A file the plan refers to, to be written by the caller before `haproxy -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: FilePath,
    pub contents: SecretBytes,
    /// Unix mode: 0o600 for certificates (they hold a key), 0o644 for error responses.
    pub mode: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bytes_never_show_their_contents() {
        let s = SecretBytes::new(b"-----BEGIN PRIVATE KEY-----".to_vec());
        assert_eq!(format!("{s:?}"), "SecretBytes(27 bytes)");
    }
}

//! The `services` option, kept like every other option: a value that does not parse blocks the
//! unit with a message naming the entry, and the last valid value stays in force (persisted on
//! the unit), so relation changes still apply while the operator fixes it (`spec/http.md` §3
//! step 1; issue 5 "Config the operator sets").

use crate::charm_config::ConfigProblem;
use crate::interfaces::http::reverseproxy::{parse_config_services, SERVICES_OPTION};
use crate::interfaces::http::services::ServiceEntry;
use crate::plan::Rejection;
use serde_json::{Map, Value};
use std::path::Path;

const LAST_VALID_FILE: &str = "services.last-valid.yaml";

/// What the option contributes to this reconcile.
pub struct ServicesOption {
    pub entries: Vec<ServiceEntry>,
    /// Why the current value was refused (the last valid one is in `entries`).
    pub problem: Option<ConfigProblem>,
    /// Entries kept with a part dropped (e.g. a bad `errorfiles` item).
    pub warnings: Vec<Rejection>,
}

pub fn resolve(config: &Map<String, Value>, state_dir: &Path) -> ServicesOption {
    let text = match config.get(SERVICES_OPTION) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    match parse_config_services(&text) {
        Ok((entries, warnings)) => {
            if let Err(e) = persist(state_dir, &text) {
                tracing::warn!(error = %e, "cannot persist the last valid services option");
            }
            ServicesOption {
                entries,
                problem: None,
                warnings,
            }
        }
        Err(error) => {
            let problem = ConfigProblem {
                option: SERVICES_OPTION,
                value: "<see the entry named>".into(),
                problem: error.to_string(),
            };
            let last = std::fs::read_to_string(state_dir.join(LAST_VALID_FILE)).ok();
            let entries = last
                .and_then(|t| parse_config_services(&t).ok())
                .map(|(entries, _)| entries)
                .unwrap_or_default();
            ServicesOption {
                entries,
                problem: Some(problem),
                warnings: Vec::new(),
            }
        }
    }
}

/// The option can hold `crts` (base64 certificate and private key): the copy is 0600
/// (`DESIGN.md` "Secrets").
fn persist(state_dir: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(state_dir)?;
    let path = state_dir.join(LAST_VALID_FILE);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
        // Also tightens a copy an older version wrote 0644.
        return std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    let temp = state_dir.join(format!("{LAST_VALID_FILE}.tmp"));
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(services: &str) -> Map<String, Value> {
        json!({ "services": services }).as_object().unwrap().clone()
    }

    #[test]
    fn a_bad_value_keeps_the_last_valid_one() {
        let dir = tempfile::tempdir().unwrap();
        let good = "- service_name: app\n  service_port: 81\n";
        let first = resolve(&config(good), dir.path());
        assert!(first.problem.is_none());
        assert_eq!(first.entries.len(), 1);

        let bad = resolve(
            &config("- service_name: app\n  service_port: http\n"),
            dir.path(),
        );
        let problem = bad.problem.expect("a bad port is a problem");
        assert_eq!(problem.option, "services");
        assert!(problem.problem.contains("http"), "{problem}");
        assert_eq!(bad.entries, first.entries, "the last valid value stays");
    }

    #[test]
    fn the_kept_copy_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        resolve(
            &config("- service_name: app\n  service_port: 81\n"),
            dir.path(),
        );
        let mode = std::fs::metadata(dir.path().join(LAST_VALID_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn empty_means_no_services() {
        let dir = tempfile::tempdir().unwrap();
        let none = resolve(&config(""), dir.path());
        assert!(none.problem.is_none());
        assert!(none.entries.is_empty());
    }
}

//! `version` (`spec/actions.md`, the worker's DISCOVER): the charm's, HAProxy's and Juju's
//! versions. HAProxy's comes from the running worker (`show info`) when it runs, else from
//! `haproxy -v`, and the results say which.

use super::{result, ActionEnv, Failure, NoParams, Results};

pub fn version(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let (haproxy, source) = match env.admin().show_info() {
        Ok(info) if info.contains_key("Version") => (info["Version"].clone(), "running"),
        _ => {
            let installed = crate::install::haproxy_version(&env.settings.haproxy.haproxy_bin)
                .map_err(|e| {
                    Failure::new(format!(
                        "HAProxy is not running and its binary does not tell its version: {e}"
                    ))
                })?;
            (installed.as_str().to_owned(), "installed")
        }
    };
    let mut results = Results::new();
    result(&mut results, "charm-version", env!("CARGO_PKG_VERSION"));
    result(&mut results, "haproxy-version", haproxy);
    result(&mut results, "haproxy-version-source", source);
    result(&mut results, "juju-version", &env.ctx.juju_version);
    Ok(results)
}

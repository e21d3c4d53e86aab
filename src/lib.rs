//! haproxy-lb: a Juju machine charm that runs HAProxy for web charms.
//!
//! The flow of one hook (see `DESIGN.md`): `juju` reads the model through the hook tools,
//! `interfaces` turn relation data into typed requests, `plan` resolves them into one validated
//! plan, `render` prints `haproxy.cfg`, `haproxy` validates, installs and reloads it, and the
//! answers go back through `juju`. Dependencies point one way: `interfaces` never use `haproxy`,
//! `haproxy` never uses `interfaces` or `juju`.

pub mod acme;
pub mod actions;
pub mod charm;
pub mod charm_config;
pub mod der;
pub mod haproxy;
pub mod install;
pub mod interfaces;
pub mod juju;
pub mod lock;
pub mod logging;
pub mod plan;
pub mod private_file;
pub mod reconcile;
pub mod render;

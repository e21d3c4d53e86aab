//! jujusim: a faithful simulator of the parts of Juju a charm can observe.
//!
//! `context` is the per-hook state the hook tools act on (the contract between `tools` and the
//! runner); `tools` implements every hook tool over it. `model` holds and stores the model
//! state, `lifecycle` queues hooks for CLI operations, `engine` builds contexts, commits and
//! settles, `runner` runs one hook process, `server`/`client`/`transport` carry tool calls,
//! `machine` owns namespaces, `cli`/`report` are the command line.

pub mod actions;
pub mod charm;
pub mod cli;
pub mod client;
pub mod context;
pub mod engine;
pub mod lifecycle;
pub mod machine;
pub mod model;
pub mod report;
pub mod runner;
pub mod server;
pub mod tools;
pub mod transport;

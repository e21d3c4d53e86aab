//! jujusim: a faithful simulator of the parts of Juju a charm can observe.
//!
//! `context` is the per-hook state the hook tools act on (the contract between `tools` and the
//! runner); `tools` implements every hook tool over it.

pub mod context;
pub mod tools;

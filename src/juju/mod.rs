//! The charm's only way to the Juju model: the environment ([`Context`]) and the hook tools
//! ([`HookTools`]), typed. Nothing outside this module runs a hook tool or reads `std::env`.
//! Never touches HAProxy or relation semantics (those belong to `haproxy` and `interfaces`).

pub mod context;
pub mod error;
pub mod names;
pub mod tools;

pub use context::{
    relation_event, ActionContext, Context, ContextError, Dispatch, Invocation, JujuVersion,
    RelationContext, RelationEvent,
};
pub use error::{ToolError, ToolFailure};
pub use names::{AppName, InvalidName, PortRange, Protocol, RelationId, UnitName, WorkloadStatus};
pub use tools::{
    Bag, BindAddress, ConfigValues, HookTools, InterfaceAddress, Leader, LogLevel, NetworkInfo,
    UnitAddress,
};

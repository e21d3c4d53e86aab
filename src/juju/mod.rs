//! The charm's only way to the Juju model: the environment (`Context`) and the hook tools
//! (`HookTools`), typed. Owner: issue 3.

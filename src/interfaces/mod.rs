//! One module per relation interface: wire data in, typed requests out; answers back to wire.
//! Interfaces never touch HAProxy.

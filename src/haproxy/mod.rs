//! HAProxy itself: validate and install a config, start/reload/stop the service and verify it,
//! and talk to the runtime API. Never reads relation data or Juju. Owner: issue 5.

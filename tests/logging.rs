//! The tracing subscriber sends records to `juju-log` at the matching level inside a hook, to
//! stderr outside one, and never recurses when `juju-log` itself fails.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use haproxy_lb::juju::HookTools;
use haproxy_lb::logging::{JujuSubscriber, Sink};
use support::Recorder;
use tracing::Level;

/// A fallback writer the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn records_go_to_juju_log_at_matching_levels() {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let fallback = Captured::default();
    let subscriber = JujuSubscriber::with_fallback(
        Sink::JujuLog(tools.clone()),
        Level::DEBUG,
        Box::new(fallback.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!("e {}", 1);
        tracing::warn!(relation = "website:3", "w");
        tracing::info!("i");
        tracing::debug!(count = 2, "d");
        tracing::trace!("filtered out by the level cap");
    });
    assert_eq!(
        recorder.lines(),
        [
            "juju-log --log-level ERROR -- e 1",
            "juju-log --log-level WARNING -- w relation=\"website:3\"",
            "juju-log --log-level INFO -- i",
            "juju-log --log-level DEBUG -- d count=2",
        ]
    );
    assert_eq!(fallback.text(), "");
    assert_eq!(tools.call_count(), 4);
}

#[test]
fn failing_juju_log_falls_back_to_stderr_without_recursing() {
    let recorder = Recorder::new();
    recorder.respond_full("juju-log", "", "ERROR JUJU_CONTEXT_ID not set\n", 1);
    let tools = HookTools::new(recorder.bin_str());
    let fallback = Captured::default();
    let subscriber = JujuSubscriber::with_fallback(
        Sink::JujuLog(tools.clone()),
        Level::TRACE,
        Box::new(fallback.clone()),
    );
    tracing::subscriber::with_default(subscriber, || tracing::info!("important"));
    assert_eq!(recorder.lines(), ["juju-log --log-level INFO -- important"]);
    let text = fallback.text();
    assert!(text.contains("haproxy-lb: INFO important\n"), "{text}");
    assert!(text.contains("juju-log failed: "), "{text}");
    assert!(text.contains("ERROR JUJU_CONTEXT_ID not set"), "{text}");
}

#[test]
fn missing_juju_log_falls_back_to_stderr() {
    let fallback = Captured::default();
    let tools = HookTools::new("/nonexistent-tools-dir");
    let subscriber = JujuSubscriber::with_fallback(
        Sink::JujuLog(tools),
        Level::INFO,
        Box::new(fallback.clone()),
    );
    tracing::subscriber::with_default(subscriber, || tracing::warn!("still seen"));
    assert!(fallback.text().contains("haproxy-lb: WARN still seen\n"));
}

#[test]
fn outside_a_hook_records_go_to_stderr_only() {
    let fallback = Captured::default();
    let subscriber =
        JujuSubscriber::with_fallback(Sink::Stderr, Level::INFO, Box::new(fallback.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(port = 80, "listening");
        tracing::debug!("not shown");
    });
    assert_eq!(fallback.text(), "haproxy-lb: INFO listening port=80\n");
}

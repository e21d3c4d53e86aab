//! Where `tracing` records go: to `juju-log` at the matching level inside a hook, to stderr
//! outside one (DESIGN "Logs"). Owns only formatting and delivery of log lines.
//!
//! A small hand-written [`Subscriber`] rather than `tracing-subscriber`: we need one sink, a
//! level cap and no span bookkeeping, and hand-written code lets the recursion guard sit right
//! where delivery happens. The guard matters because delivering a record runs a hook tool: if
//! `juju-log` fails, or anything logs while a record is being delivered, the line goes to the
//! fallback writer (stderr, which Juju also files in the unit log) and never back through
//! `juju-log`.

use std::cell::Cell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::juju::{HookTools, LogLevel};

/// Where log lines are delivered.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Inside a hook: `juju-log --log-level <LEVEL> -- <line>`.
    JujuLog(HookTools),
    /// Outside a hook: the fallback writer (stderr).
    Stderr,
}

/// The subscriber. Build with [`JujuSubscriber::new`]; install with [`init`].
pub struct JujuSubscriber {
    sink: Sink,
    max_level: Level,
    fallback: Mutex<Box<dyn Write + Send>>,
    next_span: AtomicU64,
}

thread_local! {
    /// Set while this thread delivers a record through `juju-log`.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
}

impl JujuSubscriber {
    /// Records at `max_level` and more severe go to `sink`; the fallback is stderr.
    pub fn new(sink: Sink, max_level: Level) -> Self {
        Self::with_fallback(sink, max_level, Box::new(std::io::stderr()))
    }

    /// Same, with another fallback writer (tests capture it).
    pub fn with_fallback(sink: Sink, max_level: Level, fallback: Box<dyn Write + Send>) -> Self {
        Self {
            sink,
            max_level,
            fallback: Mutex::new(fallback),
            next_span: AtomicU64::new(1),
        }
    }

    fn write_fallback(&self, level: Level, line: &str) {
        if let Ok(mut out) = self.fallback.lock() {
            // Nowhere left to report a failing stderr.
            let _ = writeln!(out, "haproxy-lb: {level} {line}");
        }
    }

    fn deliver(&self, level: Level, line: &str) {
        let tools = match &self.sink {
            Sink::JujuLog(tools) if !DELIVERING.with(Cell::get) => tools,
            _ => return self.write_fallback(level, line),
        };
        DELIVERING.with(|d| d.set(true));
        let result = tools.juju_log(juju_level(level), line);
        DELIVERING.with(|d| d.set(false));
        if let Err(err) = result {
            self.write_fallback(level, line);
            self.write_fallback(Level::WARN, &format!("juju-log failed: {err}"));
        }
    }
}

/// Installs the subscriber for the whole process; a second call changes nothing.
pub fn init(sink: Sink, max_level: Level) {
    let _ = tracing::subscriber::set_global_default(JujuSubscriber::new(sink, max_level));
}

fn juju_level(level: Level) -> LogLevel {
    match level {
        Level::TRACE => LogLevel::Trace,
        Level::DEBUG => LogLevel::Debug,
        Level::INFO => LogLevel::Info,
        Level::WARN => LogLevel::Warning,
        Level::ERROR => LogLevel::Error,
    }
}

/// Collects an event's fields as `message key=value ...`.
#[derive(Default)]
struct LineBuilder {
    message: String,
    fields: String,
}

impl Visit for LineBuilder {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for JujuSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // tracing orders levels by verbosity: ERROR < WARN < ... < TRACE.
        *metadata.level() <= self.max_level
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(
            self.max_level,
        ))
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = LineBuilder::default();
        event.record(&mut line);
        let text = format!("{}{}", line.message, line.fields);
        self.deliver(*event.metadata().level(), &text);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

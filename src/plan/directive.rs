//! Free-form HAProxy lines from operators and requirers, admitted only through an allow-list.
//!
//! Classic `service_options` / `server_options` (`spec/http.md` §5) are tokenized and checked
//! keyword by keyword, argument by argument; nothing is copied through. A [`Directive`] knows
//! where it goes (frontend, backend or both, `http.md` §3 "Option placement").
//!
//! Owner: the http interface work (issue 6) fills in the allow-list. Until then every line is
//! refused, which is safe.

use super::types::InvalidValue;
use serde::Serialize;
use std::fmt;

/// Where a directive is rendered (`spec/http.md` §3 "Rendering").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Placement {
    Frontend,
    Backend,
    Both,
}

/// One allow-listed proxy directive: validated words, printed joined by single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Directive {
    words: Vec<String>,
    placement: Placement,
}

impl Directive {
    /// Check one line against the allow-list.
    pub fn parse(line: &str) -> Result<Directive, InvalidValue> {
        Err(InvalidValue::new(line, "an allow-listed HAProxy directive"))
    }

    pub fn placement(&self) -> Placement {
        self.placement
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

/// One allow-listed server option (`check`, `inter 5s`, `cookie S0`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ServerOption {
    words: Vec<String>,
}

impl ServerOption {
    pub fn parse(option: &str) -> Result<ServerOption, InvalidValue> {
        Err(InvalidValue::new(option, "an allow-listed server option"))
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

impl fmt::Display for ServerOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

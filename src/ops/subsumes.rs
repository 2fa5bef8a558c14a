//! `CodeSystem/$subsumes`: the hierarchical relation between two codes.

use super::lookup::{unknown_code_message, unknown_system};
use crate::error::{Error, Result};
use crate::ops::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Equivalent,
    Subsumes,
    SubsumedBy,
    NotSubsumed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Equivalent => "equivalent",
            Outcome::Subsumes => "subsumes",
            Outcome::SubsumedBy => "subsumed-by",
            Outcome::NotSubsumed => "not-subsumed",
        }
    }
}

pub fn subsumes(
    scope: &Scope,
    system: &str,
    version: Option<&str>,
    code_a: &str,
    code_b: &str,
) -> Result<Outcome> {
    let cs = scope
        .code_system(system, version)
        .ok_or_else(|| unknown_system(system, version))?;
    for code in [code_a, code_b] {
        if cs.concept_or_expression(code).is_none() {
            return Err(Error::NotFound(unknown_code_message(&cs, code)));
        }
    }
    let provider = super::provider::provider(&cs);
    let (a_b, b_a) = (
        provider.subsumes(code_a, code_b),
        provider.subsumes(code_b, code_a),
    );
    Ok(if code_a == code_b || (a_b && b_a) {
        Outcome::Equivalent
    } else if a_b {
        Outcome::Subsumes
    } else if b_a {
        Outcome::SubsumedBy
    } else {
        Outcome::NotSubsumed
    })
}

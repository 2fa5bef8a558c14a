//! SNOMED CT Expression Constraint Language (ECL 2.2): syntax tree, parser and evaluator.
//!
//! ```text
//! let expr = parse("<< 404684003 : 363698007 = << 39057004")?;
//! let set = evaluate(&graph, &expr, &mut Budget::unlimited())?;
//! ```

// Children reach the edition graph as `super::graph` (here `crate::graph`; in nosterm
// `crate::snomed::graph`).
use super::graph;

pub mod ast;
pub mod eval;
pub mod on_expression;
pub mod parse;

#[cfg(test)]
mod testgraph;
#[cfg(test)]
mod tests;

pub use ast::Expr;
pub use eval::{evaluate, matches, Budget, ConceptSet, EvalError};
pub use on_expression::matches_expression;
pub use parse::{parse, ParseError};

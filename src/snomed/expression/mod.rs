//! SNOMED CT Compositional Grammar (SCG 2.x): postcoordinated expressions.
//!
//! * [`parse`] / [`parse_strict`]: text → [`Expression`] (never panics);
//! * [`validate`]: concepts exist, are active, attribute names are attributes;
//! * [`render`] (HL7 display form with terms), [`Expression::canonical`] (no terms);
//! * [`normal_form`], [`render_normal_form`], [`normal_form_terse`];
//! * [`subsumes`], [`expression_is_a_concept`], [`is_a`] and iteration helpers.

mod logic;
mod parse;
mod render;
pub mod sctid;

#[cfg(test)]
mod tests;

pub use super::graph::Concrete;
pub use logic::{
    expression_is_a_concept, is_a, normal_form, subsumes, validate, ValidationError,
    CONCEPT_MODEL_ATTRIBUTE, LINKAGE_CONCEPT,
};
pub use parse::{is_expression, parse, parse_strict, ParseError};
pub use render::{normal_form_terse, render, render_normal_form};

/// `===` or `<<<` before the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefinitionStatus {
    /// `===`
    EquivalentTo,
    /// `<<<`
    SubtypeOf,
}

/// `conceptReference = conceptId [ws "|" ws term ws "|"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptRef {
    pub id: u64,
    /// The term as written, trimmed (informative only).
    pub term: Option<String>,
}

impl ConceptRef {
    pub fn new(id: u64) -> Self {
        ConceptRef { id, term: None }
    }
}

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Concept(ConceptRef),
    /// `( subExpression )`
    Expression(Box<SubExpression>),
    /// `#1`, `#1.5`, `"text"`, `true` / `false`.
    Concrete(Concrete),
}

/// `attribute = attributeName ws "=" ws attributeValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: ConceptRef,
    pub value: AttributeValue,
}

/// `subExpression = focusConcept [ws ":" ws refinement]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubExpression {
    /// At least one focus concept (joined by `+`).
    pub focus: Vec<ConceptRef>,
    /// Attributes outside any `{ }` (written first).
    pub ungrouped: Vec<Attribute>,
    /// Attribute groups `{ … }`, in order; never empty groups.
    pub groups: Vec<Vec<Attribute>>,
}

impl SubExpression {
    /// A single concept as an expression.
    pub fn concept(id: u64) -> Self {
        SubExpression {
            focus: vec![ConceptRef::new(id)],
            ungrouped: Vec::new(),
            groups: Vec::new(),
        }
    }
    /// True when there is no refinement.
    pub fn is_unrefined(&self) -> bool {
        self.ungrouped.is_empty() && self.groups.is_empty()
    }
}

/// `expression = ws [definitionStatus ws] subExpression ws`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub status: Option<DefinitionStatus>,
    pub body: SubExpression,
}

impl Expression {
    /// A single concept as an expression.
    pub fn concept(id: u64) -> Self {
        Expression {
            status: None,
            body: SubExpression::concept(id),
        }
    }

    /// The focus concept ids, in written order.
    pub fn focus_concepts(&self) -> impl Iterator<Item = u64> + '_ {
        self.body.focus.iter().map(|c| c.id)
    }

    /// Top-level attributes as (group, attribute): group 0 for ungrouped attributes, n ≥ 1
    /// for the n-th `{ }` group. Nested expressions are not descended into.
    pub fn attributes(&self) -> impl Iterator<Item = (u16, &Attribute)> + '_ {
        self.body.attributes()
    }

    /// When the expression is just one concept (no refinement, one focus), that concept.
    pub fn single_concept(&self) -> Option<u64> {
        if self.body.focus.len() == 1 && self.body.is_unrefined() {
            Some(self.body.focus[0].id)
        } else {
            None
        }
    }

    /// Every concept id mentioned anywhere (focus, names, values, nested), in written order.
    pub fn all_concepts(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.body.collect_concepts(&mut out);
        out
    }
}

impl SubExpression {
    /// (group, attribute) as in [`Expression::attributes`].
    pub fn attributes(&self) -> impl Iterator<Item = (u16, &Attribute)> + '_ {
        self.ungrouped
            .iter()
            .map(|a| (0u16, a))
            .chain(self.groups.iter().enumerate().flat_map(|(i, g)| {
                g.iter()
                    .map(move |a| ((i + 1).min(u16::MAX as usize) as u16, a))
            }))
    }

    fn collect_concepts(&self, out: &mut Vec<u64>) {
        out.extend(self.focus.iter().map(|c| c.id));
        for (_, a) in self.attributes() {
            out.push(a.name.id);
            match &a.value {
                AttributeValue::Concept(c) => out.push(c.id),
                AttributeValue::Expression(e) => e.collect_concepts(out),
                AttributeValue::Concrete(_) => {}
            }
        }
    }
}

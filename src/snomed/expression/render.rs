//! Printing expressions: the compact form without terms (`Display`), the canonical sorted
//! form ([`Expression::canonical`]), the HL7 display form with terms ([`render`]) and the
//! normal form ([`render_normal_form`], [`normal_form_terse`]).

use super::super::graph::{Cid, Graph};
use super::logic::normal_form;
use super::{
    Attribute, AttributeValue, ConceptRef, Concrete, DefinitionStatus, Expression, SubExpression,
};
use std::fmt::{self, Write};

/// How a concept reference is printed.
enum Terms<'a> {
    /// No terms.
    None,
    /// The term to print after a reference, if any.
    Lookup(&'a dyn Fn(&ConceptRef) -> Option<String>),
}

fn write_concrete(out: &mut String, c: &Concrete) {
    match c {
        Concrete::Number { text, .. } => {
            out.push('#');
            out.push_str(text);
        }
        Concrete::Text(t) => {
            out.push('"');
            for ch in t.chars() {
                if ch == '"' || ch == '\\' {
                    out.push('\\');
                }
                out.push(ch);
            }
            out.push('"');
        }
        Concrete::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

fn write_ref(out: &mut String, c: &ConceptRef, terms: &Terms<'_>) {
    let _ = write!(out, "{}", c.id);
    let term = match terms {
        Terms::Lookup(f) => f(c),
        Terms::None => None,
    };
    if let Some(t) = term {
        out.push('|');
        // A term cannot contain the delimiter; keep the output parseable.
        out.push_str(&t.replace('|', "/"));
        out.push('|');
    }
}

fn write_attr(out: &mut String, a: &Attribute, terms: &Terms<'_>) {
    write_ref(out, &a.name, terms);
    out.push('=');
    match &a.value {
        AttributeValue::Concept(c) => write_ref(out, c, terms),
        AttributeValue::Expression(e) => {
            out.push('(');
            write_sub(out, e, terms);
            out.push(')');
        }
        AttributeValue::Concrete(c) => write_concrete(out, c),
    }
}

fn write_sub(out: &mut String, s: &SubExpression, terms: &Terms<'_>) {
    for (i, f) in s.focus.iter().enumerate() {
        if i > 0 {
            out.push('+');
        }
        write_ref(out, f, terms);
    }
    if s.is_unrefined() {
        return;
    }
    out.push(':');
    let mut first = true;
    for a in &s.ungrouped {
        if !first {
            out.push(',');
        }
        first = false;
        write_attr(out, a, terms);
    }
    for g in &s.groups {
        if !first {
            out.push(',');
        }
        first = false;
        out.push('{');
        for (i, a) in g.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_attr(out, a, terms);
        }
        out.push('}');
    }
}

fn write_expr(out: &mut String, e: &Expression, terms: &Terms<'_>) {
    match e.status {
        Some(DefinitionStatus::EquivalentTo) => out.push_str("==="),
        Some(DefinitionStatus::SubtypeOf) => out.push_str("<<<"),
        None => {}
    }
    write_sub(out, &e.body, terms);
}

/// The compact form without terms, in written order: `128241005:{363698007=181268008}`.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_expr(&mut s, self, &Terms::None);
        f.write_str(&s)
    }
}

impl fmt::Display for SubExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_sub(&mut s, self, &Terms::None);
        f.write_str(&s)
    }
}

impl Expression {
    /// A canonical string without terms, for equality and caching: focus concepts sorted
    /// and deduplicated, attributes sorted within their group, groups sorted, duplicates
    /// removed, nested expressions canonical too, `===` (the default) omitted. It does not
    /// apply the concept model: use [`super::normal_form`] for semantic equality.
    pub fn canonical(&self) -> String {
        let mut e = self.clone();
        if e.status == Some(DefinitionStatus::EquivalentTo) {
            e.status = None;
        }
        canonicalize(&mut e.body);
        e.to_string()
    }
}

/// Sorts a sub-expression into canonical order, in place (terms dropped).
pub(crate) fn canonicalize(s: &mut SubExpression) {
    for f in &mut s.focus {
        f.term = None;
    }
    s.focus.sort_by_key(|f| f.id);
    s.focus.dedup_by_key(|f| f.id);
    canonicalize_set(&mut s.ungrouped);
    for g in &mut s.groups {
        canonicalize_set(g);
    }
    let mut keyed: Vec<(String, Vec<Attribute>)> = std::mem::take(&mut s.groups)
        .into_iter()
        .map(|g| (group_key(&g), g))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    s.groups = keyed.into_iter().map(|(_, g)| g).collect();
}

fn canonicalize_set(set: &mut Vec<Attribute>) {
    for a in set.iter_mut() {
        a.name.term = None;
        match &mut a.value {
            AttributeValue::Concept(c) => c.term = None,
            AttributeValue::Expression(e) => canonicalize(e),
            AttributeValue::Concrete(_) => {}
        }
    }
    let mut keyed: Vec<(u64, String, Attribute)> = std::mem::take(set)
        .into_iter()
        .map(|a| (a.name.id, value_key(&a.value), a))
        .collect();
    keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    keyed.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    *set = keyed.into_iter().map(|(_, _, a)| a).collect();
}

fn value_key(v: &AttributeValue) -> String {
    let mut s = String::new();
    match v {
        AttributeValue::Concept(c) => {
            let _ = write!(s, "{}", c.id);
        }
        AttributeValue::Expression(e) => {
            s.push('(');
            write_sub(&mut s, e, &Terms::None);
            s.push(')');
        }
        AttributeValue::Concrete(c) => write_concrete(&mut s, c),
    }
    s
}

fn group_key(g: &[Attribute]) -> String {
    let mut s = String::new();
    for (i, a) in g.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write_attr(&mut s, a, &Terms::None);
    }
    s
}

/// The display form HL7 expects: compact, every concept followed by `|term|` where `term`
/// gives the preferred term in the requested language (concepts unknown to the graph keep
/// the term written in the expression, if any), ungrouped attributes first, then `{ }`
/// groups, separated by `,`; nested expressions in parentheses; concrete values as written.
/// `128241005|Inflammatory disease of liver|:{363698007|Finding site|=181268008|Entire liver|}`
pub fn render<G: Graph + ?Sized>(g: &G, e: &Expression, term: &dyn Fn(Cid) -> String) -> String {
    let lookup = |c: &ConceptRef| -> Option<String> {
        match g.concept(c.id) {
            Some(cid) => {
                let t = term(cid);
                if t.is_empty() {
                    c.term.clone()
                } else {
                    Some(t)
                }
            }
            None => c.term.clone(),
        }
    };
    let mut s = String::new();
    write_expr(&mut s, e, &Terms::Lookup(&lookup));
    s
}

/// The normal form ([`normal_form`]) rendered with terms.
pub fn render_normal_form<G: Graph + ?Sized>(
    g: &G,
    e: &Expression,
    term: &dyn Fn(Cid) -> String,
) -> String {
    render(g, &normal_form(g, e), term)
}

/// The normal form ([`normal_form`]) without terms (`normalFormTerse`).
pub fn normal_form_terse<G: Graph + ?Sized>(g: &G, e: &Expression) -> String {
    normal_form(g, e).to_string()
}

//! Whether a postcoordinated expression satisfies an ECL constraint: the expression is read
//! in its normal form (focus concepts and every attribute, its own and those its focus
//! concepts define), then each part of the constraint is checked against it as the ECL
//! specification checks a concept against its relationships.
//!
//! An expression is no member of a reference set, has no descriptions and is the ancestor of
//! no concept: `^`, description / concept filters and ancestor operators never select it.

use super::ast::{CmpOp, Comparison, ConstraintOp, EqOp, Expr, Focus, Refinement, SubExpr};
use super::eval::{evaluate, Budget, ConceptSet, EvalError};
use super::graph::{Concrete, Graph};
use crate::snomed::expression::{self, AttributeValue, Expression};

/// Whether `e` satisfies `expr`.
pub fn matches_expression<G: Graph + ?Sized>(
    g: &G,
    expr: &Expr,
    e: &Expression,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    let nf = expression::normal_form(g, e);
    matches_nf(g, expr, e, &nf, budget)
}

fn matches_nf<G: Graph + ?Sized>(
    g: &G,
    expr: &Expr,
    e: &Expression,
    nf: &Expression,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    Ok(match expr {
        Expr::Sub(sub) => sub_matches(g, sub, e, nf, budget)?,
        Expr::Refined { focus, refinement } => {
            sub_matches(g, focus, e, nf, budget)?
                && refinement_holds(g, refinement, &attributes_of(nf), None, budget)?
        }
        Expr::And(subs) => {
            for s in subs {
                if !sub_matches(g, s, e, nf, budget)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Or(subs) => {
            for s in subs {
                if sub_matches(g, s, e, nf, budget)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Minus(a, b) => {
            sub_matches(g, a, e, nf, budget)? && !sub_matches(g, b, e, nf, budget)?
        }
        // A dotted constraint selects attribute values, which are concepts.
        Expr::Dotted { .. } => false,
    })
}

fn sub_matches<G: Graph + ?Sized>(
    g: &G,
    sub: &SubExpr,
    e: &Expression,
    nf: &Expression,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    if sub.member_of.is_some() || !sub.filters.is_empty() || sub.history.is_some() {
        return Ok(false);
    }
    let descendant = matches!(
        sub.op,
        None | Some(ConstraintOp::DescendantOf | ConstraintOp::DescendantOrSelfOf)
    );
    match &sub.focus {
        Focus::Wildcard => Ok(descendant),
        Focus::AltId { .. } => Err(EvalError::Unsupported(
            "alternate identifiers are not supported".into(),
        )),
        Focus::Nested(inner) if sub.op.is_none() => matches_nf(g, inner, e, nf, budget),
        Focus::Nested(inner) => {
            if !descendant {
                return Ok(false);
            }
            let set = evaluate(g, inner, budget)?;
            for c in set.iter() {
                budget.charge(1)?;
                if below(g, e, c, sub.op) {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Focus::Concept(r) => {
            let c = g.concept(r.id).ok_or(EvalError::UnknownConcept(r.id))?;
            Ok(match sub.op {
                None | Some(ConstraintOp::ChildOrSelfOf | ConstraintOp::ParentOrSelfOf) => {
                    equivalent(g, nf, c)
                }
                Some(ConstraintOp::AncestorOrSelfOf) => equivalent(g, nf, c),
                Some(ConstraintOp::DescendantOf | ConstraintOp::DescendantOrSelfOf) => {
                    below(g, e, c, sub.op)
                }
                // An expression is no direct child, parent or ancestor of a concept, and no
                // top or bottom of a set of concepts.
                _ => false,
            })
        }
    }
}

/// Whether `e` is below `c`: subsumed by it, and strictly so for `<`.
fn below<G: Graph + ?Sized>(g: &G, e: &Expression, c: u32, op: Option<ConstraintOp>) -> bool {
    if !expression::expression_is_a_concept(g, e, c) {
        return false;
    }
    match op {
        Some(ConstraintOp::DescendantOf) => !equivalent(g, &expression::normal_form(g, e), c),
        _ => true,
    }
}

/// Whether an expression in normal form means the concept `c`.
fn equivalent<G: Graph + ?Sized>(g: &G, nf: &Expression, c: u32) -> bool {
    let own = expression::normal_form(g, &Expression::concept(g.sctid(c)));
    own.canonical() == nf.canonical()
}

/// One attribute of an expression's normal form: its group (0: ungrouped), type and value.
struct Attr<'a> {
    group: u16,
    type_id: u64,
    value: &'a AttributeValue,
}

fn attributes_of(nf: &Expression) -> Vec<Attr<'_>> {
    nf.attributes()
        .map(|(group, a)| Attr {
            group,
            type_id: a.name.id,
            value: &a.value,
        })
        .collect()
}

/// Whether the attributes (of one group when `group` is set) satisfy a refinement.
fn refinement_holds<G: Graph + ?Sized>(
    g: &G,
    r: &Refinement,
    attrs: &[Attr],
    group: Option<u16>,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    Ok(match r {
        Refinement::And(parts) => {
            for p in parts {
                if !refinement_holds(g, p, attrs, group, budget)? {
                    return Ok(false);
                }
            }
            true
        }
        Refinement::Or(parts) => {
            for p in parts {
                if refinement_holds(g, p, attrs, group, budget)? {
                    return Ok(true);
                }
            }
            false
        }
        Refinement::Attribute(a) => {
            if a.reverse {
                // Nothing points at an expression.
                return Ok(within(a.cardinality, 0));
            }
            let names = evaluate(g, &Expr::Sub(Box::new(a.name.clone())), budget)?;
            let mut count = 0u32;
            for x in attrs.iter().filter(|x| group.is_none_or(|k| x.group == k)) {
                budget.charge(1)?;
                let named = g.concept(x.type_id).is_some_and(|t| names.contains(t));
                if named && value_matches(g, &a.comparison, x.value, budget)? {
                    count += 1;
                }
            }
            within(a.cardinality, count)
        }
        Refinement::Group { cardinality, inner } => {
            let mut groups: Vec<u16> = attrs.iter().map(|x| x.group).filter(|&k| k > 0).collect();
            groups.sort_unstable();
            groups.dedup();
            let mut count = 0u32;
            for k in groups {
                if refinement_holds(g, inner, attrs, Some(k), budget)? {
                    count += 1;
                }
            }
            within(*cardinality, count)
        }
    })
}

/// `[min..max]`, `[1..*]` when none is written.
fn within(card: Option<super::ast::Cardinality>, count: u32) -> bool {
    let (min, max) = card.map(|c| (c.min, c.max)).unwrap_or((1, None));
    count >= min && max.is_none_or(|m| count <= m)
}

fn value_matches<G: Graph + ?Sized>(
    g: &G,
    cmp: &Comparison,
    value: &AttributeValue,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    Ok(match (cmp, value) {
        (Comparison::Expr { op, value: target }, AttributeValue::Concept(r)) => {
            let set: ConceptSet = evaluate(g, &Expr::Sub(Box::new(target.clone())), budget)?;
            let inside = g.concept(r.id).is_some_and(|c| set.contains(c));
            inside == (*op == EqOp::Eq)
        }
        (Comparison::Expr { op, value: target }, AttributeValue::Expression(sub)) => {
            let nested = Expression {
                status: None,
                body: (**sub).clone(),
            };
            let expr = Expr::Sub(Box::new(target.clone()));
            let inside = matches_expression(g, &expr, &nested, budget)?;
            inside == (*op == EqOp::Eq)
        }
        (
            Comparison::Number { op, value: n },
            AttributeValue::Concrete(Concrete::Number { number, .. }),
        ) => match op {
            CmpOp::Eq => *number == n.value,
            CmpOp::Ne => *number != n.value,
            CmpOp::Lt => *number < n.value,
            CmpOp::Le => *number <= n.value,
            CmpOp::Gt => *number > n.value,
            CmpOp::Ge => *number >= n.value,
        },
        (Comparison::String { op, values }, AttributeValue::Concrete(Concrete::Text(t))) => {
            values.iter().any(|v| v == &**t) == (*op == EqOp::Eq)
        }
        (Comparison::Boolean { op, value }, AttributeValue::Concrete(Concrete::Boolean(b))) => {
            (b == value) == (*op == EqOp::Eq)
        }
        _ => false,
    })
}

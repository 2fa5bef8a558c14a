//! Validation against a graph, the necessary normal form and subsumption.

use super::super::graph::{Cid, Graph, Target};
use super::render::canonicalize;
use super::{Attribute, AttributeValue, ConceptRef, Concrete, Expression, SubExpression};
use std::collections::HashSet;
use std::fmt;

/// 410662002 |Concept model attribute|
pub const CONCEPT_MODEL_ATTRIBUTE: u64 = 410662002;
/// 106237007 |Linkage concept|
pub const LINKAGE_CONCEPT: u64 = 106237007;

/// Why an expression is not valid in an edition. `Display` gives the texts HL7's tests
/// expect (the caller prefixes "Not a valid expression: ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationError {
    /// `Concept 240280071 not found`
    NotFound(u64),
    /// `Concept 24028007 is inactive`
    Inactive(u64),
    /// `Concept 24028007 is not valid in this context (must be a descendent of one of
    /// 410662002,106237007)`: an attribute name that is not an attribute.
    NotAnAttribute(u64),
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::NotFound(id) => write!(f, "Concept {} not found", id),
            ValidationError::Inactive(id) => write!(f, "Concept {} is inactive", id),
            ValidationError::NotAnAttribute(id) => write!(
                f,
                "Concept {} is not valid in this context (must be a descendent of one of {},{})",
                id, CONCEPT_MODEL_ATTRIBUTE, LINKAGE_CONCEPT
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Checks, in written order, that every concept exists and is active and that every
/// attribute name is a descendant-or-self of 410662002 |Concept model attribute| or
/// 106237007 |Linkage concept|. The first problem is returned. The MRCM (domains and
/// ranges) is not checked.
pub fn validate<G: Graph + ?Sized>(g: &G, e: &Expression) -> Result<(), ValidationError> {
    let cma = g.concept(CONCEPT_MODEL_ATTRIBUTE);
    let link = g.concept(LINKAGE_CONCEPT);
    validate_sub(g, &e.body, cma, link)
}

fn check_concept<G: Graph + ?Sized>(g: &G, c: &ConceptRef) -> Result<Cid, ValidationError> {
    let cid = g.concept(c.id).ok_or(ValidationError::NotFound(c.id))?;
    if !g.is_active(cid) {
        return Err(ValidationError::Inactive(c.id));
    }
    Ok(cid)
}

fn validate_sub<G: Graph + ?Sized>(
    g: &G,
    s: &SubExpression,
    cma: Option<Cid>,
    link: Option<Cid>,
) -> Result<(), ValidationError> {
    for f in &s.focus {
        check_concept(g, f)?;
    }
    for (_, a) in s.attributes() {
        let name = check_concept(g, &a.name)?;
        let ok = cma.is_some_and(|p| is_a(g, name, p)) || link.is_some_and(|p| is_a(g, name, p));
        if !ok {
            return Err(ValidationError::NotAnAttribute(a.name.id));
        }
        match &a.value {
            AttributeValue::Concept(c) => {
                check_concept(g, c)?;
            }
            AttributeValue::Expression(e) => validate_sub(g, e, cma, link)?,
            AttributeValue::Concrete(_) => {}
        }
    }
    Ok(())
}

/// True when `c` is `ancestor` or a descendant of it by active inferred is-a.
pub fn is_a<G: Graph + ?Sized>(g: &G, c: Cid, ancestor: Cid) -> bool {
    if c == ancestor {
        return true;
    }
    let mut seen: HashSet<Cid> = HashSet::new();
    let mut stack = vec![c];
    while let Some(x) = stack.pop() {
        for &p in g.parents(x) {
            if p == ancestor {
                return true;
            }
            if seen.insert(p) {
                stack.push(p);
            }
        }
    }
    false
}

/// The strict ancestors of `c`.
fn ancestors<G: Graph + ?Sized>(g: &G, c: Cid) -> HashSet<Cid> {
    let mut seen: HashSet<Cid> = HashSet::new();
    let mut stack = vec![c];
    while let Some(x) = stack.pop() {
        for &p in g.parents(x) {
            if seen.insert(p) {
                stack.push(p);
            }
        }
    }
    seen
}

/// is-a on identifiers: equal ids, or both known and `is_a`.
fn id_is_a<G: Graph + ?Sized>(g: &G, c: u64, ancestor: u64) -> bool {
    if c == ancestor {
        return true;
    }
    match (g.concept(c), g.concept(ancestor)) {
        (Some(a), Some(b)) => is_a(g, a, b),
        _ => false,
    }
}

/// The most specific primitive supertypes-or-self of a concept: itself when primitive (or
/// without ancestors), else the minimal primitive ancestors.
fn proximal_primitives<G: Graph + ?Sized>(g: &G, c: Cid) -> Vec<Cid> {
    if g.is_primitive(c) {
        return vec![c];
    }
    let prims: Vec<Cid> = ancestors(g, c)
        .into_iter()
        .filter(|&a| g.is_primitive(a))
        .collect();
    let mut not_minimal: HashSet<Cid> = HashSet::new();
    for &p in &prims {
        if !not_minimal.contains(&p) {
            not_minimal.extend(ancestors(g, p));
        }
    }
    let mut out: Vec<Cid> = prims
        .into_iter()
        .filter(|p| !not_minimal.contains(p))
        .collect();
    if out.is_empty() {
        out.push(c);
    }
    out.sort_unstable();
    out
}

fn rel_attribute<G: Graph + ?Sized>(g: &G, type_id: Cid, target: &Target) -> Attribute {
    Attribute {
        name: ConceptRef::new(g.sctid(type_id)),
        value: match target {
            Target::Concept(c) => AttributeValue::Concept(ConceptRef::new(g.sctid(*c))),
            Target::Concrete(v) => AttributeValue::Concrete(v.clone()),
        },
    }
}

/// The necessary normal form of an expression, as SNOMED CT describes for comparing
/// expressions:
/// * each focus concept is replaced by its proximal primitive supertypes (a primitive concept
///   stays) plus its defining relationships (`Graph::relationships`, groups kept apart);
/// * the expression's refinements are merged in: a refinement group that refines a defining
///   group (some of its attributes are subtypes-or-self of attributes there, the others have
///   unrelated types) gives a copy of that group with the more general attributes replaced
///   (the defining group then goes as redundant); an ungrouped refinement that refines attributes of defining
///   groups replaces them there; anything else is added (ungrouped or as a new group);
/// * nested expressions are normalised recursively;
/// * redundant attributes and groups (subsumed by a more specific one) are removed;
/// * everything is sorted canonically, terms are dropped.
///
/// Identifiers unknown to the graph are kept as primitive concepts without ancestors.
/// The definition status is kept as written.
pub fn normal_form<G: Graph + ?Sized>(g: &G, e: &Expression) -> Expression {
    Expression {
        status: e.status,
        body: nf_sub(g, &e.body),
    }
}

fn nf_value<G: Graph + ?Sized>(g: &G, v: &AttributeValue) -> AttributeValue {
    match v {
        AttributeValue::Concept(c) => AttributeValue::Concept(ConceptRef::new(c.id)),
        AttributeValue::Expression(e) => {
            let n = nf_sub(g, e);
            AttributeValue::Expression(Box::new(n))
        }
        AttributeValue::Concrete(c) => AttributeValue::Concrete(c.clone()),
    }
}

fn nf_attr<G: Graph + ?Sized>(g: &G, a: &Attribute) -> Attribute {
    Attribute {
        name: ConceptRef::new(a.name.id),
        value: nf_value(g, &a.value),
    }
}

fn nf_sub<G: Graph + ?Sized>(g: &G, s: &SubExpression) -> SubExpression {
    // 1. Focus concepts → proximal primitives + definitions.
    let mut focus: Vec<u64> = Vec::new();
    let mut ungrouped: Vec<Attribute> = Vec::new();
    let mut groups: Vec<Vec<Attribute>> = Vec::new();
    for f in &s.focus {
        match g.concept(f.id) {
            None => focus.push(f.id),
            Some(c) => {
                focus.extend(proximal_primitives(g, c).into_iter().map(|p| g.sctid(p)));
                let mut current: Option<u16> = None;
                for r in g.relationships(c) {
                    let a = rel_attribute(g, r.type_id, &r.target);
                    if r.group == 0 {
                        ungrouped.push(a);
                    } else {
                        if current != Some(r.group) {
                            groups.push(Vec::new());
                            current = Some(r.group);
                        }
                        if let Some(last) = groups.last_mut() {
                            last.push(a);
                        }
                    }
                }
            }
        }
    }
    focus.sort_unstable();
    focus.dedup();
    let focus: Vec<u64> = focus
        .iter()
        .copied()
        .filter(|&a| !focus.iter().any(|&b| b != a && id_is_a(g, b, a)))
        .collect();

    // 2. Merge the refinement.
    let definition_groups = groups.len();
    for rg in &s.groups {
        let rg: Vec<Attribute> = rg.iter().map(|a| nf_attr(g, a)).collect();
        // Already implied by a group: nothing to add.
        if groups.iter().any(|dg| group_le(g, dg, &rg)) {
            continue;
        }
        // The defining group this group refines best, if any.
        let mut best: Option<(usize, usize)> = None;
        for (i, dg) in groups.iter().enumerate().take(definition_groups) {
            match (refines_group(g, &rg, dg), best) {
                (Some(n), Some((_, m))) if n <= m => {}
                (Some(n), _) => best = Some((i, n)),
                (None, _) => {}
            }
        }
        // The refined copy of the defining group joins the groups; the defining group
        // itself is then redundant and goes below (it stays available for other
        // refinement groups).
        match best {
            Some((i, _)) => {
                let mut merged = groups[i].clone();
                merge_into(g, &mut merged, &rg);
                groups.push(merged);
            }
            None => groups.push(rg),
        }
    }
    for ra in &s.ungrouped {
        let ra = nf_attr(g, ra);
        if ungrouped
            .iter()
            .chain(groups.iter().flatten())
            .any(|d| attr_le(g, d, &ra))
        {
            continue; // already implied
        }
        let mut placed = false;
        for dg in groups.iter_mut().take(definition_groups) {
            if dg.iter().any(|d| attr_le(g, &ra, d)) {
                merge_into(g, dg, std::slice::from_ref(&ra));
                placed = true;
            }
        }
        if !placed {
            ungrouped.push(ra);
        }
    }

    // 3. Remove redundancy.
    for gr in &mut groups {
        remove_redundant_attributes(g, gr);
    }
    remove_redundant_attributes(g, &mut ungrouped);
    let mut keep = vec![true; groups.len()];
    for i in 0..groups.len() {
        for j in 0..groups.len() {
            if i != j && keep[j] && keep[i] && group_le(g, &groups[j], &groups[i]) {
                // j is as specific as i: drop i unless they are equivalent and i comes first.
                if !(group_le(g, &groups[i], &groups[j]) && i < j) {
                    keep[i] = false;
                }
            }
        }
    }
    let groups: Vec<Vec<Attribute>> = groups
        .into_iter()
        .zip(keep)
        .filter_map(|(gr, k)| k.then_some(gr))
        .collect();
    let ungrouped: Vec<Attribute> = ungrouped
        .into_iter()
        .filter(|u| !groups.iter().any(|gr| gr.iter().any(|a| attr_le(g, a, u))))
        .collect();

    let mut out = SubExpression {
        focus: focus.into_iter().map(ConceptRef::new).collect(),
        ungrouped,
        groups,
    };
    canonicalize(&mut out);
    out
}

/// When every attribute of `rg` either refines (is-a) an attribute of `dg` or has a type
/// unrelated to those of `dg`, and at least one refines: the number of refining ones.
fn refines_group<G: Graph + ?Sized>(g: &G, rg: &[Attribute], dg: &[Attribute]) -> Option<usize> {
    let mut related = 0;
    for r in rg {
        let same_type: Vec<&Attribute> = dg
            .iter()
            .filter(|d| types_related(g, r.name.id, d.name.id))
            .collect();
        if same_type.is_empty() {
            continue;
        }
        if same_type.iter().any(|d| attr_le(g, r, d)) {
            related += 1;
        } else {
            // Conflicting, or more general than the group's own value: not a refinement of it.
            return None;
        }
    }
    (related > 0).then_some(related)
}

fn types_related<G: Graph + ?Sized>(g: &G, a: u64, b: u64) -> bool {
    id_is_a(g, a, b) || id_is_a(g, b, a)
}

/// Merges refinement attributes into a group: a more specific attribute replaces the more
/// general ones it refines, an attribute already implied is skipped, others are added.
fn merge_into<G: Graph + ?Sized>(g: &G, group: &mut Vec<Attribute>, refinement: &[Attribute]) {
    for r in refinement {
        if group.iter().any(|d| attr_le(g, d, r)) {
            continue;
        }
        group.retain(|d| !attr_le(g, r, d));
        group.push(r.clone());
    }
}

fn remove_redundant_attributes<G: Graph + ?Sized>(g: &G, set: &mut Vec<Attribute>) {
    let mut keep = vec![true; set.len()];
    for i in 0..set.len() {
        for j in 0..set.len() {
            if i != j
                && keep[i]
                && keep[j]
                && attr_le(g, &set[j], &set[i])
                && !(attr_le(g, &set[i], &set[j]) && i < j)
            {
                keep[i] = false;
            }
        }
    }
    let old = std::mem::take(set);
    *set = old
        .into_iter()
        .zip(keep)
        .filter_map(|(a, k)| k.then_some(a))
        .collect();
}

/// `b` is as specific as `a` or more: its type is-a a's type and its value is-a a's value.
fn attr_le<G: Graph + ?Sized>(g: &G, b: &Attribute, a: &Attribute) -> bool {
    id_is_a(g, b.name.id, a.name.id) && value_le(g, &b.value, &a.value)
}

/// Group `b` is as specific as group `a`: every attribute of `a` has one in `b` at least as
/// specific.
fn group_le<G: Graph + ?Sized>(g: &G, b: &[Attribute], a: &[Attribute]) -> bool {
    a.iter().all(|x| b.iter().any(|y| attr_le(g, y, x)))
}

fn concrete_eq(a: &Concrete, b: &Concrete) -> bool {
    match (a, b) {
        (Concrete::Number { number: x, .. }, Concrete::Number { number: y, .. }) => x == y,
        (Concrete::Text(x), Concrete::Text(y)) => x == y,
        (Concrete::Boolean(x), Concrete::Boolean(y)) => x == y,
        _ => false,
    }
}

/// Values of normal forms: `b` is-a `a` (concepts by is-a, nested expressions by
/// subsumption of their normal forms, concrete values by equality).
fn value_le<G: Graph + ?Sized>(g: &G, b: &AttributeValue, a: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (b, a) {
        (V::Concept(x), V::Concept(y)) => id_is_a(g, x.id, y.id),
        (V::Concrete(x), V::Concrete(y)) => concrete_eq(x, y),
        (V::Expression(x), V::Concept(y)) => {
            // Quick path: a focus of x is-a y.
            x.focus.iter().any(|f| id_is_a(g, f.id, y.id))
                || subsumes_nf(g, &nf_sub(g, &SubExpression::concept(y.id)), x)
        }
        (V::Concept(x), V::Expression(y)) => {
            subsumes_nf(g, y, &nf_sub(g, &SubExpression::concept(x.id)))
        }
        (V::Expression(x), V::Expression(y)) => subsumes_nf(g, y, x),
        _ => false,
    }
}

/// Does normal form `a` subsume normal form `b`?
fn subsumes_nf<G: Graph + ?Sized>(g: &G, a: &SubExpression, b: &SubExpression) -> bool {
    if !a
        .focus
        .iter()
        .all(|fa| b.focus.iter().any(|fb| id_is_a(g, fb.id, fa.id)))
    {
        return false;
    }
    let b_all: Vec<&Attribute> = b
        .ungrouped
        .iter()
        .chain(b.groups.iter().flatten())
        .collect();
    if !a
        .ungrouped
        .iter()
        .all(|x| b_all.iter().any(|y| attr_le(g, y, x)))
    {
        return false;
    }
    a.groups.iter().all(|ga| {
        b.groups.iter().any(|gb| group_le(g, gb, ga))
            // An ungrouped attribute of b stands for a group of its own.
            || b.ungrouped.iter().any(|u| group_le(g, std::slice::from_ref(u), ga))
    })
}

/// Does `a` subsume `b` (is every instance of `b` an instance of `a`)? Compares the normal
/// forms: every focus of a's is an ancestor-or-self of some focus of b's; every ungrouped
/// attribute of a is matched by an attribute of b (ungrouped or in any group) whose type and
/// value are subtypes-or-self; every group of a is matched by one group of b (or a single
/// ungrouped attribute of b) in the same way. Definition statuses are ignored.
pub fn subsumes<G: Graph + ?Sized>(g: &G, a: &Expression, b: &Expression) -> bool {
    if let Some(ac) = a.single_concept() {
        // b is-a each of its focus concepts.
        if b.body.focus.iter().any(|f| id_is_a(g, f.id, ac)) {
            return true;
        }
        if b.single_concept().is_some() {
            // Two concepts: the inferred hierarchy is complete, is-a decides.
            return false;
        }
    }
    subsumes_nf(g, &nf_sub(g, &a.body), &nf_sub(g, &b.body))
}

/// Is the expression a subtype-or-equal of the concept (the concept subsumes it)?
pub fn expression_is_a_concept<G: Graph + ?Sized>(g: &G, e: &Expression, concept: Cid) -> bool {
    subsumes(g, &Expression::concept(g.sctid(concept)), e)
}

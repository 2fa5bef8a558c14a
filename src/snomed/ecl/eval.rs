//! Evaluation of ECL expressions over a [`Graph`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;
use std::time::Instant;

use super::ast::*;
use super::graph::{ids, Acceptability, Cid, Concrete, Description, Graph, Member, Target};

// ----- ConceptSet ----------------------------------------------------------------------------

/// A set of concepts as a dense bitset over `0..concept_count`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConceptSet {
    words: Vec<u64>,
    capacity: usize,
}

impl fmt::Debug for ConceptSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl ConceptSet {
    /// An empty set able to hold `capacity` concepts.
    pub fn new(capacity: usize) -> ConceptSet {
        ConceptSet {
            words: vec![0; capacity.div_ceil(64)],
            capacity,
        }
    }

    pub fn from_cids(capacity: usize, cids: impl IntoIterator<Item = Cid>) -> ConceptSet {
        let mut s = ConceptSet::new(capacity);
        for c in cids {
            s.insert(c);
        }
        s
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    #[inline]
    pub fn contains(&self, c: Cid) -> bool {
        let i = c as usize;
        i < self.capacity && self.words[i >> 6] & (1u64 << (i & 63)) != 0
    }

    /// Inserts `c`; returns true when it was not present. Ignores out-of-range ids.
    #[inline]
    pub fn insert(&mut self, c: Cid) -> bool {
        let i = c as usize;
        if i >= self.capacity {
            return false;
        }
        let w = &mut self.words[i >> 6];
        let bit = 1u64 << (i & 63);
        let new = *w & bit == 0;
        *w |= bit;
        new
    }

    pub fn remove(&mut self, c: Cid) {
        let i = c as usize;
        if i < self.capacity {
            self.words[i >> 6] &= !(1u64 << (i & 63));
        }
    }

    /// Members in ascending Cid order.
    pub fn iter(&self) -> impl Iterator<Item = Cid> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| BitIter {
            w,
            base: (wi as u32) << 6,
        })
    }

    pub fn to_vec(&self) -> Vec<Cid> {
        self.iter().collect()
    }

    pub fn union(&self, o: &ConceptSet) -> ConceptSet {
        let mut r = self.clone();
        r.union_with(o);
        r
    }

    pub fn intersection(&self, o: &ConceptSet) -> ConceptSet {
        let mut r = self.clone();
        r.intersect_with(o);
        r
    }

    pub fn difference(&self, o: &ConceptSet) -> ConceptSet {
        let mut r = self.clone();
        r.difference_with(o);
        r
    }

    pub fn union_with(&mut self, o: &ConceptSet) {
        for (a, b) in self.words.iter_mut().zip(&o.words) {
            *a |= *b;
        }
    }

    pub fn intersect_with(&mut self, o: &ConceptSet) {
        let n = o.words.len();
        for (i, a) in self.words.iter_mut().enumerate() {
            *a &= if i < n { o.words[i] } else { 0 };
        }
    }

    pub fn difference_with(&mut self, o: &ConceptSet) {
        for (a, b) in self.words.iter_mut().zip(&o.words) {
            *a &= !*b;
        }
    }
}

struct BitIter {
    w: u64,
    base: u32,
}

impl Iterator for BitIter {
    type Item = Cid;
    #[inline]
    fn next(&mut self) -> Option<Cid> {
        if self.w == 0 {
            return None;
        }
        let t = self.w.trailing_zeros();
        self.w &= self.w - 1;
        Some(self.base + t)
    }
}

// ----- Budget and errors ---------------------------------------------------------------------

/// Bounds the work of one evaluation.
#[derive(Debug, Clone)]
pub struct Budget {
    pub deadline: Option<Instant>,
    pub max_steps: u64,
    pub steps: u64,
}

impl Budget {
    pub fn new(max_steps: u64, deadline: Option<Instant>) -> Budget {
        Budget {
            deadline,
            max_steps,
            steps: 0,
        }
    }

    pub fn unlimited() -> Budget {
        Budget {
            deadline: None,
            max_steps: u64::MAX,
            steps: 0,
        }
    }

    /// Charges `n` steps; checks the deadline each time a multiple of 4096 steps is crossed.
    #[inline]
    pub fn charge(&mut self, n: u64) -> Result<(), EvalError> {
        let old = self.steps;
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            return Err(EvalError::TooCostly);
        }
        if (old >> 12) != (self.steps >> 12) {
            if let Some(d) = self.deadline {
                if Instant::now() >= d {
                    return Err(EvalError::TooCostly);
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// A syntactically valid SCTID that is not a concept of the edition.
    UnknownConcept(u64),
    /// The step budget or the deadline was exceeded.
    TooCostly,
    /// A feature that this evaluator does not support (e.g. alternate identifiers).
    Unsupported(String),
    /// A semantically invalid constraint (e.g. an unknown dialect alias).
    Invalid(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::UnknownConcept(id) => {
                write!(f, "Unknown concept {} in the expression constraint", id)
            }
            EvalError::TooCostly => {
                write!(f, "The expression constraint is too costly to evaluate")
            }
            EvalError::Unsupported(m) => write!(f, "Not supported: {}", m),
            EvalError::Invalid(m) => write!(f, "Invalid expression constraint: {}", m),
        }
    }
}

impl std::error::Error for EvalError {}

// ----- entry points --------------------------------------------------------------------------

/// Evaluates `expr` to the set of concepts it matches.
pub fn evaluate<G: Graph + ?Sized>(
    g: &G,
    expr: &Expr,
    budget: &mut Budget,
) -> Result<ConceptSet, EvalError> {
    let mut cx = Ctx::new(g, budget);
    let r = cx.eval_expr(expr)?;
    Ok(Rc::try_unwrap(r).unwrap_or_else(|rc| (*rc).clone()))
}

/// True when concept `c` satisfies `expr`. Checks the concept directly (ancestors,
/// relationships, descriptions) where the expression allows it, else evaluates.
pub fn matches<G: Graph + ?Sized>(
    g: &G,
    expr: &Expr,
    c: Cid,
    budget: &mut Budget,
) -> Result<bool, EvalError> {
    if c as usize >= g.concept_count() {
        return Ok(false);
    }
    let mut cx = Ctx::new(g, budget);
    cx.fast = true;
    cx.match_expr(expr, c)
}

/// The language reference set of a dialect alias (`en-us`, `en-gb`, …).
pub fn dialect_refset(alias: &str) -> Option<u64> {
    Some(match alias.to_ascii_lowercase().as_str() {
        "en-us" => ids::US_ENGLISH,
        "en-gb" => ids::GB_ENGLISH,
        "en-au" => 32570271000036106,
        "en-ca" => 19491000087109,
        "fr-ca" => 20581000087109,
        "en-nz" => 271000210107,
        "en-ie" => 21000220103,
        "en-nhs-clinical" => 999001261000000100,
        "en-uk-ext" => 999001251000000103,
        "en-uk-drug" => 999000681000001101,
        "en-int-gmdn" => 608771002,
        _ => return None,
    })
}

// ----- context -------------------------------------------------------------------------------

type Set = Rc<ConceptSet>;

struct Ctx<'a, G: ?Sized> {
    g: &'a G,
    budget: &'a mut Budget,
    n: usize,
    /// Results of sub-expressions by address (the AST outlives the evaluation).
    memo: HashMap<usize, Set>,
    active: Option<Set>,
    fast: bool,
    is_a: Option<Cid>,
    stack: Vec<Cid>,
}

/// Resolved filter values, computed once per filter constraint.
struct IdSet {
    set: Option<Set>,
    ids: HashSet<u64>,
}

impl IdSet {
    fn has<G: Graph + ?Sized>(&self, g: &G, id: u64) -> bool {
        if self.ids.contains(&id) {
            return true;
        }
        match (&self.set, g.concept(id)) {
            (Some(s), Some(c)) => s.contains(c),
            _ => false,
        }
    }
}

impl<'a, G: Graph + ?Sized> Ctx<'a, G> {
    fn new(g: &'a G, budget: &'a mut Budget) -> Self {
        let n = g.concept_count();
        let is_a = g.concept(ids::IS_A);
        Ctx {
            g,
            budget,
            n,
            memo: HashMap::new(),
            active: None,
            fast: false,
            is_a,
            stack: Vec::new(),
        }
    }

    fn charge(&mut self, n: u64) -> Result<(), EvalError> {
        self.budget.charge(n)
    }

    fn resolve(&self, r: &ConceptRef) -> Result<Cid, EvalError> {
        self.g.concept(r.id).ok_or(EvalError::UnknownConcept(r.id))
    }

    fn empty(&self) -> ConceptSet {
        ConceptSet::new(self.n)
    }

    /// Whether `c` is in the substrate of `*`: an active concept inside the is-a hierarchy
    /// (it has an active parent, or it is the root). In a complete edition this is every
    /// active concept; in a subset edition it leaves out orphaned metadata concepts.
    fn in_substrate(&self, c: Cid) -> bool {
        self.g.is_active(c) && (!self.g.parents(c).is_empty() || self.g.sctid(c) == ids::ROOT)
    }

    fn all_active(&mut self) -> Result<Set, EvalError> {
        if let Some(a) = &self.active {
            return Ok(a.clone());
        }
        self.charge(self.n as u64 / 64 + 1)?;
        let mut s = self.empty();
        for c in 0..self.n as Cid {
            if self.in_substrate(c) {
                s.insert(c);
            }
        }
        let s = Rc::new(s);
        self.active = Some(s.clone());
        Ok(s)
    }

    // ----- expressions ---------------------------------------------------------------------

    fn eval_expr(&mut self, e: &Expr) -> Result<Set, EvalError> {
        match e {
            Expr::Sub(s) => self.eval_sub(s),
            Expr::And(items) => {
                let mut r = (*self.eval_sub(&items[0])?).clone();
                for s in &items[1..] {
                    let x = self.eval_sub(s)?;
                    self.charge(self.n as u64 / 256 + 1)?;
                    r.intersect_with(&x);
                }
                Ok(Rc::new(r))
            }
            Expr::Or(items) => {
                let mut r = (*self.eval_sub(&items[0])?).clone();
                for s in &items[1..] {
                    let x = self.eval_sub(s)?;
                    self.charge(self.n as u64 / 256 + 1)?;
                    r.union_with(&x);
                }
                Ok(Rc::new(r))
            }
            Expr::Minus(a, b) => {
                let x = self.eval_sub(a)?;
                let y = self.eval_sub(b)?;
                Ok(Rc::new(x.difference(&y)))
            }
            Expr::Refined { focus, refinement } => {
                let f = self.eval_sub(focus)?;
                self.refine(&f, refinement)
            }
            Expr::Dotted { focus, attributes } => {
                let mut cur = self.eval_sub(focus)?;
                for a in attributes {
                    let names = self.eval_sub(a)?;
                    let mut next = self.empty();
                    let is_a_named = self.is_a.is_some_and(|i| names.contains(i));
                    let cs: Vec<Cid> = cur.iter().collect();
                    for c in cs {
                        let rels = self.g.relationships(c);
                        self.charge(1 + rels.len() as u64)?;
                        for r in rels {
                            if let Target::Concept(t) = r.target {
                                if names.contains(r.type_id) {
                                    next.insert(t);
                                }
                            }
                        }
                        if is_a_named {
                            for &p in self.g.parents(c) {
                                next.insert(p);
                            }
                        }
                    }
                    cur = Rc::new(next);
                }
                Ok(cur)
            }
        }
    }

    fn eval_sub(&mut self, s: &SubExpr) -> Result<Set, EvalError> {
        let key = s as *const SubExpr as usize;
        if let Some(r) = self.memo.get(&key) {
            return Ok(r.clone());
        }
        let r = self.eval_sub_uncached(s)?;
        self.memo.insert(key, r.clone());
        Ok(r)
    }

    fn eval_sub_uncached(&mut self, s: &SubExpr) -> Result<Set, EvalError> {
        // 1. The focus (with member-of).
        let base: Set = if let Some(m) = &s.member_of {
            Rc::new(self.member_of(s, m)?)
        } else {
            match &s.focus {
                Focus::Concept(r) => {
                    let c = self.resolve(r)?;
                    match s.op {
                        None => Rc::new(ConceptSet::from_cids(self.n, [c])),
                        Some(op) => {
                            let mut seed = self.empty();
                            seed.insert(c);
                            Rc::new(self.apply_op(op, &seed)?)
                        }
                    }
                }
                Focus::Wildcard => {
                    let a = self.all_active()?;
                    match s.op {
                        None => a,
                        Some(op) => Rc::new(self.apply_op(op, &a)?),
                    }
                }
                Focus::AltId { .. } => {
                    return Err(EvalError::Unsupported(
                        "alternate identifiers are not supported".into(),
                    ));
                }
                Focus::Nested(e) => {
                    let x = self.eval_expr(e)?;
                    match s.op {
                        None => x,
                        Some(op) => Rc::new(self.apply_op(op, &x)?),
                    }
                }
            }
        };
        let base = if s.member_of.is_some() {
            match s.op {
                None => base,
                Some(op) => Rc::new(self.apply_op(op, &base)?),
            }
        } else {
            base
        };
        // 2. Filters.
        let mut cur = base;
        for f in &s.filters {
            let mut out = self.empty();
            match f {
                FilterConstraint::Concept(fs) => {
                    let rs = self.resolve_concept_filters(fs)?;
                    let cs: Vec<Cid> = cur.iter().collect();
                    self.charge(cs.len() as u64)?;
                    for c in cs {
                        if self.concept_filters_ok(fs, &rs, c) {
                            out.insert(c);
                        }
                    }
                }
                FilterConstraint::Description(fs) => {
                    let rs = self.resolve_desc_filters(fs)?;
                    let cs: Vec<Cid> = cur.iter().collect();
                    for c in cs {
                        let ds = self.g.descriptions(c);
                        self.charge(1 + ds.len() as u64)?;
                        if ds.iter().any(|d| desc_ok(self.g, fs, &rs, d)) {
                            out.insert(c);
                        }
                    }
                }
            }
            cur = Rc::new(out);
        }
        // 3. History supplement.
        if let Some(h) = &s.history {
            cur = Rc::new(self.history(&cur, h)?);
        }
        Ok(cur)
    }

    fn history(&mut self, base: &ConceptSet, h: &History) -> Result<ConceptSet, EvalError> {
        let profile: Option<Vec<u64>> = match h {
            History::Min => Some(vec![ids::SAME_AS]),
            History::Mod => Some(vec![
                ids::SAME_AS,
                ids::REPLACED_BY,
                ids::WAS_A,
                ids::PARTIALLY_EQUIVALENT_TO,
            ]),
            History::Max => None,
            History::Subset(_) => None,
        };
        let subset = match h {
            History::Subset(e) => Some(self.eval_expr(e)?),
            _ => None,
        };
        let profile: Option<Vec<Cid>> =
            profile.map(|v| v.iter().filter_map(|id| self.g.concept(*id)).collect());
        let mut out = base.clone();
        let cs: Vec<Cid> = base.iter().collect();
        for c in cs {
            let a = self.g.associations_into(c);
            self.charge(1 + a.len() as u64)?;
            for &(src, refset) in a {
                let ok = match (&profile, &subset) {
                    (_, Some(sub)) => sub.contains(refset),
                    (Some(p), None) => p.contains(&refset),
                    (None, None) => true,
                };
                if ok {
                    out.insert(src);
                }
            }
        }
        Ok(out)
    }

    fn member_of(&mut self, s: &SubExpr, m: &MemberOf) -> Result<ConceptSet, EvalError> {
        let refsets: Vec<Cid> = match &s.focus {
            Focus::Concept(r) => vec![self.resolve(r)?],
            Focus::Wildcard => self.g.refsets().to_vec(),
            Focus::AltId { .. } => {
                return Err(EvalError::Unsupported(
                    "alternate identifiers are not supported".into(),
                ))
            }
            Focus::Nested(e) => {
                let x = self.eval_expr(e)?;
                self.g
                    .refsets()
                    .iter()
                    .copied()
                    .filter(|r| x.contains(*r))
                    .collect()
            }
        };
        let resolved = s
            .member_filters
            .iter()
            .map(|fs| self.resolve_member_filters(fs))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = self.empty();
        for r in refsets {
            let Some(rows) = self.g.members(r) else {
                continue;
            };
            self.charge(1 + rows.len() as u64)?;
            for row in rows {
                if !self.member_ok(&s.member_filters, &resolved, row) {
                    continue;
                }
                add_member_values(self.g, &m.fields, row, &mut out);
            }
        }
        Ok(out)
    }

    /// Applies a hierarchy operator to every member of `seed`.
    fn apply_op(&mut self, op: ConstraintOp, seed: &ConceptSet) -> Result<ConceptSet, EvalError> {
        use ConstraintOp::*;
        let mut out = self.empty();
        let seeds: Vec<Cid> = seed.iter().collect();
        match op {
            ChildOf | ChildOrSelfOf | ParentOf | ParentOrSelfOf => {
                let down = matches!(op, ChildOf | ChildOrSelfOf);
                for &c in &seeds {
                    let next = if down {
                        self.g.children(c)
                    } else {
                        self.g.parents(c)
                    };
                    self.charge(1 + next.len() as u64)?;
                    for &x in next {
                        out.insert(x);
                    }
                    if matches!(op, ChildOrSelfOf | ParentOrSelfOf) {
                        out.insert(c);
                    }
                }
            }
            DescendantOf | DescendantOrSelfOf | AncestorOf | AncestorOrSelfOf => {
                let down = matches!(op, DescendantOf | DescendantOrSelfOf);
                self.closure(&seeds, down, &mut out)?;
                if matches!(op, DescendantOrSelfOf | AncestorOrSelfOf) {
                    out.union_with(seed);
                }
            }
            Top | Bottom => {
                // Top: members without a proper ancestor in the set; bottom: without a proper
                // descendant in the set.
                let mut reach = self.empty();
                self.closure(&seeds, op == Top, &mut reach)?;
                out = seed.difference(&reach);
            }
        }
        Ok(out)
    }

    /// Proper descendants (down) or ancestors (up) of all seeds, added to `out`.
    fn closure(
        &mut self,
        seeds: &[Cid],
        down: bool,
        out: &mut ConceptSet,
    ) -> Result<(), EvalError> {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.extend_from_slice(seeds);
        let mut steps = 0u64;
        while let Some(c) = stack.pop() {
            let next = if down {
                self.g.children(c)
            } else {
                self.g.parents(c)
            };
            steps += 1 + next.len() as u64;
            if steps >= 1024 {
                self.budget.charge(steps)?;
                steps = 0;
            }
            for &x in next {
                if out.insert(x) {
                    stack.push(x);
                }
            }
        }
        self.stack = stack;
        self.charge(steps)
    }

    // ----- single-concept matching ---------------------------------------------------------

    fn match_expr(&mut self, e: &Expr, c: Cid) -> Result<bool, EvalError> {
        match e {
            Expr::Sub(s) => self.match_sub(s, c),
            Expr::And(items) => {
                for s in items {
                    if !self.match_sub(s, c)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Or(items) => {
                let mut any = false;
                for s in items {
                    // Evaluate all operands so that unknown concepts are reported consistently.
                    if self.match_sub(s, c)? {
                        any = true;
                    }
                }
                Ok(any)
            }
            Expr::Minus(a, b) => {
                let x = self.match_sub(a, c)?;
                let y = self.match_sub(b, c)?;
                Ok(x && !y)
            }
            Expr::Refined { focus, refinement } => {
                if !self.match_sub(focus, c)? {
                    // Still validate the concepts of the refinement.
                    self.validate_refinement(refinement)?;
                    return Ok(false);
                }
                self.check_refinement(c, refinement, None)
            }
            Expr::Dotted { .. } => Ok(self.eval_expr(e)?.contains(c)),
        }
    }

    fn validate_refinement(&mut self, r: &Refinement) -> Result<(), EvalError> {
        match r {
            Refinement::Attribute(a) => {
                validate_sub(self.g, &a.name)?;
                if let Comparison::Expr { value, .. } = &a.comparison {
                    validate_sub(self.g, value)?;
                }
                Ok(())
            }
            Refinement::Group { inner, .. } => self.validate_refinement(inner),
            Refinement::And(v) | Refinement::Or(v) => {
                v.iter().try_for_each(|x| self.validate_refinement(x))
            }
        }
    }

    /// Cheap per-concept test of a sub-expression when its shape allows, else set membership.
    fn match_sub(&mut self, s: &SubExpr, c: Cid) -> Result<bool, EvalError> {
        let key = s as *const SubExpr as usize;
        if let Some(r) = self.memo.get(&key) {
            return Ok(r.contains(c));
        }
        if s.history.is_some()
            || matches!(s.op, Some(ConstraintOp::Top) | Some(ConstraintOp::Bottom))
        {
            return Ok(self.eval_sub(s)?.contains(c));
        }
        let base = match (&s.member_of, &s.focus, s.op) {
            (None, Focus::Concept(r), op) => {
                let x = self.resolve(r)?;
                self.hier_match(op, x, c)?
            }
            (None, Focus::Wildcard, None) => self.in_substrate(c),
            (None, Focus::Wildcard, Some(ConstraintOp::DescendantOrSelfOf)) => self.in_substrate(c),
            (None, Focus::Wildcard, Some(ConstraintOp::DescendantOf)) => {
                self.in_substrate(c) && !self.g.parents(c).is_empty()
            }
            (None, Focus::Nested(e), None) => self.match_expr(e, c)?,
            (Some(MemberOf { fields: None }), Focus::Concept(r), None) => {
                let rs = self.resolve(r)?;
                let resolved = s
                    .member_filters
                    .iter()
                    .map(|fs| self.resolve_member_filters(fs))
                    .collect::<Result<Vec<_>, _>>()?;
                match self.g.members(rs) {
                    None => false,
                    Some(rows) => {
                        self.charge(1 + rows.len() as u64)?;
                        rows.iter().any(|row| {
                            row.referenced == Some(c)
                                && self.member_ok(&s.member_filters, &resolved, row)
                        })
                    }
                }
            }
            _ => return Ok(self.eval_sub(s)?.contains(c)),
        };
        if !base {
            validate_sub(self.g, s)?;
            for f in &s.filters {
                match f {
                    FilterConstraint::Concept(fs) => drop(self.resolve_concept_filters(fs)?),
                    FilterConstraint::Description(fs) => drop(self.resolve_desc_filters(fs)?),
                }
            }
            return Ok(false);
        }
        for f in &s.filters {
            let ok = match f {
                FilterConstraint::Concept(fs) => {
                    let rs = self.resolve_concept_filters(fs)?;
                    self.concept_filters_ok(fs, &rs, c)
                }
                FilterConstraint::Description(fs) => {
                    let rs = self.resolve_desc_filters(fs)?;
                    self.g
                        .descriptions(c)
                        .iter()
                        .any(|d| desc_ok(self.g, fs, &rs, d))
                }
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether `c` is related to `x` by the hierarchy operator (None: c == x).
    fn hier_match(&mut self, op: Option<ConstraintOp>, x: Cid, c: Cid) -> Result<bool, EvalError> {
        use ConstraintOp::*;
        Ok(match op {
            None => c == x,
            Some(DescendantOf) => c != x && self.is_ancestor(x, c)?,
            Some(DescendantOrSelfOf) => c == x || self.is_ancestor(x, c)?,
            Some(ChildOf) => self.g.parents(c).contains(&x),
            Some(ChildOrSelfOf) => c == x || self.g.parents(c).contains(&x),
            Some(AncestorOf) => c != x && self.is_ancestor(c, x)?,
            Some(AncestorOrSelfOf) => c == x || self.is_ancestor(c, x)?,
            Some(ParentOf) => self.g.parents(x).contains(&c),
            Some(ParentOrSelfOf) => c == x || self.g.parents(x).contains(&c),
            Some(Top) | Some(Bottom) => true,
        })
    }

    /// True when `a` is a proper ancestor of `c` (walks up from `c`).
    fn is_ancestor(&mut self, a: Cid, c: Cid) -> Result<bool, EvalError> {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push(c);
        let mut seen: HashSet<Cid> = HashSet::new();
        let mut found = false;
        let mut steps = 0u64;
        'outer: while let Some(x) = stack.pop() {
            let ps = self.g.parents(x);
            steps += 1 + ps.len() as u64;
            for &p in ps {
                if p == a {
                    found = true;
                    break 'outer;
                }
                if seen.insert(p) {
                    stack.push(p);
                }
            }
        }
        self.stack = stack;
        self.charge(steps)?;
        Ok(found)
    }

    // ----- refinements ---------------------------------------------------------------------

    fn refine(&mut self, focus: &ConceptSet, r: &Refinement) -> Result<Set, EvalError> {
        let mut cand = focus.clone();
        if let Some(p) = self.prune(r, focus.len())? {
            cand.intersect_with(&p);
        }
        let mut out = self.empty();
        let cs: Vec<Cid> = cand.iter().collect();
        for c in cs {
            if self.check_refinement(c, r, None)? {
                out.insert(c);
            }
        }
        Ok(Rc::new(out))
    }

    /// A superset of the concepts that can satisfy `r` (None: no cheap bound).
    fn prune(&mut self, r: &Refinement, focus_len: usize) -> Result<Option<ConceptSet>, EvalError> {
        match r {
            Refinement::Attribute(a) => {
                if a.cardinality.is_some_and(|c| c.min == 0) {
                    return Ok(None);
                }
                let Comparison::Expr {
                    op: EqOp::Eq,
                    value,
                } = &a.comparison
                else {
                    return Ok(None);
                };
                let v = self.eval_sub(value)?;
                if v.len() > focus_len {
                    return Ok(None);
                }
                let names = self.eval_sub(&a.name)?;
                let is_a_named = self.is_a.is_some_and(|i| names.contains(i));
                let mut out = self.empty();
                let ts: Vec<Cid> = v.iter().collect();
                for t in ts {
                    if a.reverse {
                        let rels = self.g.relationships(t);
                        self.charge(1 + rels.len() as u64)?;
                        for rel in rels {
                            if let Target::Concept(x) = rel.target {
                                if names.contains(rel.type_id) {
                                    out.insert(x);
                                }
                            }
                        }
                        if is_a_named {
                            for &p in self.g.parents(t) {
                                out.insert(p);
                            }
                        }
                    } else {
                        let inb = self.g.inbound(t);
                        self.charge(1 + inb.len() as u64)?;
                        for i in inb {
                            if names.contains(i.type_id) {
                                out.insert(i.source);
                            }
                        }
                        if is_a_named {
                            for &ch in self.g.children(t) {
                                out.insert(ch);
                            }
                        }
                    }
                }
                Ok(Some(out))
            }
            Refinement::Group { cardinality, inner } => {
                if cardinality.is_some_and(|c| c.min == 0) {
                    return Ok(None);
                }
                self.prune(inner, focus_len)
            }
            Refinement::And(v) => {
                let mut acc: Option<ConceptSet> = None;
                for x in v {
                    // Once the bound is small, checking candidates beats scanning big value sets.
                    let limit = acc.as_ref().map_or(focus_len, |a| a.len());
                    if let Some(p) = self.prune(x, limit)? {
                        acc = Some(match acc {
                            None => p,
                            Some(a) => a.intersection(&p),
                        });
                    }
                }
                Ok(acc)
            }
            Refinement::Or(v) => {
                let mut acc = self.empty();
                for x in v {
                    match self.prune(x, focus_len)? {
                        None => return Ok(None),
                        Some(p) => acc.union_with(&p),
                    }
                }
                Ok(Some(acc))
            }
        }
    }

    /// Whether concept `c` satisfies `r`; `group` restricts attributes to one role group.
    fn check_refinement(
        &mut self,
        c: Cid,
        r: &Refinement,
        group: Option<u16>,
    ) -> Result<bool, EvalError> {
        match r {
            Refinement::Attribute(a) => {
                let n = self.count_attribute(c, a, group)?;
                let card = a.cardinality.unwrap_or(Cardinality { min: 1, max: None });
                Ok(n >= card.min && card.max.is_none_or(|m| n <= m))
            }
            Refinement::And(v) => {
                for x in v {
                    if !self.check_refinement(c, x, group)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Refinement::Or(v) => {
                for x in v {
                    if self.check_refinement(c, x, group)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Refinement::Group { cardinality, inner } => {
                let card = cardinality.unwrap_or(Cardinality { min: 1, max: None });
                let groups = self.groups_of(c, inner);
                let mut n = 0u32;
                for gnum in groups {
                    if self.check_refinement(c, inner, Some(gnum))? {
                        n += 1;
                        if card.max.is_some_and(|m| n > m) {
                            return Ok(false);
                        }
                        if card.max.is_none() && n >= card.min {
                            return Ok(true);
                        }
                    }
                }
                Ok(n >= card.min && card.max.is_none_or(|m| n <= m))
            }
        }
    }

    /// Non-zero role groups of `c` (outbound, or inbound when the group holds a reverse attribute).
    fn groups_of(&self, c: Cid, inner: &Refinement) -> Vec<u16> {
        let mut v: Vec<u16> = Vec::new();
        for r in self.g.relationships(c) {
            if r.group != 0 && v.last() != Some(&r.group) && !v.contains(&r.group) {
                v.push(r.group);
            }
        }
        if has_reverse(inner) {
            for i in self.g.inbound(c) {
                if i.group != 0 && !v.contains(&i.group) {
                    v.push(i.group);
                }
            }
        }
        v
    }

    fn in_sub(&mut self, s: &SubExpr, c: Cid) -> Result<bool, EvalError> {
        if self.fast {
            self.match_sub(s, c)
        } else {
            Ok(self.eval_sub(s)?.contains(c))
        }
    }

    fn count_attribute(
        &mut self,
        c: Cid,
        a: &Attribute,
        group: Option<u16>,
    ) -> Result<u32, EvalError> {
        let mut n = 0u32;
        if a.reverse {
            let inb = self.g.inbound(c);
            self.charge(1 + inb.len() as u64)?;
            for i in inb {
                if group.is_some_and(|gr| gr != i.group) {
                    continue;
                }
                if self.in_sub(&a.name, i.type_id)?
                    && self.value_ok(&a.comparison, &Target::Concept(i.source))?
                {
                    n += 1;
                }
            }
            if group.is_none_or(|gr| gr == 0) {
                if let Some(isa) = self.is_a {
                    if self.in_sub(&a.name, isa)? {
                        let ch = self.g.children(c);
                        self.charge(ch.len() as u64)?;
                        for &x in ch {
                            if self.value_ok(&a.comparison, &Target::Concept(x))? {
                                n += 1;
                            }
                        }
                    }
                }
            }
            return Ok(n);
        }
        let rels = self.g.relationships(c);
        self.charge(1 + rels.len() as u64)?;
        for r in rels {
            if group.is_some_and(|gr| gr != r.group) {
                continue;
            }
            if self.in_sub(&a.name, r.type_id)? && self.value_ok(&a.comparison, &r.target)? {
                n += 1;
            }
        }
        if group.is_none_or(|gr| gr == 0) {
            if let Some(isa) = self.is_a {
                if self.in_sub(&a.name, isa)? {
                    for &p in self.g.parents(c) {
                        if self.value_ok(&a.comparison, &Target::Concept(p))? {
                            n += 1;
                        }
                    }
                }
            }
        }
        Ok(n)
    }

    fn value_ok(&mut self, cmp: &Comparison, t: &Target) -> Result<bool, EvalError> {
        Ok(match (cmp, t) {
            (Comparison::Expr { op, value }, Target::Concept(x)) => {
                let inside = self.in_sub(value, *x)?;
                match op {
                    EqOp::Eq => inside,
                    EqOp::Ne => !inside,
                }
            }
            (
                Comparison::Number { op, value },
                Target::Concrete(Concrete::Number { number, .. }),
            ) => cmp_f64(*op, *number, value.value),
            (Comparison::String { op, values }, Target::Concrete(Concrete::Text(s))) => {
                let any = values.iter().any(|v| v.as_str() == &**s);
                match op {
                    EqOp::Eq => any,
                    EqOp::Ne => !any,
                }
            }
            (Comparison::Boolean { op, value }, Target::Concrete(Concrete::Boolean(b))) => match op
            {
                EqOp::Eq => b == value,
                EqOp::Ne => b != value,
            },
            _ => false,
        })
    }

    // ----- filters -------------------------------------------------------------------------

    fn resolve_spec(&mut self, spec: &ConceptSpec) -> Result<IdSet, EvalError> {
        match spec {
            ConceptSpec::Expr(s) => Ok(IdSet {
                set: Some(self.eval_sub(s)?),
                ids: HashSet::new(),
            }),
            ConceptSpec::Set(v) => {
                for r in v {
                    self.resolve(r)?;
                }
                Ok(IdSet {
                    set: None,
                    ids: v.iter().map(|r| r.id).collect(),
                })
            }
        }
    }

    fn resolve_desc_filters(
        &mut self,
        fs: &[DescriptionFilter],
    ) -> Result<Vec<Resolved>, EvalError> {
        let mut out = Vec::with_capacity(fs.len());
        for f in fs {
            out.push(match f {
                DescriptionFilter::TypeId { value, .. }
                | DescriptionFilter::Module { value, .. } => {
                    Resolved::Ids(self.resolve_spec(value)?)
                }
                DescriptionFilter::Term { terms, .. } => {
                    Resolved::Terms(terms.iter().map(Matcher::new).collect())
                }
                DescriptionFilter::Dialect {
                    dialects,
                    acceptability,
                    ..
                } => {
                    let outer = acceptability
                        .as_ref()
                        .map(|a| self.acceptability(a))
                        .transpose()?;
                    let mut v = Vec::new();
                    for d in dialects {
                        let inner = d
                            .acceptability
                            .as_ref()
                            .map(|a| self.acceptability(a))
                            .transpose()?;
                        let acc = inner.or_else(|| outer.clone());
                        match &d.dialect {
                            DialectRef::Alias(a) => {
                                let id = dialect_refset(a).ok_or_else(|| {
                                    EvalError::Invalid(format!("unknown dialect alias '{}'", a))
                                })?;
                                v.push((id, acc));
                            }
                            DialectRef::Concept(r) => {
                                self.resolve(r)?;
                                v.push((r.id, acc));
                            }
                            DialectRef::Expr(s) => {
                                let set = self.eval_sub(s)?;
                                for c in set.iter() {
                                    v.push((self.g.sctid(c), acc.clone()));
                                }
                            }
                        }
                    }
                    Resolved::Dialects(v)
                }
                _ => Resolved::None,
            });
        }
        Ok(out)
    }

    fn acceptability(&mut self, a: &AcceptabilitySet) -> Result<Vec<Acceptability>, EvalError> {
        Ok(match a {
            AcceptabilitySet::Tokens(t) => t
                .iter()
                .map(|x| match x {
                    AcceptabilityToken::Preferred => Acceptability::Preferred,
                    AcceptabilityToken::Acceptable => Acceptability::Acceptable,
                })
                .collect(),
            AcceptabilitySet::Concepts(v) => {
                let mut out = Vec::new();
                for r in v {
                    self.resolve(r)?;
                    match r.id {
                        ids::PREFERRED => out.push(Acceptability::Preferred),
                        ids::ACCEPTABLE => out.push(Acceptability::Acceptable),
                        _ => {}
                    }
                }
                out
            }
        })
    }

    fn resolve_concept_filters(
        &mut self,
        fs: &[ConceptFilter],
    ) -> Result<Vec<Resolved>, EvalError> {
        let mut out = Vec::new();
        for f in fs {
            out.push(match f {
                ConceptFilter::DefinitionStatusId { value, .. }
                | ConceptFilter::Module { value, .. } => Resolved::Ids(self.resolve_spec(value)?),
                _ => Resolved::None,
            });
        }
        Ok(out)
    }

    fn concept_filters_ok(&self, fs: &[ConceptFilter], rs: &[Resolved], c: Cid) -> bool {
        let g = self.g;
        fs.iter().zip(rs).all(|(f, r)| match (f, r) {
            (ConceptFilter::DefinitionStatusId { op, .. }, Resolved::Ids(s)) => {
                let id = if g.is_primitive(c) {
                    ids::PRIMITIVE
                } else {
                    ids::DEFINED
                };
                eq(*op, s.has(g, id))
            }
            (ConceptFilter::DefinitionStatus { op, statuses }, _) => {
                let st = if g.is_primitive(c) {
                    DefinitionStatus::Primitive
                } else {
                    DefinitionStatus::Defined
                };
                eq(*op, statuses.contains(&st))
            }
            (ConceptFilter::Module { op, .. }, Resolved::Ids(s)) => eq(*op, s.has(g, g.module(c))),
            (ConceptFilter::EffectiveTime { op, times }, _) => {
                time_ok(*op, times, g.effective_time(c))
            }
            (ConceptFilter::Active { op, value }, _) => active_ok(*op, *value, g.is_active(c)),
            _ => true,
        })
    }

    fn resolve_member_filters(&mut self, fs: &[MemberFilter]) -> Result<Vec<Resolved>, EvalError> {
        let mut out = Vec::new();
        for f in fs {
            out.push(match f {
                MemberFilter::Module { value, .. } => Resolved::Ids(self.resolve_spec(value)?),
                MemberFilter::Field {
                    comparison: FieldComparison::Expr { value, .. },
                    ..
                } => Resolved::Ids(IdSet {
                    set: Some(self.eval_sub(value)?),
                    ids: HashSet::new(),
                }),
                MemberFilter::Field {
                    comparison: FieldComparison::String { terms, .. },
                    ..
                } => Resolved::Terms(terms.iter().map(Matcher::new).collect()),
                _ => Resolved::None,
            });
        }
        Ok(out)
    }

    /// Whether a member row passes all member filter constraints (active rows only, unless an
    /// `active` member filter says otherwise).
    fn member_ok(
        &self,
        cons: &[Vec<MemberFilter>],
        resolved: &[Vec<Resolved>],
        row: &Member,
    ) -> bool {
        let explicit_active = cons
            .iter()
            .flatten()
            .any(|f| matches!(f, MemberFilter::Active { .. }));
        if !explicit_active && !row.active {
            return false;
        }
        let g = self.g;
        cons.iter().zip(resolved).all(|(fs, rs)| {
            fs.iter().zip(rs).all(|(f, r)| match (f, r) {
                (MemberFilter::Module { op, .. }, Resolved::Ids(s)) => {
                    eq(*op, s.has(g, row.module))
                }
                (MemberFilter::EffectiveTime { op, times }, _) => {
                    time_ok(*op, times, row.effective_time)
                }
                (MemberFilter::Active { op, value }, _) => active_ok(*op, *value, row.active),
                (MemberFilter::Field { name, comparison }, r) => {
                    field_ok(g, row, name, comparison, r)
                }
                _ => true,
            })
        })
    }
}

fn validate_sub<G: Graph + ?Sized>(g: &G, s: &SubExpr) -> Result<(), EvalError> {
    match &s.focus {
        Focus::Concept(r) => {
            g.concept(r.id).ok_or(EvalError::UnknownConcept(r.id))?;
        }
        Focus::Nested(e) => validate_expr(g, e)?,
        _ => {}
    }
    Ok(())
}

fn validate_expr<G: Graph + ?Sized>(g: &G, e: &Expr) -> Result<(), EvalError> {
    match e {
        Expr::Sub(s) => validate_sub(g, s),
        Expr::And(v) | Expr::Or(v) => v.iter().try_for_each(|s| validate_sub(g, s)),
        Expr::Minus(a, b) => {
            validate_sub(g, a)?;
            validate_sub(g, b)
        }
        Expr::Refined { focus, .. } => validate_sub(g, focus),
        Expr::Dotted { focus, attributes } => {
            validate_sub(g, focus)?;
            attributes.iter().try_for_each(|s| validate_sub(g, s))
        }
    }
}

fn has_reverse(r: &Refinement) -> bool {
    match r {
        Refinement::Attribute(a) => a.reverse,
        Refinement::Group { inner, .. } => has_reverse(inner),
        Refinement::And(v) | Refinement::Or(v) => v.iter().any(has_reverse),
    }
}

fn add_member_values<G: Graph + ?Sized>(
    g: &G,
    fields: &Option<RefsetFields>,
    row: &Member,
    out: &mut ConceptSet,
) {
    match fields {
        None => {
            if let Some(c) = row.referenced {
                out.insert(c);
            }
        }
        Some(RefsetFields::All) => {
            if let Some(c) = row.referenced {
                out.insert(c);
            }
            for (_, v) in &row.fields {
                if let Some(c) = field_concept(g, v) {
                    out.insert(c);
                }
            }
        }
        Some(RefsetFields::Named(names)) => {
            for n in names {
                if n.eq_ignore_ascii_case("referencedComponentId") {
                    if let Some(c) = row.referenced {
                        out.insert(c);
                    }
                } else if let Some((_, v)) =
                    row.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(n))
                {
                    if let Some(c) = field_concept(g, v) {
                        out.insert(c);
                    }
                }
            }
        }
    }
}

fn field_concept<G: Graph + ?Sized>(g: &G, v: &super::graph::FieldValue) -> Option<Cid> {
    match v {
        super::graph::FieldValue::Id(id) => g.concept(*id),
        super::graph::FieldValue::Text(t) => t.parse::<u64>().ok().and_then(|id| g.concept(id)),
        super::graph::FieldValue::Integer(_) => None,
    }
}

fn field_ok<G: Graph + ?Sized>(
    g: &G,
    row: &Member,
    name: &str,
    cmp: &FieldComparison,
    r: &Resolved,
) -> bool {
    use super::graph::FieldValue;
    let owned;
    let value: &FieldValue = if name.eq_ignore_ascii_case("referencedComponentId") {
        owned = FieldValue::Id(row.referenced_id);
        &owned
    } else {
        match row
            .fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => v,
            None => return false,
        }
    };
    match cmp {
        FieldComparison::Expr { op, .. } => {
            let inside = match (value, r) {
                (FieldValue::Id(id), Resolved::Ids(s)) => s.has(g, *id),
                (FieldValue::Text(t), Resolved::Ids(s)) => {
                    t.parse::<u64>().is_ok_and(|id| s.has(g, id))
                }
                _ => false,
            };
            eq(*op, inside)
        }
        FieldComparison::Number { op, value: n } => {
            let x = match value {
                FieldValue::Integer(i) => *i as f64,
                FieldValue::Text(t) => match t.parse::<f64>() {
                    Ok(x) => x,
                    Err(_) => return false,
                },
                FieldValue::Id(id) => *id as f64,
            };
            cmp_f64(*op, x, n.value)
        }
        FieldComparison::String { op, .. } => {
            let text = match value {
                FieldValue::Text(t) => t.to_string(),
                FieldValue::Integer(i) => i.to_string(),
                FieldValue::Id(id) => id.to_string(),
            };
            let any = match r {
                Resolved::Terms(ms) => ms.iter().any(|m| m.matches(&text)),
                _ => false,
            };
            eq(*op, any)
        }
        FieldComparison::Boolean { op, value: b } => {
            let x = match value {
                FieldValue::Integer(i) => *i != 0,
                FieldValue::Text(t) => t.eq_ignore_ascii_case("true") || &**t == "1",
                FieldValue::Id(_) => return false,
            };
            eq(*op, x == *b)
        }
        FieldComparison::Time { op, times } => {
            let x = match value {
                FieldValue::Integer(i) => *i as u32,
                FieldValue::Text(t) => t.parse::<u32>().unwrap_or(0),
                FieldValue::Id(_) => return false,
            };
            time_ok(*op, times, x)
        }
    }
}

enum Resolved {
    None,
    Ids(IdSet),
    Terms(Vec<Matcher>),
    Dialects(Vec<(u64, Option<Vec<Acceptability>>)>),
}

fn eq(op: EqOp, b: bool) -> bool {
    match op {
        EqOp::Eq => b,
        EqOp::Ne => !b,
    }
}

fn cmp_f64(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

fn time_ok(op: CmpOp, times: &[u32], t: u32) -> bool {
    match op {
        CmpOp::Eq => times.contains(&t),
        CmpOp::Ne => !times.contains(&t),
        _ => times.iter().any(|x| cmp_f64(op, t as f64, *x as f64)),
    }
}

fn active_ok(op: EqOp, v: Option<bool>, a: bool) -> bool {
    match v {
        None => op == EqOp::Eq,
        Some(v) => eq(op, a == v),
    }
}

fn desc_ok<G: Graph + ?Sized>(
    g: &G,
    fs: &[DescriptionFilter],
    rs: &[Resolved],
    d: &Description,
) -> bool {
    let explicit_active = fs
        .iter()
        .any(|f| matches!(f, DescriptionFilter::Active { .. }));
    if !explicit_active && !d.active {
        return false;
    }
    fs.iter().zip(rs).all(|(f, r)| match (f, r) {
        (DescriptionFilter::Term { op, .. }, Resolved::Terms(ms)) => {
            eq(*op, ms.iter().any(|m| m.matches(&d.term)))
        }
        (DescriptionFilter::Language { op, codes }, _) => eq(
            *op,
            codes.iter().any(|c| c.eq_ignore_ascii_case(&d.language)),
        ),
        (DescriptionFilter::TypeId { op, .. }, Resolved::Ids(s)) => eq(*op, s.has(g, d.type_id)),
        (DescriptionFilter::Type { op, types }, _) => {
            let t = match d.type_id {
                ids::FSN => Some(DescType::Fsn),
                ids::SYNONYM => Some(DescType::Synonym),
                ids::DEFINITION => Some(DescType::Definition),
                _ => None,
            };
            eq(*op, t.is_some_and(|t| types.contains(&t)))
        }
        (DescriptionFilter::Dialect { op, .. }, Resolved::Dialects(ds)) => {
            let any = ds.iter().any(|(refset, acc)| {
                d.acceptability
                    .iter()
                    .any(|(r, a)| r == refset && acc.as_ref().is_none_or(|acc| acc.contains(a)))
            });
            eq(*op, any)
        }
        (DescriptionFilter::Module { op, .. }, Resolved::Ids(s)) => eq(*op, s.has(g, d.module)),
        (DescriptionFilter::EffectiveTime { op, times }, _) => {
            time_ok(*op, times, d.effective_time)
        }
        (DescriptionFilter::Active { op, value }, _) => active_ok(*op, *value, d.active),
        (DescriptionFilter::Id { op, ids }, _) => eq(*op, ids.contains(&d.id)),
        _ => true,
    })
}

// ----- term matching -------------------------------------------------------------------------

/// A compiled search term.
struct Matcher {
    kind: SearchKind,
    /// match: lower-cased words; wild: lower-cased pattern tokens.
    words: Vec<String>,
    wild: Vec<WildTok>,
}

#[derive(Debug, Clone, PartialEq)]
enum WildTok {
    Star,
    Char(char),
}

fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

impl Matcher {
    fn new(t: &SearchTerm) -> Matcher {
        match t.kind {
            SearchKind::Match => Matcher {
                kind: SearchKind::Match,
                words: words_of(&t.text),
                wild: Vec::new(),
            },
            SearchKind::Wild => {
                let mut toks = Vec::new();
                let mut it = t.text.chars().peekable();
                while let Some(c) = it.next() {
                    if c == '\\' {
                        if let Some(n) = it.next() {
                            toks.extend(n.to_lowercase().map(WildTok::Char));
                        }
                    } else if c == '*' {
                        toks.push(WildTok::Star);
                    } else {
                        toks.extend(c.to_lowercase().map(WildTok::Char));
                    }
                }
                Matcher {
                    kind: SearchKind::Wild,
                    words: Vec::new(),
                    wild: toks,
                }
            }
        }
    }

    /// match: every search word is a prefix of some word of the term (case-insensitive);
    /// wild: the whole term matches the pattern, `*` matching any sequence.
    fn matches(&self, term: &str) -> bool {
        match self.kind {
            SearchKind::Match => {
                if self.words.is_empty() {
                    return false;
                }
                let tw = words_of(term);
                self.words
                    .iter()
                    .all(|w| tw.iter().any(|t| t.starts_with(w.as_str())))
            }
            SearchKind::Wild => {
                let t: Vec<char> = term.chars().flat_map(|c| c.to_lowercase()).collect();
                wild_match(&self.wild, &t)
            }
        }
    }
}

fn wild_match(p: &[WildTok], t: &[char]) -> bool {
    // Iterative glob matching with backtracking on the last star.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match &p[pi] {
                WildTok::Star => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                WildTok::Char(c) if *c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == WildTok::Star {
        pi += 1;
    }
    pi == p.len()
}

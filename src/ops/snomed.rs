//! SNOMED CT as a code-system provider: compose filters (`concept is-a / descendent-of / in /
//! generalizes / child-of / =`, `constraint` in ECL, attribute filters, `expressions`),
//! subsumption of concepts and postcoordinated expressions, the properties `$lookup` gives.

use std::sync::Arc;

use super::issue::{Issue, Severity};
use super::lookup::LookupProperty;
use super::members::{Member, Selection};
use super::provider::{code_property, CodeSystemProvider};
use super::Scope;
use crate::error::{Error, Result};
use crate::model::{CodeSystem, Designation, Filter, PropertyValue};
use crate::snomed::expression::{self, Expression};
use crate::snomed::graph::{ids, Cid, Graph, Target};
use crate::snomed::{ecl, Edition};

pub struct SnomedProvider<'a> {
    pub cs: &'a Arc<CodeSystem>,
    pub edition: &'a Arc<Edition>,
}

/// A code as SNOMED CT reads it: a concept, or a postcoordinated expression.
enum Code {
    Concept(Cid),
    Expression(Expression),
    Unknown,
}

impl SnomedProvider<'_> {
    fn read(&self, code: &str) -> Code {
        // An SCTID as written: digits only, no sign, no leading zero (as `CodeSystem::concept`).
        let plain =
            !code.is_empty() && !code.starts_with('0') && code.bytes().all(|b| b.is_ascii_digit());
        if let (true, Ok(id)) = (plain, code.parse::<u64>()) {
            if let Some(c) = self.edition.concept(id) {
                return Code::Concept(c);
            }
            return Code::Unknown;
        }
        if !expression::is_expression(code) {
            return Code::Unknown;
        }
        match expression::parse(code) {
            Ok(e) if expression::validate(self.edition.as_ref(), &e).is_ok() => {
                match e.single_concept().and_then(|id| self.edition.concept(id)) {
                    Some(c) if e.body.is_unrefined() => Code::Concept(c),
                    _ => Code::Expression(e),
                }
            }
            _ => Code::Unknown,
        }
    }

    /// A concept as a member: its display in the default language; its designations and
    /// any other display are read when the member is shown (`Member::sct`).
    fn concept_member(&self, c: Cid, url: &str, selection: Selection) -> Member {
        let e = self.edition;
        Member {
            system: url.to_string(),
            version: self.cs.meta.version.clone(),
            code: e.sctid(c).to_string(),
            display: e.display(c).map(str::to_string),
            designations: Vec::new(),
            inactive: !e.is_active(c),
            is_abstract: false,
            source: None,
            sct: Some((self.edition.clone(), c)),
            extensions: Vec::new(),
            selection,
        }
    }

    /// The ECL a compose filter stands for (`concept is-a X` is `<< X`…), or None for a
    /// filter that selects no concept by itself (`expressions`).
    fn filter_ecl(&self, f: &Filter) -> Result<Option<String>> {
        let value = f.value.as_deref().unwrap_or("").trim();
        let op = f.op.as_str();
        let ecl = match (f.property.as_str(), op) {
            ("expressions", "=") => return Ok(None),
            ("constraint" | "expression", "=") => f.value.clone().unwrap_or_default(),
            ("concept", "is-a") => format!("<< {value}"),
            ("concept", "descendent-of") => format!("< {value}"),
            ("concept", "child-of") => format!("<! {value}"),
            ("concept", "generalizes") => format!(">> {value}"),
            ("concept", "=") => value.to_string(),
            ("concept", "is-not-a") => format!("* MINUS << {value}"),
            ("concept", "in") => format!("^ {value}"),
            (attribute, "=") if attribute.bytes().all(|b| b.is_ascii_digit()) => {
                format!("* : {attribute} = << {value}")
            }
            (property, op) => {
                return Err(Error::NotSupported(format!(
                    "The filter '{property} {op} {value}' is not supported for SNOMED CT (filters: concept is-a, descendent-of, child-of, generalizes, =, is-not-a, in; constraint = ECL; an attribute id = a concept; expressions = true|false)"
                )))
            }
        };
        Ok(Some(ecl))
    }

    /// Every filter that selects concepts, as its ECL parsed (errors name that filter's
    /// own text and positions in it).
    fn compiled(&self, filters: &[Filter]) -> Result<Vec<(String, ecl::Expr)>> {
        let mut out = Vec::new();
        for f in filters {
            if let Some(text) = self.filter_ecl(f)? {
                let expr = self.parse_ecl(&text)?;
                out.push((text, expr));
            }
        }
        Ok(out)
    }

    fn parse_ecl(&self, text: &str) -> Result<ecl::Expr> {
        ecl::parse(text).map_err(|e| invalid_ecl(text, &e.to_string()))
    }

    fn budget(&self, scope: &Scope) -> ecl::Budget {
        ecl::Budget::new(scope.ecl_max_steps, scope.deadline)
    }
}

/// The designations an expansion shows for a concept: its FSN and preferred term in the
/// first of the language refsets for `languages` that has them.
pub fn shown_designations(e: &Edition, c: Cid, languages: &[String]) -> Vec<Designation> {
    let wanted: Vec<&str> = languages.iter().map(String::as_str).collect();
    let refsets = e.refsets_for(&wanted);
    let mut out = Vec::new();
    for (type_id, term) in [
        (ids::FSN, e.fsn(c, &refsets)),
        (ids::SYNONYM, e.preferred_term(c, &refsets)),
    ] {
        if let Some(term) = term {
            out.push(Designation {
                language: e
                    .descriptions(c)
                    .iter()
                    .find(|d| &*d.term == term)
                    .map(|d| d.language.to_string()),
                use_: Some(Arc::new(crate::model::sct::description_use(type_id))),
                value: term.to_string(),
                extensions: None,
            });
        }
    }
    out
}

/// The display of a concept in the first language of `languages` an edition's language
/// refsets have (the default ones when none).
pub fn display_in(e: &Edition, c: Cid, languages: &[String]) -> Option<String> {
    let wanted: Vec<&str> = languages.iter().map(String::as_str).collect();
    e.display_in(c, &e.refsets_for(&wanted)).map(str::to_string)
}

/// An ECL that cannot be evaluated: 400, `invalid` / `vs-invalid`, naming the expression.
fn invalid_ecl(text: &str, why: &str) -> Error {
    Error::InvalidEcl(format!("Invalid ECL expression: '{text}': ({why})"))
}

fn eval_error(text: &str, e: ecl::EvalError) -> Error {
    match e {
        ecl::EvalError::TooCostly => Error::TooCostly(format!(
            "The ECL expression '{text}' needs more work than a request may do"
        )),
        other => invalid_ecl(text, &other.to_string()),
    }
}

/// Whether a filter list leaves postcoordinated expressions out (`expressions = false`).
fn expressions_excluded(filters: &[Filter]) -> bool {
    filters
        .iter()
        .any(|f| f.property == "expressions" && f.op == "=" && f.value.as_deref() == Some("false"))
}

impl CodeSystemProvider for SnomedProvider<'_> {
    fn name(&self) -> String {
        self.cs.meta.versioned_url()
    }

    fn members(&self, scope: &Scope, filters: &[Filter], url: &str) -> Result<Vec<Member>> {
        let compiled = self.compiled(filters)?;
        let g = self.edition.as_ref();
        let mut budget = self.budget(scope);
        let mut set: Option<ecl::ConceptSet> = None;
        for (text, expr) in &compiled {
            let next = ecl::evaluate(g, expr, &mut budget).map_err(|e| eval_error(text, e))?;
            set = Some(match set {
                Some(mut s) => {
                    s.intersect_with(&next);
                    s
                }
                None => next,
            });
        }
        let (cids, selection): (Box<dyn Iterator<Item = Cid>>, _) = match &set {
            Some(s) => (Box::new(s.iter()), Selection::Filtered { hierarchy: true }),
            None if filters.is_empty() => (Box::new(self.edition.all()), Selection::WholeSystem),
            None => (
                Box::new(self.edition.all()),
                Selection::Filtered { hierarchy: false },
            ),
        };
        let mut out = Vec::with_capacity(set.as_ref().map_or(g.concept_count(), |s| s.len()));
        for (i, c) in cids.enumerate() {
            if i % 4096 == 4095 {
                scope.check_deadline()?;
            }
            out.push(self.concept_member(c, url, selection));
        }
        Ok(out)
    }

    fn member(&self, code: &str, url: &str) -> Option<Member> {
        match self.read(code) {
            Code::Concept(c) => Some(self.concept_member(c, url, Selection::Listed)),
            Code::Expression(_) => {
                let concept = crate::model::sct::expression_concept(self.edition, code)?;
                let mut m = Member::listed_only(url, self.cs.meta.version.as_deref(), code);
                m.display = concept.display;
                Some(m)
            }
            Code::Unknown => None,
        }
    }

    fn open(&self, filters: &[Filter]) -> bool {
        !expressions_excluded(filters)
    }

    fn selects(&self, scope: &Scope, filters: &[Filter], code: &str) -> Result<bool> {
        let compiled = self.compiled(filters)?;
        let g = self.edition.as_ref();
        let mut budget = self.budget(scope);
        match self.read(code) {
            Code::Unknown => Ok(false),
            Code::Concept(c) => {
                for (text, expr) in &compiled {
                    if !ecl::matches(g, expr, c, &mut budget).map_err(|e| eval_error(text, e))? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Code::Expression(x) => {
                if expressions_excluded(filters) {
                    return Ok(false);
                }
                for (text, expr) in &compiled {
                    let hit = ecl::matches_expression(g, expr, &x, &mut budget)
                        .map_err(|e| eval_error(text, e))?;
                    if !hit {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    fn subsumes(&self, ancestor: &str, code: &str) -> bool {
        let g = self.edition.as_ref();
        match (self.read(ancestor), self.read(code)) {
            (Code::Concept(a), Code::Concept(c)) => self.edition.is_a(c, a),
            (Code::Concept(a), Code::Expression(e)) => {
                expression::expression_is_a_concept(g, &e, a)
            }
            (Code::Expression(a), Code::Concept(c)) => {
                expression::subsumes(g, &a, &Expression::concept(g.sctid(c)))
            }
            (Code::Expression(a), Code::Expression(b)) => expression::subsumes(g, &a, &b),
            _ => false,
        }
    }

    fn children(&self, code: &str) -> Vec<(String, Option<String>)> {
        let c = match self.read(code) {
            Code::Concept(c) => c,
            // An expression is placed where its focus concept is (see `expression_concept`).
            Code::Expression(x) => match single_focus(self.edition, &x) {
                Some(c) => c,
                None => return Vec::new(),
            },
            Code::Unknown => return Vec::new(),
        };
        let e = self.edition;
        e.children(c)
            .iter()
            .map(|&k| (e.sctid(k).to_string(), e.display(k).map(str::to_string)))
            .collect()
    }

    fn extra_properties(&self, code: &str, requested: &[String]) -> Vec<LookupProperty> {
        let all = requested.is_empty() || requested.iter().any(|r| r == "*");
        // The default set: attributes, effectiveTime, module; the rest when named.
        let named = |p: &str| requested.iter().any(|r| r == p);
        let wants = |p: &str| {
            named(p)
                || (all && !matches!(p, "sufficientlyDefined" | "normalForm" | "normalFormTerse"))
        };
        let wants = &wants;
        let e = self.edition;
        let g = e.as_ref();
        let mut out = Vec::new();
        let attribute = |type_id: Cid, target: &Target| {
            let (value, description) = match target {
                Target::Concept(t) => (
                    PropertyValue::Code(g.sctid(*t).to_string()),
                    e.display(*t).map(str::to_string),
                ),
                Target::Concrete(v) => (PropertyValue::String(concrete_text(v)), None),
            };
            LookupProperty {
                code: g.sctid(type_id).to_string(),
                value,
                description,
                code_display: e.display(type_id).map(str::to_string),
            }
        };
        let focus_facts = |c: Cid, out: &mut Vec<LookupProperty>| {
            if wants("effectiveTime") {
                let t = g.effective_time(c);
                out.push(LookupProperty {
                    code: "effectiveTime".into(),
                    value: PropertyValue::DateTime(format!(
                        "{:04}-{:02}-{:02}",
                        t / 10000,
                        t / 100 % 100,
                        t % 100
                    )),
                    description: None,
                    code_display: None,
                });
            }
            if wants("moduleId") || wants("module") {
                let m = g.module(c);
                let name = g
                    .concept(m)
                    .and_then(|mc| e.display(mc))
                    .map(str::to_string);
                out.push(code_property("module", m.to_string(), name));
            }
        };
        match self.read(code) {
            Code::Concept(c) => {
                for r in g.relationships(c) {
                    let type_code = g.sctid(r.type_id).to_string();
                    if wants(&type_code) || wants("attributes") {
                        out.push(attribute(r.type_id, &r.target));
                    }
                }
                focus_facts(c, &mut out);
                if wants("sufficientlyDefined") {
                    out.push(LookupProperty {
                        code: "sufficientlyDefined".into(),
                        value: PropertyValue::Boolean(!g.is_primitive(c)),
                        description: None,
                        code_display: None,
                    });
                }
                let as_expression = Expression::concept(g.sctid(c));
                normal_forms(e, &as_expression, wants, &mut out);
            }
            Code::Expression(x) => {
                let nf = expression::normal_form(g, &x);
                for (_, a) in nf.attributes() {
                    let Some(type_id) = g.concept(a.name.id) else {
                        continue;
                    };
                    if !(wants(&a.name.id.to_string()) || wants("attributes")) {
                        continue;
                    }
                    let target = match &a.value {
                        expression::AttributeValue::Concept(r) => match g.concept(r.id) {
                            Some(t) => Target::Concept(t),
                            None => continue,
                        },
                        expression::AttributeValue::Concrete(v) => Target::Concrete(v.clone()),
                        expression::AttributeValue::Expression(_) => continue,
                    };
                    out.push(attribute(type_id, &target));
                }
                if let Some(f) = single_focus(e, &x) {
                    focus_facts(f, &mut out);
                }
                normal_forms(e, &x, wants, &mut out);
            }
            Code::Unknown => {}
        }
        out
    }

    fn implicit_filters(&self, spec: &str) -> Option<Vec<Filter>> {
        let filter = |property: &str, op: &str, value: &str| Filter {
            property: property.to_string(),
            op: op.to_string(),
            value: Some(value.to_string()),
        };
        let concept = |id: &str| {
            id.parse::<u64>()
                .ok()
                .and_then(|id| self.edition.concept(id))
        };
        if let Some(id) = spec.strip_prefix("isa/") {
            concept(id)?;
            return Some(vec![filter("concept", "is-a", id)]);
        }
        if let Some(id) = spec.strip_prefix("refset/") {
            let c = concept(id)?;
            self.edition.members(c)?;
            return Some(vec![filter("concept", "in", id)]);
        }
        if spec == "refset" {
            // Every reference set: the concepts that have members.
            let ids: Vec<String> = self
                .edition
                .refsets()
                .iter()
                .map(|&r| self.edition.sctid(r).to_string())
                .collect();
            return Some(vec![filter("concept", "=", &ids.join(" OR "))]);
        }
        let ecl = spec.strip_prefix("ecl/")?;
        Some(vec![filter("constraint", "=", &percent_decode(ecl))])
    }

    fn implicit_title(&self, spec: Option<&str>) -> Option<String> {
        let named = |id: &str| {
            let display = id
                .parse::<u64>()
                .ok()
                .and_then(|i| self.edition.concept(i))
                .and_then(|c| self.edition.display(c));
            match display {
                Some(d) => format!("{id} |{d}|"),
                None => id.to_string(),
            }
        };
        Some(match spec {
            None => "SNOMED CT Reference Set (All of SNOMED CT)".to_string(),
            Some(s) => {
                if let Some(id) = s.strip_prefix("isa/") {
                    format!("SNOMED CT Concepts subsumed by {}", named(id))
                } else if let Some(id) = s.strip_prefix("refset/") {
                    format!("SNOMED CT Reference Set {}", named(id))
                } else if let Some(ecl) = s.strip_prefix("ecl/") {
                    format!("SNOMED CT Concepts matching {}", percent_decode(ecl))
                } else {
                    "SNOMED CT Reference Sets".to_string()
                }
            }
        })
    }

    fn code_notes(&self, code: &str) -> Vec<Issue> {
        if !expression::is_expression(code) {
            return Vec::new();
        }
        let note = |text: String| {
            Issue::new(Severity::Information, "code-invalid", "invalid-code", text)
                .at("code")
                .id(super::provider::CODE_NOTE)
        };
        match expression::parse(code) {
            Err(e) => vec![note(format!("Not a valid expression: {e}"))],
            Ok(x) => match expression::validate(self.edition.as_ref(), &x) {
                Err(e) => vec![note(format!("Not a valid expression: {e}"))],
                Ok(()) => vec![Issue::new(
                    Severity::Information,
                    "informational",
                    "process-note",
                    "The expression is grammatically correct and the concepts are valid, but the expression has not been checked against the SNOMED CT concept model (MRCM)".to_string(),
                )
                .at("code")
                .id(super::provider::CODE_NOTE)],
            },
        }
    }
}

/// The one focus concept of an expression, when it has one.
fn single_focus(e: &Edition, x: &Expression) -> Option<Cid> {
    let mut focus = x.focus_concepts();
    let first = focus.next()?;
    focus.next().is_none().then(|| e.concept(first)).flatten()
}

fn normal_forms(
    e: &Edition,
    x: &Expression,
    wants: &dyn Fn(&str) -> bool,
    out: &mut Vec<LookupProperty>,
) {
    let g = e;
    if wants("normalForm") {
        let term = |c: Cid| e.display(c).unwrap_or_default().to_string();
        out.push(LookupProperty {
            code: "normalForm".into(),
            value: PropertyValue::String(expression::render_normal_form(g, x, &term)),
            description: None,
            code_display: None,
        });
    }
    if wants("normalFormTerse") {
        out.push(LookupProperty {
            code: "normalFormTerse".into(),
            value: PropertyValue::String(expression::normal_form_terse(g, x)),
            description: None,
            code_display: None,
        });
    }
}

fn concrete_text(v: &crate::snomed::graph::Concrete) -> String {
    use crate::snomed::graph::Concrete;
    match v {
        Concrete::Number { text, .. } => format!("#{text}"),
        Concrete::Text(t) => format!("\"{t}\""),
        Concrete::Boolean(b) => b.to_string(),
    }
}

/// `%XX` escapes decoded (an ECL in a URL); anything malformed is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

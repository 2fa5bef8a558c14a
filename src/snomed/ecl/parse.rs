//! Hand-written recursive-descent parser for ECL 2.2 (brief syntax, plus the long-syntax
//! keywords). Never panics; errors carry the 0-based character offset.

use std::collections::HashSet;
use std::fmt;

use super::ast::*;

/// A syntax error at a 0-based character offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Syntax error at character {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one expression constraint.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s: input,
        b: input.as_bytes(),
        pos: 0,
        depth: 0,
        work: 0,
        failed_nested: HashSet::new(),
    };
    p.ws()?;
    let e = p.expr_body()?;
    p.ws()?;
    if p.pos < p.b.len() {
        return Err(p.expected("end of expression"));
    }
    Ok(e)
}

/// Verhoeff check over the decimal digits of `s` (the last digit is the check digit): the
/// compositional grammar's, one implementation for both grammars.
pub use super::super::expression::sctid::verhoeff_valid as verhoeff_ok;

/// Checks SCTID syntax: 6–18 digits, no leading zero, valid Verhoeff check digit.
pub fn check_sctid(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid SCTID '{}': must be digits only", s));
    }
    if s.len() < 6 || s.len() > 18 {
        return Err(format!("invalid SCTID '{}': must have 6 to 18 digits", s));
    }
    if s.starts_with('0') {
        return Err(format!("invalid SCTID '{}': must not start with 0", s));
    }
    if !verhoeff_ok(s) {
        return Err(format!("invalid SCTID '{}': check digit is wrong", s));
    }
    s.parse::<u64>()
        .map_err(|_| format!("invalid SCTID '{}'", s))
}

const MAX_DEPTH: u32 = 100;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BinOp {
    And,
    Or,
    Minus,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: u32,
    work: u64,
    /// Positions where `( refinement )` was tried and failed (avoids exponential retries).
    failed_nested: HashSet<(usize, bool)>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Parser<'a> {
    // ----- low level -------------------------------------------------------------------

    fn char_pos(&self, byte: usize) -> usize {
        let byte = byte.min(self.b.len());
        let mut b = byte;
        while b > 0 && !self.s.is_char_boundary(b) {
            b -= 1;
        }
        self.s[..b].chars().count()
    }

    fn err_at(&self, byte: usize, msg: impl Into<String>) -> ParseError {
        ParseError {
            position: self.char_pos(byte),
            message: msg.into(),
        }
    }

    fn found(&self) -> String {
        let rest = &self.b[self.pos.min(self.b.len())..];
        if rest.is_empty() {
            return "end of expression".to_string();
        }
        let n = if is_word(rest[0]) {
            rest.iter().take_while(|b| is_word(**b)).count().min(40)
        } else if b"<>!=^".contains(&rest[0]) {
            rest.iter()
                .take_while(|b| b"<>!=^".contains(b))
                .count()
                .min(3)
        } else if rest.starts_with(b"{{") || rest.starts_with(b"}}") {
            2
        } else {
            1
        };
        let mut end = self.pos + n;
        while end < self.b.len() && !self.s.is_char_boundary(end) {
            end += 1;
        }
        format!("'{}'", &self.s[self.pos..end.min(self.b.len())])
    }

    fn expected(&self, what: &str) -> ParseError {
        self.err_at(
            self.pos,
            format!("expected {}, found {}", what, self.found()),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn starts(&self, lit: &str) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(lit.as_bytes())
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{}'", c as char)))
        }
    }

    fn expect_str(&mut self, lit: &str) -> Result<(), ParseError> {
        if self.starts(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.expected(&format!("'{}'", lit)))
        }
    }

    /// Skips white space and comments.
    fn ws(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') => self.pos += 1,
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        if self.pos + 1 >= self.b.len() {
                            self.pos = self.b.len();
                            return Err(self.err_at(start, "unterminated comment"));
                        }
                        if self.b[self.pos] == b'*' && self.b[self.pos + 1] == b'/' {
                            self.pos += 2;
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Case-insensitive keyword followed by a non-word character.
    fn keyword_at(&self, kw: &str) -> bool {
        let k = kw.as_bytes();
        let rest = &self.b[self.pos.min(self.b.len())..];
        rest.len() >= k.len()
            && rest[..k.len()].eq_ignore_ascii_case(k)
            && rest.get(k.len()).is_none_or(|b| !is_word(*b))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.keyword_at(kw) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    /// Reads `[A-Za-z]+` without consuming.
    fn peek_alpha_word(&self) -> &'a str {
        let start = self.pos.min(self.b.len());
        let n = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        &self.s[start..start + n]
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        self.work += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(self.pos, "expression nested too deeply"));
        }
        if self.work > 200_000 {
            return Err(self.err_at(self.pos, "expression too complex"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ----- expressions ------------------------------------------------------------------

    fn binop(&mut self) -> Option<BinOp> {
        if self.peek() == Some(b',') {
            self.pos += 1;
            return Some(BinOp::And);
        }
        if self.eat_keyword("AND") {
            return Some(BinOp::And);
        }
        if self.eat_keyword("OR") {
            return Some(BinOp::Or);
        }
        if self.eat_keyword("MINUS") {
            return Some(BinOp::Minus);
        }
        None
    }

    fn expr_body(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let r = self.expr_body_inner();
        self.leave();
        r
    }

    fn expr_body_inner(&mut self) -> Result<Expr, ParseError> {
        let first = self.sub()?;
        let save = self.pos;
        self.ws()?;
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                self.ws()?;
                let refinement = self.refinement(false)?;
                return Ok(Expr::Refined {
                    focus: Box::new(first),
                    refinement,
                });
            }
            Some(b'.') => {
                let mut attributes = Vec::new();
                loop {
                    let save = self.pos;
                    self.ws()?;
                    if !self.eat(b'.') {
                        self.pos = save;
                        break;
                    }
                    self.ws()?;
                    attributes.push(self.sub()?);
                }
                return Ok(Expr::Dotted {
                    focus: Box::new(first),
                    attributes,
                });
            }
            _ => {}
        }
        let op_pos = self.pos;
        let Some(op) = self.binop() else {
            self.pos = save;
            return Ok(Expr::Sub(Box::new(first)));
        };
        let mut items = vec![first];
        self.ws()?;
        items.push(self.sub()?);
        loop {
            let save = self.pos;
            self.ws()?;
            let here = self.pos;
            match self.binop() {
                None => {
                    self.pos = save;
                    break;
                }
                Some(next) => {
                    if op == BinOp::Minus || next != op {
                        return Err(self.err_at(
                            here,
                            format!(
                                "{} after {} needs brackets: ECL does not allow mixing or repeating binary operators without brackets",
                                name(next),
                                name(op)
                            ),
                        ));
                    }
                    self.ws()?;
                    items.push(self.sub()?);
                }
            }
        }
        let _ = op_pos;
        Ok(match op {
            BinOp::And => Expr::And(items),
            BinOp::Or => Expr::Or(items),
            BinOp::Minus => {
                let b = items
                    .pop()
                    .unwrap_or_else(|| SubExpr::plain(Focus::Wildcard));
                let a = items
                    .pop()
                    .unwrap_or_else(|| SubExpr::plain(Focus::Wildcard));
                Expr::Minus(Box::new(a), Box::new(b))
            }
        })
    }

    fn constraint_op(&mut self) -> Option<ConstraintOp> {
        use ConstraintOp::*;
        const BRIEF: [(&str, ConstraintOp); 10] = [
            ("<<!", ChildOrSelfOf),
            ("<<", DescendantOrSelfOf),
            ("<!", ChildOf),
            ("<", DescendantOf),
            (">>!", ParentOrSelfOf),
            (">>", AncestorOrSelfOf),
            (">!", ParentOf),
            (">", AncestorOf),
            ("!!>", Top),
            ("!!<", Bottom),
        ];
        for (lit, op) in BRIEF {
            if self.starts(lit) {
                self.pos += lit.len();
                return Some(op);
            }
        }
        const LONG: [(&str, ConstraintOp); 8] = [
            ("descendantOrSelfOf", DescendantOrSelfOf),
            ("descendantOf", DescendantOf),
            ("childOrSelfOf", ChildOrSelfOf),
            ("childOf", ChildOf),
            ("ancestorOrSelfOf", AncestorOrSelfOf),
            ("ancestorOf", AncestorOf),
            ("parentOrSelfOf", ParentOrSelfOf),
            ("parentOf", ParentOf),
        ];
        for (kw, op) in LONG {
            if self.eat_keyword(kw) {
                return Some(op);
            }
        }
        None
    }

    fn sub(&mut self) -> Result<SubExpr, ParseError> {
        self.enter()?;
        let r = self.sub_inner();
        self.leave();
        r
    }

    fn sub_inner(&mut self) -> Result<SubExpr, ParseError> {
        let op = self.constraint_op();
        if op.is_some() {
            self.ws()?;
        }
        let mut member_of = None;
        if self.eat(b'^') || self.eat_keyword("memberOf") {
            self.ws()?;
            let mut fields = None;
            if self.eat(b'[') {
                self.ws()?;
                if self.eat(b'*') {
                    fields = Some(RefsetFields::All);
                } else {
                    let mut names = Vec::new();
                    loop {
                        let w = self.peek_alpha_word();
                        if w.is_empty() {
                            return Err(self.expected("a reference set field name or '*'"));
                        }
                        self.pos += w.len();
                        names.push(w.to_string());
                        self.ws()?;
                        if !self.eat(b',') {
                            break;
                        }
                        self.ws()?;
                    }
                    fields = Some(RefsetFields::Named(names));
                }
                self.ws()?;
                self.expect(b']')?;
                self.ws()?;
            }
            member_of = Some(MemberOf { fields });
        }
        let focus = self.focus()?;
        let mut sub = SubExpr {
            op,
            member_of,
            focus,
            member_filters: Vec::new(),
            filters: Vec::new(),
            history: None,
        };
        // Filters and the history supplement.
        loop {
            let save = self.pos;
            self.ws()?;
            if !self.starts("{{") {
                self.pos = save;
                break;
            }
            if sub.history.is_some() {
                return Err(self.err_at(self.pos, "no filter may follow a history supplement"));
            }
            self.filter_constraint(&mut sub)?;
        }
        Ok(sub)
    }

    fn focus(&mut self) -> Result<Focus, ParseError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                self.ws()?;
                let e = self.expr_body()?;
                self.ws()?;
                self.expect(b')')?;
                Ok(Focus::Nested(Box::new(e)))
            }
            Some(b'*') => {
                self.pos += 1;
                Ok(Focus::Wildcard)
            }
            Some(c) if c.is_ascii_digit() => Ok(Focus::Concept(self.concept_ref()?)),
            Some(b'"') => self.alt_id_quoted(),
            Some(c) if c.is_ascii_alphabetic() => {
                if self.eat_keyword("ANY") {
                    return Ok(Focus::Wildcard);
                }
                self.alt_id_plain()
            }
            _ => Err(self.expected("a concept id, '*' or '('")),
        }
    }

    fn sctid(&mut self) -> Result<(u64, usize), ParseError> {
        let start = self.pos;
        let n = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n == 0 {
            return Err(self.expected("a concept id"));
        }
        // A concept id directly followed by letters is not an id (e.g. `123abc`).
        if self
            .b
            .get(start + n)
            .is_some_and(|b| b.is_ascii_alphabetic())
        {
            let m = self.b[start..].iter().take_while(|b| is_word(**b)).count();
            return Err(self.err_at(
                start,
                format!(
                    "invalid SCTID '{}': must be digits only",
                    &self.s[start..start + m]
                ),
            ));
        }
        let text = &self.s[start..start + n];
        let id = check_sctid(text).map_err(|m| self.err_at(start, m))?;
        self.pos += n;
        Ok((id, start))
    }

    /// `sctid [ws |term|]`
    fn concept_ref(&mut self) -> Result<ConceptRef, ParseError> {
        let (id, start) = self.sctid()?;
        let pos = self.char_pos(start);
        let save = self.pos;
        self.ws()?;
        let mut term = None;
        if self.peek() == Some(b'|') {
            let open = self.pos;
            self.pos += 1;
            let t0 = self.pos;
            while self.pos < self.b.len() && self.b[self.pos] != b'|' {
                self.pos += 1;
            }
            if self.pos >= self.b.len() {
                return Err(self.err_at(open, "unterminated term: missing closing '|'"));
            }
            let t = self.s[t0..self.pos].trim();
            if t.is_empty() {
                return Err(self.err_at(open, "empty term between '|'"));
            }
            term = Some(t.to_string());
            self.pos += 1;
        } else {
            self.pos = save;
        }
        Ok(ConceptRef { id, term, pos })
    }

    fn opt_term(&mut self) -> Result<Option<String>, ParseError> {
        let save = self.pos;
        self.ws()?;
        if self.peek() == Some(b'|') {
            let open = self.pos;
            self.pos += 1;
            let t0 = self.pos;
            while self.pos < self.b.len() && self.b[self.pos] != b'|' {
                self.pos += 1;
            }
            if self.pos >= self.b.len() {
                return Err(self.err_at(open, "unterminated term: missing closing '|'"));
            }
            let t = self.s[t0..self.pos].trim().to_string();
            self.pos += 1;
            return Ok(Some(t));
        }
        self.pos = save;
        Ok(None)
    }

    fn alt_id_plain(&mut self) -> Result<Focus, ParseError> {
        let start = self.pos;
        let n = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if self.b.get(start + n) != Some(&b'#') {
            return Err(self.expected("a concept id, '*' or '('"));
        }
        let scheme = self.s[start..start + n].to_string();
        self.pos = start + n + 1;
        let c0 = self.pos;
        let m = self.b[c0..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(**b, b'-' | b'.' | b'_'))
            .count();
        if m == 0 {
            return Err(self.expected("an alternate identifier code"));
        }
        let code = self.s[c0..c0 + m].to_string();
        self.pos = c0 + m;
        let term = self.opt_term()?;
        Ok(Focus::AltId {
            scheme,
            code,
            term,
            pos: self.char_pos(start),
        })
    }

    fn alt_id_quoted(&mut self) -> Result<Focus, ParseError> {
        let start = self.pos;
        let text = self.quoted()?;
        let Some((scheme, code)) = text.split_once('#') else {
            return Err(self.err_at(start, "expected an alternate identifier \"scheme#code\""));
        };
        if scheme.is_empty()
            || code.is_empty()
            || !scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic())
        {
            return Err(self.err_at(start, "expected an alternate identifier \"scheme#code\""));
        }
        let (scheme, code) = (scheme.to_string(), code.to_string());
        let term = self.opt_term()?;
        Ok(Focus::AltId {
            scheme,
            code,
            term,
            pos: self.char_pos(start),
        })
    }

    /// A double-quoted string with `\"`, `\\` (and `\*` kept as `\*` for wild terms).
    fn quoted_raw(&mut self, keep_star_escape: bool) -> Result<String, ParseError> {
        let open = self.pos;
        self.expect(b'"')?;
        let mut out = String::new();
        let mut seg = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.err_at(open, "unterminated string: missing closing '\"'")),
                Some(b'"') => {
                    out.push_str(&self.s[seg..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.s[seg..self.pos]);
                    match self.peek_at(1) {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push_str(if keep_star_escape { "\\\\" } else { "\\" }),
                        Some(b'*') if keep_star_escape => out.push_str("\\*"),
                        _ => {
                            return Err(self.err_at(
                                self.pos,
                                "invalid escape in string (allowed: \\\" and \\\\)",
                            ))
                        }
                    }
                    self.pos += 2;
                    seg = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        self.quoted_raw(false)
    }

    // ----- refinements ------------------------------------------------------------------

    fn refinement(&mut self, in_group: bool) -> Result<Refinement, ParseError> {
        self.enter()?;
        let r = self.refinement_inner(in_group);
        self.leave();
        r
    }

    fn refinement_inner(&mut self, in_group: bool) -> Result<Refinement, ParseError> {
        let first = self.sub_refinement(in_group)?;
        let save = self.pos;
        self.ws()?;
        let Some(op) = self.refinement_binop() else {
            self.pos = save;
            return Ok(first);
        };
        let mut items = vec![first];
        self.ws()?;
        items.push(self.sub_refinement(in_group)?);
        loop {
            let save = self.pos;
            self.ws()?;
            let here = self.pos;
            match self.refinement_binop() {
                None => {
                    self.pos = save;
                    break;
                }
                Some(next) => {
                    if next != op {
                        return Err(self.err_at(
                            here,
                            format!("{} after {} needs brackets: ECL does not allow mixing AND and OR without brackets", name(next), name(op)),
                        ));
                    }
                    self.ws()?;
                    items.push(self.sub_refinement(in_group)?);
                }
            }
        }
        Ok(if op == BinOp::And {
            Refinement::And(items)
        } else {
            Refinement::Or(items)
        })
    }

    fn refinement_binop(&mut self) -> Option<BinOp> {
        if self.eat(b',') {
            return Some(BinOp::And);
        }
        if self.eat_keyword("AND") {
            return Some(BinOp::And);
        }
        if self.eat_keyword("OR") {
            return Some(BinOp::Or);
        }
        None
    }

    fn sub_refinement(&mut self, in_group: bool) -> Result<Refinement, ParseError> {
        self.enter()?;
        let r = self.sub_refinement_inner(in_group);
        self.leave();
        r
    }

    fn sub_refinement_inner(&mut self, in_group: bool) -> Result<Refinement, ParseError> {
        let card = if self.peek() == Some(b'[') {
            let c = self.cardinality()?;
            self.ws()?;
            Some(c)
        } else {
            None
        };
        if self.peek() == Some(b'{') && self.peek_at(1) != Some(b'{') {
            if in_group {
                return Err(self.err_at(self.pos, "attribute groups cannot be nested"));
            }
            self.pos += 1;
            self.ws()?;
            let inner = self.refinement(true)?;
            self.ws()?;
            self.expect(b'}')?;
            return Ok(Refinement::Group {
                cardinality: card,
                inner: Box::new(inner),
            });
        }
        if card.is_none()
            && self.peek() == Some(b'(')
            && !self.failed_nested.contains(&(self.pos, in_group))
        {
            // Either `( refinement )` or an attribute whose name is a bracketed expression.
            let start = self.pos;
            let attempt = (|| -> Result<Refinement, ParseError> {
                self.pos += 1;
                self.ws()?;
                let r = self.refinement(in_group)?;
                self.ws()?;
                self.expect(b')')?;
                Ok(r)
            })();
            match attempt {
                Ok(r) => {
                    let after = self.pos;
                    self.ws()?;
                    let is_cmp = matches!(self.peek(), Some(b'=') | Some(b'<') | Some(b'>'))
                        || (self.peek() == Some(b'!') && self.peek_at(1) == Some(b'='));
                    self.pos = after;
                    if !is_cmp {
                        return Ok(r);
                    }
                    self.pos = start;
                }
                Err(e1) => {
                    if e1.message.contains("too complex") || e1.message.contains("too deeply") {
                        return Err(e1);
                    }
                    self.failed_nested.insert((start, in_group));
                    self.pos = start;
                    return match self.attribute(None) {
                        Ok(a) => Ok(Refinement::Attribute(a)),
                        Err(e2) => Err(if e2.position >= e1.position { e2 } else { e1 }),
                    };
                }
            }
        }
        Ok(Refinement::Attribute(self.attribute(card)?))
    }

    fn cardinality(&mut self) -> Result<Cardinality, ParseError> {
        let open = self.pos;
        self.expect(b'[')?;
        self.ws()?;
        let min = self.uint()?;
        self.ws()?;
        if !self.eat_str("..") && !self.eat_keyword("to") {
            return Err(self.expected("'..'"));
        }
        self.ws()?;
        let max = if self.eat(b'*') || self.eat_keyword("many") {
            None
        } else {
            Some(self.uint()?)
        };
        self.ws()?;
        self.expect(b']')?;
        if let Some(m) = max {
            if m < min {
                return Err(self.err_at(
                    open,
                    format!("cardinality minimum {} is greater than maximum {}", min, m),
                ));
            }
        }
        Ok(Cardinality { min, max })
    }

    fn eat_str(&mut self, lit: &str) -> bool {
        if self.starts(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn uint(&mut self) -> Result<u32, ParseError> {
        let start = self.pos;
        let n = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n == 0 {
            return Err(self.expected("a number"));
        }
        let v = self.s[start..start + n]
            .parse::<u32>()
            .map_err(|_| self.err_at(start, "number too large"))?;
        self.pos += n;
        Ok(v)
    }

    fn attribute(&mut self, card: Option<Cardinality>) -> Result<Attribute, ParseError> {
        let mut reverse = false;
        if matches!(self.peek(), Some(b'R') | Some(b'r'))
            && !self.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic())
        {
            self.pos += 1;
            reverse = true;
            self.ws()?;
        } else if self.eat_keyword("reverseOf") {
            reverse = true;
            self.ws()?;
        }
        let name = self.sub()?;
        self.ws()?;
        let Some(op) = self.cmp_op() else {
            return Err(self.expected("a comparison operator ('=', '!=', '<', '<=', '>', '>=')"));
        };
        self.ws()?;
        let comparison = if self.peek() == Some(b'#') {
            self.pos += 1;
            Comparison::Number {
                op,
                value: self.number()?,
            }
        } else if self.peek() == Some(b'"')
            || (self.peek() == Some(b'(') && self.paren_then_quote())
        {
            let op = self.eq_only(op)?;
            let values = if self.eat(b'(') {
                let mut v = Vec::new();
                loop {
                    self.ws()?;
                    if self.eat(b')') {
                        break;
                    }
                    v.push(self.quoted()?);
                }
                if v.is_empty() {
                    return Err(self.err_at(self.pos - 1, "empty string set"));
                }
                v
            } else {
                vec![self.quoted()?]
            };
            Comparison::String { op, values }
        } else if self.keyword_at("true") || self.keyword_at("false") {
            let op = self.eq_only(op)?;
            let value = self.eat_keyword("true");
            if !value {
                self.eat_keyword("false");
            }
            Comparison::Boolean { op, value }
        } else {
            let op = self.eq_only(op)?;
            Comparison::Expr {
                op,
                value: self.sub()?,
            }
        };
        Ok(Attribute {
            cardinality: card,
            reverse,
            name,
            comparison,
        })
    }

    fn paren_then_quote(&self) -> bool {
        let mut i = self.pos + 1;
        while i < self.b.len() && matches!(self.b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        self.b.get(i) == Some(&b'"')
    }

    fn eq_only(&self, op: CmpOp) -> Result<EqOp, ParseError> {
        match op {
            CmpOp::Eq => Ok(EqOp::Eq),
            CmpOp::Ne => Ok(EqOp::Ne),
            _ => Err(self.err_at(
                self.pos,
                "only '=' and '!=' may be used here; '<', '<=', '>', '>=' need a '#' number",
            )),
        }
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let ops: [(&str, CmpOp); 6] = [
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("=", CmpOp::Eq),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        for (lit, op) in ops {
            if self.starts(lit) {
                self.pos += lit.len();
                return Some(op);
            }
        }
        None
    }

    fn eq_op(&mut self) -> Result<EqOp, ParseError> {
        if self.eat_str("!=") {
            Ok(EqOp::Ne)
        } else if self.eat(b'=') {
            Ok(EqOp::Eq)
        } else {
            Err(self.expected("'=' or '!='"))
        }
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-') | Some(b'+')) {
            self.pos += 1;
        }
        let d = self.b[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if d == 0 {
            return Err(self.expected("a number"));
        }
        self.pos += d;
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.pos += self.b[self.pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        let text = self.s[start..self.pos].to_string();
        let value = text
            .parse::<f64>()
            .map_err(|_| self.err_at(start, "invalid number"))?;
        Ok(Number { text, value })
    }

    // ----- filters ----------------------------------------------------------------------

    fn filter_constraint(&mut self, sub: &mut SubExpr) -> Result<(), ParseError> {
        self.expect_str("{{")?;
        self.ws()?;
        if self.eat(b'+') {
            self.ws()?;
            if !self.eat_prefix_ci("HISTORY") {
                return Err(self.expected("'HISTORY'"));
            }
            let h = if self.peek() == Some(b'-') || self.peek() == Some(b'_') {
                self.pos += 1;
                if self.eat_keyword("MIN") {
                    History::Min
                } else if self.eat_keyword("MOD") {
                    History::Mod
                } else if self.eat_keyword("MAX") {
                    History::Max
                } else {
                    return Err(self.expected("'MIN', 'MOD' or 'MAX'"));
                }
            } else {
                if self.peek().is_some_and(is_word) {
                    return Err(self.expected("'-MIN', '-MOD', '-MAX', '(' or '}}'"));
                }
                self.ws()?;
                if self.eat(b'(') {
                    self.ws()?;
                    let e = self.expr_body()?;
                    self.ws()?;
                    self.expect(b')')?;
                    History::Subset(Box::new(e))
                } else {
                    History::Max
                }
            };
            self.ws()?;
            self.expect_str("}}")?;
            sub.history = Some(h);
            return Ok(());
        }
        let w = self.peek_alpha_word();
        let kind = if w.eq_ignore_ascii_case("m") {
            b'M'
        } else if w.eq_ignore_ascii_case("c") {
            b'C'
        } else if w.eq_ignore_ascii_case("d") {
            b'D'
        } else {
            b'd'
        };
        if kind != b'd' {
            if kind == b'M' && sub.member_of.is_none() {
                return Err(self.err_at(
                    self.pos,
                    "member filters {{ M … }} need the member-of operator '^'",
                ));
            }
            if kind == b'M' && !sub.filters.is_empty() {
                return Err(self.err_at(
                    self.pos,
                    "member filters must come before description and concept filters",
                ));
            }
            self.pos += 1;
            self.ws()?;
        }
        match kind {
            b'M' => {
                let mut v = Vec::new();
                loop {
                    v.push(self.member_filter()?);
                    if !self.filter_sep()? {
                        break;
                    }
                }
                sub.member_filters.push(v);
            }
            b'C' => {
                let mut v = Vec::new();
                loop {
                    v.push(self.concept_filter()?);
                    if !self.filter_sep()? {
                        break;
                    }
                }
                sub.filters.push(FilterConstraint::Concept(v));
            }
            _ => {
                let mut v = Vec::new();
                loop {
                    v.push(self.description_filter()?);
                    if !self.filter_sep()? {
                        break;
                    }
                }
                sub.filters.push(FilterConstraint::Description(v));
            }
        }
        self.ws()?;
        self.expect_str("}}")
    }

    fn eat_prefix_ci(&mut self, kw: &str) -> bool {
        let k = kw.as_bytes();
        let rest = &self.b[self.pos.min(self.b.len())..];
        if rest.len() >= k.len() && rest[..k.len()].eq_ignore_ascii_case(k) {
            self.pos += k.len();
            true
        } else {
            false
        }
    }

    fn filter_sep(&mut self) -> Result<bool, ParseError> {
        let save = self.pos;
        self.ws()?;
        if self.eat(b',') {
            self.ws()?;
            Ok(true)
        } else {
            self.pos = save;
            Ok(false)
        }
    }

    fn read_keyword(&mut self) -> (usize, String) {
        let start = self.pos;
        let w = self.peek_alpha_word();
        self.pos += w.len();
        (start, w.to_ascii_lowercase())
    }

    fn description_filter(&mut self) -> Result<DescriptionFilter, ParseError> {
        let (start, kw) = self.read_keyword();
        self.ws()?;
        let f = match kw.as_str() {
            "term" => {
                let op = self.eq_op()?;
                self.ws()?;
                DescriptionFilter::Term {
                    op,
                    terms: self.search_terms()?,
                }
            }
            "language" => {
                let op = self.eq_op()?;
                self.ws()?;
                let codes = self.token_list(|p| {
                    let w = p.peek_alpha_word();
                    if w.len() == 2 {
                        p.pos += 2;
                        Ok(w.to_ascii_lowercase())
                    } else {
                        Err(p.expected("a two-letter language code"))
                    }
                })?;
                DescriptionFilter::Language { op, codes }
            }
            "typeid" => {
                let op = self.eq_op()?;
                self.ws()?;
                DescriptionFilter::TypeId {
                    op,
                    value: self.concept_spec()?,
                }
            }
            "type" => {
                let op = self.eq_op()?;
                self.ws()?;
                let types = self.token_list(|p| {
                    if p.eat_keyword("syn") {
                        Ok(DescType::Synonym)
                    } else if p.eat_keyword("fsn") {
                        Ok(DescType::Fsn)
                    } else if p.eat_keyword("def") {
                        Ok(DescType::Definition)
                    } else {
                        Err(p.expected("'syn', 'fsn' or 'def'"))
                    }
                })?;
                DescriptionFilter::Type { op, types }
            }
            "dialectid" | "dialect" => {
                let op = self.eq_op()?;
                self.ws()?;
                let alias = kw == "dialect";
                let mut dialects = Vec::new();
                if self.peek() == Some(b'(') && (alias || self.looks_like_ref_set()) {
                    self.pos += 1;
                    loop {
                        self.ws()?;
                        if self.eat(b')') {
                            break;
                        }
                        let dialect = if alias {
                            DialectRef::Alias(self.dialect_alias()?)
                        } else {
                            DialectRef::Concept(self.concept_ref()?)
                        };
                        let acceptability = self.opt_acceptability()?;
                        dialects.push(DialectItem {
                            dialect,
                            acceptability,
                        });
                    }
                    if dialects.is_empty() {
                        return Err(self.err_at(self.pos - 1, "empty dialect set"));
                    }
                } else if alias {
                    dialects.push(DialectItem {
                        dialect: DialectRef::Alias(self.dialect_alias()?),
                        acceptability: None,
                    });
                } else {
                    dialects.push(DialectItem {
                        dialect: DialectRef::Expr(Box::new(self.sub()?)),
                        acceptability: None,
                    });
                }
                let acceptability = self.opt_acceptability()?;
                DescriptionFilter::Dialect {
                    op,
                    dialects,
                    acceptability,
                }
            }
            "moduleid" => {
                let op = self.eq_op()?;
                self.ws()?;
                DescriptionFilter::Module {
                    op,
                    value: self.concept_spec()?,
                }
            }
            "effectivetime" => {
                let op = self
                    .cmp_op()
                    .ok_or_else(|| self.expected("a comparison operator"))?;
                self.ws()?;
                DescriptionFilter::EffectiveTime {
                    op,
                    times: self.time_values()?,
                }
            }
            "active" => {
                let op = self.eq_op()?;
                self.ws()?;
                DescriptionFilter::Active {
                    op,
                    value: self.active_value()?,
                }
            }
            "id" => {
                let op = self.eq_op()?;
                self.ws()?;
                let ids = self.token_list(|p| p.sctid().map(|x| x.0))?;
                DescriptionFilter::Id { op, ids }
            }
            _ => {
                self.pos = start;
                return Err(self.expected(
                    "a description filter (term, language, type, typeId, dialect, dialectId, moduleId, effectiveTime, active, id)",
                ));
            }
        };
        Ok(f)
    }

    fn concept_filter(&mut self) -> Result<ConceptFilter, ParseError> {
        let (start, kw) = self.read_keyword();
        self.ws()?;
        Ok(match kw.as_str() {
            "definitionstatusid" => {
                let op = self.eq_op()?;
                self.ws()?;
                ConceptFilter::DefinitionStatusId {
                    op,
                    value: self.concept_spec()?,
                }
            }
            "definitionstatus" => {
                let op = self.eq_op()?;
                self.ws()?;
                let statuses = self.token_list(|p| {
                    if p.eat_keyword("primitive") {
                        Ok(DefinitionStatus::Primitive)
                    } else if p.eat_keyword("defined") {
                        Ok(DefinitionStatus::Defined)
                    } else {
                        Err(p.expected("'primitive' or 'defined'"))
                    }
                })?;
                ConceptFilter::DefinitionStatus { op, statuses }
            }
            "moduleid" => {
                let op = self.eq_op()?;
                self.ws()?;
                ConceptFilter::Module {
                    op,
                    value: self.concept_spec()?,
                }
            }
            "effectivetime" => {
                let op = self
                    .cmp_op()
                    .ok_or_else(|| self.expected("a comparison operator"))?;
                self.ws()?;
                ConceptFilter::EffectiveTime {
                    op,
                    times: self.time_values()?,
                }
            }
            "active" => {
                let op = self.eq_op()?;
                self.ws()?;
                ConceptFilter::Active {
                    op,
                    value: self.active_value()?,
                }
            }
            _ => {
                self.pos = start;
                return Err(self.expected("a concept filter (definitionStatus, definitionStatusId, moduleId, effectiveTime, active)"));
            }
        })
    }

    fn member_filter(&mut self) -> Result<MemberFilter, ParseError> {
        let (start, kw) = self.read_keyword();
        if kw.is_empty() {
            return Err(
                self.expected("a member filter (moduleId, effectiveTime, active or a field name)")
            );
        }
        self.ws()?;
        Ok(match kw.as_str() {
            "moduleid" => {
                let op = self.eq_op()?;
                self.ws()?;
                MemberFilter::Module {
                    op,
                    value: self.concept_spec()?,
                }
            }
            "effectivetime" => {
                let op = self
                    .cmp_op()
                    .ok_or_else(|| self.expected("a comparison operator"))?;
                self.ws()?;
                MemberFilter::EffectiveTime {
                    op,
                    times: self.time_values()?,
                }
            }
            "active" => {
                let op = self.eq_op()?;
                self.ws()?;
                MemberFilter::Active {
                    op,
                    value: self.active_value()?,
                }
            }
            _ => {
                let name = self.s[start..start + kw.len()].to_string();
                let Some(op) = self.cmp_op() else {
                    return Err(self.expected("a comparison operator"));
                };
                self.ws()?;
                let comparison = if self.eat(b'#') {
                    FieldComparison::Number {
                        op,
                        value: self.number()?,
                    }
                } else if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) {
                    FieldComparison::Time {
                        op,
                        times: self.time_values()?,
                    }
                } else if self.keyword_at("true") || self.keyword_at("false") {
                    let value = self.eat_keyword("true");
                    if !value {
                        self.eat_keyword("false");
                    }
                    FieldComparison::Boolean {
                        op: self.eq_only(op)?,
                        value,
                    }
                } else if self.peek() == Some(b'"')
                    || self.keyword_at("match")
                    || self.keyword_at("wild")
                    || (self.peek() == Some(b'(') && self.paren_then_term())
                {
                    FieldComparison::String {
                        op: self.eq_only(op)?,
                        terms: self.search_terms()?,
                    }
                } else {
                    FieldComparison::Expr {
                        op: self.eq_only(op)?,
                        value: self.sub()?,
                    }
                };
                MemberFilter::Field { name, comparison }
            }
        })
    }

    fn paren_then_term(&self) -> bool {
        let mut i = self.pos + 1;
        while i < self.b.len() && matches!(self.b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        let rest = &self.b[i.min(self.b.len())..];
        rest.first() == Some(&b'"')
            || (rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"match"))
            || (rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"wild"))
    }

    /// A single token or a bracketed, white-space separated list of them.
    fn token_list<T>(
        &mut self,
        mut one: impl FnMut(&mut Self) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        if self.eat(b'(') {
            let mut v = Vec::new();
            loop {
                self.ws()?;
                if self.eat(b')') {
                    break;
                }
                if self.pos >= self.b.len() {
                    return Err(self.expected("')'"));
                }
                v.push(one(self)?);
            }
            if v.is_empty() {
                return Err(self.err_at(self.pos - 1, "empty set"));
            }
            Ok(v)
        } else {
            Ok(vec![one(self)?])
        }
    }

    fn search_terms(&mut self) -> Result<Vec<SearchTerm>, ParseError> {
        self.token_list(|p| p.typed_search_term())
    }

    fn typed_search_term(&mut self) -> Result<SearchTerm, ParseError> {
        let mut kind = SearchKind::Match;
        if self.eat_keyword("match") {
            self.ws()?;
            self.expect(b':')?;
            self.ws()?;
        } else if self.eat_keyword("wild") {
            self.ws()?;
            self.expect(b':')?;
            self.ws()?;
            kind = SearchKind::Wild;
        }
        if self.peek() != Some(b'"') {
            return Err(self.expected("a quoted search term"));
        }
        let start = self.pos;
        let text = self.quoted_raw(kind == SearchKind::Wild)?;
        if text.trim().is_empty() {
            return Err(self.err_at(start, "empty search term"));
        }
        Ok(SearchTerm { kind, text })
    }

    fn looks_like_ref_set(&self) -> bool {
        // `( sctid ...` without operators: a concept reference set rather than a bracketed expression.
        let mut i = self.pos + 1;
        while i < self.b.len() && matches!(self.b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if !self.b.get(i).is_some_and(|b| b.is_ascii_digit()) {
            return false;
        }
        // Scan to the closing bracket; a set contains only digits, terms and white space.
        let mut in_term = false;
        while i < self.b.len() {
            let c = self.b[i];
            if c == b'|' {
                in_term = !in_term;
            } else if !in_term {
                if c == b')' {
                    return true;
                }
                if !(c.is_ascii_digit() || matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
                    return c == b'(';
                }
            }
            i += 1;
        }
        false
    }

    /// A sub-expression or a concept reference set `(a b c)`.
    fn concept_spec(&mut self) -> Result<ConceptSpec, ParseError> {
        if self.peek() == Some(b'(') && self.looks_like_ref_set() {
            self.pos += 1;
            let mut v = Vec::new();
            loop {
                self.ws()?;
                if self.eat(b')') {
                    break;
                }
                v.push(self.concept_ref()?);
            }
            return Ok(ConceptSpec::Set(v));
        }
        Ok(ConceptSpec::Expr(Box::new(self.sub()?)))
    }

    fn dialect_alias(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            return Err(self.expected("a dialect alias"));
        }
        let n = self.b[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        self.pos += n;
        Ok(self.s[start..start + n].to_ascii_lowercase())
    }

    fn opt_acceptability(&mut self) -> Result<Option<AcceptabilitySet>, ParseError> {
        let save = self.pos;
        self.ws()?;
        if self.peek() != Some(b'(') {
            self.pos = save;
            return Ok(None);
        }
        let open = self.pos;
        self.pos += 1;
        self.ws()?;
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            let mut v = Vec::new();
            loop {
                self.ws()?;
                if self.eat(b')') {
                    break;
                }
                v.push(self.concept_ref()?);
            }
            return Ok(Some(AcceptabilitySet::Concepts(v)));
        }
        if !(self.keyword_at("prefer") || self.keyword_at("accept")) {
            // Not an acceptability set (e.g. the next dialect in a set).
            self.pos = open;
            self.pos = save;
            return Ok(None);
        }
        let mut v = Vec::new();
        loop {
            self.ws()?;
            if self.eat(b')') {
                break;
            }
            if self.eat_keyword("prefer") {
                v.push(AcceptabilityToken::Preferred);
            } else if self.eat_keyword("accept") {
                v.push(AcceptabilityToken::Acceptable);
            } else {
                return Err(self.expected("'prefer', 'accept' or ')'"));
            }
        }
        Ok(Some(AcceptabilitySet::Tokens(v)))
    }

    fn time_values(&mut self) -> Result<Vec<TimeValue>, ParseError> {
        self.token_list(|p| {
            let start = p.pos;
            let t = p.quoted()?;
            if t.is_empty() {
                return Ok(0);
            }
            let ok =
                t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0') && {
                    let m: u32 = t[4..6].parse().unwrap_or(0);
                    let d: u32 = t[6..8].parse().unwrap_or(0);
                    (1..=12).contains(&m) && (1..=31).contains(&d)
                };
            if !ok {
                return Err(p.err_at(
                    start,
                    format!("invalid date \"{}\": expected \"YYYYMMDD\"", t),
                ));
            }
            Ok(t.parse().unwrap_or(0))
        })
    }

    fn active_value(&mut self) -> Result<Option<bool>, ParseError> {
        if self.eat_keyword("true") || self.eat_keyword("1") {
            Ok(Some(true))
        } else if self.eat_keyword("false") || self.eat_keyword("0") {
            Ok(Some(false))
        } else if self.eat(b'*') {
            Ok(None)
        } else {
            Err(self.expected("'true', 'false', '1' or '0'"))
        }
    }
}

fn name(op: BinOp) -> &'static str {
    match op {
        BinOp::And => "AND",
        BinOp::Or => "OR",
        BinOp::Minus => "MINUS",
    }
}

//! The parser: one function per ABNF rule over the characters of the input.

use super::sctid;
use super::{
    Attribute, AttributeValue, ConceptRef, Concrete, DefinitionStatus, Expression, SubExpression,
};
use std::fmt;

/// A syntax error at a 0-based character offset of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for ParseError {}

/// Deepest nesting of `( subExpression )` accepted (guards the stack).
const MAX_DEPTH: usize = 32;
/// Longest input accepted, in characters.
const MAX_LEN: usize = 100_000;

/// Parses an expression. Concept identifiers must be 6–18 digits without a leading zero; the
/// check digit and partition are *not* checked here (an unknown identifier is reported by
/// [`super::validate`] as "Concept X not found", as HL7's tests expect). Use
/// [`parse_strict`] to also require a valid Verhoeff check digit and concept partition.
pub fn parse(text: &str) -> Result<Expression, ParseError> {
    Parser::new(text, false).expression()
}

/// [`parse`], also rejecting identifiers with a wrong Verhoeff check digit or a partition
/// identifier that is not a concept's.
pub fn parse_strict(text: &str) -> Result<Expression, ParseError> {
    Parser::new(text, true).expression()
}

/// Cheap test: does this code look like a postcoordinated expression rather than a plain
/// SCTID? True when it contains a character only expressions use (`: + | { } = ( ) # "`)
/// or starts (after spaces) with `===` / `<<<`. Does not parse.
pub fn is_expression(code: &str) -> bool {
    let t = code.trim_start();
    t.starts_with("===")
        || t.starts_with("<<<")
        || code.bytes().any(|b| {
            matches!(
                b,
                b':' | b'+' | b'|' | b'{' | b'}' | b'=' | b'(' | b')' | b'#' | b'"'
            )
        })
}

struct Parser {
    s: Vec<char>,
    i: usize,
    depth: usize,
    strict: bool,
}

type R<T> = Result<T, ParseError>;

impl Parser {
    fn new(text: &str, strict: bool) -> Self {
        Parser {
            s: text.chars().take(MAX_LEN + 1).collect(),
            i: 0,
            depth: 0,
            strict,
        }
    }

    fn err<T>(&self, position: usize, message: impl Into<String>) -> R<T> {
        Err(ParseError {
            position,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn looking_at(&self, lit: &str) -> bool {
        lit.chars()
            .enumerate()
            .all(|(k, c)| self.s.get(self.i + k) == Some(&c))
    }

    fn describe_here(&self) -> String {
        match self.peek() {
            None => "end of expression".to_string(),
            Some(c) => format!("'{}'", c),
        }
    }

    fn expect(&mut self, c: char, what: &str) -> R<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            let found = self.describe_here();
            self.err(self.i, format!("Expected {} but found {}", what, found))
        }
    }

    /// `ws = *( SP / HTAB / CR / LF / comment )`, comment = `/* … */`.
    fn ws(&mut self) -> R<()> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => self.i += 1,
                Some('/') if self.s.get(self.i + 1) == Some(&'*') => {
                    let start = self.i;
                    self.i += 2;
                    loop {
                        match self.peek() {
                            None => return self.err(start, "Unterminated comment"),
                            Some('*') if self.s.get(self.i + 1) == Some(&'/') => {
                                self.i += 2;
                                break;
                            }
                            Some(_) => self.i += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expression(&mut self) -> R<Expression> {
        if self.s.len() > MAX_LEN {
            return self.err(MAX_LEN, "Expression too long");
        }
        self.ws()?;
        let status = if self.looking_at("===") {
            self.i += 3;
            Some(DefinitionStatus::EquivalentTo)
        } else if self.looking_at("<<<") {
            self.i += 3;
            Some(DefinitionStatus::SubtypeOf)
        } else {
            None
        };
        if status.is_some() {
            self.ws()?;
        }
        if self.peek().is_none() {
            return self.err(
                self.i,
                "Expected a concept identifier but found end of expression",
            );
        }
        let body = self.sub_expression()?;
        self.ws()?;
        if self.i < self.s.len() {
            let found = self.describe_here();
            return self.err(self.i, format!("Unexpected {} after the expression", found));
        }
        Ok(Expression { status, body })
    }

    fn sub_expression(&mut self) -> R<SubExpression> {
        let mut focus = vec![self.concept_reference()?];
        loop {
            let save = self.i;
            self.ws()?;
            if self.peek() == Some('+') {
                self.i += 1;
                self.ws()?;
                focus.push(self.concept_reference()?);
            } else {
                self.i = save;
                break;
            }
        }
        let mut sub = SubExpression {
            focus,
            ungrouped: Vec::new(),
            groups: Vec::new(),
        };
        let save = self.i;
        self.ws()?;
        if self.peek() == Some(':') {
            self.i += 1;
            self.ws()?;
            self.refinement(&mut sub)?;
        } else {
            self.i = save;
        }
        Ok(sub)
    }

    /// `refinement = (attributeSet / attributeGroup) *( ws ["," ws] attributeGroup )`.
    fn refinement(&mut self, sub: &mut SubExpression) -> R<()> {
        match self.peek() {
            Some('{') => sub.groups.push(self.attribute_group()?),
            Some(c) if c.is_ascii_digit() => sub.ungrouped = self.attribute_set(false)?,
            _ => {
                let found = self.describe_here();
                return self.err(
                    self.i,
                    format!("Expected an attribute or '{{' but found {}", found),
                );
            }
        }
        loop {
            let save = self.i;
            self.ws()?;
            let mut comma = false;
            if self.peek() == Some(',') {
                comma = true;
                self.i += 1;
                self.ws()?;
            }
            if self.peek() == Some('{') {
                sub.groups.push(self.attribute_group()?);
            } else if comma {
                let found = self.describe_here();
                return self.err(self.i, format!("Expected '{{' but found {}", found));
            } else {
                self.i = save;
                return Ok(());
            }
        }
    }

    fn attribute_group(&mut self) -> R<Vec<Attribute>> {
        self.expect('{', "'{'")?;
        self.ws()?;
        let set = self.attribute_set(true)?;
        self.ws()?;
        self.expect('}', "',' or '}'")?;
        Ok(set)
    }

    /// `attributeSet = attribute *(ws "," ws attribute)`. Outside a group, a comma followed
    /// by `{` ends the set (the comma belongs to the refinement).
    fn attribute_set(&mut self, in_group: bool) -> R<Vec<Attribute>> {
        let mut set = vec![self.attribute()?];
        loop {
            let save = self.i;
            self.ws()?;
            if self.peek() != Some(',') {
                self.i = save;
                return Ok(set);
            }
            self.i += 1;
            self.ws()?;
            if !in_group && self.peek() == Some('{') {
                self.i = save;
                return Ok(set);
            }
            set.push(self.attribute()?);
        }
    }

    fn attribute(&mut self) -> R<Attribute> {
        if !matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            let found = self.describe_here();
            return self.err(
                self.i,
                format!("Expected an attribute name but found {}", found),
            );
        }
        let name = self.concept_reference()?;
        self.ws()?;
        self.expect('=', "'='")?;
        self.ws()?;
        let value = self.attribute_value()?;
        Ok(Attribute { name, value })
    }

    fn attribute_value(&mut self) -> R<AttributeValue> {
        match self.peek() {
            Some(c) if c.is_ascii_digit() => Ok(AttributeValue::Concept(self.concept_reference()?)),
            Some('(') => {
                let open = self.i;
                if self.depth >= MAX_DEPTH {
                    return self.err(open, "Expressions nested too deeply");
                }
                self.i += 1;
                self.depth += 1;
                self.ws()?;
                let sub = self.sub_expression()?;
                self.ws()?;
                self.expect(')', "')'")?;
                self.depth -= 1;
                Ok(AttributeValue::Expression(Box::new(sub)))
            }
            Some('#') => {
                self.i += 1;
                Ok(AttributeValue::Concrete(self.number()?))
            }
            Some('"') => Ok(AttributeValue::Concrete(self.string()?)),
            Some('t' | 'T' | 'f' | 'F') => Ok(AttributeValue::Concrete(self.boolean()?)),
            _ => {
                let found = self.describe_here();
                self.err(
                    self.i,
                    format!("Expected an attribute value but found {}", found),
                )
            }
        }
    }

    /// `numericValue = decimalValue / integerValue`, after `#`.
    fn number(&mut self) -> R<Concrete> {
        let start = self.i;
        if matches!(self.peek(), Some('-' | '+')) {
            self.i += 1;
        }
        let int_start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.i += 1;
        }
        let int_len = self.i - int_start;
        if int_len == 0 {
            return self.err(self.i, "Expected a digit after '#'");
        }
        if int_len > 1 && self.s[int_start] == '0' {
            return self.err(int_start, "A number does not start with 0");
        }
        let mut decimal = false;
        if self.peek() == Some('.') {
            self.i += 1;
            let frac = self.i;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == frac {
                return self.err(self.i, "Expected a digit after '.'");
            }
            decimal = true;
        }
        let text: String = self.s[start..self.i].iter().collect();
        match text.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Concrete::Number {
                text: text.into_boxed_str(),
                number,
                decimal,
            }),
            _ => self.err(start, "Number out of range"),
        }
    }

    /// `QM stringValue QM`, with `\"` and `\\` escapes.
    fn string(&mut self) -> R<Concrete> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err(start, "Unterminated string"),
                Some('"') => {
                    self.i += 1;
                    return Ok(Concrete::Text(out.into_boxed_str()));
                }
                Some('\\') => match self.s.get(self.i + 1) {
                    Some(&c @ ('"' | '\\')) => {
                        out.push(c);
                        self.i += 2;
                    }
                    _ => return self.err(self.i, "Invalid escape in string (only \\\" and \\\\)"),
                },
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn boolean(&mut self) -> R<Concrete> {
        let start = self.i;
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                self.i += 1;
            } else {
                break;
            }
        }
        match word.to_ascii_lowercase().as_str() {
            "true" => Ok(Concrete::Boolean(true)),
            "false" => Ok(Concrete::Boolean(false)),
            _ => self.err(
                start,
                format!("Expected an attribute value but found '{}'", word),
            ),
        }
    }

    /// `conceptReference = conceptId [ws "|" ws term ws "|"]`.
    fn concept_reference(&mut self) -> R<ConceptRef> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            let found = self.describe_here();
            return self.err(
                start,
                format!("Expected a concept identifier but found {}", found),
            );
        }
        let digits: String = self.s[start..self.i].iter().collect();
        if digits.len() < 6 || digits.len() > 18 {
            return self.err(
                start,
                format!(
                    "Invalid concept identifier {}: an SCTID has 6 to 18 digits",
                    digits
                ),
            );
        }
        if digits.starts_with('0') {
            return self.err(
                start,
                format!(
                    "Invalid concept identifier {}: an SCTID does not start with 0",
                    digits
                ),
            );
        }
        let problem = if self.strict {
            sctid::concept_id_problem(&digits)
        } else {
            None
        };
        if let Some(problem) = problem {
            return self.err(
                start,
                format!("Invalid concept identifier {}: {}", digits, problem),
            );
        }
        let id: u64 = match digits.parse() {
            Ok(v) => v,
            Err(_) => return self.err(start, format!("Invalid concept identifier {}", digits)),
        };
        let save = self.i;
        self.ws()?;
        if self.peek() != Some('|') {
            self.i = save;
            return Ok(ConceptRef { id, term: None });
        }
        let open = self.i;
        self.i += 1;
        let term_start = self.i;
        while let Some(c) = self.peek() {
            if c == '|' {
                break;
            }
            self.i += 1;
        }
        if self.peek().is_none() {
            return self.err(open, "Unterminated term (missing closing '|')");
        }
        let term: String = self.s[term_start..self.i].iter().collect();
        self.i += 1;
        let term = term.trim();
        if term.is_empty() {
            return self.err(open, "Empty term between '|'");
        }
        Ok(ConceptRef {
            id,
            term: Some(term.to_string()),
        })
    }
}

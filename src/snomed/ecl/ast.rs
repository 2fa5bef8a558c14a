//! Abstract syntax of SNOMED CT Expression Constraint Language 2.2 (brief and long syntax).
//!
//! The shape follows the ABNF of the specification: an [`Expr`] is a refined, compound
//! (conjunction / disjunction / exclusion), dotted or plain sub-expression constraint;
//! compound operands are always [`SubExpr`]s, so mixing binary operators needs brackets.

/// A concept reference `123456789 |term|`; `pos` is the 0-based character offset of the id.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptRef {
    pub id: u64,
    pub term: Option<String>,
    pub pos: usize,
}

/// expressionConstraint.
// One tree per request, walked a few times: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// subExpressionConstraint.
    Sub(Box<SubExpr>),
    /// refinedExpressionConstraint: `focus : refinement`.
    Refined {
        focus: Box<SubExpr>,
        refinement: Refinement,
    },
    /// conjunctionExpressionConstraint (`AND` or `,`), two or more operands.
    And(Vec<SubExpr>),
    /// disjunctionExpressionConstraint (`OR`), two or more operands.
    Or(Vec<SubExpr>),
    /// exclusionExpressionConstraint (`MINUS`), exactly two operands.
    Minus(Box<SubExpr>, Box<SubExpr>),
    /// dottedExpressionConstraint: `focus . attr1 . attr2 …`.
    Dotted {
        focus: Box<SubExpr>,
        attributes: Vec<SubExpr>,
    },
}

/// constraintOperator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstraintOp {
    /// `<` descendantOf
    DescendantOf,
    /// `<<` descendantOrSelfOf
    DescendantOrSelfOf,
    /// `<!` childOf
    ChildOf,
    /// `<<!` childOrSelfOf
    ChildOrSelfOf,
    /// `>` ancestorOf
    AncestorOf,
    /// `>>` ancestorOrSelfOf
    AncestorOrSelfOf,
    /// `>!` parentOf
    ParentOf,
    /// `>>!` parentOrSelfOf
    ParentOrSelfOf,
    /// `!!>` top of the set
    Top,
    /// `!!<` bottom of the set
    Bottom,
}

/// `^` with its optional field selection `^ [a, b]` / `^ [*]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberOf {
    pub fields: Option<RefsetFields>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RefsetFields {
    /// `[*]`
    All,
    /// `[referencedComponentId, targetComponentId]`
    Named(Vec<String>),
}

/// eclFocusConcept or a bracketed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Focus {
    Concept(ConceptRef),
    /// `*` (or long syntax `ANY`)
    Wildcard,
    /// Alternate identifier `scheme#code |term|` (parsed, not evaluated).
    AltId {
        scheme: String,
        code: String,
        term: Option<String>,
        pos: usize,
    },
    /// `( expressionConstraint )`
    Nested(Box<Expr>),
}

/// subExpressionConstraint.
#[derive(Debug, Clone, PartialEq)]
pub struct SubExpr {
    pub op: Option<ConstraintOp>,
    pub member_of: Option<MemberOf>,
    pub focus: Focus,
    /// `{{ M … }}` constraints (only with `member_of`); each inner Vec is one constraint.
    pub member_filters: Vec<Vec<MemberFilter>>,
    /// `{{ D … }}` / `{{ C … }}` constraints, in order.
    pub filters: Vec<FilterConstraint>,
    pub history: Option<History>,
}

impl SubExpr {
    /// A bare focus without operator, filters or member-of.
    pub fn plain(focus: Focus) -> SubExpr {
        SubExpr {
            op: None,
            member_of: None,
            focus,
            member_filters: Vec::new(),
            filters: Vec::new(),
            history: None,
        }
    }
}

/// `[min..max]`; `max == None` is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinality {
    pub min: u32,
    pub max: Option<u32>,
}

/// eclRefinement (attribute sets and groups, with conjunction / disjunction).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Refinement {
    Attribute(Attribute),
    /// `[card] { attribute set }`
    Group {
        cardinality: Option<Cardinality>,
        inner: Box<Refinement>,
    },
    And(Vec<Refinement>),
    Or(Vec<Refinement>),
}

/// eclAttribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub cardinality: Option<Cardinality>,
    pub reverse: bool,
    pub name: SubExpr,
    pub comparison: Comparison,
}

/// `=` / `!=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqOp {
    Eq,
    Ne,
}

/// `=`, `!=`, `<`, `<=`, `>`, `>=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `#12`, `#-1.5`: the text as written (without `#`) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub text: String,
    pub value: f64,
}

/// The right-hand side of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Expr {
        op: EqOp,
        value: SubExpr,
    },
    Number {
        op: CmpOp,
        value: Number,
    },
    /// `= "a"` or `= ("a" "b")`
    String {
        op: EqOp,
        values: Vec<String>,
    },
    Boolean {
        op: EqOp,
        value: bool,
    },
}

/// `{{ D … }}` or `{{ C … }}`.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterConstraint {
    Description(Vec<DescriptionFilter>),
    Concept(Vec<ConceptFilter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    /// `match:` (the default): every word is a prefix of a word of the term.
    Match,
    /// `wild:` with `*` wildcards over the whole term.
    Wild,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchTerm {
    pub kind: SearchKind,
    /// Unescaped text.
    pub text: String,
}

/// A value given either as a sub-expression or as a set of concept references `(a b c)`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConceptSpec {
    Expr(Box<SubExpr>),
    Set(Vec<ConceptRef>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescType {
    Synonym,
    Fsn,
    Definition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptabilityToken {
    Preferred,
    Acceptable,
}

/// An acceptability set `(prefer accept)` or `(900000000000548007 …)`.
#[derive(Debug, Clone, PartialEq)]
pub enum AcceptabilitySet {
    Tokens(Vec<AcceptabilityToken>),
    Concepts(Vec<ConceptRef>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DialectRef {
    /// `en-us`, `en-gb`, …
    Alias(String),
    Concept(ConceptRef),
    Expr(Box<SubExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DialectItem {
    pub dialect: DialectRef,
    pub acceptability: Option<AcceptabilitySet>,
}

/// A quoted date `"20200131"` as YYYYMMDD (`""` is 0).
pub type TimeValue = u32;

#[derive(Debug, Clone, PartialEq)]
pub enum DescriptionFilter {
    Term {
        op: EqOp,
        terms: Vec<SearchTerm>,
    },
    Language {
        op: EqOp,
        codes: Vec<String>,
    },
    TypeId {
        op: EqOp,
        value: ConceptSpec,
    },
    Type {
        op: EqOp,
        types: Vec<DescType>,
    },
    /// `dialectId = …` / `dialect = …`, with the optional trailing acceptability set.
    Dialect {
        op: EqOp,
        dialects: Vec<DialectItem>,
        acceptability: Option<AcceptabilitySet>,
    },
    Module {
        op: EqOp,
        value: ConceptSpec,
    },
    EffectiveTime {
        op: CmpOp,
        times: Vec<TimeValue>,
    },
    /// `None` is `active = *`.
    Active {
        op: EqOp,
        value: Option<bool>,
    },
    Id {
        op: EqOp,
        ids: Vec<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionStatus {
    Primitive,
    Defined,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConceptFilter {
    DefinitionStatusId {
        op: EqOp,
        value: ConceptSpec,
    },
    DefinitionStatus {
        op: EqOp,
        statuses: Vec<DefinitionStatus>,
    },
    Module {
        op: EqOp,
        value: ConceptSpec,
    },
    EffectiveTime {
        op: CmpOp,
        times: Vec<TimeValue>,
    },
    Active {
        op: EqOp,
        value: Option<bool>,
    },
}

/// A comparison on a reference set field in a member filter.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldComparison {
    Expr { op: EqOp, value: SubExpr },
    Number { op: CmpOp, value: Number },
    String { op: EqOp, terms: Vec<SearchTerm> },
    Boolean { op: EqOp, value: bool },
    Time { op: CmpOp, times: Vec<TimeValue> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberFilter {
    Module {
        op: EqOp,
        value: ConceptSpec,
    },
    EffectiveTime {
        op: CmpOp,
        times: Vec<TimeValue>,
    },
    Active {
        op: EqOp,
        value: Option<bool>,
    },
    Field {
        name: String,
        comparison: FieldComparison,
    },
}

/// `{{ +HISTORY… }}`.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// `+HISTORY-MIN`
    Min,
    /// `+HISTORY-MOD`
    Mod,
    /// `+HISTORY-MAX` and plain `+HISTORY`
    Max,
    /// `+HISTORY (expression constraint over association refsets)`
    Subset(Box<Expr>),
}

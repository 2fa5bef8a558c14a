//! The read-only view of one SNOMED CT edition that the ECL evaluator and the expression
//! logic work on. Concepts are dense indices (`Cid`), assigned by the edition at load time;
//! every slice below is owned by the edition and never changes after load.
//!
//! Final home: `src/snomed/graph.rs` of nosterm. The evaluator and the expression module use
//! only this trait, never the edition's storage.

/// Dense index of a concept in one edition (0..concept_count).
pub type Cid = u32;

/// Well-known SNOMED CT identifiers.
pub mod ids {
    pub const ROOT: u64 = 138875005;
    pub const IS_A: u64 = 116680003;
    pub const FSN: u64 = 900000000000003001;
    pub const SYNONYM: u64 = 900000000000013009;
    pub const DEFINITION: u64 = 900000000000550004;
    pub const PREFERRED: u64 = 900000000000548007;
    pub const ACCEPTABLE: u64 = 900000000000549004;
    pub const PRIMITIVE: u64 = 900000000000074008;
    pub const DEFINED: u64 = 900000000000073002;
    pub const US_ENGLISH: u64 = 900000000000509007;
    pub const GB_ENGLISH: u64 = 900000000000508004;
    // Historical association refsets.
    pub const SAME_AS: u64 = 900000000000527005;
    pub const REPLACED_BY: u64 = 900000000000526001;
    pub const WAS_A: u64 = 900000000000528000;
    pub const POSSIBLY_EQUIVALENT_TO: u64 = 900000000000523009;
    pub const PARTIALLY_EQUIVALENT_TO: u64 = 1186921001;
    pub const POSSIBLY_REPLACED_BY: u64 = 1186924009;
    pub const MOVED_TO: u64 = 900000000000524003;
    pub const ALTERNATIVE: u64 = 900000000000530003;
    pub const REFERS_TO: u64 = 900000000000531004;
}

/// A concrete value of a relationship (RF2 `RelationshipConcreteValues.value`: `#12`,
/// `#1.5`, `"text"`; booleans `true`/`false`).
#[derive(Debug, Clone, PartialEq)]
pub enum Concrete {
    /// Kept as written (without `#`) so that `#1.50` prints back as given; `number` is its value.
    Number {
        text: Box<str>,
        number: f64,
        decimal: bool,
    },
    Text(Box<str>),
    Boolean(bool),
}

/// What an attribute points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Concept(Cid),
    Concrete(Concrete),
}

/// One active inferred attribute relationship (not is-a) of a concept.
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub type_id: Cid,
    /// 0: ungrouped; n > 0: the role group n.
    pub group: u16,
    pub target: Target,
}

/// One active inferred attribute pointing *at* a concept (for reverse attributes `R`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound {
    pub source: Cid,
    pub type_id: Cid,
    pub group: u16,
}

/// How a description is accepted in one language refset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptability {
    Preferred,
    Acceptable,
}

/// One description (FSN, synonym or text definition) of a concept, active or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub id: u64,
    pub active: bool,
    pub module: u64,
    /// YYYYMMDD as a number.
    pub effective_time: u32,
    /// ISO 639-1 as in RF2 (`en`, `fr`).
    pub language: Box<str>,
    /// FSN, SYNONYM or DEFINITION (see `ids`).
    pub type_id: u64,
    pub term: Box<str>,
    pub case_significance: u64,
    /// Active language refset rows: (language refset id, acceptability).
    pub acceptability: Vec<(u64, Acceptability)>,
}

/// A field value of a reference set member (for ECL member filters and `^ [fields]`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A component id (concept, description or relationship SCTID).
    Id(u64),
    Integer(i64),
    Text(Box<str>),
}

/// One row of a reference set.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub active: bool,
    pub module: u64,
    pub effective_time: u32,
    /// The referenced component when it is a concept of this edition.
    pub referenced: Option<Cid>,
    pub referenced_id: u64,
    /// Additional fields, named as in the RF2 header (`targetComponentId`, `mapTarget`…).
    pub fields: Vec<(Box<str>, FieldValue)>,
}

/// The read-only graph of one edition.
pub trait Graph {
    fn concept_count(&self) -> usize;
    /// The concept of an SCTID, active or not.
    fn concept(&self, sctid: u64) -> Option<Cid>;
    fn sctid(&self, c: Cid) -> u64;
    fn is_active(&self, c: Cid) -> bool;
    fn module(&self, c: Cid) -> u64;
    fn effective_time(&self, c: Cid) -> u32;
    /// True when the concept is primitive (definitionStatusId 900000000000074008).
    fn is_primitive(&self, c: Cid) -> bool;

    /// Direct parents and children by active inferred is-a, sorted ascending by Cid.
    fn parents(&self, c: Cid) -> &[Cid];
    fn children(&self, c: Cid) -> &[Cid];
    /// Active inferred attributes of `c` (no is-a), sorted by (group, type).
    fn relationships(&self, c: Cid) -> &[Relationship];
    /// Active inferred attributes whose destination is `c` (no is-a).
    fn inbound(&self, c: Cid) -> &[Inbound];

    /// Every description of a concept, active or not.
    fn descriptions(&self, c: Cid) -> &[Description];

    /// The concepts that are reference sets of this edition (have at least one member row).
    fn refsets(&self) -> &[Cid];
    /// Rows of a reference set, active and inactive; `None` when `refset` is no refset.
    fn members(&self, refset: Cid) -> Option<&[Member]>;
    /// Historical associations whose target is `c`: (inactive source concept, association
    /// refset concept), from active rows of the association refsets.
    fn associations_into(&self, c: Cid) -> &[(Cid, Cid)];
}

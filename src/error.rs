//! The domain error: every failure a request can meet, each knowing its HTTP status and its
//! FHIR `issue.code`. Handlers return `Result<_, Error>` and never build error bodies by hand.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The request is malformed (missing or contradictory parameters, bad JSON).
    #[error("{0}")]
    Invalid(String),
    /// A resource, code system or value set named by the request is not known.
    #[error("{0}")]
    NotFound(String),
    /// A code system named by the request is not known (tx-issue-type `not-found`).
    #[error("{message}")]
    UnknownSystem { message: String, system: String },
    /// A `displayLanguage` that is not a language tag (tx-issue-type `invalid-display`).
    #[error("{0}")]
    InvalidDisplayLanguage(String),
    /// Well-formed but cannot be processed: the value set definition is unusable (circular).
    #[error("{0}")]
    Unprocessable(String),
    /// This server does not do that (writes, unsupported parameters).
    #[error("{0}")]
    NotSupported(String),
    /// Writes on this read-only server.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The answer would be too large or too slow to compute.
    #[error("{0}")]
    TooCostly(String),
    /// A value set that cannot be expanded as defined (e.g. circular imports;
    /// tx-issue-type `vs-invalid`).
    #[error("{0}")]
    InvalidValueSet(String),
    /// An ECL expression (a SNOMED CT `constraint` filter, an `ecl/` implicit value set) that
    /// does not parse or names an unknown concept; the text names it and the position.
    #[error("{0}")]
    InvalidEcl(String),
    /// A value set whose definition breaks a FHIR rule where an operation uses it (e.g. a
    /// filter without value; tx-issue-type `vs-invalid`), at `expression`.
    #[error("{message}")]
    InvalidDefinition { message: String, expression: String },
    /// A code system version excluded by a `check-system-version` parameter (tx-issue-type
    /// `version-error`).
    #[error("{0}")]
    VersionCheck(String),
    /// The request body exceeds the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The client did not send its request body within the configured time.
    #[error("{0}")]
    ClientTimeout(String),
    /// The operation ran past the per-request time budget (the answer is given up).
    #[error("{0}")]
    DeadlineExceeded(String),
    /// The search index could not be built, opened or read (a full disk, a damaged index
    /// folder): the server's storage, not the request. On reload the release is refused and
    /// the previous data stays in service.
    #[error("{0}")]
    SearchIndex(String),
    /// A bug: should never reach a client, but if it does it is an OperationOutcome.
    #[error("{0}")]
    Internal(String),
    /// An admin call without the right credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Not ready yet (the first load is still running).
    #[error("{0}")]
    Unavailable(String),
    /// A release refused on reload: every load error, `file:line[:column]: message`; the
    /// previous data stays in service.
    #[error("release refused: {} error(s); the previous data is still served", .0.len())]
    ReleaseRefused(Vec<crate::load::LoadError>),
}

impl Error {
    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid(_)
            | Error::InvalidDefinition { .. }
            | Error::InvalidDisplayLanguage(_) => 400,
            Error::NotFound(_) | Error::UnknownSystem { .. } => 404,
            Error::Unprocessable(_) => 422,
            Error::NotSupported(_) => 501,
            Error::MethodNotAllowed(_) => 405,
            Error::TooCostly(_) => 422,
            Error::InvalidValueSet(_) => 422,
            Error::InvalidEcl(_) => 400,
            Error::VersionCheck(_) => 400,
            Error::PayloadTooLarge(_) => 413,
            Error::ClientTimeout(_) => 408,
            Error::DeadlineExceeded(_) => 503,
            Error::Internal(_) => 500,
            Error::SearchIndex(_) => 503,
            Error::Unauthorized(_) => 401,
            Error::Unavailable(_) => 503,
            Error::ReleaseRefused(_) => 422,
        }
    }

    /// FHIR `OperationOutcome.issue.code`.
    pub fn issue_code(&self) -> &'static str {
        match self {
            Error::Invalid(_) | Error::InvalidDefinition { .. } | Error::InvalidEcl(_) => "invalid",
            Error::NotFound(_) | Error::UnknownSystem { .. } => "not-found",
            Error::Unprocessable(_) | Error::InvalidDisplayLanguage(_) => "processing",
            Error::NotSupported(_) | Error::MethodNotAllowed(_) => "not-supported",
            Error::TooCostly(_) | Error::PayloadTooLarge(_) | Error::DeadlineExceeded(_) => {
                "too-costly"
            }
            Error::ClientTimeout(_) => "timeout",
            Error::Internal(_) | Error::VersionCheck(_) => "exception",
            Error::InvalidValueSet(_) => "processing",
            Error::Unauthorized(_) => "login",
            Error::Unavailable(_) => "transient",
            // The persistent store is unavailable (a subtype of `transient`).
            Error::SearchIndex(_) => "no-store",
            Error::ReleaseRefused(_) => "invalid",
        }
    }

    /// `http://hl7.org/fhir/tools/CodeSystem/tx-issue-type` code, when one applies.
    pub fn tx_issue_type(&self) -> Option<&'static str> {
        match self {
            Error::NotFound(_) | Error::UnknownSystem { .. } => Some("not-found"),
            Error::InvalidValueSet(_) | Error::InvalidDefinition { .. } | Error::InvalidEcl(_) => {
                Some("vs-invalid")
            }
            Error::VersionCheck(_) => Some("version-error"),
            Error::InvalidDisplayLanguage(_) => Some("invalid-display"),
            _ => None,
        }
    }

    /// The message id shared with the HL7 validator's messages, when one applies.
    pub fn message_id(&self) -> Option<&'static str> {
        match self {
            Error::InvalidEcl(_) => Some("INVALID_ECL"),
            _ => None,
        }
    }

    /// Where in the resource the error is (a FHIRPath), when it is about one element.
    pub fn expression(&self) -> Option<&str> {
        match self {
            Error::InvalidDefinition { expression, .. } => Some(expression),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Issues reported inside operation results (validation messages), as FHIR
//! OperationOutcome issues with a `tx-issue-type` detail code.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    /// FHIR issue type (`code-invalid`, `invalid`, `not-found`, `business-rule`, …).
    pub code: &'static str,
    /// `http://hl7.org/fhir/tools/CodeSystem/tx-issue-type` code.
    pub tx_type: Option<&'static str>,
    pub text: String,
    /// FHIRPath of the element concerned (`code`, `Coding.display`, …).
    pub expression: Option<String>,
    /// Message identifier shared with the HL7 validator's messages (sent as the
    /// `operationoutcome-message-id` extension); ids of nosterm's own notes start with
    /// `NOSTERM_` and are not sent.
    pub message_id: Option<&'static str>,
}

impl Issue {
    pub fn new(
        severity: Severity,
        code: &'static str,
        tx_type: &'static str,
        text: String,
    ) -> Self {
        Issue {
            severity,
            code,
            tx_type: Some(tx_type),
            text,
            expression: None,
            message_id: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    pub fn id(mut self, id: &'static str) -> Self {
        self.message_id = Some(id);
        self
    }

    /// The message id the reference server gives this issue, when it is one of its messages.
    pub fn reference_id(&self) -> Option<&'static str> {
        self.message_id.filter(|id| !id.starts_with("NOSTERM_"))
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

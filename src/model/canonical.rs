//! Canonical URLs and OIDs: the two ways a system is named (FHIR by URL, CDA by OID).

/// How a request names a code system, value set or map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SystemKey {
    Url(String),
    Oid(String),
}

impl SystemKey {
    /// Classifies a system string: `urn:oid:1.2.3` and bare `1.2.3` are OIDs, anything else
    /// is a URL (compared verbatim).
    pub fn parse(s: &str) -> SystemKey {
        match oid_of(s) {
            Some(oid) => SystemKey::Oid(oid.to_string()),
            None => SystemKey::Url(s.to_string()),
        }
    }
}

/// The OID a string names, if it is `urn:oid:X` or a bare dotted-decimal OID.
pub fn oid_of(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix("urn:oid:") {
        return if rest.is_empty() { None } else { Some(rest) };
    }
    if is_bare_oid(s) {
        Some(s)
    } else {
        None
    }
}

/// `1.2.250.1` style: digits separated by single dots, at least two arcs.
pub fn is_bare_oid(s: &str) -> bool {
    let mut arcs = 0;
    for arc in s.split('.') {
        if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        arcs += 1;
    }
    arcs >= 2
}

/// Splits `url|version` into its parts.
pub fn split_canonical(s: &str) -> (&str, Option<&str>) {
    match s.split_once('|') {
        Some((u, v)) if !v.is_empty() => (u, Some(v)),
        Some((u, _)) => (u, None),
        None => (s, None),
    }
}

/// `s` as a FHIR logical id (`[A-Za-z0-9\-.]{1,64}`): other characters become `-`, and it is
/// cut at 64 characters.
pub fn fhir_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_recognised_with_and_without_prefix() {
        assert_eq!(
            oid_of("urn:oid:2.16.840.1.113883.5.25"),
            Some("2.16.840.1.113883.5.25")
        );
        assert_eq!(
            oid_of("2.16.840.1.113883.5.25"),
            Some("2.16.840.1.113883.5.25")
        );
        assert_eq!(oid_of("urn:oid:URN"), Some("URN"));
        assert_eq!(oid_of("http://loinc.org"), None);
        assert_eq!(oid_of("1"), None);
        assert_eq!(oid_of("1..2"), None);
    }

    #[test]
    fn canonical_splits_version() {
        assert_eq!(split_canonical("http://a|1.0"), ("http://a", Some("1.0")));
        assert_eq!(split_canonical("http://a"), ("http://a", None));
        assert_eq!(split_canonical("http://a|"), ("http://a", None));
    }
}

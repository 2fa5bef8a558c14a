//! The OID registry: a shipped CSV naming the canonical URL of code systems known by OID
//! (the external systems CI-SIS documents use: LOINC, SNOMED CT, HL7 v3, UCUM, …).
//!
//! ```text
//! # comment lines start with '#'
//! oid,url,name
//! 2.16.840.1.113883.6.1,http://loinc.org,LOINC
//! ```
//! Each row becomes an alias (`Dataset.aliases`): `urn:oid:<oid>` and the bare OID resolve to
//! `url` unless a loaded resource claims the OID itself (loaded tables win). Any file named
//! `oid-registry.csv` (or `*.oid-registry.csv`) under `--data` is read this way.

use std::collections::HashMap;

use super::{LoadError, Resource};
use crate::model::canonical::is_bare_oid;

/// Whether `file_name` is an OID registry.
pub fn is_registry(file_name: &str) -> bool {
    file_name == "oid-registry.csv" || file_name.ends_with(".oid-registry.csv")
}

pub fn parse_registry(bytes: &[u8], name: &str) -> Result<Vec<Resource>, Vec<LoadError>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(_) => {
            return Err(vec![LoadError::new(name, None, None, "not UTF-8")]);
        }
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut header_seen = false;
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row = raw.trim_end_matches('\r');
        if row.trim().is_empty() || row.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = row.split(',').collect();
        if !header_seen {
            header_seen = true;
            if cells.len() < 2 || cells[0].trim() != "oid" || cells[1].trim() != "url" {
                errors.push(LoadError::new(
                    name,
                    Some(line),
                    Some(1),
                    format!("expected the header 'oid,url,name', found '{row}'"),
                ));
                break;
            }
            continue;
        }
        let oid = cells[0].trim();
        let url = cells.get(1).map(|u| u.trim()).unwrap_or("");
        if !is_bare_oid(oid) {
            errors.push(LoadError::new(
                name,
                Some(line),
                Some(1),
                format!("'{oid}' is not an OID"),
            ));
            continue;
        }
        if url.is_empty() || !url.contains(':') {
            let column = cells[0].chars().count() + 2;
            errors.push(LoadError::new(
                name,
                Some(line),
                Some(column),
                format!("'{url}' is not an absolute URL"),
            ));
            continue;
        }
        if let Some((first, other)) = seen.get(oid) {
            if other != url {
                errors.push(LoadError::new(
                    name,
                    Some(line),
                    Some(1),
                    format!("OID {oid} already maps to {other} (line {first})"),
                ));
            }
            continue;
        }
        seen.insert(oid.to_string(), (line, url.to_string()));
        out.push(Resource::Alias {
            oid: oid.to_string(),
            url: url.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_bad_ones() {
        let ok = parse_registry(
            b"# source\noid,url,name\n2.16.840.1.113883.6.1,http://loinc.org,LOINC\n",
            "r.csv",
        )
        .unwrap();
        assert!(
            matches!(&ok[0], Resource::Alias { oid, url } if oid == "2.16.840.1.113883.6.1" && url == "http://loinc.org")
        );
        let e = parse_registry(
            b"oid,url,name\nloinc,http://loinc.org,x\n1.2,nope,y\n1.3,http://a,z\n1.3,http://b,z\n",
            "r.csv",
        )
        .unwrap_err();
        let texts: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            texts,
            vec![
                "r.csv:2:1: 'loinc' is not an OID",
                "r.csv:3:5: 'nope' is not an absolute URL",
                "r.csv:5:1: OID 1.3 already maps to http://a (line 4)",
            ]
        );
    }
}

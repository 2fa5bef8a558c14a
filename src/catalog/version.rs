//! Version ordering and matching for canonical resources (`url|version`).

use std::cmp::Ordering;

/// Orders versions the way people read them: numeric segments numerically (`1.10` > `1.9`),
/// other segments as text; a version with more segments is newer when the rest is equal.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut sa = a.split(['.', '-', '+']);
    let mut sb = b.split(['.', '-', '+']);
    loop {
        match (sa.next(), sb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(nx), Ok(ny)) => nx.cmp(&ny),
                    (Ok(_), Err(_)) => Ordering::Greater,
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Whether a requested version selects `actual`: equal, or a wildcard pattern (`1.x`,
/// `1.0.*`, `1.x.x`). A bare `1` is not a pattern: it names version `1` only, as FHIR
/// validators read it.
pub fn matches(requested: &str, actual: &str) -> bool {
    if requested == actual {
        return true;
    }
    let req: Vec<&str> = requested.split('.').collect();
    let act: Vec<&str> = actual.split('.').collect();
    let wildcard = req.iter().any(|s| *s == "x" || *s == "*" || *s == "X");
    if !wildcard || req.len() > act.len() {
        return false;
    }
    req.iter()
        .zip(act.iter())
        .all(|(r, a)| r == a || *r == "x" || *r == "*" || *r == "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_order() {
        assert_eq!(compare("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare("2024", "20240426120000"), Ordering::Less);
    }

    #[test]
    fn wildcards_and_prefixes() {
        assert!(matches("1.x", "1.2.0"));
        assert!(matches("1.0.x", "1.0.3"));
        assert!(!matches("1.0.x", "1.1.0"));
        assert!(!matches("1", "1.0.0"));
        assert!(!matches("abc", "abcd"));
    }
}

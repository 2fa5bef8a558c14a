//! The FHIR wire format: Parameters in and out, OperationOutcome, Bundles, capability
//! statements, and the model rendered as FHIR JSON resources.

pub mod bundle;
pub mod capability;
pub mod outcome;
pub mod params;
pub mod render;
pub mod request;
pub mod resources;

/// Current time as a FHIR instant (UTC, seconds).
pub fn now_instant() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    instant_from_unix(secs)
}

/// Formats seconds since 1970 as `YYYY-MM-DDThh:mm:ssZ` (civil-from-days, proleptic Gregorian).
pub fn instant_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants() {
        assert_eq!(super::instant_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::instant_from_unix(1_795_435_200),
            "2026-11-23T12:00:00Z"
        );
    }
}

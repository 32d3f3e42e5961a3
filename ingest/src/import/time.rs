//! Timestamps as event logs write them: RFC 3339 / ISO 8601 with or without an offset (without
//! one, UTC), with `T` or a space, with or without fractions; `YYYY/MM/DD` dates; and date-only.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Reads a timestamp, or says why not.
pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    const WITH_OFFSET: [&str; 4] =
        ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y/%m/%d %H:%M:%S%.f%:z"];
    for format in WITH_OFFSET {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    const NAIVE: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];
    for format in NAIVE {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Ok(t.and_utc());
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(naive, format) {
            return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        }
    }
    Err(format!("cannot read `{}` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)", shorten(text)))
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_formats_of_real_logs_read() {
        let iso = |s: &str| parse(s).map(|t| t.to_rfc3339()).unwrap_or_else(|e| e);
        assert_eq!(iso("2010-12-30T14:32:00.000+01:00"), "2010-12-30T13:32:00+00:00");
        assert_eq!(iso("2015-01-05 09:02:50+00:00"), "2015-01-05T09:02:50+00:00");
        assert_eq!(iso("2015-01-05 09:02:50.250"), "2015-01-05T09:02:50.250+00:00");
        assert_eq!(iso("2015-01-05T09:02:50Z"), "2015-01-05T09:02:50+00:00");
        assert_eq!(iso("2015/01/05 09:02:50"), "2015-01-05T09:02:50+00:00");
        assert_eq!(iso("2015-01-05"), "2015-01-05T00:00:00+00:00");
        assert_eq!(
            iso("yesterday"),
            "cannot read `yesterday` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)"
        );
        assert!(parse("2015-13-45 09:00:00").is_err());
    }
}

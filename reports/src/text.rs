//! Figures as text for people — durations, shares, numbers, counts of things — and aligned text
//! tables: the one set of formatters the reports' sentences, the CLI, the web UI, REST texts and
//! MCP all use, so a duration reads the same ("3h 20m") everywhere.

/// An aligned text table: a header row, a rule, then the rows. Columns whose cells all read as
/// numbers or durations (they start with a digit, `-` or `—`) are right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            !rows.is_empty()
                && rows.iter().all(|row| {
                    row.get(i)
                        .and_then(|c| c.chars().next())
                        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '—')
                })
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if numeric[i] { format!("{}{cell}", " ".repeat(pad)) } else { format!("{cell}{}", " ".repeat(pad)) }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A duration in seconds as people read it: `45s`, `12m 05s`, `3h 20m`, `4d 06h`; negative
/// durations (overlapping work) keep their sign.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".into();
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let total = seconds.abs().round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60);
    let text = match (days, hours, minutes) {
        (0, 0, 0) if seconds.abs() < 1.0 && seconds != 0.0 => format!("{:.2}s", seconds.abs()),
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs:02}s"),
        (0, _, _) => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours:02}h"),
    };
    format!("{sign}{text}")
}

/// The time from one piece of work to the next as people read it: `2h 19m`, or, when the next
/// began before the first ended (overlapping work in logs with start times), `overlaps by 2h 19m`
/// — never a negative duration.
pub fn gap(seconds: f64) -> String {
    if seconds < 0.0 { format!("overlaps by {}", duration(-seconds)) } else { duration(seconds) }
}

/// A share (0 to 1) as a percentage with one decimal: `41.4%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A share (0 to 1) as a whole percentage, rounded half away from zero: `41%`; `<1%` for a share
/// above 0 but below 0.5%.
pub fn whole_percent(share: f64) -> String {
    let whole = (share * 100.0).round();
    if whole == 0.0 && share > 0.0 { "<1%".to_string() } else { format!("{}%", whole as i64) }
}

/// A number with thousands separators and a precision that suits its size: `41`, `3.25`,
/// `12.3`, `1,235`; `no value` for NaN.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        return "no value".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞" } else { "−∞" }.to_string();
    }
    let a = v.abs();
    let decimals = if v.fract() == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    group_digits(&format!("{v:.decimals$}"))
}

/// Adds thousands separators to a formatted number and trims trailing fraction zeros.
fn group_digits(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let frac = frac.trim_end_matches('0');
    let mut out = String::from(sign);
    let n = int.chars().count();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if out == "-0" { "0".to_string() } else { out }
}

/// A count and the noun in the right number: `1 case`, `3 cases`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        let cases = [
            (0.0, "0s"),
            (0.25, "0.25s"),
            (45.0, "45s"),
            (725.0, "12m 05s"),
            (12_000.0, "3h 20m"),
            (367_200.0, "4d 06h"),
            (-90.0, "-1m 30s"),
            (f64::NAN, "—"),
        ];
        for (seconds, text) in cases {
            assert_eq!(duration(seconds), text, "{seconds}");
        }
        assert_eq!(percent(0.4137), "41.4%");
        assert_eq!(gap(8_340.0), "2h 19m");
        assert_eq!(gap(-8_340.0), "overlaps by 2h 19m");
        assert_eq!(gap(0.0), "0s");
    }

    #[test]
    fn numbers_shares_and_counts_read_like_people_write_them() {
        for (v, text) in [
            (41.0, "41"),
            (3.25, "3.25"),
            (12.34, "12.3"),
            (1234.6, "1,235"),
            (-1_234_567.0, "-1,234,567"),
            (0.5, "0.5"),
            (-0.0001, "0"),
            (f64::NAN, "no value"),
        ] {
            assert_eq!(number(v), text, "{v}");
        }
        assert_eq!(whole_percent(0.004), "<1%");
        assert_eq!(whole_percent(0.0), "0%");
        assert_eq!(whole_percent(0.416), "42%");
        assert_eq!(plural(1, "case", "cases"), "1 case");
        assert_eq!(plural(0, "case", "cases"), "0 cases");
    }

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let rows = vec![vec!["pack".to_string(), "12".to_string()], vec!["ship order".to_string(), "3".to_string()]];
        assert_eq!(
            table(&["activity", "cases"], &rows),
            "activity    cases\n----------  -----\npack           12\nship order      3\n"
        );
    }
}

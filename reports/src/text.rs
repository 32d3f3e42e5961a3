//! Reports as text for people: aligned tables and readable durations.

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

/// A share (0 to 1) as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::{duration, percent, table};

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

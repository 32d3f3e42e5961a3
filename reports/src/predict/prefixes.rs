//! The prefixes of a log's cases as rows ([`super::features`]) with what followed each: the
//! remaining time, the next activity and the time to it, and the case's whole duration.

use super::features::{Encoding, InProgress, events_in_order};
use crate::caselog::{CaseLog, NONE, seconds_between};

/// Prefixes as rows, with what followed.
#[derive(Debug, Default)]
pub(crate) struct Prefixes {
    /// The rows, one after the other, `width` numbers each.
    pub values: Vec<f64>,
    pub width: usize,
    /// Per row: the case (its number in the log) and the prefix's length.
    pub case: Vec<u32>,
    pub length: Vec<u32>,
    /// The encoded last activity (the encoding's place, or its number of activities for other).
    pub last: Vec<u32>,
    /// Seconds from the prefix's last event to the case's last event.
    pub remaining_s: Vec<f64>,
    /// The next activity's class ([`Classes`]), [`Classes::end`] after the last event.
    pub next: Vec<u32>,
    /// Seconds to the next event (0 after the last).
    pub next_in_s: Vec<f64>,
    /// The case's duration, first event to last, in seconds.
    pub case_duration_s: Vec<f64>,
}

/// The classes of the next activity: the encoding's activities, other, and the case's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classes {
    pub activities: usize,
}

impl Classes {
    pub fn of(encoding: &Encoding) -> Classes {
        Classes { activities: encoding.activities.len() }
    }

    /// How many: the activities, other, the end.
    pub fn count(self) -> usize {
        self.activities + 2
    }

    /// The class that says the case ends.
    pub fn end(self) -> u32 {
        (self.activities + 1) as u32
    }
}

/// Which prefixes of the cases are written, and how.
#[derive(Clone, Copy)]
struct Selection<'a> {
    /// Only each case's whole prefix.
    whole_only: bool,
    /// Only those whose place among all of them is here (sorted).
    keep: Option<&'a [usize]>,
    /// With their rows (or only what followed them).
    encoded: bool,
}

impl Selection<'_> {
    const EVERY: Selection<'static> = Selection { whole_only: false, keep: None, encoded: true };
}

impl Prefixes {
    /// Every prefix of `cases` (numbers in `log`) as `encoding` writes them; `running[c]` marks
    /// cases not finished, for the cases in progress at each moment.
    pub fn of(log: &CaseLog, running: &[bool], encoding: &Encoding, cases: &[usize]) -> Prefixes {
        Prefixes::written(log, running, encoding, cases, Selection::EVERY)
    }

    /// Every prefix of `cases` with what followed it but without its row (`values` empty,
    /// `width` 0): what the baselines learn from, in a fraction of the memory.
    pub fn outcomes_of(log: &CaseLog, running: &[bool], encoding: &Encoding, cases: &[usize]) -> Prefixes {
        Prefixes::written(log, running, encoding, cases, Selection { encoded: false, ..Selection::EVERY })
    }

    /// At most `at_most` of the prefixes of `cases`, drawn with `seed` (in their order): only those
    /// are written, so a large log's rows are never all held at once.
    pub fn sample_of(
        log: &CaseLog,
        running: &[bool],
        encoding: &Encoding,
        cases: &[usize],
        at_most: usize,
        seed: u64,
    ) -> Prefixes {
        use rand::SeedableRng;
        let total: usize = cases.iter().map(|&c| log.rows_of(c).len()).sum();
        if total <= at_most {
            return Prefixes::of(log, running, encoding, cases);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut keep = rand::seq::index::sample(&mut rng, total, at_most).into_vec();
        keep.sort_unstable();
        Prefixes::written(log, running, encoding, cases, Selection { keep: Some(&keep), ..Selection::EVERY })
    }

    /// Each of `cases` as far as it has come: its whole prefix (what an open case is asked about).
    pub fn so_far(log: &CaseLog, running: &[bool], encoding: &Encoding, cases: &[usize]) -> Prefixes {
        Prefixes::written(log, running, encoding, cases, Selection { whole_only: true, ..Selection::EVERY })
    }

    /// The prefixes of `cases` that `selection` picks.
    fn written(
        log: &CaseLog,
        running: &[bool],
        encoding: &Encoding,
        cases: &[usize],
        selection: Selection,
    ) -> Prefixes {
        let Selection { whole_only, keep, encoded } = selection;
        let ranges: Vec<std::ops::Range<usize>> = log.case_ranges().collect();
        let in_progress = InProgress::new(ranges.iter().enumerate().map(|(c, rows)| {
            let times = &log.t[rows.clone()];
            let first = times.iter().copied().min().unwrap_or(NONE);
            let last = if running.get(c).copied().unwrap_or(false) {
                NONE
            } else {
                times.iter().copied().max().unwrap_or(NONE)
            };
            (first, last)
        }));
        let mapping = encoding.mapping(log);
        let classes = Classes::of(encoding);
        let mut prefixes = Prefixes { width: if encoded { encoding.width() } else { 0 }, ..Prefixes::default() };
        // The place of the next prefix among all, and of the next one to keep in `keep`.
        let (mut place, mut kept) = (0usize, 0usize);
        for &c in cases {
            let n = ranges[c].len();
            if let Some(keep) = keep {
                let wanted = keep.get(kept).is_some_and(|&k| k < place + n);
                if !wanted {
                    place += n;
                    continue;
                }
            }
            let events = events_in_order(log, ranges[c].clone());
            let context = encoding.context_values(log.context.get(c).map_or(&[], Vec::as_slice));
            let end = log.t[events[n - 1]];
            for k in if whole_only { n } else { 1 }..=n {
                if let Some(keep) = keep {
                    let wanted = keep.get(kept) == Some(&place);
                    place += 1;
                    if !wanted {
                        continue;
                    }
                    kept += 1;
                }
                let at = log.t[events[k - 1]];
                if encoded {
                    encoding.encode(log, &mapping, &context, &events, k, in_progress.at(at), &mut prefixes.values);
                }
                prefixes.case.push(c as u32);
                prefixes.length.push(k as u32);
                prefixes.last.push(encoding.activity_of(&mapping, log.activity[events[k - 1]]) as u32);
                prefixes.remaining_s.push(seconds_between(end, at));
                match events.get(k) {
                    Some(&next) => {
                        prefixes.next.push(encoding.activity_of(&mapping, log.activity[next]) as u32);
                        prefixes.next_in_s.push(seconds_between(log.t[next], at));
                    }
                    None => {
                        prefixes.next.push(classes.end());
                        prefixes.next_in_s.push(0.0);
                    }
                }
                prefixes.case_duration_s.push(seconds_between(end, log.t[events[0]]));
            }
        }
        prefixes
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.case.len()
    }

    /// The rows `keep` (indices), in that order.
    pub fn subset(&self, keep: &[usize]) -> Prefixes {
        let mut values = Vec::with_capacity(keep.len() * self.width);
        for &i in keep {
            values.extend_from_slice(&self.values[i * self.width..(i + 1) * self.width]);
        }
        let pick_u32 = |column: &[u32]| keep.iter().map(|&i| column[i]).collect();
        let pick_f64 = |column: &[f64]| keep.iter().map(|&i| column[i]).collect();
        Prefixes {
            values,
            width: self.width,
            case: pick_u32(&self.case),
            length: pick_u32(&self.length),
            last: pick_u32(&self.last),
            remaining_s: pick_f64(&self.remaining_s),
            next: pick_u32(&self.next),
            next_in_s: pick_f64(&self.next_in_s),
            case_duration_s: pick_f64(&self.case_duration_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caselog::testing::log;

    #[test]
    fn a_sample_writes_the_same_rows_as_sampling_every_row() {
        let events: Vec<(String, &str, i64)> = (0..40)
            .flat_map(|c| {
                (0..1 + c % 5).map(move |k| (format!("c{c}"), ["a", "b", "c"][k % 3], (c * 100 + k) as i64 * 1_000_000))
            })
            .collect();
        let borrowed: Vec<(&str, &str, i64)> = events.iter().map(|(c, a, t)| (c.as_str(), *a, *t)).collect();
        let log = log(&borrowed);
        let running = vec![false; log.cases()];
        let cases: Vec<usize> = (0..log.cases()).collect();
        let encoding = Encoding::fit(&log, &cases);
        let all = Prefixes::of(&log, &running, &encoding, &cases);
        assert_eq!(all.rows(), 120);
        let sampled = Prefixes::sample_of(&log, &running, &encoding, &cases, 17, 7);
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut keep = rand::seq::index::sample(&mut rng, all.rows(), 17).into_vec();
        keep.sort_unstable();
        let expected = all.subset(&keep);
        assert_eq!(
            (sampled.rows(), &sampled.values, &sampled.case, &sampled.length),
            (17, &expected.values, &expected.case, &expected.length)
        );
        assert_eq!((&sampled.next, &sampled.remaining_s), (&expected.next, &expected.remaining_s));
        // No more rows than asked: every row.
        assert_eq!(Prefixes::sample_of(&log, &running, &encoding, &cases, 500, 7).values, all.values);
    }
}

//! Summaries of values computed in Rust (the reports that pass over a [`crate::caselog`]).

/// The mean of `values` (0 when there are none).
pub(crate) fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// The median of `values` — the middle one, or the mean of the two middle ones — as SQL's
/// `median` has it; 0 when there are none. Reorders `values`.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    let (below, middle, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let middle = *middle;
    if n % 2 == 1 {
        return middle;
    }
    let lower = below.iter().copied().max_by(f64::total_cmp).unwrap_or(middle);
    (lower + middle) / 2.0
}

/// The `p`-quantile of `sorted` (ascending) with linear interpolation between the two nearest
/// ranks, as `crate::sql::quantile` computes it; 0 when there are none.
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let Some(&last) = sorted.last() else { return 0.0 };
    let index = p * (sorted.len() - 1) as f64;
    let i = index.floor() as usize;
    let value = sorted[i.min(sorted.len() - 1)];
    let next = sorted.get(i + 1).copied().unwrap_or(last);
    value + (next - value) * (index - index.floor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0]), 3.0);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [-1.0, 7.0]), 3.0);
    }

    #[test]
    fn quantiles_interpolate_between_the_nearest_ranks() {
        assert_eq!(quantile(&[], 0.9), 0.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
        // Ranks 0..=3: 0.9 × 3 = 2.7, so 30 + 0.7 × (40 − 30).
        assert_eq!(quantile(&[10.0, 20.0, 30.0, 40.0], 0.9), 37.0);
        assert_eq!(quantile(&[10.0, 20.0, 30.0, 40.0], 1.0), 40.0);
        assert_eq!(quantile(&[10.0, 20.0], 0.5), 15.0);
    }

    #[test]
    fn mean_of_nothing_is_zero() {
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
    }
}

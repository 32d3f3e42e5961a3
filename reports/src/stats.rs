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

/// The count, mean and variance of values added one at a time (Welford's method: no sum of
/// squares that loses the variance of large values to rounding).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    count: u64,
    mean: f64,
    /// The sum of squared differences from the mean.
    squares: f64,
}

impl Moments {
    /// Adds a value.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.squares += delta * (value - self.mean);
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their mean (0 when there are none).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Their sample standard deviation (n − 1); 0 for fewer than two values.
    pub fn stdev(&self) -> f64 {
        if self.count < 2 { 0.0 } else { (self.squares / (self.count - 1) as f64).sqrt() }
    }
}

/// The one-sided p-value of the Mann–Whitney U test that values of `x` tend to be larger than
/// those of `y`: the normal approximation with the tie correction and the continuity correction,
/// as SciPy's `mannwhitneyu(x, y, alternative="greater", method="asymptotic")`; 1 when either is
/// empty.
pub(crate) fn mann_whitney_greater(x: &[f64], y: &[f64]) -> f64 {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    if x.is_empty() || y.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum_x, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i + 1 ..= j + 1 share their mean.
        let rank = (i + j + 2) as f64 / 2.0;
        rank_sum_x += rank * all[i..=j].iter().filter(|v| v.1).count() as f64;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let u = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 1.0;
    }
    let z = (u - n1 * n2 / 2.0 - 0.5) / variance.sqrt();
    upper_tail(z)
}

/// P(Z ≥ z) for a standard normal Z.
pub(crate) fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, to a relative error below 1.2e-7 (the Chebyshev fit of
/// Numerical Recipes' `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
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

    #[test]
    fn moments_are_the_mean_and_sample_deviation() {
        let mut m = Moments::default();
        assert_eq!((m.count(), m.mean(), m.stdev()), (0, 0.0, 0.0));
        m.add(7.0);
        assert_eq!((m.count(), m.mean(), m.stdev()), (1, 7.0, 0.0));
        let mut n = Moments::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            n.add(v + 1e9);
        }
        // Sum of squares 32 over 7, to 1e-7 despite the offset of 1e9.
        assert_eq!(n.count(), 8);
        assert_eq!(n.mean(), 1e9 + 5.0);
        assert!((n.stdev() - (32.0f64 / 7.0).sqrt()).abs() < 1e-7, "{}", n.stdev());
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        // scipy.stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic").pvalue
        let p = mann_whitney_greater(&[5.0, 7.0, 7.0, 9.0, 12.0, 15.0], &[1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert!((p - 0.008900012777769696).abs() < 1e-8, "{p}");
        let p = mann_whitney_greater(&[1.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((p - 0.8193447857369105).abs() < 1e-7, "{p}");
        assert_eq!(mann_whitney_greater(&[], &[1.0]), 1.0);
        assert_eq!(mann_whitney_greater(&[1.0], &[1.0]), 1.0);
        // 0.5 · scipy.special.erfc(z / √2)
        assert!((upper_tail(2.5) - 0.006209665325776138).abs() < 1e-9);
        assert!((upper_tail(-1.0) - 0.8413447460685429).abs() < 1e-7);
    }
}

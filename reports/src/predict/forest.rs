//! The learners, from smartcore (design.md): a random forest regressor for times, and for
//! classes one random forest regressor per class on 0/1, whose mean of leaf shares is the
//! class's probability — smartcore's own forest classifier tells only the winning class.
//!
//! Both are deterministic for a seed, and refuse rows holding NaN or an infinity: no such value
//! ever enters a model. A model's forests grow and answer side by side on rayon's threads (each
//! with its own seed, so the result does not depend on how many there are).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{RandomForestRegressor, RandomForestRegressorParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// Rows as the learners take them: checked once (no NaN or infinity) and laid out once as a
/// matrix, which every forest fitted on them or asked about them reads.
pub(crate) struct Table {
    dense: DenseMatrix<f64>,
    rows: usize,
    width: usize,
}

impl Table {
    /// `values`, row after row of `width` numbers; refused where one is NaN or infinite.
    pub fn new(values: &[f64], width: usize) -> Result<Table, LearnError> {
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(LearnError(format!("row {}, column {} is not a finite number", at / width, at % width)));
        }
        let rows = values.len().checked_div(width).unwrap_or(0);
        let dense = DenseMatrix::new(rows, width, values.to_vec(), false).map_err(|e| LearnError(e.to_string()))?;
        Ok(Table { dense, rows, width })
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// A learner failed (smartcore's message) or was given a value it must not take.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LearnError(pub String);

impl From<smartcore::error::Failed> for LearnError {
    fn from(e: smartcore::error::Failed) -> LearnError {
        LearnError(e.to_string())
    }
}

/// How large the trees grow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    pub trees: u16,
    pub max_depth: u16,
    pub min_samples_leaf: usize,
    /// The share of the columns each split chooses among, drawn anew at each (none: the square
    /// root of their number).
    pub split_share: Option<f64>,
}

/// A random forest over times (seconds): the mean of its trees.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Regressor {
    forest: RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>,
    width: usize,
}

impl Regressor {
    /// Grows a forest on `table`'s rows against `targets`.
    pub fn fit(table: &Table, targets: &[f64], growth: Growth, seed: u64) -> Result<Regressor, LearnError> {
        if let Some(at) = targets.iter().position(|t| !t.is_finite()) {
            return Err(LearnError(format!("target {at} is not a finite number")));
        }
        let parameters = RandomForestRegressorParameters::default()
            .with_n_trees(usize::from(growth.trees))
            .with_max_depth(growth.max_depth)
            .with_min_samples_leaf(growth.min_samples_leaf)
            .with_seed(seed);
        let parameters = match growth.split_share {
            Some(share) => {
                parameters.with_m(((share * table.width as f64).ceil() as usize).clamp(1, table.width.max(1)))
            }
            None => parameters,
        };
        let forest = RandomForestRegressor::fit(&table.dense, &targets.to_vec(), parameters)?;
        Ok(Regressor { forest, width: table.width })
    }

    /// The prediction for each of `table`'s rows.
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>, LearnError> {
        if table.width != self.width {
            return Err(LearnError(format!("rows of {} columns for a model of {}", table.width, self.width)));
        }
        if table.rows() == 0 {
            return Ok(Vec::new());
        }
        Ok(self.forest.predict(&table.dense)?)
    }
}

/// Classes told by one random forest regressor each on "is it this class" (0 or 1): the mean of
/// its leaves' shares is the class's probability (as a forest classifier's averaged leaf
/// distributions), the probabilities normalised to sum to 1. Classes rarer than [`RARE`] of the
/// rows get none and probability 0.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OneVsRest {
    forests: Vec<(u32, Regressor)>,
    classes: usize,
}

/// The share of the rows below which a class gets no forest of its own.
const RARE: f64 = 0.01;

impl OneVsRest {
    /// Grows a forest per class of `labels` (each below `classes`) that is not rare.
    pub fn fit(
        table: &Table,
        labels: &[u32],
        classes: usize,
        growth: Growth,
        seed: u64,
    ) -> Result<OneVsRest, LearnError> {
        if labels.len() != table.rows() || table.rows() == 0 {
            return Err(LearnError(format!("{} labels for {} rows", labels.len(), table.rows())));
        }
        if let Some(label) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(LearnError(format!("label {label} of only {classes} classes")));
        }
        let mut counts = vec![0usize; classes];
        for &l in labels {
            counts[l as usize] += 1;
        }
        let fitted: Vec<u32> = (0..classes as u32)
            .filter(|&class| {
                let n = counts[class as usize];
                n > 0 && (n as f64) >= RARE * labels.len() as f64
            })
            .collect();
        let forests = fitted
            .into_par_iter()
            .map(|class| {
                let is: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l == class))).collect();
                Ok((class, Regressor::fit(table, &is, growth, seed.wrapping_add(u64::from(class)))?))
            })
            .collect::<Result<Vec<_>, LearnError>>()?;
        Ok(OneVsRest { forests, classes })
    }

    /// For each of `table`'s rows, each class's probability.
    pub fn probabilities(&self, table: &Table) -> Result<Vec<Vec<f64>>, LearnError> {
        let mut out = vec![vec![0.0; self.classes]; table.rows()];
        let answers = self
            .forests
            .par_iter()
            .map(|(class, forest)| Ok((*class, forest.predict(table)?)))
            .collect::<Result<Vec<_>, LearnError>>()?;
        for (class, answer) in answers {
            for (row, p) in answer.into_iter().enumerate() {
                out[row][class as usize] = p.max(0.0);
            }
        }
        for row in &mut out {
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|p| *p /= sum);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows where the class is column 0 above 5 and the time is 10 × column 1.
    fn data() -> (Vec<f64>, Vec<u32>, Vec<f64>) {
        let mut values = Vec::new();
        let (mut labels, mut times) = (Vec::new(), Vec::new());
        for i in 0..200 {
            let (a, b) = ((i % 10) as f64, (i % 7) as f64);
            values.extend([a, b, (i % 3) as f64]);
            labels.push(u32::from(a > 5.0));
            times.push(10.0 * b);
        }
        (values, labels, times)
    }

    const GROWTH: Growth = Growth { trees: 15, max_depth: 6, min_samples_leaf: 1, split_share: None };

    #[test]
    fn forests_learn_a_plain_rule_the_same_way_for_a_seed() {
        let (values, labels, times) = data();
        let table = Table::new(&values, 3).unwrap();
        let classifier = OneVsRest::fit(&table, &labels, 2, GROWTH, 7).unwrap();
        let probabilities = classifier.probabilities(&table).unwrap();
        let correct = probabilities.iter().zip(&labels).filter(|&(p, &l)| (p[1] > 0.5) == (l == 1)).count();
        assert!(correct >= 190, "{correct} of 200");
        assert!(probabilities.iter().all(|p| (p[0] + p[1] - 1.0).abs() < 1e-12));
        let again = OneVsRest::fit(&table, &labels, 2, GROWTH, 7).unwrap().probabilities(&table).unwrap();
        assert_eq!(probabilities, again);

        let regressor = Regressor::fit(&table, &times, GROWTH, 7).unwrap();
        let predicted = regressor.predict(&table).unwrap();
        let error: f64 = predicted.iter().zip(&times).map(|(p, t)| (p - t).abs()).sum::<f64>() / 200.0;
        assert!(error < 5.0, "mean absolute error {error}");
        assert_eq!(predicted, Regressor::fit(&table, &times, GROWTH, 7).unwrap().predict(&table).unwrap());
    }

    #[test]
    fn numbers_that_are_not_finite_never_enter_a_model() {
        let (mut values, _, _) = data();
        values[4] = f64::NAN;
        // Refused before any learner sees it.
        let error = Table::new(&values, 3).err().expect("refused");
        assert_eq!(error.0, "row 1, column 1 is not a finite number");
        let (values, labels, mut times) = data();
        times[3] = f64::INFINITY;
        let table = Table::new(&values, 3).unwrap();
        assert_eq!(Regressor::fit(&table, &times, GROWTH, 7).unwrap_err().0, "target 3 is not a finite number");
        assert_eq!(OneVsRest::fit(&table, &labels, 1, GROWTH, 7).unwrap_err().0, "label 1 of only 1 classes");
    }
}

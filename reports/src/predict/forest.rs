//! The learners, from smartcore (design.md): a random forest regressor for times, and for
//! classes a forest of decision trees each grown on a random patch of the rows and the columns
//! (Louppe and Geurts, "Ensembles on Random Patches", 2012), whose votes give each class's
//! probability — smartcore's own forest classifier tells only the winning class.
//!
//! Both are deterministic for a seed, and refuse rows holding NaN or an infinity: no such value
//! ever enters a model.

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{RandomForestRegressor, RandomForestRegressorParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{DecisionTreeClassifier, DecisionTreeClassifierParameters};

/// Rows as the learners take them: `rows × width` numbers, row after row.
pub(crate) struct Table<'a> {
    pub values: &'a [f64],
    pub width: usize,
}

impl Table<'_> {
    /// How many rows.
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// The rows `rows`, the columns `columns` of each, as a matrix.
    fn matrix(&self, rows: &[usize], columns: &[usize]) -> Result<DenseMatrix<f64>, LearnError> {
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for &i in rows {
            let row = self.row(i);
            values.extend(columns.iter().map(|&c| row[c]));
        }
        DenseMatrix::new(rows.len(), columns.len(), values, false).map_err(|e| LearnError(e.to_string()))
    }

    /// Refuses a table with a value that is NaN or infinite.
    fn check(&self) -> Result<(), LearnError> {
        match self.values.iter().position(|v| !v.is_finite()) {
            Some(at) => {
                Err(LearnError(format!("row {}, column {} is not a finite number", at / self.width, at % self.width)))
            }
            None => Ok(()),
        }
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
}

/// A random forest over times (seconds): the mean of its trees.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Regressor {
    forest: RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>,
    width: usize,
}

impl Regressor {
    /// Grows a forest on `table`'s rows against `targets`.
    pub fn fit(table: &Table<'_>, targets: &[f64], growth: Growth, seed: u64) -> Result<Regressor, LearnError> {
        table.check()?;
        if let Some(at) = targets.iter().position(|t| !t.is_finite()) {
            return Err(LearnError(format!("target {at} is not a finite number")));
        }
        let rows: Vec<usize> = (0..table.rows()).collect();
        let columns: Vec<usize> = (0..table.width).collect();
        let parameters = RandomForestRegressorParameters::default()
            .with_n_trees(usize::from(growth.trees))
            .with_max_depth(growth.max_depth)
            .with_min_samples_leaf(growth.min_samples_leaf)
            .with_seed(seed);
        let forest = RandomForestRegressor::fit(&table.matrix(&rows, &columns)?, &targets.to_vec(), parameters)?;
        Ok(Regressor { forest, width: table.width })
    }

    /// The prediction for each of `table`'s rows.
    pub fn predict(&self, table: &Table<'_>) -> Result<Vec<f64>, LearnError> {
        table.check()?;
        if table.width != self.width {
            return Err(LearnError(format!("rows of {} columns for a model of {}", table.width, self.width)));
        }
        if table.rows() == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<usize> = (0..table.rows()).collect();
        let columns: Vec<usize> = (0..table.width).collect();
        Ok(self.forest.predict(&table.matrix(&rows, &columns)?)?)
    }
}

/// One of a [`Classifier`]'s trees.
type Tree = DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

/// Trees on random patches, voting for classes `0..classes`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Classifier {
    /// Each tree with the columns it was grown on.
    trees: Vec<(Vec<usize>, Tree)>,
    classes: usize,
    width: usize,
}

/// The share of the rows (drawn without replacement) and of the columns each tree sees.
const ROW_SHARE: f64 = 0.5;
const COLUMN_SHARE: f64 = 1.0;

impl Classifier {
    /// Grows the trees on `table`'s rows against `labels` (each below `classes`).
    pub fn fit(
        table: &Table<'_>,
        labels: &[u32],
        classes: usize,
        growth: Growth,
        seed: u64,
    ) -> Result<Classifier, LearnError> {
        use rand::SeedableRng;
        use rand::seq::index::sample;
        table.check()?;
        if labels.len() != table.rows() || table.rows() == 0 {
            return Err(LearnError(format!("{} labels for {} rows", labels.len(), table.rows())));
        }
        if let Some(label) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(LearnError(format!("label {label} of only {classes} classes")));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = table.rows();
        let patch_rows = ((n as f64 * ROW_SHARE).ceil() as usize).clamp(1, n);
        let patch_columns = ((table.width as f64 * COLUMN_SHARE).ceil() as usize).clamp(1, table.width);
        let mut trees = Vec::with_capacity(usize::from(growth.trees));
        for tree in 0..growth.trees {
            let mut rows = sample(&mut rng, n, patch_rows).into_vec();
            rows.sort_unstable();
            let mut columns = sample(&mut rng, table.width, patch_columns).into_vec();
            columns.sort_unstable();
            let patch_labels: Vec<u32> = rows.iter().map(|&r| labels[r]).collect();
            let mut parameters = DecisionTreeClassifierParameters::default()
                .with_max_depth(growth.max_depth)
                .with_min_samples_leaf(growth.min_samples_leaf);
            parameters.seed = Some(seed.wrapping_add(u64::from(tree)));
            let fitted = DecisionTreeClassifier::fit(&table.matrix(&rows, &columns)?, &patch_labels, parameters)?;
            trees.push((columns, fitted));
        }
        Ok(Classifier { trees, classes, width: table.width })
    }

    /// For each of `table`'s rows, each class's probability: the share of the trees voting for it.
    pub fn probabilities(&self, table: &Table<'_>) -> Result<Vec<Vec<f64>>, LearnError> {
        table.check()?;
        if table.width != self.width {
            return Err(LearnError(format!("rows of {} columns for a model of {}", table.width, self.width)));
        }
        let n = table.rows();
        let mut votes = vec![vec![0.0; self.classes]; n];
        if n == 0 {
            return Ok(votes);
        }
        let rows: Vec<usize> = (0..n).collect();
        for (columns, tree) in &self.trees {
            let predicted = tree.predict(&table.matrix(&rows, columns)?)?;
            for (row, &class) in predicted.iter().enumerate() {
                if let Some(vote) = votes[row].get_mut(class as usize) {
                    *vote += 1.0;
                }
            }
        }
        let trees = self.trees.len().max(1) as f64;
        for row in &mut votes {
            row.iter_mut().for_each(|v| *v /= trees);
        }
        Ok(votes)
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

    const GROWTH: Growth = Growth { trees: 15, max_depth: 6, min_samples_leaf: 1 };

    #[test]
    fn forests_learn_a_plain_rule_the_same_way_for_a_seed() {
        let (values, labels, times) = data();
        let table = Table { values: &values, width: 3 };
        let classifier = Classifier::fit(&table, &labels, 2, GROWTH, 7).unwrap();
        let probabilities = classifier.probabilities(&table).unwrap();
        let correct = probabilities.iter().zip(&labels).filter(|&(p, &l)| (p[1] > 0.5) == (l == 1)).count();
        assert!(correct >= 190, "{correct} of 200");
        assert!(probabilities.iter().all(|p| (p[0] + p[1] - 1.0).abs() < 1e-12));
        let again = Classifier::fit(&table, &labels, 2, GROWTH, 7).unwrap().probabilities(&table).unwrap();
        assert_eq!(probabilities, again);

        let regressor = Regressor::fit(&table, &times, GROWTH, 7).unwrap();
        let predicted = regressor.predict(&table).unwrap();
        let error: f64 = predicted.iter().zip(&times).map(|(p, t)| (p - t).abs()).sum::<f64>() / 200.0;
        assert!(error < 5.0, "mean absolute error {error}");
        assert_eq!(predicted, Regressor::fit(&table, &times, GROWTH, 7).unwrap().predict(&table).unwrap());
    }

    #[test]
    fn numbers_that_are_not_finite_never_enter_a_model() {
        let (mut values, labels, times) = data();
        values[4] = f64::NAN;
        let table = Table { values: &values, width: 3 };
        let error = Classifier::fit(&table, &labels, 2, GROWTH, 7).unwrap_err();
        assert_eq!(error.0, "row 1, column 1 is not a finite number");
        assert!(Regressor::fit(&table, &times, GROWTH, 7).is_err());
        let (values, labels, mut times) = data();
        times[3] = f64::INFINITY;
        let table = Table { values: &values, width: 3 };
        assert_eq!(Regressor::fit(&table, &times, GROWTH, 7).unwrap_err().0, "target 3 is not a finite number");
        assert_eq!(Classifier::fit(&table, &labels, 1, GROWTH, 7).unwrap_err().0, "label 1 of only 1 classes");
    }
}

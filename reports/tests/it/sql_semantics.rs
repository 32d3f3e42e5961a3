//! The DataFusion behaviour the reports rely on.

use crate::common::{import_csv, warehouse};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse};

async fn column(warehouse: &Warehouse, sql: &str, to: &DataType) -> arrow::array::ArrayRef {
    let result = warehouse.query(sql, &TeamScope::All, QueryLimits::default()).await.unwrap();
    assert_eq!(result.rows, 1, "{sql}");
    arrow::compute::cast(result.batches.iter().find(|b| b.num_rows() > 0).unwrap().column(0), to).unwrap()
}

async fn double(warehouse: &Warehouse, sql: &str) -> f64 {
    column(warehouse, sql, &DataType::Float64).await.as_primitive::<Float64Type>().value(0)
}

#[tokio::test]
async fn median_of_an_even_count_is_the_mean_of_the_middle_values_for_doubles_only() {
    let (_dir, warehouse) = warehouse();
    let values = "(VALUES (CAST(3 AS DOUBLE)), (1.0), (10.0), (2.0)) AS v(x)";
    assert_eq!(double(&warehouse, &format!("SELECT median(x) FROM {values}")).await, 2.5);
    let odd = "(VALUES (CAST(3 AS DOUBLE)), (1.0), (10.0)) AS v(x)";
    assert_eq!(double(&warehouse, &format!("SELECT median(x) FROM {odd}")).await, 3.0);
    // On integers the mean of the middle values is an integer division: the reports therefore
    // take medians of doubles.
    let integers = "(VALUES (CAST(1 AS BIGINT)), (2)) AS v(x)";
    let median = column(&warehouse, &format!("SELECT median(x) FROM {integers}"), &DataType::Int64).await;
    assert_eq!(median.as_primitive::<Int64Type>().value(0), 1);
}

#[tokio::test]
async fn timestamps_cast_to_microseconds_and_lists_group() {
    let (_dir, warehouse) = warehouse();
    // The events table's `ts`, cast to BIGINT, is microseconds since the epoch.
    import_csv(&warehouse, "team-a", "one", "case,activity,timestamp\n1,a,2024-01-01T00:00:01.5Z\n").await;
    let sql = "SELECT CAST(ts AS BIGINT) FROM events";
    let micros = column(&warehouse, sql, &DataType::Int64).await;
    assert_eq!(micros.as_primitive::<Int64Type>().value(0), 1_704_067_201_500_000);
    // Ordered array_agg, grouped by the resulting list.
    let sql = "SELECT count(*) FROM (SELECT s, count(*) AS n FROM (SELECT c, array_agg(a ORDER BY o) AS s \
               FROM (VALUES ('1', 'x', 2), ('1', 'y', 1), ('2', 'y', 1), ('2', 'x', 2), ('3', 'x', 1)) AS v(c, a, o) \
               GROUP BY c) GROUP BY s)";
    let groups = column(&warehouse, sql, &DataType::Int64).await;
    assert_eq!(groups.as_primitive::<Int64Type>().value(0), 2);
    assert!(!groups.is_null(0));
}

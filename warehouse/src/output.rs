//! Query results written out: an aligned text table, CSV, JSON (an array of objects) or Parquet.

use crate::WarehouseError;
use crate::sql::QueryResult;
use std::io::Write;

/// How to write a query's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned text table, for people.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
    /// A Parquet file.
    Parquet,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "parquet" => Ok(OutputFormat::Parquet),
            other => Err(format!("unknown format `{other}`: use table, csv, json or parquet")),
        }
    }
}

impl QueryResult {
    /// Writes the rows to `out` in `format`.
    pub fn write(&self, format: OutputFormat, out: impl Write + Send) -> Result<(), WarehouseError> {
        let error = |e: &dyn std::fmt::Display| WarehouseError::Query(format!("writing the result: {e}"));
        match format {
            OutputFormat::Table => {
                let mut out = out;
                let table = arrow::util::pretty::pretty_format_batches(&self.batches).map_err(|e| error(&e))?;
                writeln!(out, "{table}").map_err(|e| error(&e))?;
                let rows = if self.rows == 1 { "1 row".to_string() } else { format!("{} rows", self.rows) };
                let more = if self.truncated { " (more left out: the row limit was reached)" } else { "" };
                writeln!(out, "{rows}{more}").map_err(|e| error(&e))
            }
            OutputFormat::Csv => {
                let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(out);
                if self.batches.is_empty() {
                    writer.write(&arrow::array::RecordBatch::new_empty(self.schema.clone())).map_err(|e| error(&e))?;
                }
                self.batches.iter().try_for_each(|b| writer.write(b)).map_err(|e| error(&e))
            }
            OutputFormat::Json => {
                let mut writer = arrow::json::ArrayWriter::new(out);
                self.batches.iter().try_for_each(|b| writer.write(b)).map_err(|e| error(&e))?;
                writer.finish().map_err(|e| error(&e))?;
                writer.into_inner().write_all(b"\n").map_err(|e| error(&e))
            }
            OutputFormat::Parquet => {
                let mut writer =
                    parquet::arrow::ArrowWriter::try_new(out, self.schema.clone(), None).map_err(|e| error(&e))?;
                self.batches.iter().try_for_each(|b| writer.write(b)).map_err(|e| error(&e))?;
                writer.close().map(|_| ()).map_err(|e| error(&e))
            }
        }
    }
}

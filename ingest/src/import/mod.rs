//! Event logs from other systems — XES (plain or gzip) and CSV — imported into the warehouse's
//! `events` table under a team and a source name.
//!
//! The file is parsed as a stream into Arrow batches, then written in one Delta commit that
//! replaces whatever the same source held for the team: an import lands completely or not at all,
//! and importing a file again does not duplicate it. Any error (malformed XML, invalid UTF-8, an
//! unparseable time, a missing column) names the line or row and nothing is written.

mod csv;
mod events;
mod time;
mod xes;

pub use self::csv::CsvColumns;
pub use events::LogEvent;

use crate::IngestError;
use events::EventBatches;
use orgata_warehouse::Warehouse;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

/// The formats an event log can come in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Xes,
    Csv(CsvColumns),
}

impl LogFormat {
    /// The format a file name suggests (`.xes`, `.xes.gz`, `.csv`, `.csv.gz`), with CSV columns
    /// detected from the header.
    pub fn from_path(path: &Path) -> Option<LogFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".xes") {
            Some(LogFormat::Xes)
        } else if name.ends_with(".csv") {
            Some(LogFormat::Csv(CsvColumns::default()))
        } else {
            None
        }
    }
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub team_id: String,
    pub source: String,
    pub events: usize,
    pub cases: usize,
}

/// Checks a source name: 1 to 100 of letters, digits, `.`, `_` and `-`.
pub fn check_source(source: &str) -> Result<(), IngestError> {
    let ok = (1..=100).contains(&source.len())
        && source.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && source != "orgata";
    if ok {
        Ok(())
    } else {
        Err(IngestError::Import {
            location: "source".into(),
            message: format!(
                "invalid source name `{source}`: use 1 to 100 letters, digits, `.`, `_` or `-` (and not `orgata`)"
            ),
        })
    }
}

/// Opens `path`, decompressing `.gz` files.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, IngestError> {
    let file = std::fs::File::open(path)
        .map_err(|e| IngestError::Import { location: path.display().to_string(), message: e.to_string() })?;
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) {
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(reader))))
    } else {
        Ok(Box::new(reader))
    }
}

/// Parses a log into batches of `events` rows for `team` and `source` without writing anything;
/// `progress` is called with the number of events read so far.
pub fn parse(
    input: impl BufRead,
    format: &LogFormat,
    team: &str,
    source: &str,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<arrow::array::RecordBatch>, Imported), IngestError> {
    check_source(source)?;
    let mut batches = EventBatches::new(team, source);
    let mut cases = HashSet::new();
    let mut sink = |event: LogEvent| -> Result<(), IngestError> {
        if !cases.contains(&event.case_id) {
            cases.insert(event.case_id.clone());
        }
        batches.push(event)?;
        if batches.len().is_multiple_of(65_536) {
            progress(batches.len());
        }
        Ok(())
    };
    match format {
        LogFormat::Xes => xes::read(input, &mut sink)?,
        LogFormat::Csv(columns) => csv::read(input, columns, &mut sink)?,
    }
    let events = batches.len();
    progress(events);
    let imported = Imported { team_id: team.into(), source: source.into(), events, cases: cases.len() };
    Ok((batches.finish()?, imported))
}

/// Imports a log: parses it, then replaces the source's events for the team in one commit.
pub async fn import(
    warehouse: &Warehouse,
    input: impl BufRead,
    format: &LogFormat,
    team: &str,
    source: &str,
    progress: &mut dyn FnMut(usize),
) -> Result<Imported, IngestError> {
    let (batches, imported) = parse(input, format, team, source, progress)?;
    warehouse.replace_source(team, source, batches).await?;
    Ok(imported)
}

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

use crate::IngestError;
use arrow::array::RecordBatch;
use events::{EventBatches, EventRow};
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
        && source != orgata_warehouse::tables::ENGINE_SOURCE;
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

/// Batches in flight between the parser and the writer.
const IN_FLIGHT: usize = 4;

/// Parses a log into `events` batches for `team` and `source`, handing each to `emit` as it
/// fills; `progress` is called with the number of events read so far.
fn parse(
    input: impl BufRead,
    format: &LogFormat,
    team: &str,
    source: &str,
    progress: &dyn Fn(usize),
    emit: &mut dyn FnMut(RecordBatch) -> Result<(), IngestError>,
) -> Result<Imported, IngestError> {
    let mut batches = EventBatches::new(team, source);
    let mut cases = HashSet::new();
    // Events of a case mostly come together: its id is looked up when it changes.
    let mut last_case = String::new();
    let mut sink = |event: EventRow<'_>| -> Result<(), IngestError> {
        if event.case_id != last_case {
            last_case.clear();
            last_case.push_str(event.case_id);
            if !cases.contains(event.case_id) {
                cases.insert(event.case_id.to_string());
            }
        }
        if let Some(full) = batches.push(event)? {
            progress(batches.len());
            emit(full)?;
        }
        Ok(())
    };
    match format {
        LogFormat::Xes => xes::read(input, &mut sink)?,
        LogFormat::Csv(columns) => csv::read(input, columns, &mut sink)?,
    }
    let events = batches.len();
    if let Some(last) = batches.finish()? {
        emit(last)?;
    }
    progress(events);
    Ok(Imported { team_id: team.into(), source: source.into(), events, cases: cases.len() })
}

/// Imports a log: parses it on a blocking thread while the warehouse writes the batches as they
/// come, replacing the source's events for the team in one commit. A log that fails to parse
/// writes nothing, and its error (with line or row) is what is returned.
pub async fn import(
    warehouse: &Warehouse,
    input: impl BufRead + Send + 'static,
    format: &LogFormat,
    team: &str,
    source: &str,
    progress: impl Fn(usize) + Send + 'static,
) -> Result<Imported, IngestError> {
    check_source(source)?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<RecordBatch, BoxError>>(IN_FLIGHT);
    let (format, team_id, source_name) = (format.clone(), team.to_string(), source.to_string());
    let parser = tokio::task::spawn_blocking(move || {
        let send = |batch| {
            sender.blocking_send(batch).map_err(|_| IngestError::Malformed("the warehouse write stopped".into()))
        };
        let parsed = parse(input, &format, &team_id, &source_name, &progress, &mut |batch| send(Ok(batch)));
        if let Err(e) = &parsed {
            // The write must fail rather than commit what came before the error.
            let _ = send(Err(e.to_string().into()));
        }
        parsed
    });
    let batches = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|batch| (batch, receiver))
    });
    let written = warehouse.replace_source_streaming(team, source, batches).await;
    let parsed = parser.await.map_err(|e| IngestError::Malformed(format!("the import's parser failed: {e}")))?;
    match (parsed, written) {
        // A parse error is why the write failed, if it did.
        (Err(e @ IngestError::Import { .. }), _) => Err(e),
        (_, Err(e)) => Err(e.into()),
        (parsed, Ok(_)) => parsed,
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

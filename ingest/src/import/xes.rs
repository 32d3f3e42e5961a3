//! XES (IEEE 1849) event logs, parsed as a stream: traces are read one at a time, attributes of
//! any type (string, date, int, float, boolean, id; nested attributes, lists and containers are
//! skipped), with the standard extensions' keys — `concept:name`, `time:timestamp`,
//! `lifecycle:transition`, `org:resource`, `org:role`.

use super::events::LogEvent;
use super::time;
use crate::IngestError;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};
use std::io::{BufRead, Read};

/// Reads a log, handing each event (with its case) to `sink` at the end of its trace.
pub fn read(input: impl BufRead, sink: &mut dyn FnMut(LogEvent) -> Result<(), IngestError>) -> Result<(), IngestError> {
    let mut reader = Reader::from_reader(LineCounter { inner: input, lines: 0 });
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(1024);
    // The open elements that matter: log, trace, event; attributes nest below them.
    let mut in_log = false;
    let mut finished = false;
    let mut trace: Option<Trace> = None;
    let mut event: Option<Vec<(String, Value)>> = None;
    // Depth inside an attribute element (nested attributes, lists, containers) to skip.
    let mut skipping = 0usize;
    loop {
        let at = |reader: &Reader<LineCounter<_>>| format!("line {}", reader.get_ref().lines + 1);
        let xml_error = |reader: &Reader<LineCounter<_>>, e: &dyn std::fmt::Display| IngestError::Import {
            location: at(reader),
            message: format!("malformed XES: {e}"),
        };
        let read = reader.read_event_into(&mut buf);
        let token = match read {
            Ok(token) => token,
            Err(e) => return Err(xml_error(&reader, &e)),
        };
        match token {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let name = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if name != "utf-8" && name != "utf8" {
                        return Err(IngestError::Import {
                            location: at(&reader),
                            message: format!(
                                "the log is encoded as `{name}`; only UTF-8 is supported (convert it, e.g. with iconv)"
                            ),
                        });
                    }
                }
            }
            Event::Start(start) => {
                let name = start.local_name();
                match (name.as_ref(), skipping) {
                    (_, 1..) => skipping += 1,
                    (b"log", _) if !in_log => in_log = true,
                    (b"trace", _) if in_log && trace.is_none() => trace = Some(Trace::default()),
                    (b"event", _) if trace.is_some() && event.is_none() => event = Some(Vec::new()),
                    (b"list" | b"container", _) => skipping = 1,
                    (_, _) => {
                        // An attribute with nested attributes: keep it, skip what it holds.
                        record(&reader, &start, &mut trace, &mut event, in_log)?;
                        skipping = 1;
                    }
                }
            }
            Event::Empty(start) if skipping == 0 => match start.local_name().as_ref() {
                b"event" if trace.is_some() && event.is_none() => {
                    return Err(IngestError::Import {
                        location: at(&reader),
                        message: "an empty <event/> has no activity or time".into(),
                    });
                }
                b"trace" | b"list" | b"container" => {}
                _ => record(&reader, &start, &mut trace, &mut event, in_log)?,
            },
            Event::End(end) => {
                if skipping > 0 {
                    skipping -= 1;
                    buf.clear();
                    continue;
                }
                match end.local_name().as_ref() {
                    b"event" => {
                        if let (Some(attributes), Some(t)) = (event.take(), trace.as_mut()) {
                            t.events.push((reader.get_ref().lines + 1, attributes));
                        }
                    }
                    b"trace" => {
                        if let Some(t) = trace.take() {
                            t.emit(sink)?;
                        }
                    }
                    b"log" => finished = true,
                    _ => {}
                }
            }
            Event::Eof => {
                if !finished {
                    return Err(IngestError::Import {
                        location: at(&reader),
                        message: "the file ends before </log>: it is truncated".into(),
                    });
                }
                return Ok(());
            }
            _ => {}
        }
        buf.clear();
    }
}

/// A trace being read: its attributes, and its events with the line each ended on.
#[derive(Default)]
struct Trace {
    case_id: Option<String>,
    events: Vec<(usize, Vec<(String, Value)>)>,
}

/// An attribute's value as text.
fn into_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

impl Trace {
    fn emit(self, sink: &mut dyn FnMut(LogEvent) -> Result<(), IngestError>) -> Result<(), IngestError> {
        let Some(case_id) = self.case_id else {
            let location =
                self.events.first().map_or_else(|| "a trace".to_string(), |(line, _)| format!("line {line}"));
            return Err(IngestError::Import { location, message: "a trace has no concept:name (its case id)".into() });
        };
        for (line, attributes) in self.events {
            let mut event = LogEvent {
                case_id: case_id.clone(),
                activity: String::new(),
                lifecycle: String::new(),
                resource: None,
                role: None,
                at: chrono::DateTime::UNIX_EPOCH,
                start: None,
                attributes: Map::new(),
            };
            let (mut has_activity, mut has_time) = (false, false);
            for (key, value) in attributes {
                match key.as_str() {
                    "concept:name" => (event.activity, has_activity) = (into_text(value), true),
                    "lifecycle:transition" => {
                        event.lifecycle = into_text(value);
                        event.lifecycle.make_ascii_lowercase();
                    }
                    "org:resource" => event.resource = Some(into_text(value)),
                    "org:role" => event.role = Some(into_text(value)),
                    "time:timestamp" => {
                        event.at = time::parse(&into_text(value))
                            .map_err(|message| IngestError::Import { location: format!("line {line}"), message })?;
                        has_time = true;
                    }
                    _ => {
                        event.attributes.insert(key, value);
                    }
                }
            }
            if event.lifecycle.is_empty() {
                event.lifecycle.push_str("complete");
            }
            let missing = match (has_activity, has_time) {
                (false, _) => Some("concept:name (its activity)"),
                (_, false) => Some("time:timestamp"),
                _ => None,
            };
            if let Some(what) = missing {
                return Err(IngestError::Import {
                    location: format!("line {line}"),
                    message: format!("an event of case `{case_id}` has no {what}"),
                });
            }
            sink(event)?;
        }
        Ok(())
    }
}

/// Records an attribute element on the event or trace being read.
fn record<R>(
    reader: &Reader<R>,
    element: &BytesStart<'_>,
    trace: &mut Option<Trace>,
    event: &mut Option<Vec<(String, Value)>>,
    in_log: bool,
) -> Result<(), IngestError>
where
    R: LineCount,
{
    if !in_log {
        return Ok(());
    }
    let location = || format!("line {}", reader.get_ref().line_count() + 1);
    let invalid = |message: String| IngestError::Import { location: location(), message };
    let (mut key, mut raw) = (None, None);
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| invalid(format!("malformed XES: {e}")))?;
        let text = std::str::from_utf8(&attribute.value).map_err(|_| invalid("invalid UTF-8".into()))?;
        let text = quick_xml::escape::unescape(text).map_err(|e| invalid(format!("malformed XES: {e}")))?;
        match attribute.key.as_ref() {
            b"key" => key = Some(text.into_owned()),
            b"value" => raw = Some(text.into_owned()),
            _ => {}
        }
    }
    let tag = element.local_name();
    let (Some(key), Some(raw)) = (key, raw) else { return Ok(()) };
    let value = match tag.as_ref() {
        b"int" => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid(format!("`{key}`: `{raw}` is not an int")))?,
        b"float" => match raw.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Value::from(f),
            _ => Value::String(raw),
        },
        b"boolean" => Value::Bool(raw.trim().eq_ignore_ascii_case("true")),
        _ => Value::String(raw),
    };
    match (event.as_mut(), trace.as_mut()) {
        (Some(attributes), _) => attributes.push((key, value)),
        (None, Some(t)) if key == "concept:name" => {
            t.case_id = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            })
        }
        _ => {}
    }
    Ok(())
}

/// Counts the lines a reader has consumed, for error locations.
struct LineCounter<R> {
    inner: R,
    lines: usize,
}

trait LineCount {
    fn line_count(&self) -> usize;
}

impl<R> LineCount for LineCounter<R> {
    fn line_count(&self) -> usize {
        self.lines
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.lines += out[..n].iter().filter(|&&b| b == b'\n').count();
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buffer) = self.inner.fill_buf() {
            let amount = amount.min(buffer.len());
            self.lines += buffer[..amount].iter().filter(|&&b| b == b'\n').count();
        }
        self.inner.consume(amount);
    }
}

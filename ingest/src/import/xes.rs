//! XES (IEEE 1849) event logs, parsed as a stream: traces are read one at a time, attributes of
//! any type (string, date, int, float, boolean, id; nested attributes, lists and containers are
//! skipped), with the standard extensions' keys — `concept:name`, `time:timestamp`,
//! `lifecycle:transition`, `org:resource`, `org:role`.
//!
//! A trace's attributes are kept in buffers reused from trace to trace (their text in one string,
//! typed values beside it), so reading allocates nothing per attribute or event.

use super::events::EventRow;
use super::time;
use crate::IngestError;
use quick_xml::Reader;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::ops::Range;

/// Reads a log, handing each event (with its case) to `sink` at the end of its trace.
pub fn read(
    input: impl BufRead,
    sink: &mut dyn FnMut(EventRow<'_>) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut reader = Reader::from_reader(LineCounter { inner: input, lines: 0 });
    let config = reader.config_mut();
    config.check_end_names = true;
    // Text between elements means nothing in XES: whitespace is not even reported.
    config.trim_text(true);
    let mut buf = Vec::with_capacity(1024);
    let mut state = State::default();
    let mut emitter = Emitter::default();
    let mut in_log = false;
    let mut finished = false;
    // Depth inside an attribute element (nested attributes, lists, containers) to skip.
    let mut skipping = 0usize;
    loop {
        let at = |reader: &Reader<LineCounter<_>>| format!("line {}", reader.get_ref().lines + 1);
        let token = match reader.read_event_into(&mut buf) {
            Ok(token) => token,
            Err(e) => {
                return Err(IngestError::Import { location: at(&reader), message: format!("malformed XES: {e}") });
            }
        };
        let line = reader.get_ref().lines + 1;
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
                    (b"trace", _) if in_log && !state.in_trace => state.begin_trace(),
                    (b"event", _) if state.in_trace && state.event.is_none() => {
                        state.event = Some(state.trace.attributes.len())
                    }
                    (b"list" | b"container", _) => skipping = 1,
                    (_, _) => {
                        // An attribute with nested attributes: keep it, skip what it holds.
                        if in_log {
                            state.record(&start, line)?;
                        }
                        skipping = 1;
                    }
                }
            }
            Event::Empty(start) if skipping == 0 => match start.local_name().as_ref() {
                b"event" if state.in_trace && state.event.is_none() => {
                    return Err(IngestError::Import {
                        location: at(&reader),
                        message: "an empty <event/> has no activity or time".into(),
                    });
                }
                b"trace" | b"list" | b"container" => {}
                _ if in_log => state.record(&start, line)?,
                _ => {}
            },
            Event::End(_) if skipping > 0 => skipping -= 1,
            Event::End(end) => match end.local_name().as_ref() {
                b"event" => {
                    if let Some(first) = state.event.take() {
                        let attributes = first..state.trace.attributes.len();
                        state.trace.events.push((line, attributes));
                    }
                }
                b"trace" if state.in_trace => {
                    state.in_trace = false;
                    emitter.emit(&state.trace, sink)?;
                }
                b"log" => finished = true,
                _ => {}
            },
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

/// Where the reader is: in a trace or not, and in which event of it.
#[derive(Default)]
struct State {
    in_trace: bool,
    /// In an event: the index of its first attribute among the trace's.
    event: Option<usize>,
    trace: Trace,
}

/// A trace being read: its case id, its events' attributes and the line each event ended on.
/// Its buffers are kept from one trace to the next.
#[derive(Default)]
struct Trace {
    /// The case id (`concept:name`), once read.
    case_id: Option<Range<usize>>,
    /// The text of keys and values, one after another.
    text: String,
    attributes: Vec<Attr>,
    events: Vec<(usize, Range<usize>)>,
}

/// An event's attribute: its key (in the trace's text) and its value.
struct Attr {
    key: Range<usize>,
    value: Typed,
}

/// An attribute's value as its XES type says (text is in the trace's text).
enum Typed {
    Text(Range<usize>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The keys of the standard extensions the `events` table has columns for: their values are
/// kept as text, whatever their type.
const COLUMNS: [&str; 5] = ["concept:name", "lifecycle:transition", "org:resource", "org:role", "time:timestamp"];

impl Trace {
    fn text(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }
}

impl State {
    fn begin_trace(&mut self) {
        self.in_trace = true;
        let trace = &mut self.trace;
        trace.case_id = None;
        trace.text.clear();
        trace.attributes.clear();
        trace.events.clear();
    }

    /// Records an attribute element (read up to `line`) on the event or trace being read.
    fn record(&mut self, element: &BytesStart<'_>, line: usize) -> Result<(), IngestError> {
        let invalid = |message: String| IngestError::Import { location: format!("line {line}"), message };
        let (mut key, mut value): (Option<Attribute<'_>>, Option<Attribute<'_>>) = (None, None);
        let mut attributes = element.attributes();
        // Duplicates are looked for below, among the attributes that matter, without allocating.
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|e| invalid(format!("malformed XES: {e}")))?;
            let slot = match attribute.key.as_ref() {
                b"key" => &mut key,
                b"value" => &mut value,
                _ => {
                    // Not kept, but it must be well-formed too.
                    decode(&attribute.value).map_err(invalid)?;
                    continue;
                }
            };
            if slot.is_some() {
                let name = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
                return Err(invalid(format!("malformed XES: the attribute `{name}` is given twice")));
            }
            *slot = Some(attribute);
        }
        let (key, raw) = (decode_value(&key).map_err(invalid)?, decode_value(&value).map_err(invalid)?);
        let (Some(key), Some(raw)) = (key, raw) else { return Ok(()) };
        let (key, raw): (&str, &str) = (&key, &raw);
        // The value, unless its type is text.
        let scalar = match element.local_name().as_ref() {
            b"int" => {
                Some(Typed::Int(raw.trim().parse().map_err(|_| invalid(format!("`{key}`: `{raw}` is not an int")))?))
            }
            b"float" => raw.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Typed::Float),
            b"boolean" => Some(Typed::Bool(raw.trim().eq_ignore_ascii_case("true"))),
            _ => None,
        };
        let trace = &mut self.trace;
        if self.event.is_some() {
            let key_range = push(&mut trace.text, key);
            let value = match scalar {
                Some(scalar) if !COLUMNS.contains(&key) => scalar,
                _ => {
                    let start = trace.text.len();
                    write_text(&mut trace.text, scalar.as_ref(), raw);
                    if let Some(lifecycle) = trace.text.get_mut(start..).filter(|_| key == "lifecycle:transition") {
                        lifecycle.make_ascii_lowercase();
                    }
                    Typed::Text(start..trace.text.len())
                }
            };
            trace.attributes.push(Attr { key: key_range, value });
        } else if self.in_trace && key == "concept:name" {
            let start = trace.text.len();
            write_text(&mut trace.text, scalar.as_ref(), raw);
            trace.case_id = Some(start..trace.text.len());
        }
        Ok(())
    }
}

/// An attribute value's text: UTF-8, with XML escapes resolved (copied only when it has some).
fn decode(raw: &[u8]) -> Result<Cow<'_, str>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "invalid UTF-8".to_string())?;
    quick_xml::escape::unescape(text).map_err(|e| format!("malformed XES: {e}"))
}

/// The decoded value of an XML attribute, if there is one.
fn decode_value<'a>(attribute: &'a Option<Attribute<'_>>) -> Result<Option<Cow<'a, str>>, String> {
    attribute.as_ref().map(|a| decode(&a.value)).transpose()
}

/// Appends `text` to `buffer`, returning where it is.
fn push(buffer: &mut String, text: &str) -> Range<usize> {
    let start = buffer.len();
    buffer.push_str(text);
    start..buffer.len()
}

/// Appends a value as text: as written for text (`scalar` is `None`), as JSON writes it for the
/// other types.
fn write_text(out: &mut String, scalar: Option<&Typed>, raw: &str) {
    match scalar {
        None | Some(Typed::Text(_)) => out.push_str(raw),
        Some(Typed::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Typed::Float(f)) => out.push_str(&serde_json::Value::from(*f).to_string()),
        Some(Typed::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// Turns a finished trace's events into rows, with buffers kept from one trace to the next.
#[derive(Default)]
struct Emitter {
    /// The attributes of the current event that go into its `attributes` JSON.
    others: Vec<usize>,
    json: Vec<u8>,
}

impl Emitter {
    fn emit(
        &mut self,
        trace: &Trace,
        sink: &mut dyn FnMut(EventRow<'_>) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        let Some(case_id) = trace.case_id.as_ref().map(|range| trace.text(range)) else {
            let location =
                trace.events.first().map_or_else(|| "a trace".to_string(), |(line, _)| format!("line {line}"));
            return Err(IngestError::Import { location, message: "a trace has no concept:name (its case id)".into() });
        };
        for (line, attributes) in &trace.events {
            let (mut activity, mut lifecycle, mut resource, mut role, mut at) = (None, "", None, None, None);
            self.others.clear();
            for i in attributes.clone() {
                let Some(attribute) = trace.attributes.get(i) else { continue };
                let value = match &attribute.value {
                    Typed::Text(range) => trace.text(range),
                    _ => "",
                };
                match trace.text(&attribute.key) {
                    "concept:name" => activity = Some(value),
                    "lifecycle:transition" => lifecycle = value,
                    "org:resource" => resource = Some(value),
                    "org:role" => role = Some(value),
                    "time:timestamp" => {
                        let parsed = time::parse(value);
                        at =
                            Some(parsed.map_err(|message| IngestError::Import {
                                location: format!("line {line}"),
                                message,
                            })?);
                    }
                    _ => self.others.push(i),
                }
            }
            let (Some(activity), Some(at)) = (activity, at) else {
                let what = if activity.is_none() { "concept:name (its activity)" } else { "time:timestamp" };
                return Err(IngestError::Import {
                    location: format!("line {line}"),
                    message: format!("an event of case `{case_id}` has no {what}"),
                });
            };
            let attributes = self.attributes_json(trace)?;
            sink(EventRow {
                case_id,
                activity,
                lifecycle: if lifecycle.is_empty() { "complete" } else { lifecycle },
                resource,
                role,
                at,
                start: None,
                attributes,
            })?;
        }
        Ok(())
    }

    /// The attributes in `others` as a JSON object with sorted keys (of the same key, the last
    /// wins), or `None` when there are none.
    fn attributes_json(&mut self, trace: &Trace) -> Result<Option<&str>, IngestError> {
        if self.others.is_empty() {
            return Ok(None);
        }
        let attribute = |i: usize| trace.attributes.get(i);
        let key = |i: usize| attribute(i).map_or("", |a| trace.text(&a.key));
        // A stable sort: of the same key, the last stays last.
        self.others.sort_by(|&a, &b| key(a).cmp(key(b)));
        let failed = |e: &dyn std::fmt::Display| IngestError::Malformed(format!("attributes as JSON: {e}"));
        let json = &mut self.json;
        json.clear();
        json.push(b'{');
        for (n, &i) in self.others.iter().enumerate() {
            let Some(attribute) = attribute(i) else { continue };
            if self.others.get(n + 1).is_some_and(|&next| key(next) == key(i)) {
                continue;
            }
            if json.len() > 1 {
                json.push(b',');
            }
            serde_json::to_writer(&mut *json, key(i)).map_err(|e| failed(&e))?;
            json.push(b':');
            match &attribute.value {
                Typed::Text(range) => serde_json::to_writer(&mut *json, trace.text(range)),
                Typed::Int(v) => serde_json::to_writer(&mut *json, v),
                Typed::Float(v) => serde_json::to_writer(&mut *json, v),
                Typed::Bool(v) => serde_json::to_writer(&mut *json, v),
            }
            .map_err(|e| failed(&e))?;
        }
        json.push(b'}');
        std::str::from_utf8(json).map(Some).map_err(|e| failed(&e))
    }
}

/// Counts the lines a reader has consumed, for error locations.
struct LineCounter<R> {
    inner: R,
    lines: usize,
}

/// The newlines in `bytes`.
fn newlines(bytes: &[u8]) -> usize {
    // Up to 255 per chunk fit a byte per lane, which the compiler vectorizes.
    bytes.chunks(255).map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as usize).sum()
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.lines += newlines(&out[..n]);
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
            self.lines += newlines(&buffer[..amount]);
        }
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::{newlines, read};

    /// Each event of `xes` as `case | activity | lifecycle | resource | attributes`.
    fn rows(xes: &str) -> Vec<String> {
        let mut rows = Vec::new();
        read(xes.as_bytes(), &mut |e| {
            let attributes = e.attributes.unwrap_or("-");
            rows.push(format!("{} | {} | {} | {:?} | {attributes}", e.case_id, e.activity, e.lifecycle, e.resource));
            Ok(())
        })
        .unwrap();
        rows
    }

    #[test]
    fn attributes_keep_their_types_and_the_last_of_a_key() {
        let xes = r#"<log><trace><event>
            <string key="concept:name" value="A &amp; B"/><date key="time:timestamp" value="2024-01-01T00:00:00Z"/>
            <string key="lifecycle:transition" value="START"/><int key="org:resource" value="7"/>
            <int key="cost" value=" 42 "/><float key="ratio" value="1e16"/><float key="nan" value="NaN"/>
            <boolean key="ok" value="TRUE"/><string key="dup" value="first"/><string key="dup" value="second"/>
            <string key="nested" value="outer"><string key="inner" value="x"/></string>
            <list key="items"><string key="i" value="1"/></list>
            </event><event><string key="concept:name" value="b"/><date key="time:timestamp" value="2024-01-02"/></event>
            <string key="concept:name" value="c1"/></trace></log>"#;
        assert_eq!(
            rows(xes),
            [
                r#"c1 | A & B | start | Some("7") | {"cost":42,"dup":"second","nan":"NaN","nested":"outer","ok":true,"ratio":1e+16}"#,
                "c1 | b | complete | None | -",
            ]
        );
    }

    #[test]
    fn newlines_are_counted_across_chunks() {
        let text = "a\n".repeat(1000) + "b";
        assert_eq!(newlines(text.as_bytes()), 1000);
        assert_eq!(newlines(b""), 0);
    }
}

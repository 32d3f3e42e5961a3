//! HTML forms from JSON Schemas: the fields a step's (or a playbook's input) schema asks for, the
//! typed JSON a submitted form means, and the engine's validation problems put back next to the
//! inputs they concern, in plain words.
//!
//! Only flat `type: object` schemas are rendered as individual controls; a property of no or an
//! unrecognised type (nested objects, arrays, type unions) becomes a textarea holding JSON. Nothing
//! here panics on any schema, value or submission.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use orgata_engine::FieldProblem;
use serde_json::{Map, Number, Value};

/// One input of a rendered form (serialisable for the templates).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// The property name, also the HTML input name.
    pub name: String,
    /// The schema's `title`, else the name humanised (`affected_users` → `Affected users`).
    pub label: String,
    /// The HTML control: `text`, `textarea`, `number`, `checkbox`, `select`, `date`,
    /// `datetime-local`, `time`, `email` or `url`.
    pub input: &'static str,
    /// Whether the form must fill it. A plain boolean is never required (an unticked checkbox
    /// means `false`); one that must be `true` (`const: true`) is.
    pub required: bool,
    /// The schema's `description`, else a hint built from its constraints.
    pub help: Option<String>,
    /// The current value as the control shows it (`"true"` for checkboxes: their submitted value).
    pub value: String,
    /// Whether a checkbox is ticked.
    pub checked: bool,
    /// The choices of a select (an optional select gets its empty first choice in the template).
    pub options: Vec<String>,
    /// HTML `min` of a number input.
    pub min: Option<String>,
    /// HTML `max` of a number input.
    pub max: Option<String>,
    /// HTML `step` of a number input (`"1"` for integers, `"any"` for numbers).
    pub step: Option<String>,
    /// HTML `pattern` (only when the schema's pattern translates safely; never on textareas).
    pub pattern: Option<String>,
    /// HTML `minlength`.
    pub min_length: Option<u64>,
    /// HTML `maxlength`.
    pub max_length: Option<u64>,
    /// The first of the schema's `examples` (not on checkboxes and selects).
    pub placeholder: Option<String>,
    /// A message to show inline.
    pub error: Option<String>,
}

/// The fields of an object schema, filled from `current` (an object of values; `Null` for none).
///
/// Fields come in the order of `required`, then the other properties alphabetically. A property
/// missing from `current` shows its schema `default`, if any.
pub fn fields(schema: &Value, current: &Value) -> Vec<Field> {
    let current = current.as_object();
    specs(schema)
        .into_iter()
        .map(|spec| {
            let value = match current.and_then(|c| c.get(&spec.name)) {
                Some(v) => Some(v),
                None => spec.schema.get("default"),
            };
            build_field(&spec, value)
        })
        .collect()
}

/// The JSON object a submitted form means, typed by the schema, and the inputs that could not be
/// read as `(field name, message)`.
///
/// Empty inputs are left out (a required nullable one becomes `null`), an absent checkbox means
/// `false`, numbers are parsed, dates stay `YYYY-MM-DD`, a `datetime-local` value
/// `YYYY-MM-DDTHH:MM` becomes RFC 3339 UTC `YYYY-MM-DDTHH:MM:00Z` and a time `HH:MM` becomes
/// `HH:MM:00Z`. Unreadable inputs are left out of the value. Names the schema does not know are
/// ignored.
pub fn parse(schema: &Value, submitted: &[(String, String)]) -> (Value, Vec<(String, String)>) {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for spec in specs(schema) {
        let values: Vec<&str> = submitted.iter().filter(|(n, _)| *n == spec.name).map(|(_, v)| v.as_str()).collect();
        if let Kind::Checkbox = spec.kind {
            out.insert(spec.name.clone(), Value::Bool(values.iter().any(|v| truthy(v))));
            continue;
        }
        let raw = values.last().copied().unwrap_or("");
        let text = match spec.kind {
            Kind::Textarea | Kind::Json => raw.replace("\r\n", "\n"),
            _ => raw.trim().to_owned(),
        };
        if text.trim().is_empty() {
            if spec.in_required && spec.nullable {
                out.insert(spec.name.clone(), Value::Null);
            }
            continue;
        }
        match read_input(&spec, &text) {
            Ok(v) => {
                out.insert(spec.name.clone(), v);
            }
            Err(message) => problems.push((spec.name.clone(), format!("{} {message}", spec.label))),
        }
    }
    (Value::Object(out), problems)
}

/// Puts validation problems next to their fields and returns the rest as page-level messages.
///
/// A problem at `{prefix}/{name}` goes to field `name`; one at `{prefix}` naming a missing
/// required property goes to that property's field as "Label is required". A bare field name (as
/// [`parse`] reports) also goes to its field, unchanged. A broken JSON Schema rule is written in
/// plain words from its keyword and limit (required, enum, const, minimum/maximum,
/// minLength/maxLength, pattern, type, format); others keep the engine's words. Several problems
/// on one field are joined with "; ".
pub fn attach_problems(fields: &mut [Field], prefix: &str, problems: &[FieldProblem]) -> Vec<String> {
    let mut page = Vec::new();
    for problem in problems {
        let (pointer, message) = (&problem.field, &problem.message);
        if pointer.as_str() == prefix {
            match missing_property(problem) {
                Some(name) => match fields.iter_mut().find(|f| f.name == name) {
                    Some(field) => {
                        let text = format!("{} is required", field.label);
                        add_error(field, text);
                    }
                    None => page.push(format!("{} is required", humanise(name))),
                },
                None => page.push(message.clone()),
            }
            continue;
        }
        if let Some(rest) = pointer.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
            let (segment, sub) = match rest.find('/') {
                Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("")),
                None => (rest, ""),
            };
            let name = segment.replace("~1", "/").replace("~0", "~");
            if let Some(field) = fields.iter_mut().find(|f| f.name == name) {
                let text = if sub.is_empty() { friendly(field, problem) } else { format!("{sub}: {message}") };
                add_error(field, text);
                continue;
            }
        } else if !pointer.starts_with('/')
            && !pointer.is_empty()
            && let Some(field) = fields.iter_mut().find(|f| f.name == *pointer)
        {
            add_error(field, message.clone());
            continue;
        }
        page.push(if pointer.is_empty() { message.clone() } else { format!("{pointer}: {message}") });
    }
    page
}

/// A submitted form read against its schema: the typed value, the fields as typed (for showing the
/// form again, with what did not parse next to its field), and whether every input parsed.
pub struct Submission {
    pub value: Value,
    pub fields: Vec<Field>,
    pub parsed: bool,
}

/// Reads `submitted` against `schema`; the page's own controls (names starting with `_`) are left
/// out, and problems are placed as [`attach_problems`] does under `prefix`.
pub fn read(schema: &Value, submitted: &[(String, String)], prefix: &str) -> Submission {
    let inputs: Vec<(String, String)> = submitted.iter().filter(|(k, _)| !k.starts_with('_')).cloned().collect();
    let (value, problems) = parse(schema, &inputs);
    let mut fields = fields(schema, &Value::Null);
    refill(&mut fields, &inputs);
    let problems: Vec<FieldProblem> = problems.iter().map(|(name, message)| FieldProblem::new(name, message)).collect();
    attach_problems(&mut fields, prefix, &problems);
    Submission { value, fields, parsed: problems.is_empty() }
}

/// The engine's validation problems next to their fields (see [`attach_problems`]), with a first
/// line saying nothing was `done`; the rest are page-level messages.
pub fn engine_problems(fields: &mut [Field], prefix: &str, problems: &[FieldProblem], done: &str) -> Vec<String> {
    let mut messages = attach_problems(fields, prefix, problems);
    messages.insert(0, format!("Some fields need attention; nothing was {done}."));
    messages
}

/// Puts the submitted values back into the fields after a failed submit, so nothing the user typed
/// is lost (checkboxes are ticked exactly when submitted).
pub fn refill(fields: &mut [Field], submitted: &[(String, String)]) {
    for field in fields {
        let mut values = submitted.iter().filter(|(n, _)| *n == field.name).map(|(_, v)| v.as_str());
        if field.input == "checkbox" {
            field.checked = values.any(truthy);
        } else if let Some(last) = values.next_back() {
            field.value = last.to_owned();
        }
    }
}

// ---- schema reading ----------------------------------------------------------------------------

/// How a property is shown and read.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text,
    Textarea,
    Number {
        integer: bool,
    },
    Checkbox,
    Select(Vec<Value>),
    Date,
    DateTime,
    Time,
    Email,
    Url,
    /// No or an unrecognised type: a textarea holding JSON.
    Json,
}

impl Kind {
    fn input(&self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Textarea | Kind::Json => "textarea",
            Kind::Number { .. } => "number",
            Kind::Checkbox => "checkbox",
            Kind::Select(_) => "select",
            Kind::Date => "date",
            Kind::DateTime => "datetime-local",
            Kind::Time => "time",
            Kind::Email => "email",
            Kind::Url => "url",
        }
    }
}

/// One property of the form schema, classified.
struct Spec<'a> {
    name: String,
    label: String,
    schema: &'a Value,
    kind: Kind,
    nullable: bool,
    in_required: bool,
}

/// Strings that may be longer than this get a textarea.
const TEXTAREA_FROM: u64 = 255;

static EMPTY: Value = Value::Null;

/// The properties of an object schema, in form order.
fn specs(schema: &Value) -> Vec<Spec<'_>> {
    let Some(obj) = schema.as_object() else { return Vec::new() };
    match obj.get("type") {
        None => {}
        Some(Value::String(t)) if t == "object" => {}
        Some(Value::Array(ts)) if ts.iter().any(|t| t == "object") => {}
        Some(_) => return Vec::new(),
    }
    let properties = obj.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = match obj.get("required") {
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut names: Vec<&str> = required.iter().copied().filter(|n| seen.insert(*n)).collect();
    if let Some(props) = properties {
        let mut rest: Vec<&str> = props.keys().map(String::as_str).filter(|n| !seen.contains(n)).collect();
        rest.sort_unstable();
        names.extend(rest);
    }
    names
        .into_iter()
        .map(|name| {
            let schema = properties.and_then(|p| p.get(name)).unwrap_or(&EMPTY);
            let (kind, nullable) = classify(schema);
            let title = schema.get("title").and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
            Spec {
                name: name.to_owned(),
                label: title.map_or_else(|| humanise(name), str::to_owned),
                schema,
                kind,
                nullable,
                in_required: required.contains(&name),
            }
        })
        .collect()
}

/// The control for a property schema, and whether it admits `null`.
fn classify(schema: &Value) -> (Kind, bool) {
    let Some(obj) = schema.as_object() else { return (Kind::Json, false) };
    let (types, mut nullable) = match obj.get("type") {
        Some(Value::String(t)) => (vec![t.as_str()], false),
        Some(Value::Array(ts)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            if names.len() != ts.len() {
                return (Kind::Json, false);
            }
            let nullable = names.contains(&"null");
            (names.into_iter().filter(|t| *t != "null").collect(), nullable)
        }
        Some(_) => return (Kind::Json, false),
        None => (Vec::new(), false),
    };
    if let Some((options, null)) = choices(obj) {
        return (Kind::Select(options), nullable || null);
    }
    if let Some(constant) = obj.get("const") {
        return match constant {
            Value::Bool(_) => (Kind::Checkbox, false),
            Value::Null => (Kind::Json, nullable),
            other => (Kind::Select(vec![other.clone()]), nullable),
        };
    }
    let kind = match types.as_slice() {
        ["string"] => string_kind(obj),
        ["integer"] => Kind::Number { integer: true },
        ["number"] | ["integer", "number"] | ["number", "integer"] => Kind::Number { integer: false },
        ["boolean"] => Kind::Checkbox,
        [] if nullable => {
            nullable = false;
            Kind::Json
        }
        _ => Kind::Json,
    };
    (kind, nullable)
}

fn string_kind(obj: &Map<String, Value>) -> Kind {
    match obj.get("format").and_then(Value::as_str) {
        Some("date") => Kind::Date,
        Some("date-time") => Kind::DateTime,
        Some("time") => Kind::Time,
        Some("email" | "idn-email") => Kind::Email,
        Some("uri" | "url" | "iri") => Kind::Url,
        _ if obj.get("maxLength").and_then(Value::as_u64).is_some_and(|n| n > TEXTAREA_FROM) => Kind::Textarea,
        _ => Kind::Text,
    }
}

/// The values of an `enum`, or of a `oneOf`/`anyOf` made of `const`s, without `null` (reported
/// separately).
fn choices(obj: &Map<String, Value>) -> Option<(Vec<Value>, bool)> {
    if let Some(Value::Array(values)) = obj.get("enum") {
        let null = values.iter().any(Value::is_null);
        let options: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        return (!options.is_empty()).then_some((options, null));
    }
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(alternatives)) = obj.get(key) else { continue };
        let mut options = Vec::new();
        let mut null = false;
        for alternative in alternatives {
            match alternative.get("const") {
                Some(Value::Null) => null = true,
                Some(v) => options.push(v.clone()),
                None if alternative.get("type").and_then(Value::as_str) == Some("null") => null = true,
                None => return None,
            }
        }
        return (!options.is_empty()).then_some((options, null));
    }
    None
}

// ---- rendering ---------------------------------------------------------------------------------

fn build_field(spec: &Spec<'_>, value: Option<&Value>) -> Field {
    let schema = spec.schema;
    let mut field = Field {
        name: spec.name.clone(),
        label: spec.label.clone(),
        input: spec.kind.input(),
        required: spec.in_required && !spec.nullable,
        help: schema
            .get("description")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        ..Field::default()
    };
    let value = value.filter(|v| !v.is_null());
    let mut hint = None;
    match &spec.kind {
        Kind::Checkbox => {
            field.required = schema.get("const") == Some(&Value::Bool(true));
            field.value = "true".to_owned();
            field.checked = value == Some(&Value::Bool(true));
        }
        Kind::Select(options) => {
            field.options = options.iter().map(option_text).collect();
            field.value = value.map(option_text).unwrap_or_default();
        }
        Kind::Number { integer } => {
            field.value = value.map(option_text).unwrap_or_default();
            let (min, max, text) = bounds(schema, *integer);
            (field.min, field.max, hint) = (min, max, text);
            field.step = Some(match schema.get("multipleOf").and_then(Value::as_number) {
                Some(n) if n.as_f64().is_some_and(|f| f > 0.0) => n.to_string(),
                _ if *integer => "1".to_owned(),
                _ => "any".to_owned(),
            });
        }
        Kind::Json => {
            field.value = value.and_then(|v| serde_json::to_string_pretty(v).ok()).unwrap_or_default();
            hint = Some("As JSON".to_owned());
        }
        Kind::DateTime => field.value = value.map(|v| show_datetime(&option_text(v))).unwrap_or_default(),
        Kind::Time => field.value = value.map(|v| show_time(&option_text(v))).unwrap_or_default(),
        Kind::Text | Kind::Textarea | Kind::Date | Kind::Email | Kind::Url => {
            field.value = value.map(option_text).unwrap_or_default();
            field.min_length = schema.get("minLength").and_then(Value::as_u64);
            field.max_length = schema.get("maxLength").and_then(Value::as_u64);
            let pattern = schema.get("pattern").and_then(Value::as_str);
            if spec.kind != Kind::Textarea {
                field.pattern = pattern.and_then(html_pattern);
            }
            hint = match pattern.and_then(pattern_sample) {
                Some(sample) => Some(format!("Format: {sample}")),
                None => length_hint(field.min_length, field.max_length.filter(|_| spec.kind == Kind::Textarea)),
            };
        }
    }
    if !matches!(spec.kind, Kind::Checkbox | Kind::Select(_)) {
        field.placeholder = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()).map(option_text);
    }
    if field.help.is_none() {
        field.help = hint;
    }
    field
}

/// A JSON value as a control shows it: strings bare, everything else as JSON.
fn option_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// HTML `min`/`max` of a number input, and a hint in words.
fn bounds(schema: &Value, integer: bool) -> (Option<String>, Option<String>, Option<String>) {
    let num = |key: &str| schema.get(key).and_then(Value::as_number);
    // Draft 4 spelled exclusive bounds as booleans beside minimum/maximum.
    let flag = |key: &str| schema.get(key) == Some(&Value::Bool(true));
    let lower = match (num("minimum"), num("exclusiveMinimum")) {
        (Some(m), _) if flag("exclusiveMinimum") => Some((m, true)),
        (Some(m), Some(x)) => Some(if x.as_f64() >= m.as_f64() { (x, true) } else { (m, false) }),
        (Some(m), None) => Some((m, false)),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    let upper = match (num("maximum"), num("exclusiveMaximum")) {
        (Some(m), _) if flag("exclusiveMaximum") => Some((m, true)),
        (Some(m), Some(x)) => Some(if x.as_f64() <= m.as_f64() { (x, true) } else { (m, false) }),
        (Some(m), None) => Some((m, false)),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    let html = |bound: Option<(&Number, bool)>, delta: i64| match bound {
        Some((n, false)) => Some(n.to_string()),
        Some((n, true)) if integer => n.as_i64().and_then(|i| i.checked_add(delta)).map(|i| i.to_string()),
        _ => None,
    };
    let min = html(lower, 1);
    let max = html(upper, -1);
    let text = match (lower, upper) {
        (Some((a, false)), Some((b, false))) => Some(format!("Between {a} and {b}")),
        (Some((a, ex)), Some((b, bx))) => Some(format!(
            "{} {a} and {} {b}",
            if ex { "More than" } else { "At least" },
            if bx { "less than" } else { "at most" }
        )),
        (Some((a, ex)), None) => Some(format!("{} {a}", if ex { "More than" } else { "At least" })),
        (None, Some((b, bx))) => Some(format!("{} {b}", if bx { "Less than" } else { "At most" })),
        (None, None) => None,
    };
    (min, max, text)
}

/// "At least 5 characters", "Up to 2000 characters" or "Between 5 and 200 characters".
fn length_hint(min: Option<u64>, max: Option<u64>) -> Option<String> {
    let chars = |n: u64| if n == 1 { "character" } else { "characters" };
    match (min.filter(|n| *n > 1), max) {
        (Some(a), Some(b)) => Some(format!("Between {a} and {b} {}", chars(b))),
        (Some(a), None) => Some(format!("At least {a} {}", chars(a))),
        (None, Some(b)) => Some(format!("Up to {b} {}", chars(b))),
        (None, None) => None,
    }
}

/// `affected_users` → `Affected users`, `goLiveDate` → `Go live date`.
fn humanise(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    let mut prev_lower = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
            if chars.get(i + 1).is_some_and(|n| n.is_lowercase()) {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    let out = out.trim_end();
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---- patterns ----------------------------------------------------------------------------------

/// The JSON Schema `pattern` as an HTML `pattern` attribute, which browsers anchor at both ends
/// and compile with the `v` flag: only a conservative subset of regular expressions is translated.
fn html_pattern(pattern: &str) -> Option<String> {
    let (start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (end, body) = match body.strip_suffix('$') {
        Some(rest) if rest.chars().rev().take_while(|c| *c == '\\').count() % 2 == 0 => (true, rest),
        _ => (false, body),
    };
    if body.is_empty() || !html_safe(body) {
        return None;
    }
    Some(format!("{}{body}{}", if start { "" } else { ".*" }, if end { "" } else { ".*" }))
}

/// Whether `body` (anchors removed) is a regular expression valid under the `v` flag with the same
/// meaning as in the schema, with no top-level alternation.
fn html_safe(body: &str) -> bool {
    const SYNTAX: &str = "^$\\.*+?()[]{}|/";
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    let mut depth = 0usize;
    let mut atom = false;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else { return false };
                if !("dDwWsS".contains(next) || SYNTAX.contains(next)) {
                    return false;
                }
                atom = true;
                i += 2;
            }
            '[' => {
                let Some(after) = html_class(&chars, i + 1) else { return false };
                atom = true;
                i = after;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    if chars.get(i + 2) != Some(&':') {
                        return false;
                    }
                    i += 3;
                } else {
                    i += 1;
                }
                depth += 1;
                atom = false;
            }
            ')' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                atom = true;
                i += 1;
            }
            '|' => {
                if depth == 0 {
                    return false;
                }
                atom = false;
                i += 1;
            }
            '*' | '+' | '?' | '{' => {
                if !atom {
                    return false;
                }
                i += 1;
                if c == '{' {
                    let digits = |i: &mut usize| {
                        let from = *i;
                        while chars.get(*i).is_some_and(char::is_ascii_digit) {
                            *i += 1;
                        }
                        *i > from
                    };
                    if !digits(&mut i) {
                        return false;
                    }
                    if chars.get(i) == Some(&',') {
                        i += 1;
                        digits(&mut i);
                    }
                    if chars.get(i) != Some(&'}') {
                        return false;
                    }
                    i += 1;
                }
                if chars.get(i) == Some(&'?') {
                    i += 1;
                }
                atom = false;
            }
            '}' | ']' | '^' | '$' => return false,
            c if c.is_control() => return false,
            _ => {
                atom = true;
                i += 1;
            }
        }
    }
    depth == 0
}

/// Checks a character class whose content starts at `i`; the index after its `]`.
fn html_class(chars: &[char], mut i: usize) -> Option<usize> {
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    let plain = |c: char| c.is_alphanumeric() || "_ .,:@".contains(c);
    let mut prev: Option<char> = None; // the last single character, when a range may follow it
    let mut empty = true;
    loop {
        let c = *chars.get(i)?;
        match c {
            ']' if !empty => return Some(i + 1),
            '\\' => {
                let next = *chars.get(i + 1)?;
                if !"dDwWsS-\\.^$*+?()[]{}|/".contains(next) {
                    return None;
                }
                prev = None;
                i += 2;
            }
            '-' => {
                let (from, to) = (prev?, *chars.get(i + 1)?);
                if !from.is_ascii_alphanumeric() || !to.is_ascii_alphanumeric() || from > to {
                    return None;
                }
                prev = None;
                i += 2;
            }
            c if plain(c) => {
                // The `v` flag reserves doubled punctuation such as `..`.
                if !c.is_alphanumeric() && c != ' ' && c != '_' && i > 0 && chars.get(i - 1) == Some(&c) {
                    return None;
                }
                prev = Some(c);
                i += 1;
            }
            _ => return None,
        }
        empty = false;
    }
}

/// An example matching a simple anchored pattern such as `^CHG-[0-9]{5}$` (`CHG-12345`).
fn pattern_sample(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest = chars.get(i..)?;
        let (class, used): (&str, usize) = if rest.starts_with(&['[', '0', '-', '9', ']']) {
            ("1234567890", 5)
        } else if rest.starts_with(&['[', 'A', '-', 'Z', ']']) {
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 5)
        } else if rest.starts_with(&['[', 'a', '-', 'z', ']']) {
            ("abcdefghijklmnopqrstuvwxyz", 5)
        } else if rest.starts_with(&['\\', 'd']) {
            ("1234567890", 2)
        } else {
            match rest {
                ['\\', c, ..] if "-./_".contains(*c) => ("", 2),
                [c, ..] if c.is_alphanumeric() || "-_/: #".contains(*c) => ("", 1),
                _ => return None,
            }
        };
        let literal = if class.is_empty() { rest.get(used - 1).copied() } else { None };
        i += used;
        let mut count = 1usize;
        if chars.get(i) == Some(&'{') {
            let close = i + chars.get(i..)?.iter().position(|c| *c == '}')?;
            count = chars.get(i + 1..close)?.iter().collect::<String>().parse().ok()?;
            if !(1..=64).contains(&count) {
                return None;
            }
            i = close + 1;
        }
        match literal {
            Some(c) => out.extend(std::iter::repeat_n(c, count)),
            None => out.extend(class.chars().cycle().take(count)),
        }
    }
    (!out.is_empty()).then_some(out)
}

// ---- reading submissions -----------------------------------------------------------------------

/// The JSON for one non-empty input, or what is wrong with it (to follow the label).
fn read_input(spec: &Spec<'_>, text: &str) -> Result<Value, String> {
    match &spec.kind {
        Kind::Select(options) => {
            let found = options.iter().find(|o| option_text(o) == text);
            match found {
                Some(v) => Ok(v.clone()),
                // Not a listed choice: typed as the schema says, for the engine to reject.
                None => match declared_type(spec.schema) {
                    Some("integer") => read_integer(text),
                    Some("number") => read_number(text),
                    Some("boolean") => Ok(Value::Bool(truthy(text))),
                    _ => Ok(Value::String(text.to_owned())),
                },
            }
        }
        Kind::Number { integer: true } => read_integer(text),
        Kind::Number { integer: false } => read_number(text),
        Kind::Date => parse_date(text)
            .map(|_| Value::String(text.to_owned()))
            .ok_or_else(|| "must be a date (YYYY-MM-DD)".to_owned()),
        Kind::DateTime => datetime_utc(text).map(Value::String).ok_or_else(|| "must be a date and time".to_owned()),
        Kind::Time => time_utc(text).map(Value::String).ok_or_else(|| "must be a time (HH:MM)".to_owned()),
        Kind::Json => serde_json::from_str(text).map_err(|_| "must be valid JSON".to_owned()),
        Kind::Text | Kind::Textarea | Kind::Email | Kind::Url | Kind::Checkbox => Ok(Value::String(text.to_owned())),
    }
}

/// The single non-null `type` of a schema.
fn declared_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(ts) => {
            let mut names = ts.iter().filter_map(Value::as_str).filter(|t| *t != "null");
            let first = names.next()?;
            names.next().is_none().then_some(first)
        }
        _ => None,
    }
}

fn read_integer(text: &str) -> Result<Value, String> {
    const WHOLE: &str = "must be a whole number";
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Value::from(u));
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 => {
            if f.abs() < 9.0e15 {
                // Exact: the float holds a small whole number.
                Ok(Value::from(f as i64))
            } else {
                Number::from_f64(f).map(Value::Number).ok_or_else(|| WHOLE.to_owned())
            }
        }
        _ => Err(WHOLE.to_owned()),
    }
}

fn read_number(text: &str) -> Result<Value, String> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::from(i));
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Number::from_f64(f).map(Value::Number).ok_or_else(|| "must be a number".to_owned()),
        _ => Err("must be a number".to_owned()),
    }
}

/// Whether a checkbox value means ticked.
fn truthy(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "false" | "off" | "0" | "no")
}

// ---- dates and times ---------------------------------------------------------------------------

/// A time of day: hours, minutes, seconds, the fraction (with its dot) and the offset in minutes.
struct Clock {
    h: i64,
    m: i64,
    s: i64,
    frac: String,
    offset: Option<i64>,
}

/// `YYYY-MM-DD`, if a real date.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let y = digits(s.get(0..4)?)?;
    let m = digits(s.get(5..7)?)?;
    let d = digits(s.get(8..10)?)?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// `HH:MM[:SS[.fff]][Z|±HH:MM]`.
fn parse_clock(s: &str) -> Option<Clock> {
    if !s.is_ascii() || s.len() < 5 || s.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let h = digits(s.get(0..2)?)?;
    let m = digits(s.get(3..5)?)?;
    let mut rest = s.get(5..)?;
    let mut sec = 0;
    let mut frac = String::new();
    if let Some(r) = rest.strip_prefix(':') {
        sec = digits(r.get(0..2)?)?;
        rest = r.get(2..)?;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            frac = format!(".{}", r.get(..n)?);
            rest = r.get(n..)?;
        }
    }
    let offset = match rest {
        "" => None,
        "Z" | "z" => Some(0),
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let (oh, om) = (digits(rest.get(1..3)?)?, digits(rest.get(4..6)?)?);
            if oh > 23 || om > 59 {
                return None;
            }
            Some(sign * (oh * 60 + om))
        }
    };
    (h < 24 && m < 60 && sec < 60).then_some(Clock { h, m, s: sec, frac, offset })
}

/// A date and a clock, split at `T` (or a space).
fn parse_datetime(s: &str) -> Option<(NaiveDate, Clock)> {
    if !s.is_ascii() || !matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    Some((parse_date(s.get(..10)?)?, parse_clock(s.get(11..)?)?))
}

/// A date and a clock (to the minute) moved to UTC by the clock's offset (none means already
/// UTC); none outside the years 0 to 9999.
fn to_utc(date: NaiveDate, clock: &Clock) -> Option<NaiveDateTime> {
    let local = date.and_hms_opt(u32::try_from(clock.h).ok()?, u32::try_from(clock.m).ok()?, 0)?;
    let utc = local.checked_sub_signed(TimeDelta::minutes(clock.offset.unwrap_or(0)))?;
    (0..=9999).contains(&utc.year()).then_some(utc)
}

/// A submitted `datetime-local` (or RFC 3339) value as RFC 3339 UTC.
fn datetime_utc(s: &str) -> Option<String> {
    let (date, clock) = parse_datetime(s)?;
    let utc = to_utc(date, &clock)?;
    Some(format!("{}:{:02}{}Z", utc.format("%Y-%m-%dT%H:%M"), clock.s, clock.frac))
}

/// A stored date-time as a `datetime-local` control shows it (in UTC); unreadable ones unchanged.
fn show_datetime(s: &str) -> String {
    let shown = parse_datetime(s).and_then(|(date, clock)| {
        let utc = to_utc(date, &clock)?;
        Some(format!("{}{}", utc.format("%Y-%m-%dT%H:%M"), seconds(&clock)))
    });
    shown.unwrap_or_else(|| s.to_owned())
}

/// A submitted time as an RFC 3339 UTC time.
fn time_utc(s: &str) -> Option<String> {
    let clock = parse_clock(s)?;
    let of_day = (clock.h * 60 + clock.m - clock.offset.unwrap_or(0)).rem_euclid(1440);
    Some(format!("{:02}:{:02}:{:02}{}Z", of_day / 60, of_day % 60, clock.s, clock.frac))
}

/// A stored time as a `time` control shows it (in UTC); unreadable ones unchanged.
fn show_time(s: &str) -> String {
    match parse_clock(s) {
        Some(clock) => {
            let of_day = (clock.h * 60 + clock.m - clock.offset.unwrap_or(0)).rem_euclid(1440);
            format!("{:02}:{:02}{}", of_day / 60, of_day % 60, seconds(&clock))
        }
        None => s.to_owned(),
    }
}

/// `:SS.fff` when the seconds matter, else nothing.
fn seconds(clock: &Clock) -> String {
    if clock.s == 0 && clock.frac.is_empty() { String::new() } else { format!(":{:02}{}", clock.s, clock.frac) }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// ---- problems ----------------------------------------------------------------------------------

fn add_error(field: &mut Field, text: String) {
    match &mut field.error {
        Some(existing) if existing.split("; ").any(|e| e == text) => {}
        Some(existing) => {
            existing.push_str("; ");
            existing.push_str(&text);
        }
        None => field.error = Some(text),
    }
}

/// The property a broken `required` rule names.
fn missing_property(problem: &FieldProblem) -> Option<&str> {
    match (problem.keyword.as_deref(), &problem.limit) {
        (Some("required"), Some(Value::String(name))) => Some(name),
        _ => None,
    }
}

/// A broken schema rule about `field` in plain words, from its keyword and limit; a problem of no
/// rule we know keeps the engine's words.
fn friendly(field: &Field, problem: &FieldProblem) -> String {
    let label = &field.label;
    let limit = problem.limit.as_ref();
    let bound = limit.filter(|l| l.is_number()).map(Value::to_string);
    let length = limit.and_then(Value::as_u64);
    let characters = |n: u64| if n == 1 { "character" } else { "characters" };
    let choices = || {
        if field.options.is_empty() || field.options.len() > 6 {
            format!("{label} must be one of the listed choices")
        } else {
            format!("{label} must be one of: {}", field.options.join(", "))
        }
    };
    match (problem.keyword.as_deref().unwrap_or_default(), bound, length) {
        ("required", ..) => format!("{label} is required"),
        ("enum", ..) => choices(),
        ("oneOf" | "anyOf", ..) if field.input == "select" => choices(),
        ("minimum", Some(n), _) => format!("{label} must be at least {n}"),
        ("exclusiveMinimum", Some(n), _) => format!("{label} must be more than {n}"),
        ("maximum", Some(n), _) => format!("{label} must be at most {n}"),
        ("exclusiveMaximum", Some(n), _) => format!("{label} must be less than {n}"),
        ("minLength", _, Some(1)) => format!("{label} must not be empty"),
        ("minLength", _, Some(n)) => format!("{label} must be at least {n} {}", characters(n)),
        ("maxLength", _, Some(n)) => format!("{label} must be at most {n} {}", characters(n)),
        ("pattern", ..) => match limit.and_then(Value::as_str) {
            Some(pattern) => match pattern_sample(pattern) {
                Some(sample) => format!("{label} must look like {sample}"),
                None => format!("{label} does not have the expected format ({pattern})"),
            },
            None => problem.message.clone(),
        },
        ("type", ..) => {
            let words = match limit.and_then(Value::as_str) {
                Some("integer") => "a whole number",
                Some("number") => "a number",
                Some("string") => "text",
                Some("boolean") => "true or false",
                Some("object") => "a JSON object",
                Some("array") => "a list",
                Some("null") => "empty",
                _ => return format!("{label} has the wrong type"),
            };
            format!("{label} must be {words}")
        }
        ("format", ..) => {
            let words = match limit.and_then(Value::as_str) {
                Some("date") => "a date (YYYY-MM-DD)",
                Some("date-time") => "a date and time",
                Some("time") => "a time",
                Some("email" | "idn-email") => "an email address",
                Some("uri" | "url" | "iri" | "uri-reference") => "a URL",
                _ => return problem.message.clone(),
            };
            format!("{label} must be {words}")
        }
        ("const", ..) => match limit {
            Some(Value::Bool(true)) if field.input == "checkbox" => format!("{label} must be ticked"),
            Some(expected) => format!("{label} must be {}", option_text(expected)),
            None => problem.message.clone(),
        },
        _ => problem.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sub(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    /// A broken schema rule, as the engine reports it.
    fn rule(field: &str, keyword: &str, limit: Value) -> FieldProblem {
        FieldProblem {
            keyword: Some(keyword.into()),
            limit: Some(limit),
            ..FieldProblem::new(field, "in the library's words")
        }
    }

    fn blank(name: &str, label: &str, input: &'static str) -> Field {
        Field { name: name.to_owned(), label: label.to_owned(), input, ..Field::default() }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn triage() -> Value {
        json!({ "type": "object", "required": ["impact", "category"], "properties": {
            "impact": { "type": "string", "enum": ["minor", "major", "critical"],
                        "examples": ["minor", "minor", "minor", "major", "major", "critical"] },
            "category": { "type": "string", "enum": ["bug", "capacity", "dependency", "configuration", "security"] },
            "affected_users": { "type": "integer", "minimum": 0, "maximum": 50000 },
        }})
    }

    fn onboarding_input() -> Value {
        json!({ "type": "object", "required": ["customer", "plan", "seats"], "properties": {
            "customer": { "type": "string", "minLength": 2, "maxLength": 120 },
            "plan": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
            "seats": { "type": "integer", "minimum": 1 },
            "region": { "type": "string", "enum": ["EU", "US", "APAC"] },
            "annual_value": { "type": "number", "minimum": 0 },
        }})
    }

    #[test]
    fn triage_form_fields() {
        let got = fields(&triage(), &json!({ "impact": "major", "affected_users": 120 }));
        let impact = Field {
            required: true,
            value: "major".into(),
            options: strings(&["minor", "major", "critical"]),
            ..blank("impact", "Impact", "select")
        };
        let category = Field {
            required: true,
            options: strings(&["bug", "capacity", "dependency", "configuration", "security"]),
            ..blank("category", "Category", "select")
        };
        let users = Field {
            help: Some("Between 0 and 50000".into()),
            value: "120".into(),
            min: Some("0".into()),
            max: Some("50000".into()),
            step: Some("1".into()),
            ..blank("affected_users", "Affected users", "number")
        };
        assert_eq!(got, vec![impact, category, users]);
    }

    #[test]
    fn onboarding_input_fields() {
        let got = fields(&onboarding_input(), &Value::Null);
        let names: Vec<(&str, &str, bool)> = got.iter().map(|f| (f.name.as_str(), f.input, f.required)).collect();
        assert_eq!(
            names,
            vec![
                ("customer", "text", true),
                ("plan", "select", true),
                ("seats", "number", true),
                ("annual_value", "number", false),
                ("region", "select", false),
            ]
        );
        assert_eq!(
            got[0],
            Field {
                required: true,
                help: Some("At least 2 characters".into()),
                min_length: Some(2),
                max_length: Some(120),
                ..blank("customer", "Customer", "text")
            }
        );
        assert_eq!(
            (got[2].min.as_deref(), got[2].max.as_deref(), got[2].step.as_deref()),
            (Some("1"), None, Some("1"))
        );
        assert_eq!(got[2].help.as_deref(), Some("At least 1"));
        assert_eq!((got[3].min.as_deref(), got[3].step.as_deref()), (Some("0"), Some("any")));
        assert_eq!(got[3].label, "Annual value");
        assert_eq!(got[4].options, strings(&["EU", "US", "APAC"]));
    }

    #[test]
    fn other_demo_controls() {
        let schema = json!({ "type": "object", "required": ["change_ref", "primary_contact", "signed", "when"], "properties": {
            "change_ref": { "type": "string", "pattern": "^CHG-[0-9]{5}$" },
            "primary_contact": { "type": "string", "minLength": 1, "maxLength": 2000, "examples": ["Head of IT", "CFO"] },
            "signed": { "const": true },
            "when": { "type": "string", "format": "date-time" },
            "go_live_date": { "type": "string", "format": "date", "description": "First day in production." },
            "rolled_back": { "type": "boolean", "default": true },
            "email": { "type": "string", "format": "email" },
            "site": { "type": "string", "format": "uri" },
            "at": { "type": "string", "format": "time" },
            "amount": { "type": "number", "exclusiveMinimum": 0 },
            "nick": { "type": ["string", "null"], "title": "Nickname" },
            "tier": { "oneOf": [{ "const": "gold" }, { "const": 2 }, { "type": "null" }] },
            "extra": { "type": "object" },
            "anything": {},
        }});
        let current =
            json!({ "when": "2024-05-01T10:30:00+02:00", "at": "23:15:00-01:00", "extra": { "a": 1 }, "tier": 2 });
        let got = fields(&schema, &current);
        let kinds: Vec<(&str, &str)> = got.iter().map(|f| (f.name.as_str(), f.input)).collect();
        assert_eq!(
            kinds,
            vec![
                ("change_ref", "text"),
                ("primary_contact", "textarea"),
                ("signed", "checkbox"),
                ("when", "datetime-local"),
                ("amount", "number"),
                ("anything", "textarea"),
                ("at", "time"),
                ("email", "email"),
                ("extra", "textarea"),
                ("go_live_date", "date"),
                ("nick", "text"),
                ("rolled_back", "checkbox"),
                ("site", "url"),
                ("tier", "select"),
            ]
        );
        assert_eq!(got[0].pattern.as_deref(), Some("CHG-[0-9]{5}"));
        assert_eq!(got[0].help.as_deref(), Some("Format: CHG-12345"));
        assert_eq!(got[1].help.as_deref(), Some("Up to 2000 characters"));
        assert_eq!(got[1].placeholder.as_deref(), Some("Head of IT"));
        assert!(got[2].required && !got[2].checked);
        assert_eq!(got[3].value, "2024-05-01T08:30");
        assert_eq!((got[4].min.as_deref(), got[4].help.as_deref()), (None, Some("More than 0")));
        assert_eq!(got[5].help.as_deref(), Some("As JSON"));
        assert_eq!(got[6].value, "00:15");
        assert_eq!(got[8].value, "{\n  \"a\": 1\n}");
        assert_eq!(got[9].help.as_deref(), Some("First day in production."));
        assert_eq!((got[10].label.as_str(), got[10].required), ("Nickname", false));
        assert!(got[11].checked && !got[11].required && got[11].value == "true");
        assert_eq!((got[13].options.clone(), got[13].value.as_str()), (strings(&["gold", "2"]), "2"));
    }

    #[test]
    fn parse_typical_submission() {
        let form = sub(&[("impact", "critical"), ("category", "bug"), ("affected_users", " 1200 "), ("csrf", "x")]);
        assert_eq!(
            parse(&triage(), &form),
            (json!({ "impact": "critical", "category": "bug", "affected_users": 1200 }), vec![])
        );
        let form = sub(&[("customer", "Acme GmbH"), ("plan", "growth"), ("seats", "25"), ("annual_value", "1999.5")]);
        assert_eq!(
            parse(&onboarding_input(), &form),
            (json!({ "customer": "Acme GmbH", "plan": "growth", "seats": 25, "annual_value": 1999.5 }), vec![])
        );
    }

    #[test]
    fn parse_reports_unreadable_numbers() {
        let form = sub(&[("impact", "minor"), ("affected_users", "abc")]);
        let (value, problems) = parse(&triage(), &form);
        assert_eq!(value, json!({ "impact": "minor" }));
        assert_eq!(problems, vec![("affected_users".to_owned(), "Affected users must be a whole number".to_owned())]);
        let (value, problems) = parse(&triage(), &sub(&[("affected_users", "2.5")]));
        assert_eq!((value, problems.len()), (json!({}), 1));
        let (value, problems) = parse(&onboarding_input(), &sub(&[("annual_value", "NaN"), ("seats", "1e3")]));
        assert_eq!(value, json!({ "seats": 1000 }));
        assert_eq!(problems, vec![("annual_value".to_owned(), "Annual value must be a number".to_owned())]);
    }

    #[test]
    fn parse_checkboxes_empties_and_nulls() {
        let schema = json!({ "type": "object", "required": ["change_ref", "note"], "properties": {
            "change_ref": { "type": "string" }, "rolled_back": { "type": "boolean" },
            "note": { "type": ["string", "null"] }, "count": { "type": "integer" },
        }});
        let (value, problems) = parse(&schema, &sub(&[("change_ref", "CHG-12345"), ("count", ""), ("note", "  ")]));
        assert_eq!(value, json!({ "change_ref": "CHG-12345", "rolled_back": false, "note": null }));
        assert!(problems.is_empty());
        let (value, _) = parse(&schema, &sub(&[("rolled_back", "false"), ("rolled_back", "on"), ("change_ref", "")]));
        assert_eq!(value, json!({ "rolled_back": true, "note": null }));
    }

    #[test]
    fn parse_dates_and_times() {
        let schema = json!({ "type": "object", "properties": {
            "at": { "type": "string", "format": "date-time" }, "day": { "type": "string", "format": "date" },
            "time": { "type": "string", "format": "time" }, "data": { "type": "array" },
        }});
        let form = sub(&[("at", "2024-02-29T09:05"), ("day", "2024-03-01"), ("time", "07:45"), ("data", "[1, 2]")]);
        assert_eq!(
            parse(&schema, &form),
            (json!({ "at": "2024-02-29T09:05:00Z", "day": "2024-03-01", "time": "07:45:00Z", "data": [1, 2] }), vec![])
        );
        let form = sub(&[("at", "2024-01-01T00:30:15+01:00"), ("day", "2023-02-29"), ("data", "[1,")]);
        let (value, problems) = parse(&schema, &form);
        assert_eq!(value, json!({ "at": "2023-12-31T23:30:15Z" }));
        assert_eq!(
            problems,
            vec![
                ("data".to_owned(), "Data must be valid JSON".to_owned()),
                ("day".to_owned(), "Day must be a date (YYYY-MM-DD)".to_owned()),
            ]
        );
    }

    #[test]
    fn parse_selects_keep_option_types() {
        let schema = json!({ "properties": {
            "level": { "enum": [1, 2, 3] }, "tier": { "anyOf": [{ "const": "gold" }, { "const": false }] },
            "plan": { "type": "string", "enum": ["a"] },
        }});
        let (value, problems) = parse(&schema, &sub(&[("level", "2"), ("tier", "false"), ("plan", "zzz")]));
        assert_eq!((value, problems), (json!({ "level": 2, "tier": false, "plan": "zzz" }), vec![]));
    }

    #[test]
    fn attach_problems_in_plain_words() {
        let schema = json!({ "type": "object", "required": ["impact", "change_ref"], "properties": {
            "impact": { "type": "string", "enum": ["minor", "major", "critical"] },
            "change_ref": { "type": "string", "pattern": "^CHG-[0-9]{5}$" },
            "code": { "type": "string", "pattern": "^(?i)x+$" },
            "users": { "type": "integer", "minimum": 0 },
            "text": { "type": "string", "minLength": 1, "maxLength": 20 },
            "signed": { "const": true },
            "extra": { "type": "object" },
            "tier": { "oneOf": [{ "const": "a" }, { "const": "b" }] },
        }});
        let mut got = fields(&schema, &Value::Null);
        let problems = vec![
            rule("/output", "required", json!("impact")),
            rule("/output/change_ref", "pattern", json!("^CHG-[0-9]{5}$")),
            rule("/output/code", "pattern", json!("^(?i)x+$")),
            rule("/output/users", "minimum", json!(0)),
            rule("/output/users", "type", json!("integer")),
            rule("/output/text", "minLength", json!(1)),
            rule("/output/signed", "const", json!(true)),
            FieldProblem { keyword: Some("oneOf".into()), ..FieldProblem::new("/output/tier", "not one of them") },
            FieldProblem {
                message: "5 is not of type \"string\"".into(),
                ..rule("/output/extra/a~1b", "type", json!("string"))
            },
            FieldProblem {
                message: "Additional properties are not allowed ('zzz' was unexpected)".into(),
                ..rule("/output", "additionalProperties", json!(null))
            },
            rule("/output", "required", json!("ghost")),
            FieldProblem::new("/input/x", "nope"),
            FieldProblem::new("users", "Users must be a whole number"),
        ];
        let page = attach_problems(&mut got, "/output", &problems);
        let errors: Vec<(&str, Option<&str>)> = got.iter().map(|f| (f.name.as_str(), f.error.as_deref())).collect();
        assert_eq!(
            errors,
            vec![
                ("impact", Some("Impact is required")),
                ("change_ref", Some("Change ref must look like CHG-12345")),
                ("code", Some("Code does not have the expected format (^(?i)x+$)")),
                ("extra", Some("/a~1b: 5 is not of type \"string\"")),
                ("signed", Some("Signed must be ticked")),
                ("text", Some("Text must not be empty")),
                ("tier", Some("Tier must be one of: a, b")),
                ("users", Some("Users must be at least 0; Users must be a whole number")),
            ]
        );
        assert_eq!(
            page,
            strings(&[
                "Additional properties are not allowed ('zzz' was unexpected)",
                "Ghost is required",
                "/input/x: nope"
            ])
        );
    }

    #[test]
    fn friendly_enum_length_and_limits() {
        let mut got = fields(&triage(), &Value::Null);
        let problems = vec![
            rule("/impact", "enum", json!(["minor", "major", "critical"])),
            rule("/affected_users", "maximum", json!(50000)),
            rule("/category", "maxLength", json!(3)),
        ];
        assert!(attach_problems(&mut got, "", &problems).is_empty());
        assert_eq!(got[0].error.as_deref(), Some("Impact must be one of: minor, major, critical"));
        assert_eq!(got[1].error.as_deref(), Some("Category must be at most 3 characters"));
        assert_eq!(got[2].error.as_deref(), Some("Affected users must be at most 50000"));
    }

    #[test]
    fn refill_keeps_what_was_typed() {
        let schema =
            json!({ "properties": { "n": { "type": "integer" }, "b": { "type": "boolean", "default": true } } });
        let mut got = fields(&schema, &json!({ "n": 3 }));
        refill(&mut got, &sub(&[("n", "abc"), ("other", "x")]));
        assert_eq!((got[0].checked, got[1].value.as_str()), (false, "abc"));
        refill(&mut got, &sub(&[("b", "on")]));
        assert_eq!((got[0].checked, got[1].value.as_str()), (true, "abc"));
    }

    #[test]
    fn html_patterns() {
        let cases = [
            ("^CHG-[0-9]{5}$", Some("CHG-[0-9]{5}")),
            ("^[A-Z]{2}\\d+(?:-[a-z_]+)?$", Some("[A-Z]{2}\\d+(?:-[a-z_]+)?")),
            ("^(a|b)c$", Some("(a|b)c")),
            ("@", Some(".*@.*")),
            ("^x", Some("x.*")),
            ("^a|b$", None),
            ("^(?i)abc$", None),
            ("^[a-z-]+$", None),
            ("^\\-x$", None),
            ("^\\p{L}+$", None),
            ("^a{2$", None),
            ("^*a$", None),
            ("^[a..b]$", None),
            ("^$", None),
            ("^a\\$", Some("a\\$.*")),
        ];
        for (pattern, want) in cases {
            assert_eq!(html_pattern(pattern).as_deref(), want, "{pattern}");
        }
        assert_eq!(pattern_sample("^PO-[0-9]{6}$").as_deref(), Some("PO-123456"));
        assert_eq!(pattern_sample("^[A-Z]{3}\\d{2}x$").as_deref(), Some("ABC12x"));
        assert_eq!(pattern_sample("^a+$"), None);
        assert_eq!(pattern_sample("^x{99999999999999999999}$"), None);
    }

    #[test]
    fn humanised_labels() {
        assert_eq!(humanise("affected_users"), "Affected users");
        assert_eq!(humanise("goLiveDate"), "Go live date");
        assert_eq!(humanise("apiURL"), "Api URL");
        assert_eq!(humanise("__"), "");
        assert_eq!(humanise("élan-vital"), "Élan vital");
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut deep = json!({ "type": "string" });
        for _ in 0..120 {
            deep = json!({ "type": "object", "properties": { "x": deep }, "required": ["x"] });
        }
        let garbage = [
            json!(null),
            json!(42),
            json!("object"),
            json!([{ "type": "object" }]),
            json!({ "type": "object", "properties": [1, 2], "required": "x" }),
            json!({ "type": "object", "properties": { "a": 5, "b": null, "c": [] }, "required": [1, null, "z", "z"] }),
            json!({ "type": 7, "properties": { "a": {} } }),
            json!({ "properties": { "a": { "type": 5, "enum": "x", "minimum": "a", "maxLength": -1, "pattern": 3 },
                                    "b": { "type": ["string", 1] }, "c": { "enum": [] }, "d": { "oneOf": 5 },
                                    "é": { "type": "string", "pattern": "^é[", "examples": [] },
                                    "e": { "type": "integer", "exclusiveMinimum": 9223372036854775807_i64,
                                           "exclusiveMaximum": -9223372036854775808_i64, "multipleOf": -1 },
                                    "f": { "type": "string", "format": "date-time", "default": "9999-12-31T23:59:59-23:59" },
                                    "g": { "type": "null" }, "h": { "const": null } } }),
            deep,
        ];
        let weird = sub(&[
            ("a", "\u{0}"),
            ("é", "é"),
            ("e", "99999999999999999999999"),
            ("f", "2024-13-01T25:61"),
            ("f", "ééééééééééééééé"),
            ("x", "{\"x\":"),
            ("", ""),
            ("z", "true"),
        ]);
        for schema in &garbage {
            for current in [json!(null), json!([1]), json!({ "a": [1], "f": 3, "x": {"y": null} })] {
                let mut got = fields(schema, &current);
                refill(&mut got, &weird);
                let problems = vec![
                    FieldProblem::new("é", "é"),
                    rule("/é/", "enum", json!("é")),
                    rule("/a", "required", json!(7)),
                    rule("/x", "minimum", json!("é")),
                    rule("/x", "minLength", json!(-1)),
                    rule("/x", "type", json!(["string", 5])),
                    FieldProblem::new("", ""),
                ];
                attach_problems(&mut got, "", &problems);
                attach_problems(&mut got, "/é", &problems);
            }
            let (value, _) = parse(schema, &weird);
            assert!(value.is_object());
        }
        assert_eq!(parse(&json!([1]), &weird), (json!({}), vec![]));
        assert!(fields(&json!({ "type": "string" }), &Value::Null).is_empty());
    }
}

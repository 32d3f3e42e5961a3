//! A filter's counted events (or work items) in memory, grouped by case and in case order: the
//! pass over every case that the variants, the directly-follows graph, the activities report, the
//! work items' times and the resources report make, done in Rust rather than by sorting every
//! event in DataFusion.
//!
//! One query streams the rows — the counted events of [`Events::cte`]'s `ev` ([`CaseLog::events`])
//! or the work items of `times`' `kept` ([`CaseLog::items`]): case, activity, `t`, `st`,
//! `ordinal`, `timed`, for the engine's tasks `early` and `gone`, for the resources report
//! `resource` and `role` — to the loader batch by
//! batch, each partition of the answer to a loader of its own at the same time (then merged),
//! which numbers the cases and the activities as they come (a case's events usually come
//! together in a log's file, so most rows compare their case id with the previous row's instead
//! of hashing it) and keeps a few numbers per row. Then one counting sort groups the rows by case,
//! and each case's rows are put in order ([`Order`]; `ordinal` is unique within a case).
//!
//! What DataFusion did before (docs/benchmarks.md): a sort of every event by case id (text) and
//! time, a third of the variants report's time at 1M events, and window functions evaluated a
//! partition at once, which held 1.6–2.1 GB at 10M.

use crate::events::TEAM_TEXT;
use crate::filter::CaseStarts;
use crate::sql::{MEMORY_BYTES, running_join};
use crate::{Events, ReportError};
use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::HashMap;
use std::ops::Range;
use std::time::Instant;

/// Rows (events or work items), grouped by case, in case order. Times are microseconds since
/// the epoch, [`NONE`] where a work item has none (not completed yet).
pub(crate) struct CaseLog {
    /// Activity names by number.
    pub activities: Vec<String>,
    /// Case `c`'s rows are `bounds[c]..bounds[c + 1]`.
    bounds: Vec<usize>,
    /// Per row, in case order: its activity's number.
    pub activity: Vec<u32>,
    /// When it happened (completed).
    pub t: Vec<i64>,
    /// When its work started (`t` where unknown).
    pub st: Vec<i64>,
    /// File (or commit) order.
    pub ordinal: Vec<i64>,
    /// Whether `st` is a real start time.
    pub timed: Vec<bool>,
    /// The engine's tasks: when each became ready, and when it left its queue; empty otherwise.
    pub early: Vec<i64>,
    pub gone: Vec<i64>,
    /// Resource and role names by number, where the rows have them.
    pub names: Vec<String>,
    /// Per row, its resource's and role's number ([`NO_NAME`] for none), where loaded; empty
    /// otherwise.
    pub resource: Vec<u32>,
    pub role: Vec<u32>,
    /// Per case, its team and id, where asked for ([`CaseLog::identified`]); empty otherwise.
    pub ids: Vec<CaseIdentity>,
    /// Per case, what it was started with, where loaded (the predictions' history); empty
    /// otherwise.
    pub context: Vec<CaseContext>,
}

/// What a case was started with, where known (the engine's processes): named values — its
/// playbook, its playbook version's number, its input fields (`input.{name}`).
pub(crate) type CaseContext = Vec<(String, serde_json::Value)>;

/// The [`CaseContext`] names of its playbook and of the playbook version's number.
pub(crate) const PLAYBOOK_FIELD: &str = "playbook";
pub(crate) const VERSION_FIELD: &str = "version";

/// Which case a case of a [`CaseLog`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseIdentity {
    pub team: std::sync::Arc<str>,
    pub id: Box<str>,
}

/// A time in microseconds since the epoch as a date and time (the epoch where it is none).
pub(crate) fn time_of(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Microseconds (a total, or a difference of times) as seconds.
pub(crate) fn seconds(micros: i128) -> f64 {
    micros as f64 / 1e6
}

/// `later - earlier` in seconds, exact in microseconds whatever the times (no overflow).
pub(crate) fn seconds_between(later: i64, earlier: i64) -> f64 {
    seconds(i128::from(later) - i128::from(earlier))
}

/// Numbers each value's occurrences within a case, over a case log's cases taken in turn: the
/// rework of an activity is its second occurrence in a case.
pub(crate) struct Occurrences {
    /// Per value, the case it last occurred in and how often there.
    last: Vec<(usize, u32)>,
}

impl Occurrences {
    /// For values numbered below `values`.
    pub fn new(values: usize) -> Occurrences {
        Occurrences { last: vec![(usize::MAX, 0); values] }
    }

    /// One more occurrence of `value` in case number `case`; its number there (1 for the first).
    pub fn next(&mut self, case: usize, value: usize) -> u32 {
        let (last_case, n) = &mut self.last[value];
        if *last_case != case {
            (*last_case, *n) = (case, 0);
        }
        *n += 1;
        *n
    }
}

/// No resource or role (SQL's `NULL`).
pub(crate) const NO_NAME: u32 = u32::MAX;

/// A time that is not there (SQL's `NULL`); it sorts after every time.
pub(crate) const NONE: i64 = i64::MAX;

/// The order of each case's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// By `t`, then `ordinal`: events as they happened.
    Time,
    /// By `st`, then `t` (missing ones last), then `ordinal`: work items as they started.
    Start,
}

/// Bytes [`CaseLog`] holds per row (and a loading one, with the row's case number).
const ROW_BYTES: usize = 4 + 8 + 8 + 8 + 1 + 4;

impl CaseLog {
    /// The counted events of `events` (one query, its rows noted as their count), each case's in
    /// order of time.
    pub async fn events(events: &Events<'_>) -> Result<CaseLog, ReportError> {
        let sql = format!("{ev} SELECT {columns} FROM ev", ev = events.cte(), columns = columns(events, ""));
        let log = CaseLog::load(events, &sql, Order::Time, false).await?;
        events.note_counted(log.rows());
        Ok(log)
    }

    /// The counted events of `events` with each case's team and id ([`CaseLog::ids`]) and each
    /// event's resource and role, each case's in `order` (noted as the counted events).
    pub async fn identified(events: &Events<'_>, order: Order) -> Result<CaseLog, ReportError> {
        let sql =
            format!("{ev} SELECT {columns} FROM ev", ev = events.cte(), columns = columns(events, ", resource, role"));
        let log = CaseLog::load(events, &sql, order, true).await?;
        events.note_counted(log.rows());
        Ok(log)
    }

    /// The counted events of the engine's cases whose process is no longer running (a running
    /// process's path is not finished); not noted as the counted events, which are more.
    pub async fn finished_events(events: &Events<'_>) -> Result<CaseLog, ReportError> {
        let sql = format!(
            "{ev} SELECT {columns} FROM ev {finished}",
            ev = events.cte(),
            columns = columns(events, ""),
            finished = running_join("ev", false),
        );
        CaseLog::load(events, &sql, Order::Time, false).await
    }

    /// The work items of `base` (SQL ending in the CTE `kept`, as `times` writes it), each case's
    /// in order of start (noted as the counted events where they are those); `extra` names its further columns (`, early, gone` for the engine's
    /// tasks, `, resource, role`).
    pub async fn items(events: &Events<'_>, base: &str, extra: &str) -> Result<CaseLog, ReportError> {
        let sql = format!("{base} SELECT {columns} FROM kept", columns = columns(events, extra));
        let log = CaseLog::load(events, &sql, Order::Start, false).await?;
        if events.items_are_counted_events() {
            events.note_counted(log.rows());
        }
        Ok(log)
    }

    /// Runs the load query `sql` into a case log in `order`, with the cases' `ids` or not (both
    /// logged with their duration, at debug level).
    async fn load(events: &Events<'_>, sql: &str, order: Order, ids: bool) -> Result<CaseLog, ReportError> {
        let started = Instant::now();
        let (parts, spilled_bytes) = events.fold(sql, Loading::add).await?;
        let loading = Loading::merge(parts);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(rows = loading.t.len(), elapsed_ms, spilled_bytes, sql, "report query");
        let started = Instant::now();
        let cases = loading.cases;
        let log = loading.finish(order, ids)?;
        tracing::debug!(cases, elapsed_ms = started.elapsed().as_millis() as u64, "case log ordered");
        Ok(log)
    }

    /// How many cases.
    pub fn cases(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The rows of case `case` (its number).
    pub fn rows_of(&self, case: usize) -> Range<usize> {
        self.bounds[case]..self.bounds[case + 1]
    }

    /// The rows of each case, in the log's [`Order`].
    pub fn case_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.bounds.windows(2).map(|w| w[0]..w[1])
    }

    /// The cases whose first completion (the earliest `t` of their rows) `starts` includes, as a
    /// log of their own (in the same order, with the same numbering of activities and names).
    pub fn cases_started(&self, starts: CaseStarts) -> CaseLog {
        let kept: Vec<Range<usize>> = self
            .case_ranges()
            .filter(|rows| {
                self.t[rows.clone()]
                    .iter()
                    .copied()
                    .filter(|&t| t != NONE)
                    .min()
                    .is_some_and(|first| starts.includes(first))
            })
            .collect();
        let mut bounds = Vec::with_capacity(kept.len() + 1);
        bounds.push(0);
        for rows in &kept {
            bounds.push(bounds[bounds.len() - 1] + rows.len());
        }
        fn gather<T: Copy>(column: &[T], kept: &[Range<usize>]) -> Vec<T> {
            if column.is_empty() {
                return Vec::new();
            }
            let mut out = Vec::with_capacity(kept.iter().map(ExactSizeIterator::len).sum());
            for rows in kept {
                out.extend_from_slice(&column[rows.clone()]);
            }
            out
        }
        CaseLog {
            activities: self.activities.clone(),
            bounds,
            activity: gather(&self.activity, &kept),
            t: gather(&self.t, &kept),
            st: gather(&self.st, &kept),
            ordinal: gather(&self.ordinal, &kept),
            timed: gather(&self.timed, &kept),
            early: gather(&self.early, &kept),
            gone: gather(&self.gone, &kept),
            names: self.names.clone(),
            resource: gather(&self.resource, &kept),
            role: gather(&self.role, &kept),
            ids: if self.ids.is_empty() {
                Vec::new()
            } else {
                kept.iter().map(|rows| self.ids[self.case_of(rows.start)].clone()).collect()
            },
            context: if self.context.is_empty() {
                Vec::new()
            } else {
                kept.iter().map(|rows| self.context[self.case_of(rows.start)].clone()).collect()
            },
        }
    }

    /// The case (its number) row `row` belongs to.
    fn case_of(&self, row: usize) -> usize {
        self.bounds.partition_point(|&start| start <= row) - 1
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.t.len()
    }
}

/// The columns a case log reads.
fn columns(events: &Events<'_>, extra: &str) -> String {
    let team = if events.one_team() { String::new() } else { format!("{TEAM_TEXT}, ") };
    format!("{team}case_id, activity, t, st, CAST(ordinal AS BIGINT) AS ordinal, timed{extra}")
}

/// Numbers by name.
type Numbers = HashMap<Box<str>, u32>;

/// A team's case numbers by case id.
type CaseNumbers = HashMap<CaseKey, u32>;

/// A case id as a key of [`CaseNumbers`]: up to [`INLINE`] bytes (most ids) inside the map's own
/// slot, longer ones boxed. A lookup among millions of cases then reads the slot and not, besides,
/// a key allocated apart (the 10M-event load: 1.77 s with boxed keys, 1.61 s inline).
#[derive(Clone)]
enum CaseKey {
    Inline(u8, [u8; INLINE]),
    Boxed(Box<[u8]>),
}

/// The longest case id a [`CaseKey`] holds inline (the key stays 24 bytes).
const INLINE: usize = 22;

impl CaseKey {
    fn as_bytes(&self) -> &[u8] {
        match self {
            CaseKey::Inline(len, bytes) => &bytes[..usize::from(*len)],
            CaseKey::Boxed(bytes) => bytes,
        }
    }
}

impl From<&[u8]> for CaseKey {
    fn from(id: &[u8]) -> CaseKey {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id);
                CaseKey::Inline(len, bytes)
            }
            _ => CaseKey::Boxed(id.into()),
        }
    }
}

impl PartialEq for CaseKey {
    fn eq(&self, other: &CaseKey) -> bool {
        same_bytes(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for CaseKey {}

/// As the bytes hash, so that a map of keys is searched by `&[u8]`.
impl std::hash::Hash for CaseKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for CaseKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A case log as its batches come: rows in the order read, with their case's number.
#[derive(Default)]
struct Loading {
    /// Per team (by the order met), its cases' numbers by case id.
    teams: Vec<(Box<str>, CaseNumbers)>,
    /// The previous row's team (its place in `teams`), case id and case number.
    previous: Option<(usize, Vec<u8>, u32)>,
    activities: Dictionary,
    names: Dictionary,
    resource: Vec<u32>,
    role: Vec<u32>,
    cases: u32,
    case: Vec<u32>,
    activity: Vec<u32>,
    t: Vec<i64>,
    st: Vec<i64>,
    ordinal: Vec<i64>,
    timed: Vec<bool>,
    early: Vec<i64>,
    gone: Vec<i64>,
    /// Bytes held beyond the per-event columns (case ids, activity names).
    text_bytes: usize,
    /// The first thing that went wrong; later batches are skipped.
    error: Option<ReportError>,
}

impl Loading {
    /// Adds one batch of the load query's answer.
    fn add(&mut self, batch: RecordBatch) {
        if self.error.is_none()
            && let Err(e) = self.try_add(&batch)
        {
            self.error = Some(e);
        }
    }

    fn try_add(&mut self, batch: &RecordBatch) -> Result<(), ReportError> {
        let text = |name: &str| -> Result<StringArray, ReportError> {
            let column = column(batch, name)?;
            let column = arrow::compute::cast(column, &DataType::Utf8)
                .map_err(|e| ReportError::Shape(format!("column `{name}`: {e}")))?;
            Ok(column.as_string::<i32>().clone())
        };
        let teams = match batch.column_by_name("team_id") {
            Some(_) => Some(text("team_id")?),
            None => None,
        };
        let (cases, activities) = (text("case_id")?, text("activity")?);
        let timed = column(batch, "timed")?
            .as_boolean_opt()
            .ok_or_else(|| ReportError::Shape("column `timed` is not boolean".into()))?
            .clone();
        times(batch, "t", &mut self.t)?;
        times(batch, "st", &mut self.st)?;
        times(batch, "ordinal", &mut self.ordinal)?;
        if batch.column_by_name("early").is_some() {
            times(batch, "early", &mut self.early)?;
            times(batch, "gone", &mut self.gone)?;
        }
        if batch.column_by_name("resource").is_some() {
            let resources = self.name_numbers_of(&text("resource")?);
            self.resource.extend(resources);
            let roles = self.name_numbers_of(&text("role")?);
            self.role.extend(roles);
        }
        // The team of the previous row, and its place in `teams`: a log's rows come team by team.
        let mut team: Option<(&str, usize)> = None;
        for row in 0..batch.num_rows() {
            let id = teams.as_ref().map_or("", |teams| teams.value(row));
            let team_at = match team {
                Some((previous, at)) if same_bytes(previous.as_bytes(), id.as_bytes()) => at,
                _ => {
                    let at = self.team_at(id);
                    team = Some((id, at));
                    at
                }
            };
            let case = self.case_number(team_at, cases.value(row).as_bytes());
            self.case.push(case);
            let activity = self.activity_number(activities.value(row));
            self.activity.push(activity);
            self.timed.push(timed.is_valid(row) && timed.value(row));
        }
        if self.held() > MEMORY_BYTES {
            return Err(ReportError::Memory(MEMORY_BYTES >> 20));
        }
        Ok(())
    }

    /// One loading of the partitions' (each loaded at the same time): the first's, with the
    /// others' rows appended and their cases, activities and names renumbered.
    fn merge(parts: Vec<Loading>) -> Loading {
        let mut parts = parts.into_iter();
        let mut merged = parts.next().unwrap_or_default();
        for part in parts {
            merged.append(part);
        }
        merged
    }

    /// Appends another partition's rows.
    fn append(&mut self, other: Loading) {
        if let Some(e) = other.error {
            self.error.get_or_insert(e);
        }
        if self.error.is_some() {
            return;
        }
        let activities: Vec<u32> = other.activities.names.iter().map(|a| self.activity_number(a)).collect();
        let names: Vec<u32> = other.names.names.iter().map(|n| self.names.number(n, &mut self.text_bytes)).collect();
        let mut cases = vec![0u32; other.cases as usize];
        for (team, numbers) in &other.teams {
            for (case, &at) in numbers {
                let team_at = self.team_at(team);
                cases[at as usize] = self.case_number(team_at, case.as_bytes());
            }
        }
        let renamed = |n: u32| if n == NO_NAME { NO_NAME } else { names[n as usize] };
        self.case.extend(other.case.iter().map(|&c| cases[c as usize]));
        self.activity.extend(other.activity.iter().map(|&a| activities[a as usize]));
        self.resource.extend(other.resource.iter().map(|&r| renamed(r)));
        self.role.extend(other.role.iter().map(|&r| renamed(r)));
        for (to, from) in [(&mut self.t, other.t), (&mut self.st, other.st), (&mut self.ordinal, other.ordinal)] {
            to.extend(from);
        }
        self.early.extend(other.early);
        self.gone.extend(other.gone);
        self.timed.extend(other.timed);
        if self.held() > MEMORY_BYTES {
            self.error = Some(ReportError::Memory(MEMORY_BYTES >> 20));
        }
    }

    /// Bytes held, roughly.
    fn held(&self) -> usize {
        let extra = (self.early.len() + self.gone.len()) * 8 + (self.resource.len() + self.role.len()) * 4;
        self.t.len() * ROW_BYTES + extra + self.text_bytes
    }

    /// The place of a team in `teams`, added if new.
    fn team_at(&mut self, team: &str) -> usize {
        match self.teams.iter().position(|(id, _)| id.as_ref() == team) {
            Some(at) => at,
            None => {
                self.teams.push((team.into(), HashMap::default()));
                self.teams.len() - 1
            }
        }
    }

    /// The number of a case of the team at `team_at` in `teams`, the next one if it is new.
    fn case_number(&mut self, team_at: usize, case: &[u8]) -> u32 {
        if let Some((at, previous, number)) = &self.previous
            && *at == team_at
            && same_bytes(previous, case)
        {
            return *number;
        }
        let next = self.cases;
        let number = *self.teams[team_at].1.entry_ref(case).or_insert(next);
        if number == next {
            self.cases += 1;
            self.text_bytes += case.len() + 32;
        }
        match &mut self.previous {
            Some((at, previous, n)) => {
                *at = team_at;
                previous.clear();
                previous.extend_from_slice(case);
                *n = number;
            }
            None => self.previous = Some((team_at, case.to_vec(), number)),
        }
        number
    }

    /// The number of an activity, the next one if it is new.
    fn activity_number(&mut self, activity: &str) -> u32 {
        self.activities.number(activity, &mut self.text_bytes)
    }

    /// The numbers of resources' or roles' names, the next ones for new names.
    fn name_numbers_of(&mut self, names: &StringArray) -> Vec<u32> {
        names.iter().map(|name| name.map_or(NO_NAME, |name| self.names.number(name, &mut self.text_bytes))).collect()
    }

    /// Groups the rows by case (a counting sort by case number, keeping the order read) and
    /// puts each case's in `order`, with the cases' teams and ids if `ids`.
    fn finish(self, order_by: Order, ids: bool) -> Result<CaseLog, ReportError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let cases = self.cases as usize;
        let mut identities = Vec::new();
        if ids {
            let unknown = CaseIdentity { team: "".into(), id: "".into() };
            identities = vec![unknown; cases];
            for (team, numbers) in &self.teams {
                let team: std::sync::Arc<str> = team.as_ref().into();
                for (key, &number) in numbers {
                    let id = String::from_utf8_lossy(key.as_bytes()).into();
                    identities[number as usize] = CaseIdentity { team: team.clone(), id };
                }
            }
        }
        let mut bounds = vec![0usize; cases + 1];
        for &case in &self.case {
            bounds[case as usize + 1] += 1;
        }
        for c in 0..cases {
            bounds[c + 1] += bounds[c];
        }
        let mut next = bounds.clone();
        let mut order = vec![0u32; self.case.len()];
        for (event, &case) in self.case.iter().enumerate() {
            order[next[case as usize]] = event as u32;
            next[case as usize] += 1;
        }
        drop(next);
        for c in 0..cases {
            let rows = &mut order[bounds[c]..bounds[c + 1]];
            // Rows usually come in order already (a log lists a case's events by time).
            match order_by {
                Order::Time => sort(rows, |e| (self.t[e as usize], self.ordinal[e as usize])),
                Order::Start => sort(rows, |e| {
                    let e = e as usize;
                    (self.st[e], self.t[e], self.ordinal[e])
                }),
            }
        }
        let gather = |column: &[i64]| order.iter().map(|&e| column[e as usize]).collect::<Vec<_>>();
        Ok(CaseLog {
            activity: order.iter().map(|&e| self.activity[e as usize]).collect(),
            t: gather(&self.t),
            st: gather(&self.st),
            ordinal: gather(&self.ordinal),
            timed: order.iter().map(|&e| self.timed[e as usize]).collect(),
            early: if self.early.is_empty() { Vec::new() } else { gather(&self.early) },
            gone: if self.gone.is_empty() { Vec::new() } else { gather(&self.gone) },
            resource: order.iter().filter_map(|&e| self.resource.get(e as usize).copied()).collect(),
            role: order.iter().filter_map(|&e| self.role.get(e as usize).copied()).collect(),
            activities: self.activities.names,
            names: self.names.names,
            bounds,
            ids: identities,
            context: Vec::new(),
        })
    }
}

/// A column of the load query's answer.
fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, ReportError> {
    batch
        .column_by_name(name)
        .map(|column| column.as_ref())
        .ok_or_else(|| ReportError::Shape(format!("no column `{name}` in {:?}", batch.schema())))
}

/// Names numbered as they come (activities; resources and roles), with a few recently found
/// ones in slots picked by their length and first and last bytes: a log has few activities, and a
/// slot's name is compared inline ([`same_bytes`]) rather than hashed and compared by a library
/// call for every row (`memcmp` took a quarter of the 1M-event load's CPU).
struct Dictionary {
    numbers: Numbers,
    names: Vec<String>,
    /// A name's number, or [`EMPTY_SLOT`].
    slots: [u32; SLOTS],
}

const SLOTS: usize = 64;
const EMPTY_SLOT: u32 = u32::MAX;

impl Default for Dictionary {
    fn default() -> Dictionary {
        Dictionary { numbers: Numbers::default(), names: Vec::new(), slots: [EMPTY_SLOT; SLOTS] }
    }
}

impl Dictionary {
    /// The number of `name`, the next one if it is new (its bytes counted in `bytes`).
    #[inline]
    fn number(&mut self, name: &str, bytes: &mut usize) -> u32 {
        let slot = slot_of(name.as_bytes());
        let cached = self.slots[slot];
        if cached != EMPTY_SLOT && same_bytes(self.names[cached as usize].as_bytes(), name.as_bytes()) {
            return cached;
        }
        let number = match self.numbers.get(name) {
            Some(&number) => number,
            None => {
                let number = self.names.len() as u32;
                self.numbers.insert(name.into(), number);
                self.names.push(name.to_string());
                *bytes += 2 * name.len() + 32;
                number
            }
        };
        self.slots[slot] = number;
        number
    }
}

/// A [`Dictionary`] slot for a name: a mix of its length and its first and last (up to) 8 bytes.
#[inline]
fn slot_of(bytes: &[u8]) -> usize {
    let word = |part: &[u8]| part.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b));
    let (first, last) = (&bytes[..bytes.len().min(8)], &bytes[bytes.len().saturating_sub(8)..]);
    let mixed = (word(first) ^ word(last).rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 58) as usize
}

/// Whether two byte strings are equal, compared inline 8 bytes at a time (ids and names are short;
/// `==` on slices calls `memcmp`).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |chunk: &[u8]| u64::from_ne_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
    a8.by_ref().zip(b8.by_ref()).all(|(x, y)| word(x) == word(y))
        && a8.remainder().iter().zip(b8.remainder()).all(|(x, y)| x == y)
}

/// Sorts rows (indices into a log's columns) by `key` unless they are sorted already, as rows
/// usually come.
pub(crate) fn sort<R: Copy, K: Ord>(rows: &mut [R], key: impl Fn(R) -> K) {
    if !rows.is_sorted_by_key(|&e| key(e)) {
        rows.sort_unstable_by_key(|&e| key(e));
    }
}

/// Appends an integer column of the load query's answer to `to`, nulls as [`NONE`].
fn times(batch: &RecordBatch, name: &str, to: &mut Vec<i64>) -> Result<(), ReportError> {
    let column = column(batch, name)?;
    let integers = column
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| ReportError::Shape(format!("column `{name}` is {}", column.data_type())))?;
    if integers.null_count() == 0 {
        to.extend_from_slice(integers.values());
    } else {
        to.extend(integers.iter().map(|v| v.unwrap_or(NONE)));
    }
    Ok(())
}

/// Case logs for the unit tests of the modules that read them.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use arrow::array::{ArrayRef, BooleanArray, Int64Array};
    use std::sync::Arc;

    /// A log of events (case, activity, time in µs), one team's, in time order, with ids.
    pub fn log(events: &[(&str, &str, i64)]) -> CaseLog {
        let texts = |at: usize| -> ArrayRef {
            Arc::new(StringArray::from(events.iter().map(|e| [e.0, e.1][at]).collect::<Vec<_>>()))
        };
        let times: ArrayRef = Arc::new(Int64Array::from(events.iter().map(|e| e.2).collect::<Vec<_>>()));
        let ordinals: ArrayRef = Arc::new(Int64Array::from((0..events.len() as i64).collect::<Vec<_>>()));
        let batch = RecordBatch::try_from_iter([
            ("case_id", texts(0)),
            ("activity", texts(1)),
            ("t", times.clone()),
            ("st", times),
            ("ordinal", ordinals),
            ("timed", Arc::new(BooleanArray::from(vec![false; events.len()])) as ArrayRef),
        ])
        .expect("a batch");
        let mut loading = Loading::default();
        loading.add(batch);
        loading.finish(Order::Time, true).expect("a log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, BooleanArray, Int64Array};
    use std::sync::Arc;

    /// A row of the load query's answer: team, case, activity, `t`, `st`, ordinal.
    type Row<'a> = (&'a str, &'a str, &'a str, Option<i64>, i64, i64);

    /// A batch of the load query's answer, `timed` where `st` is not `t`.
    fn batch(rows: &[Row<'_>], resources: Option<&[Option<&str>]>) -> RecordBatch {
        let texts = |at: usize| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(|r| [r.0, r.1, r.2][at]).collect::<Vec<_>>()))
        };
        let integers = |values: Vec<Option<i64>>| -> ArrayRef { Arc::new(Int64Array::from(values)) };
        let mut columns: Vec<(&str, ArrayRef)> = vec![
            ("team_id", texts(0)),
            ("case_id", texts(1)),
            ("activity", texts(2)),
            ("t", integers(rows.iter().map(|r| r.3).collect())),
            ("st", integers(rows.iter().map(|r| Some(r.4)).collect())),
            ("ordinal", integers(rows.iter().map(|r| Some(r.5)).collect())),
            (
                "timed",
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.3.is_some_and(|t| t != r.4)).collect::<Vec<_>>())),
            ),
        ];
        if let Some(resources) = resources {
            columns.push(("resource", Arc::new(StringArray::from(resources.to_vec()))));
            columns.push(("role", Arc::new(StringArray::from(vec![None::<&str>; rows.len()]))));
        }
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn loaded(batches: &[RecordBatch], order: Order) -> CaseLog {
        let mut loading = Loading::default();
        for batch in batches {
            loading.add(batch.clone());
        }
        loading.finish(order, false).unwrap()
    }

    /// Each case's activities, in the log's order.
    fn traces(log: &CaseLog) -> Vec<Vec<&str>> {
        log.case_ranges().map(|r| r.map(|e| log.activities[log.activity[e] as usize].as_str()).collect()).collect()
    }

    #[test]
    fn rows_are_grouped_by_team_and_case_across_batches_in_time_then_file_order() {
        let log = loaded(
            &[
                batch(&[("t1", "c1", "b", Some(20), 20, 2), ("t1", "c2", "x", Some(5), 5, 3)], None),
                batch(
                    &[
                        ("t2", "c1", "other team", Some(1), 1, 1),
                        ("t1", "c1", "a", Some(10), 10, 1),
                        ("t1", "c1", "tie", Some(20), 20, 0),
                    ],
                    None,
                ),
            ],
            Order::Time,
        );
        assert_eq!(log.cases(), 3);
        assert_eq!(traces(&log), vec![vec!["a", "tie", "b"], vec!["x"], vec!["other team"]]);
        assert_eq!(log.t, vec![10, 20, 20, 5, 1]);
        assert_eq!(log.ordinal, vec![1, 0, 2, 3, 1]);
    }

    #[test]
    fn bytes_compare_inline_and_names_keep_their_numbers_whatever_their_slots() {
        let long = "a name of more than eight bytes";
        for (a, b, same) in [("", "", true), ("c1", "c1", true), ("c1", "c2", false), ("c1", "c10", false)] {
            assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), same, "{a} {b}");
        }
        assert!(same_bytes(long.as_bytes(), long.to_string().as_bytes()));
        assert!(!same_bytes(long.as_bytes(), "a name of more than eight bytez".as_bytes()));
        // More names than slots: some share one, and each keeps its number.
        let (mut names, mut bytes) = (Dictionary::default(), 0);
        let all: Vec<String> = (0..3 * SLOTS).map(|i| format!("activity {i}")).collect();
        for _ in 0..2 {
            for (i, name) in all.iter().enumerate() {
                assert_eq!(names.number(name, &mut bytes), i as u32);
            }
        }
        assert_eq!(names.names, all);
    }

    #[test]
    fn occurrences_are_numbered_within_each_case() {
        let mut occurrences = Occurrences::new(2);
        let numbers: Vec<u32> =
            [(0, 0), (0, 1), (0, 0), (0, 0), (1, 0), (1, 1), (1, 1)].map(|(case, v)| occurrences.next(case, v)).into();
        assert_eq!(numbers, vec![1, 1, 2, 3, 1, 1, 2]);
    }

    #[test]
    fn times_far_apart_are_seconds_apart_without_overflow() {
        assert_eq!(seconds_between(2_500_000, 1_000_000), 1.5);
        assert_eq!(seconds_between(i64::MAX - 1, i64::MIN), ((i64::MAX as f64) - (i64::MIN as f64)) / 1e6);
    }

    #[test]
    fn long_and_short_case_ids_are_numbered_alike() {
        let long = "a case id longer than twenty-two bytes";
        let rows = [("t", long, "x", Some(1), 1, 1), ("t", "c", "y", Some(2), 2, 2), ("t", long, "z", Some(3), 3, 3)];
        let mut loading = Loading::default();
        loading.add(batch(&rows[..2], None));
        loading.add(batch(&rows[2..], None));
        let log = loading.finish(Order::Time, false).unwrap();
        assert_eq!(traces(&log), vec![vec!["x", "z"], vec!["y"]]);
        let key = |id: &str| CaseKey::from(id.as_bytes());
        assert!(matches!(key("c29164"), CaseKey::Inline(6, _)) && matches!(key(long), CaseKey::Boxed(_)));
        assert_eq!(key(long).as_bytes(), long.as_bytes());
    }

    #[test]
    fn partitions_loaded_apart_merge_into_one_numbering() {
        let parts = [
            batch(&[("t", "c1", "a", Some(1), 1, 1), ("t", "c2", "b", Some(2), 2, 2)], Some(&[Some("ann"), None])),
            batch(
                &[("t", "c3", "b", Some(3), 3, 3), ("t", "c1", "c", Some(0), 0, 0)],
                Some(&[Some("bob"), Some("ann")]),
            ),
        ]
        .map(|batch| {
            let mut part = Loading::default();
            part.add(batch);
            part
        });
        let log = Loading::merge(parts.into()).finish(Order::Time, true).unwrap();
        assert_eq!(log.cases(), 3);
        assert_eq!(traces(&log), vec![vec!["c", "a"], vec!["b"], vec!["b"]]);
        assert_eq!(log.activities, vec!["a", "b", "c"]);
        assert_eq!(log.names, vec!["ann", "bob"]);
        assert_eq!(log.resource, vec![0, 0, NO_NAME, 1]);
        let ids: Vec<(&str, &str)> = log.ids.iter().map(|case| (&*case.team, &*case.id)).collect();
        assert_eq!(ids, vec![("t", "c1"), ("t", "c2"), ("t", "c3")]);
        let later = log.cases_started(CaseStarts { from: Some(2), to: None });
        let ids: Vec<&str> = later.ids.iter().map(|case| &*case.id).collect();
        assert_eq!(ids, vec!["c2", "c3"]);
    }

    #[test]
    fn work_items_are_in_start_order_and_open_ones_last() {
        let rows = [
            ("t", "c", "open", None, NONE, 0),
            ("t", "c", "late start", Some(50), 40, 1),
            ("t", "c", "early start", Some(60), 10, 2),
        ];
        let log = loaded(&[batch(&rows, Some(&[Some("ann"), None, Some("ann")]))], Order::Start);
        assert_eq!(traces(&log), vec![vec!["early start", "late start", "open"]]);
        assert_eq!(log.t, vec![60, 50, NONE]);
        assert_eq!(log.timed, vec![true, true, false]);
        assert_eq!(log.names, vec!["ann"]);
        assert_eq!(log.resource, vec![0, NO_NAME, 0]);
        assert_eq!(log.role, vec![NO_NAME; 3]);
    }

    #[test]
    fn a_wrong_column_type_is_an_error_not_a_panic() {
        let batch = RecordBatch::try_from_iter([
            ("case_id", Arc::new(StringArray::from(vec!["c"])) as ArrayRef),
            ("activity", Arc::new(StringArray::from(vec!["a"]))),
            ("t", Arc::new(StringArray::from(vec!["not a time"]))),
            ("st", Arc::new(Int64Array::from(vec![1]))),
            ("ordinal", Arc::new(Int64Array::from(vec![1]))),
            ("timed", Arc::new(BooleanArray::from(vec![false]))),
        ])
        .unwrap();
        let mut loading = Loading::default();
        loading.add(batch);
        let error = loading.finish(Order::Time, false).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("unexpected query result: column `t` is Utf8"));
    }
}

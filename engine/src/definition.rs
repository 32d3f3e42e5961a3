//! Playbook definitions: a directed acyclic graph of steps, validated before it is saved.

use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// The content of one playbook version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// What the process is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// JSON Schema that the input of a new instance must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// The input field whose text titles a new process started without a title (default: the
    /// first of `title`, `summary`, `subject` and `name` the input has as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_from: Option<String>,
    /// The steps, in the order they are presented; execution order comes from `depends_on`.
    pub steps: Vec<Step>,
}

/// One step of a playbook.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable key, unique in the playbook: lowercase letters, digits, `_` and `-`.
    pub key: String,
    /// Human name.
    pub name: String,
    /// What kind of work the step is.
    pub kind: StepKind,
    /// Keys of the steps that must finish before this one can start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// How the step treats dependencies that were skipped (default `all`: a skipped dependency
    /// skips this step too).
    #[serde(default, skip_serializing_if = "Join::is_default")]
    pub join: Join,
    /// Runs the step only when this holds over the instance's data; otherwise it is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Who does the work (required for every kind but `automated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AssigneeRule>,
    /// How long the step may take from ready to completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^( *[0-9]+[dhms])+ *$", example = "1d 4h"))]
    pub sla: Option<Sla>,
    /// JSON Schema that the step's output must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Value>,
    /// What a rejection does (approval steps only; default `end_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_reject: Option<OnReject>,
    /// Follow-up work, done after the case has its outcome (a post-mortem, a survey): analytics
    /// keep it apart from the work that delays the outcome.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_up: bool,
}

/// The kind of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StepKind {
    /// Work done by a person.
    Task,
    /// A decision: approve or reject.
    Approval,
    /// Data entry against the step's form.
    Form,
    /// Done by the engine itself as soon as it is ready.
    Automated,
}

impl StepKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Task => "task",
            StepKind::Approval => "approval",
            StepKind::Form => "form",
            StepKind::Automated => "automated",
        }
    }
}

impl TryFrom<String> for StepKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        serde_json::from_value(Value::String(s.clone())).map_err(|_| format!("unknown step kind `{s}`"))
    }
}

/// When a step with dependencies may run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Every dependency completed; one that was skipped, rejected or cancelled skips this step.
    #[default]
    All,
    /// Like `all`, but a dependency skipped by its condition counts as done, so a path can
    /// continue after an optional step (rejected or cancelled dependencies still skip it).
    IgnoreSkipped,
}

impl Join {
    fn is_default(&self) -> bool {
        *self == Join::All
    }
}

/// Who a step's task goes to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeRule {
    /// Offered to every member with this role; one of them claims it.
    Role(String),
    /// Assigned to this user.
    User(UserId),
    /// Assigned in turn to the members with this role.
    RoundRobin(String),
}

/// What rejecting an approval does.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReject {
    /// Steps that depend on the approval are skipped; the rest of the process goes on.
    EndPath,
    /// The whole process ends with outcome `rejected`.
    EndProcess,
    /// Work goes back to this earlier step, which runs again with everything after it.
    Rework(String),
}

/// A step's service-level agreement, written like `30m`, `4h`, `2d` or `1d 12h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    /// The allowed duration in seconds.
    pub seconds: i64,
}

impl Sla {
    /// Parses `1d 2h 30m 10s` style durations (units d, h, m, s; at least one part).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut seconds: i64 = 0;
        let mut digits = String::new();
        let mut parts = 0;
        for c in text.chars() {
            match c {
                '0'..='9' => digits.push(c),
                'd' | 'h' | 'm' | 's' => {
                    let n: i64 = digits.parse().map_err(|_| format!("invalid duration `{text}`"))?;
                    let unit = match c {
                        'd' => 86_400,
                        'h' => 3_600,
                        'm' => 60,
                        _ => 1,
                    };
                    seconds = n
                        .checked_mul(unit)
                        .and_then(|v| v.checked_add(seconds))
                        .ok_or_else(|| format!("duration `{text}` is too long"))?;
                    digits.clear();
                    parts += 1;
                }
                ' ' if digits.is_empty() => {}
                _ => return Err(format!("invalid duration `{text}`: use units d, h, m, s as in `1d 4h`")),
            }
        }
        if !digits.is_empty() || parts == 0 {
            return Err(format!("invalid duration `{text}`: use units d, h, m, s as in `1d 4h`"));
        }
        if seconds <= 0 {
            return Err(format!("duration `{text}` must be positive"));
        }
        Ok(Sla { seconds })
    }
}

impl fmt::Display for Sla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.seconds;
        let mut parts = Vec::new();
        for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
            if rest >= unit {
                parts.push(format!("{}{name}", rest / unit));
                rest %= unit;
            }
        }
        f.write_str(&parts.join(" "))
    }
}

impl Serialize for Sla {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Sla {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Sla::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A condition over an instance's data: `{"var": "input.amount", "op": "gt", "value": 1000}`,
/// combined with `{"all": [...]}`, `{"any": [...]}` and `{"not": ...}`.
///
/// Paths are dotted: `input.<field>` reads the start input, `steps.<key>.<field>` a step's output.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", schema(no_recursion))]
pub enum Condition {
    /// Every condition holds.
    All {
        /// The conditions.
        all: Vec<Condition>,
    },
    /// At least one condition holds.
    Any {
        /// The conditions.
        any: Vec<Condition>,
    },
    /// The condition does not hold.
    Not {
        /// The negated condition.
        not: Box<Condition>,
    },
    /// Compares the value at `var` with `value`.
    Compare {
        /// Dotted path into the instance data.
        var: String,
        /// The comparison.
        op: CompareOp,
        /// The value compared with (unused by `exists`).
        #[serde(default, skip_serializing_if = "Value::is_null")]
        value: Value,
    },
}

/// A comparison operator.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Greater than (numbers, or strings by their order).
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// The value is one of the elements of the array `value`.
    In,
    /// The path is present and not null.
    Exists,
}

impl Condition {
    /// The condition in words, for people: "severity is sev1 or sev2, or Triage's impact is
    /// critical". `name` says what a path is called (`input.severity` → "severity", say);
    /// `true` and `false` read "yes" and "no".
    pub fn in_words(&self, name: &dyn Fn(&str) -> String) -> String {
        let part = |c: &Condition| match c {
            Condition::Compare { .. } | Condition::Not { .. } => c.in_words(name),
            compound => format!("({})", compound.in_words(name)),
        };
        match self {
            Condition::All { all } => all.iter().map(part).collect::<Vec<_>>().join(", and "),
            Condition::Any { any } => any.iter().map(part).collect::<Vec<_>>().join(", or "),
            Condition::Not { not } => format!("not {}", part(not)),
            Condition::Compare { var, op, value } => {
                let what = name(var);
                let v = words(value);
                match op {
                    CompareOp::Eq => format!("{what} is {v}"),
                    CompareOp::Ne => format!("{what} is not {v}"),
                    CompareOp::Gt => format!("{what} is more than {v}"),
                    CompareOp::Gte => format!("{what} is at least {v}"),
                    CompareOp::Lt => format!("{what} is less than {v}"),
                    CompareOp::Lte => format!("{what} is at most {v}"),
                    CompareOp::In => format!("{what} is {v}"),
                    CompareOp::Exists => format!("{what} is given"),
                }
            }
        }
    }

    /// Evaluates the condition over `data`; a missing path compares as null.
    pub fn eval(&self, data: &Value) -> bool {
        match self {
            Condition::All { all } => all.iter().all(|c| c.eval(data)),
            Condition::Any { any } => any.iter().any(|c| c.eval(data)),
            Condition::Not { not } => !not.eval(data),
            Condition::Compare { var, op, value } => {
                let actual = lookup(data, var).unwrap_or(&Value::Null);
                compare(actual, *op, value)
            }
        }
    }

    /// Every path the condition reads.
    fn vars(&self, out: &mut Vec<String>) {
        match self {
            Condition::All { all: cs } | Condition::Any { any: cs } => cs.iter().for_each(|c| c.vars(out)),
            Condition::Not { not } => not.vars(out),
            Condition::Compare { var, .. } => out.push(var.clone()),
        }
    }
}

/// Reads a dotted path in a JSON document.
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |v, part| match v {
        Value::Object(m) => m.get(part),
        Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn compare(actual: &Value, op: CompareOp, expected: &Value) -> bool {
    use std::cmp::Ordering;
    let order = || -> Option<Ordering> {
        match (actual, expected) {
            (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        }
    };
    match op {
        CompareOp::Eq => json_eq(actual, expected),
        CompareOp::Ne => !json_eq(actual, expected),
        CompareOp::Gt => order() == Some(Ordering::Greater),
        CompareOp::Gte => matches!(order(), Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => order() == Some(Ordering::Less),
        CompareOp::Lte => matches!(order(), Some(Ordering::Less | Ordering::Equal)),
        CompareOp::In => expected.as_array().is_some_and(|a| a.iter().any(|v| json_eq(actual, v))),
        CompareOp::Exists => !actual.is_null(),
    }
}

/// Equality where `1` equals `1.0`.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A value in words: text as it is, `yes`/`no`, numbers, "a, b or c" for a list.
fn words(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => "empty".into(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(words).collect();
            match items.split_last() {
                None => "nothing".into(),
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            }
        }
        other => other.to_string(),
    }
}

/// Why a definition was rejected; each names the step at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// The definition is not valid JSON of the expected shape.
    #[error("definition is malformed: {0}")]
    Malformed(String),
    /// There are no steps.
    #[error("a playbook needs at least one step")]
    NoSteps,
    /// A key is not of the allowed form.
    #[error("step `{step}`: key must be 1-64 characters of a-z, 0-9, `_` and `-`")]
    InvalidKey { step: String },
    /// Two steps share a key.
    #[error("step `{step}`: key is used by more than one step")]
    DuplicateStep { step: String },
    /// A step has an empty name.
    #[error("step `{step}`: name must not be empty")]
    EmptyName { step: String },
    /// A step depends on a step that does not exist.
    #[error("step `{step}`: depends on unknown step `{dependency}`")]
    UnknownDependency { step: String, dependency: String },
    /// The dependencies form a cycle.
    #[error("step `{step}`: dependencies form a cycle ({})", cycle.join(" -> "))]
    Cycle { step: String, cycle: Vec<String> },
    /// A step's form (or the input schema) is not a valid JSON Schema.
    #[error("step `{step}`: form is not a valid JSON Schema: {reason}")]
    InvalidSchema { step: String, reason: String },
    /// The playbook's input schema is not a valid JSON Schema.
    #[error("input_schema is not a valid JSON Schema: {reason}")]
    InvalidInputSchema { reason: String },
    /// `title_from` names no text field of the input schema.
    #[error("title_from names `{field}`, which is not a text field of the input schema")]
    InvalidTitleField { field: String },
    /// A human step has no assignee rule, or an automated one has one.
    #[error("step `{step}`: {reason}")]
    InvalidAssignee { step: String, reason: String },
    /// A condition reads a path that can never hold data.
    #[error("step `{step}`: condition reads `{var}`, {reason}")]
    InvalidCondition { step: String, var: String, reason: String },
    /// `on_reject` is set where it cannot apply, or points at a step that is not upstream.
    #[error("step `{step}`: {reason}")]
    InvalidOnReject { step: String, reason: String },
}

impl Definition {
    /// Parses and validates a definition given as JSON.
    pub fn from_json(value: Value) -> Result<Self, DefinitionError> {
        let def: Definition = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                DefinitionError::Malformed(inner.to_string())
            } else {
                DefinitionError::Malformed(format!("at {path}: {inner}"))
            }
        })?;
        def.validate()?;
        Ok(def)
    }

    /// The title a new process takes from its input: the text of the `title_from` field, else of
    /// the first of `title`, `summary`, `subject` and `name` there is — trimmed, on one line, at
    /// most 200 characters; `None` when there is none.
    pub fn title_of(&self, input: &Value) -> Option<String> {
        let fields = match &self.title_from {
            Some(field) => vec![field.as_str()],
            None => vec!["title", "summary", "subject", "name"],
        };
        let text = fields.iter().find_map(|f| input[*f].as_str().map(str::trim).filter(|t| !t.is_empty()))?;
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(match line.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
            None => line,
        })
    }

    /// The step with this key.
    pub fn step(&self, key: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.key == key)
    }

    /// Checks the definition: keys, dependencies, acyclicity, schemas, assignees, conditions.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.steps.is_empty() {
            return Err(DefinitionError::NoSteps);
        }
        if let Some(schema) = &self.input_schema {
            check_schema(schema).map_err(|reason| DefinitionError::InvalidInputSchema { reason })?;
        }
        if let Some(field) = &self.title_from {
            let kind = self.input_schema.as_ref().map(|s| &s["properties"][field.as_str()]["type"]);
            if kind != Some(&Value::from("string")) {
                return Err(DefinitionError::InvalidTitleField { field: field.clone() });
            }
        }
        let mut seen = HashSet::new();
        for s in &self.steps {
            let key_ok = !s.key.is_empty()
                && s.key.len() <= 64
                && s.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !key_ok {
                return Err(DefinitionError::InvalidKey { step: s.key.clone() });
            }
            if !seen.insert(s.key.as_str()) {
                return Err(DefinitionError::DuplicateStep { step: s.key.clone() });
            }
            if s.name.trim().is_empty() {
                return Err(DefinitionError::EmptyName { step: s.key.clone() });
            }
        }
        for s in &self.steps {
            if let Some(dep) = s.depends_on.iter().find(|d| !seen.contains(d.as_str())) {
                return Err(DefinitionError::UnknownDependency { step: s.key.clone(), dependency: dep.clone() });
            }
        }
        self.topological_order()?;
        for s in &self.steps {
            self.validate_step(s)?;
        }
        Ok(())
    }

    fn validate_step(&self, s: &Step) -> Result<(), DefinitionError> {
        let step = || s.key.clone();
        match (s.kind, &s.assignee) {
            (StepKind::Automated, Some(_)) => {
                return Err(DefinitionError::InvalidAssignee {
                    step: step(),
                    reason: "an automated step has no assignee".into(),
                });
            }
            (kind, None) if kind != StepKind::Automated => {
                return Err(DefinitionError::InvalidAssignee {
                    step: step(),
                    reason: format!("a {} step needs an assignee rule (role, user or round_robin)", kind.as_str()),
                });
            }
            (_, Some(AssigneeRule::Role(r) | AssigneeRule::RoundRobin(r))) if r.trim().is_empty() => {
                return Err(DefinitionError::InvalidAssignee { step: step(), reason: "role must not be empty".into() });
            }
            _ => {}
        }
        if let Some(form) = &s.form {
            if s.kind == StepKind::Automated {
                return Err(DefinitionError::InvalidSchema {
                    step: step(),
                    reason: "an automated step has no form".into(),
                });
            }
            check_schema(form).map_err(|reason| DefinitionError::InvalidSchema { step: step(), reason })?;
        }
        if let Some(cond) = &s.condition {
            let ancestors = self.ancestors(&s.key);
            let mut vars = Vec::new();
            cond.vars(&mut vars);
            for var in vars {
                let mut parts = var.split('.');
                let reason = match (parts.next(), parts.next()) {
                    (Some("input"), Some(_)) => None,
                    (Some("steps"), Some(k)) if ancestors.contains(k) => None,
                    (Some("steps"), Some(k)) if self.step(k).is_some() => {
                        Some(format!("but `{k}` is not upstream of this step, so its output is not known yet"))
                    }
                    (Some("steps"), Some(k)) => Some(format!("but there is no step `{k}`")),
                    _ => Some("but paths start with `input.` or `steps.<key>.`".to_string()),
                };
                if let Some(reason) = reason {
                    return Err(DefinitionError::InvalidCondition { step: step(), var, reason });
                }
            }
        }
        if let Some(on_reject) = &s.on_reject {
            if s.kind != StepKind::Approval {
                return Err(DefinitionError::InvalidOnReject {
                    step: step(),
                    reason: "on_reject applies to approval steps only".into(),
                });
            }
            if let OnReject::Rework(target) = on_reject
                && !self.ancestors(&s.key).contains(target.as_str())
            {
                return Err(DefinitionError::InvalidOnReject {
                    step: step(),
                    reason: format!("rework target `{target}` must be a step upstream of this one"),
                });
            }
        }
        Ok(())
    }

    /// Step keys in an order where every step comes after its dependencies (Kahn's algorithm,
    /// stable with respect to the definition's order); a cycle is an error naming its steps.
    pub fn topological_order(&self) -> Result<Vec<&str>, DefinitionError> {
        let mut indegree: BTreeMap<usize, usize> = BTreeMap::new();
        let index: HashMap<&str, usize> = self.steps.iter().enumerate().map(|(i, s)| (s.key.as_str(), i)).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); self.steps.len()];
        for (i, s) in self.steps.iter().enumerate() {
            indegree.insert(i, s.depends_on.len());
            for d in &s.depends_on {
                if let Some(&j) = index.get(d.as_str()) {
                    dependents[j].push(i);
                }
            }
        }
        let mut order = Vec::with_capacity(self.steps.len());
        let mut ready: Vec<usize> = indegree.iter().filter(|(_, n)| **n == 0).map(|(i, _)| *i).collect();
        ready.reverse();
        while let Some(i) = ready.pop() {
            order.push(self.steps[i].key.as_str());
            indegree.remove(&i);
            let mut freed = Vec::new();
            for &j in &dependents[i] {
                if let Some(n) = indegree.get_mut(&j) {
                    *n -= 1;
                    if *n == 0 {
                        freed.push(j);
                    }
                }
            }
            ready.extend(freed.into_iter().rev());
            ready.sort_by(|a, b| b.cmp(a));
        }
        if !indegree.is_empty() {
            let cycle = self.find_cycle(&indegree, &index);
            return Err(DefinitionError::Cycle { step: cycle.first().cloned().unwrap_or_default(), cycle });
        }
        Ok(order)
    }

    /// Walks from an unresolved step through unresolved dependencies until a step repeats. Every
    /// step Kahn's algorithm could not resolve has an unresolved dependency, so the walk finds a cycle.
    fn find_cycle(&self, unresolved: &BTreeMap<usize, usize>, index: &HashMap<&str, usize>) -> Vec<String> {
        let Some((&start, _)) = unresolved.iter().next() else { return Vec::new() };
        let mut path = vec![start];
        for _ in 0..=self.steps.len() {
            let current = path[path.len() - 1];
            let next = self.steps[current]
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .find(|j| unresolved.contains_key(j));
            let Some(next) = next else { break };
            if let Some(pos) = path.iter().position(|&p| p == next) {
                let mut cycle: Vec<String> = path[pos..].iter().map(|&i| self.steps[i].key.clone()).collect();
                cycle.push(self.steps[next].key.clone());
                return cycle;
            }
            path.push(next);
        }
        path.iter().map(|&i| self.steps[i].key.clone()).collect()
    }

    /// Every step that `key` depends on, directly or transitively.
    pub fn ancestors(&self, key: &str) -> HashSet<&str> {
        let mut out = HashSet::new();
        let mut stack: Vec<&str> =
            self.step(key).map(|s| s.depends_on.iter().map(String::as_str).collect()).unwrap_or_default();
        while let Some(k) = stack.pop() {
            if out.insert(k)
                && let Some(s) = self.step(k)
            {
                stack.extend(s.depends_on.iter().map(String::as_str));
            }
        }
        out
    }

    /// `key` and every step that depends on it, directly or transitively.
    pub fn descendants_inclusive(&self, key: &str) -> HashSet<String> {
        let mut out = HashSet::from([key.to_string()]);
        let mut changed = true;
        while changed {
            changed = false;
            for s in &self.steps {
                if !out.contains(&s.key) && s.depends_on.iter().any(|d| out.contains(d)) {
                    out.insert(s.key.clone());
                    changed = true;
                }
            }
        }
        out
    }
}

/// Compiles a JSON Schema, so an invalid one is caught when the playbook is saved.
fn check_schema(schema: &Value) -> Result<(), String> {
    jsonschema::meta::validate(schema).map_err(|e| e.to_string())?;
    jsonschema::validator_for(schema).map(|_| ()).map_err(|e| e.to_string())
}

/// Writes JSON with object keys sorted at every level and no insignificant whitespace, so equal
/// documents always produce equal bytes (the basis of content-addressed versions).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slas_parse_and_print() {
        assert_eq!(Sla::parse("4h").map(|s| s.seconds), Ok(14_400));
        assert_eq!(Sla::parse("1d 12h 30m 5s").map(|s| s.seconds), Ok(131_405));
        assert_eq!(Sla::parse("90m").map(|s| s.to_string()), Ok("1h 30m".to_string()));
        for bad in ["", "4", "h", "4x", "0m", "-1h", "99999999999999999999d"] {
            assert!(Sla::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conditions_compare_json_values() {
        let data = json!({"input": {"amount": 1500, "tier": "gold", "tags": ["a"]}, "steps": {"r": {"ok": true}}});
        let eval = |c: serde_json::Value| serde_json::from_value::<Condition>(c).expect("condition").eval(&data);
        assert!(eval(json!({"var": "input.amount", "op": "gt", "value": 1000})));
        assert!(eval(json!({"var": "input.amount", "op": "eq", "value": 1500.0})));
        assert!(!eval(json!({"var": "input.amount", "op": "lt", "value": "2000"})), "no order across types");
        assert!(eval(json!({"var": "input.tier", "op": "in", "value": ["silver", "gold"]})));
        assert!(eval(json!({"var": "input.tags.0", "op": "eq", "value": "a"})));
        assert!(!eval(json!({"var": "input.missing", "op": "exists"})));
        assert!(eval(
            json!({"all": [{"var": "steps.r.ok", "op": "eq", "value": true}, {"not": {"var": "input.tier", "op": "eq", "value": "bronze"}}]})
        ));
        assert!(eval(
            json!({"any": [{"var": "input.amount", "op": "lt", "value": 0}, {"var": "input.tier", "op": "gte", "value": "gold"}]})
        ));
    }

    #[test]
    fn processes_take_their_title_from_their_input() {
        let step = json!([{ "key": "a", "name": "A", "kind": "automated" }]);
        let default = Definition::from_json(json!({ "steps": step })).unwrap();
        let input = json!({ "name": "ignored", "summary": "  Search is\n slow  ", "amount": 3 });
        assert_eq!(default.title_of(&input).as_deref(), Some("Search is slow"));
        assert_eq!(default.title_of(&json!({ "amount": 3, "summary": "" })), None);
        assert_eq!(default.title_of(&json!({ "title": "x".repeat(250) })).map(|t| t.chars().count()), Some(201));
        let schema = json!({ "type": "object", "properties": { "vendor": { "type": "string" }, "amount": { "type": "number" } } });
        let named = json!({ "steps": step, "input_schema": schema, "title_from": "vendor" });
        let named = Definition::from_json(named).unwrap();
        assert_eq!(named.title_of(&json!({ "vendor": "Acme Ltd", "summary": "no" })).as_deref(), Some("Acme Ltd"));
        let wrong = json!({ "steps": step, "input_schema": schema, "title_from": "amount" });
        assert_eq!(
            Definition::from_json(wrong).unwrap_err().to_string(),
            "title_from names `amount`, which is not a text field of the input schema"
        );
    }

    #[test]
    fn conditions_read_in_words() {
        let condition: Condition = serde_json::from_value(json!({ "any": [
            { "var": "input.severity", "op": "in", "value": ["sev1", "sev2"] },
            { "all": [{ "var": "steps.triage.impact", "op": "eq", "value": "critical" },
                      { "var": "input.customer_impact", "op": "eq", "value": true }] },
            { "not": { "var": "input.amount", "op": "gte", "value": 1000 } },
        ]}))
        .unwrap();
        let name = |path: &str| path.rsplit('.').next().unwrap_or(path).replace('_', " ");
        assert_eq!(
            condition.in_words(&name),
            "severity is sev1 or sev2, or (impact is critical, and customer impact is yes), or not amount is at least 1000"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"z": [1, {"y": 2, "x": 1}], "c": "é"}});
        assert_eq!(canonical_json(&a), r#"{"a":{"c":"é","z":[1,{"x":1,"y":2}]},"b":1}"#);
    }
}

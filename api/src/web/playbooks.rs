//! Playbooks: the team's library, a playbook's page (its step graph, steps and version history),
//! and the step editor — every step's name, kind, dependencies, condition, assignee rule, SLA
//! and form fields — which the engine validates before a new version is committed on `main`.

use super::WebState;
use super::render::{PageResult, page, value};
use super::session::{Viewer, with_flash};
use super::view::{failure, step_graph, user_names};
use crate::app::AppError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use orgata_engine::{EngineError, PlaybookDetail, PlaybookId, TeamId, VersionId, service};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/teams/{team}/playbooks", get(library).post(create))
        .route("/playbooks/{id}", get(show))
        .route("/playbooks/{id}/archive", post(archive))
        .route("/playbooks/{id}/edit", get(edit).post(save))
}

#[derive(Deserialize, Default)]
struct LibraryQuery {
    q: Option<String>,
}

async fn library(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<LibraryQuery>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let query = q.q.unwrap_or_default();
    let found = s.app.engine.search_playbooks(&viewer.scope, Some(&team), &query).await?;
    let items: Vec<Value> = found
        .iter()
        .map(|d| {
            json!({
                "id": d.playbook.id, "name": d.playbook.name, "description": d.head.definition.description,
                "archived": d.playbook.archived_at.is_some(),
                "steps": d.head.definition.steps.len(), "version": d.head.number, "updated": d.head.created_at,
            })
        })
        .collect();
    page(
        &viewer,
        Some(&t),
        "playbooks",
        "playbooks.html",
        json!({ "playbooks": items, "query": query, "problems": [] }),
    )
}

#[derive(Deserialize)]
struct NewPlaybook {
    #[serde(default)]
    name: String,
}

/// A new playbook starts with one task step, then opens in the editor.
async fn create(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Form(f): Form<NewPlaybook>,
) -> PageResult {
    let first = json!({ "steps": [{ "key": "first_step", "name": "First step", "kind": "task", "assignee": { "role": "member" } }] });
    match s.app.engine.create_playbook(&viewer.scope, &team, &f.name, first, "Created in the editor").await {
        Ok(d) => {
            Ok(with_flash(&format!("/playbooks/{}/edit", d.playbook.id), "The playbook is created: add its steps."))
        }
        Err(e) => {
            let t = viewer.team(&team)?.clone();
            let problem = match &e {
                EngineError::AlreadyExists { .. } => format!("A playbook named “{}” already exists.", f.name.trim()),
                other => other.to_string(),
            };
            let context = json!({ "playbooks": [], "query": "", "problems": [problem], "name": f.name });
            let mut response = page(&viewer, Some(&t), "playbooks", "playbooks.html", context)?;
            *response.status_mut() = AppError::from(e).status;
            Ok(response)
        }
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    version: Option<String>,
}

async fn show(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<PlaybookId>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    playbook_page(&s, &viewer, &id, q.version, Vec::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct ArchiveForm {
    /// `archive`, `restore` or `delete`.
    action: String,
}

/// Archives a playbook, takes it out of the archive, or deletes it (one no process ran on).
async fn archive(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<PlaybookId>,
    Form(f): Form<ArchiveForm>,
) -> PageResult {
    let engine = &s.app.engine;
    let outcome = match f.action.as_str() {
        "restore" => engine.restore_playbook(&viewer.scope, &id).await.map(|p| (p.team_id, false)),
        "delete" => {
            let team = engine.playbook(&viewer.scope, &id).await?.playbook.team_id;
            engine.delete_playbook(&viewer.scope, &id).await.map(|()| (team, true))
        }
        _ => engine.archive_playbook(&viewer.scope, &id).await.map(|p| (p.team_id, false)),
    };
    match outcome {
        Ok((team, true)) => Ok(with_flash(&format!("/teams/{team}/playbooks"), "The playbook is deleted.")),
        Ok((_, false)) => {
            let done = if f.action == "restore" {
                "The playbook is back: processes start on it again."
            } else {
                "The playbook is archived: no new process starts on it; running ones go on."
            };
            Ok(with_flash(&format!("/playbooks/{id}"), done))
        }
        Err(e) => {
            let problem = failure(&e);
            playbook_page(&s, &viewer, &id, None, vec![problem], AppError::from(e).status).await
        }
    }
}

/// A playbook's page (at `version`, or the head of `main`), with what went wrong above it.
async fn playbook_page(
    s: &WebState,
    viewer: &Viewer,
    id: &PlaybookId,
    version: Option<String>,
    problems: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let id = id.clone();
    let (detail, versions, names) = tokio::join!(
        s.app.engine.playbook(&viewer.scope, &id),
        s.app.engine.versions(&viewer.scope, &id),
        user_names(s, &viewer.scope)
    );
    let (detail, mut versions, names) = (detail?, versions?, names?);
    versions.sort_by_key(|v| std::cmp::Reverse(v.number));
    let shown = match version.filter(|v| !v.is_empty()) {
        Some(v) => s.app.engine.version(&viewer.scope, &VersionId::from(v.as_str())).await?,
        None => detail.head.clone(),
    };
    if shown.playbook_id != id {
        return Err(EngineError::not_found("version", &shown.id).into());
    }
    let steps: Vec<Value> = editor_steps(&shown.definition).iter().map(value).collect();
    let history: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({ "id": v.id, "number": v.number, "message": v.message, "at": v.created_at,
                    "author": names.get(&v.created_by).cloned().unwrap_or_default() })
        })
        .collect();
    let graph = step_graph(&format!("Steps of {}", detail.playbook.name), &shown.definition, &[]);
    let team = viewer.team(&detail.playbook.team_id)?.clone();
    let context = json!({
        "playbook": value(&detail.playbook), "shown": { "id": shown.id, "number": shown.number, "head": shown.id == detail.head.id },
        "description": shown.definition.description, "steps": steps, "graph": graph, "versions": history,
        "problems": problems,
    });
    let mut response = page(viewer, Some(&team), "playbooks", "playbook.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

/// One form field of a step, as the editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
struct EditorField {
    name: String,
    /// text, number, integer, boolean, date or choice.
    kind: String,
    required: bool,
    /// The choices of a `choice` field, comma-separated.
    options: String,
    /// The property's schema as saved (kept: constraints the editor does not show survive).
    base: String,
}

/// One step, as the editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
struct EditorStep {
    key: String,
    name: String,
    kind: String,
    depends_on: Vec<String>,
    /// The condition as JSON text (empty: always runs).
    condition: String,
    /// The condition in words (empty: always runs).
    condition_words: String,
    /// A simple condition (one comparison, or all or any of several) as rows of a small form;
    /// `None` for one the form cannot show (it is edited as JSON).
    rules: Option<Vec<Rule>>,
    /// How the rows combine: `all` or `any`.
    combine: String,
    /// role, user, round_robin or empty (automated steps).
    assignee_kind: String,
    assignee: String,
    sla: String,
    /// Whether the step is follow-up work after the case's outcome.
    follow_up: bool,
    fields: Vec<EditorField>,
    /// What else the step holds (`join`, `on_reject`), as JSON text kept as it is.
    extra: String,
    /// The engine's complaint about this step, after a failed save.
    error: Option<String>,
    /// Shown open (a step just added or given a field); the others are collapsed to their line.
    open: bool,
}

/// One comparison of a condition, as the editor's form shows it: what is compared (a path such
/// as `input.severity`), how (`eq`, `in`, …) and with what, as typed (`sev1, sev2` for `in`;
/// yes, no and numbers are read as such).
#[derive(Debug, Clone, Default, Serialize)]
struct Rule {
    var: String,
    op: String,
    value: String,
}

/// The comparisons the form offers, with their names.
const OPERATORS: [(&str, &str); 8] = [
    ("eq", "is"),
    ("ne", "is not"),
    ("in", "is one of"),
    ("gt", "is more than"),
    ("gte", "is at least"),
    ("lt", "is less than"),
    ("lte", "is at most"),
    ("exists", "is given"),
];

/// A condition as the form's rows, if it is one comparison or all or any of several.
fn rules_of(condition: &Value) -> Option<(Vec<Rule>, String)> {
    let rule = |c: &Value| -> Option<Rule> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "yes".into(),
            Value::Bool(false) => "no".into(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let value = match &c["value"] {
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            other => text(other),
        };
        Some(Rule { var: c["var"].as_str()?.to_string(), op: c["op"].as_str()?.to_string(), value })
    };
    match condition {
        Value::Null => Some((Vec::new(), "all".into())),
        Value::Object(m) if m.contains_key("var") => Some((vec![rule(condition)?], "all".into())),
        Value::Object(m) => {
            let (combine, list) = m.iter().next().filter(|_| m.len() == 1)?;
            if combine != "all" && combine != "any" {
                return None;
            }
            let rules = list.as_array()?.iter().map(rule).collect::<Option<Vec<_>>>()?;
            Some((rules, combine.clone()))
        }
        _ => None,
    }
}

/// What a condition may compare, for the form to offer: the start form's fields
/// (`input.<field>`) and each step's form fields (`steps.<key>.<field>`).
fn condition_paths(input_schema: &str, steps: &[EditorStep]) -> Vec<String> {
    let schema: Value = serde_json::from_str(input_schema).unwrap_or(Value::Null);
    let mut paths: Vec<String> =
        schema["properties"].as_object().map(|p| p.keys().map(|k| format!("input.{k}")).collect()).unwrap_or_default();
    for step in steps {
        paths.extend(
            step.fields.iter().filter(|f| !f.name.is_empty()).map(|f| format!("steps.{}.{}", step.key, f.name)),
        );
    }
    paths
}

/// The condition the form's rows make (none without a row that names what it compares).
fn condition_of(rules: &[Rule], combine: &str) -> Option<Value> {
    let typed = |text: &str| -> Value {
        let t = text.trim();
        match t.to_lowercase().as_str() {
            "yes" | "true" => return json!(true),
            "no" | "false" => return json!(false),
            _ => {}
        }
        t.parse::<i64>()
            .map(Value::from)
            .or_else(|_| t.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(t))
    };
    let compares: Vec<Value> = rules
        .iter()
        .filter(|r| !r.var.trim().is_empty())
        .map(|r| match r.op.as_str() {
            "exists" => json!({ "var": r.var.trim(), "op": "exists" }),
            "in" => {
                let values: Vec<Value> = r.value.split(',').filter(|v| !v.trim().is_empty()).map(typed).collect();
                json!({ "var": r.var.trim(), "op": "in", "value": values })
            }
            op => json!({ "var": r.var.trim(), "op": op, "value": typed(&r.value) }),
        })
        .collect();
    match compares.len() {
        0 => None,
        1 => compares.into_iter().next(),
        _ => Some(json!({ (if combine == "any" { "any" } else { "all" }): compares })),
    }
}

/// The editor's view of a definition.
fn editor_steps(definition: &orgata_engine::Definition) -> Vec<EditorStep> {
    let doc = serde_json::to_value(definition).unwrap_or(Value::Null);
    let mut steps: Vec<EditorStep> =
        doc["steps"].as_array().map(|steps| steps.iter().map(editor_step).collect()).unwrap_or_default();
    describe_conditions(&mut steps);
    steps
}

/// Each step's condition in words, from its form's rows or its JSON (left empty where the
/// JSON does not read as a condition): a path as people call it, `input.customer_impact` as
/// "customer impact", `steps.triage.impact` as "Triage's impact".
fn describe_conditions(steps: &mut [EditorStep]) {
    let names: std::collections::HashMap<String, String> =
        steps.iter().map(|s| (s.key.clone(), s.name.clone())).collect();
    let name = |path: &str| {
        let field = |f: &str| f.replace('_', " ");
        match path.split('.').collect::<Vec<_>>().as_slice() {
            ["input", rest @ ..] if !rest.is_empty() => field(&rest.join(".")),
            ["steps", key, rest @ ..] => {
                let step = names.get(*key).cloned().unwrap_or_else(|| key.to_string());
                if rest.is_empty() { step } else { format!("{step}'s {}", field(&rest.join("."))) }
            }
            _ => field(path),
        }
    };
    for step in steps.iter_mut() {
        let condition = match step.rules.as_deref() {
            Some(rules) if step.condition.trim().is_empty() => condition_of(rules, &step.combine),
            _ => serde_json::from_str(&step.condition).ok(),
        };
        step.condition_words = condition
            .and_then(|c| serde_json::from_value::<orgata_engine::definition::Condition>(c).ok())
            .map(|c| c.in_words(&name))
            .unwrap_or_default();
    }
}

fn editor_step(step: &Value) -> EditorStep {
    let text = |k: &str| step[k].as_str().unwrap_or_default().to_string();
    let (assignee_kind, assignee) = match step["assignee"].as_object().and_then(|m| m.iter().next()) {
        Some((k, v)) => (k.clone(), v.as_str().unwrap_or_default().to_string()),
        None => (String::new(), String::new()),
    };
    let required: Vec<&str> =
        step["form"]["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut fields: Vec<EditorField> = step["form"]["properties"]
        .as_object()
        .map(|props| {
            props.iter().map(|(name, schema)| editor_field(name, schema, required.contains(&name.as_str()))).collect()
        })
        .unwrap_or_default();
    fields.sort_by_key(|f| (!f.required, required.iter().position(|r| *r == f.name), f.name.clone()));
    let rules = rules_of(&step["condition"]);
    let extra: Map<String, Value> =
        ["join", "on_reject"].iter().filter_map(|k| step.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
    EditorStep {
        key: text("key"),
        name: text("name"),
        kind: text("kind"),
        depends_on: step["depends_on"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default(),
        // A condition the form's rows can show is edited there; any other as JSON.
        condition: match (&step["condition"], &rules) {
            (Value::Null, _) | (_, Some(_)) => String::new(),
            (condition, None) => condition.to_string(),
        },
        condition_words: String::new(),
        rules: rules.as_ref().map(|(rules, _)| rules.clone()),
        combine: rules.map_or_else(|| "all".into(), |(_, combine)| combine),
        assignee_kind,
        assignee,
        sla: text("sla"),
        follow_up: step["follow_up"] == true,
        fields,
        extra: if extra.is_empty() { String::new() } else { Value::Object(extra).to_string() },
        error: None,
        open: false,
    }
}

fn editor_field(name: &str, schema: &Value, required: bool) -> EditorField {
    let kind = if let Some(choices) = schema["enum"].as_array() {
        return EditorField {
            name: name.to_string(),
            kind: "choice".into(),
            required,
            options: choices
                .iter()
                .map(|c| c.as_str().map_or_else(|| c.to_string(), String::from))
                .collect::<Vec<_>>()
                .join(", "),
            base: schema.to_string(),
        };
    } else if schema["format"] == "date" {
        "date"
    } else {
        schema["type"].as_str().unwrap_or("text")
    };
    let kind = if kind == "string" { "text" } else { kind };
    EditorField {
        name: name.to_string(),
        kind: kind.into(),
        required,
        options: String::new(),
        base: schema.to_string(),
    }
}

/// A field's property schema: what it was, with the type the editor chose.
fn field_schema(f: &EditorField) -> Value {
    let base: Value = serde_json::from_str(&f.base).unwrap_or_else(|_| json!({}));
    let mut schema = match base {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let previous = editor_field(&f.name, &Value::Object(schema.clone()), f.required).kind;
    if previous != f.kind {
        // A new type keeps only what every type shares.
        schema.retain(|k, _| matches!(k.as_str(), "title" | "description"));
    }
    match f.kind.as_str() {
        "choice" => {
            schema.insert("type".into(), json!("string"));
            let options: Vec<&str> = f.options.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
            schema.insert("enum".into(), json!(options));
        }
        "date" => {
            schema.insert("type".into(), json!("string"));
            schema.insert("format".into(), json!("date"));
        }
        "number" | "integer" | "boolean" => {
            schema.insert("type".into(), json!(f.kind));
        }
        _ => {
            schema.insert("type".into(), json!("string"));
        }
    }
    Value::Object(schema)
}

/// The definition the editor's steps describe; a step's condition or extra that is not JSON is
/// reported on that step.
fn definition_of(description: &str, input_schema: &str, steps: &mut [EditorStep]) -> Result<Value, String> {
    let mut out = Vec::new();
    let mut failed = None;
    for step in steps.iter_mut() {
        let mut doc = Map::new();
        doc.insert("key".into(), json!(step.key.trim()));
        doc.insert("name".into(), json!(step.name.trim()));
        doc.insert("kind".into(), json!(step.kind));
        if !step.depends_on.is_empty() {
            doc.insert("depends_on".into(), json!(step.depends_on));
        }
        // The form's rows, unless a condition is written as JSON.
        if step.condition.trim().is_empty()
            && let Some(condition) = step.rules.as_deref().and_then(|rules| condition_of(rules, &step.combine))
        {
            doc.insert("condition".into(), condition);
        }
        for (name, text) in [("condition", &step.condition), ("extra", &step.extra)] {
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) if name == "extra" => doc.extend(m),
                Ok(v) if name == "condition" => {
                    doc.insert("condition".into(), v);
                }
                Ok(_) | Err(_) => {
                    let message = format!("step `{}`: the {name} is not valid JSON", step.key);
                    step.error = Some(message.clone());
                    failed.get_or_insert(message);
                }
            }
        }
        if !step.assignee_kind.is_empty() && step.kind != "automated" {
            doc.insert("assignee".into(), json!({ step.assignee_kind.clone(): step.assignee.trim() }));
        }
        if !step.sla.trim().is_empty() {
            doc.insert("sla".into(), json!(step.sla.trim()));
        }
        if step.follow_up {
            doc.insert("follow_up".into(), json!(true));
        }
        let fields: Vec<&EditorField> = step.fields.iter().filter(|f| !f.name.trim().is_empty()).collect();
        if !fields.is_empty() {
            let properties: Map<String, Value> =
                fields.iter().map(|f| (f.name.trim().to_string(), field_schema(f))).collect();
            let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name.trim()).collect();
            doc.insert("form".into(), json!({ "type": "object", "required": required, "properties": properties }));
        }
        out.push(Value::Object(doc));
    }
    if let Some(message) = failed {
        return Err(message);
    }
    let mut definition = json!({ "steps": out });
    if !description.trim().is_empty() {
        definition["description"] = json!(description.trim());
    }
    if !input_schema.trim().is_empty() {
        definition["input_schema"] = serde_json::from_str(input_schema)
            .map_err(|e| format!("the start form (input schema) is not valid JSON: {e}"))?;
    }
    Ok(definition)
}

/// The editor's steps from a submitted form (`s<i>.<field>`, `s<i>.f<j>.<field>`).
fn parse_steps(submitted: &[(String, String)]) -> Vec<EditorStep> {
    let mut steps: std::collections::BTreeMap<usize, EditorStep> = Default::default();
    let mut fields: std::collections::BTreeMap<(usize, usize), EditorField> = Default::default();
    let mut rules: std::collections::BTreeMap<(usize, usize), Rule> = Default::default();
    for (name, v) in submitted {
        let Some((step_part, rest)) = name.strip_prefix('s').and_then(|n| n.split_once('.')) else { continue };
        let Ok(i) = step_part.parse::<usize>() else { continue };
        // A condition's row: `s<i>.r<k>.var`, `.op`, `.value`.
        if let Some((rule_part, attr)) = rest.strip_prefix('r').and_then(|r| r.split_once('.')) {
            let Ok(k) = rule_part.parse::<usize>() else { continue };
            let r = rules.entry((i, k)).or_default();
            match attr {
                "var" => r.var = v.clone(),
                "op" => r.op = v.clone(),
                "value" => r.value = v.clone(),
                _ => {}
            }
            continue;
        }
        if let Some((field_part, attr)) = rest.strip_prefix('f').and_then(|r| r.split_once('.')) {
            let Ok(j) = field_part.parse::<usize>() else { continue };
            let f = fields.entry((i, j)).or_default();
            match attr {
                "name" => f.name = v.clone(),
                "kind" => f.kind = v.clone(),
                "required" => f.required = v == "true",
                "options" => f.options = v.clone(),
                "base" => f.base = v.clone(),
                _ => {}
            }
            continue;
        }
        let step = steps.entry(i).or_default();
        match rest {
            "key" => step.key = v.clone(),
            "name" => step.name = v.clone(),
            "kind" => step.kind = v.clone(),
            "depends_on" => step.depends_on.push(v.clone()),
            "condition" => step.condition = v.clone(),
            "assignee_kind" => step.assignee_kind = v.clone(),
            "assignee" => step.assignee = v.clone(),
            "sla" => step.sla = v.clone(),
            "follow_up" => step.follow_up = v == "true",
            "combine" => step.combine = v.clone(),
            "rules" => step.rules = Some(step.rules.take().unwrap_or_default()),
            "extra" => step.extra = v.clone(),
            _ => {}
        }
    }
    for ((i, _), f) in fields {
        if let Some(step) = steps.get_mut(&i) {
            step.fields.push(f);
        }
    }
    for ((i, _), r) in rules.into_iter().filter(|(_, r)| !r.var.trim().is_empty()) {
        if let Some(step) = steps.get_mut(&i) {
            step.rules.get_or_insert_with(Vec::new).push(r);
        }
    }
    let mut steps: Vec<EditorStep> = steps.into_values().collect();
    describe_conditions(&mut steps);
    steps
}

/// What the editor shows: the steps, the other steps each may depend on, and the problems.
struct Editor {
    description: String,
    input_schema: String,
    message: String,
    revision: i64,
    steps: Vec<EditorStep>,
    problems: Vec<String>,
}

async fn editor_page(
    s: &WebState,
    viewer: &Viewer,
    detail: &PlaybookDetail,
    e: Editor,
    status: StatusCode,
) -> PageResult {
    let _ = s;
    let keys: Vec<&str> = e.steps.iter().map(|st| st.key.as_str()).filter(|k| !k.is_empty()).collect();
    let team = viewer.team(&detail.playbook.team_id)?.clone();
    let context = json!({
        "playbook": value(&detail.playbook), "version": detail.head.number, "revision": e.revision,
        "description": e.description, "input_schema": e.input_schema, "message": e.message,
        "steps": value(&e.steps), "keys": keys, "problems": e.problems,
        "kinds": ["task", "approval", "form", "automated"],
        "field_kinds": ["text", "number", "integer", "boolean", "date", "choice"],
        "operators": OPERATORS, "paths": condition_paths(&e.input_schema, &e.steps),
    });
    let mut response = page(viewer, Some(&team), "playbooks", "playbook_edit.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

fn main_revision(d: &PlaybookDetail) -> i64 {
    d.branches.iter().find(|b| b.name == service::MAIN_BRANCH).map_or(0, |b| b.revision)
}

async fn edit(State(s): State<WebState>, viewer: Viewer, Path(id): Path<PlaybookId>) -> PageResult {
    let detail = s.app.engine.playbook(&viewer.scope, &id).await?;
    let def = &detail.head.definition;
    let editor = Editor {
        description: def.description.clone(),
        input_schema: def
            .input_schema
            .as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default(),
        message: String::new(),
        revision: main_revision(&detail),
        steps: editor_steps(def),
        problems: Vec::new(),
    };
    editor_page(&s, &viewer, &detail, editor, StatusCode::OK).await
}

async fn save(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<PlaybookId>,
    Form(submitted): Form<Vec<(String, String)>>,
) -> PageResult {
    let detail = s.app.engine.playbook(&viewer.scope, &id).await?;
    let control = |name: &str| submitted.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut editor = Editor {
        description: control("description"),
        input_schema: control("input_schema"),
        message: control("message"),
        revision: control("_revision").parse().unwrap_or_else(|_| main_revision(&detail)),
        steps: parse_steps(&submitted),
        problems: Vec::new(),
    };
    let action = control("_action");
    // Structural edits re-show the editor without saving.
    if action == "add_step" {
        let n = editor.steps.len() + 1;
        editor.steps.push(EditorStep {
            key: format!("step_{n}"),
            name: format!("Step {n}"),
            kind: "task".into(),
            assignee_kind: "role".into(),
            assignee: "member".into(),
            open: true,
            rules: Some(Vec::new()),
            ..Default::default()
        });
        return editor_page(&s, &viewer, &detail, editor, StatusCode::OK).await;
    }
    if let Some(i) = action.strip_prefix("add_field:").and_then(|i| i.parse::<usize>().ok()) {
        if let Some(step) = editor.steps.get_mut(i) {
            step.fields.push(EditorField { kind: "text".into(), ..Default::default() });
            step.open = true;
        }
        return editor_page(&s, &viewer, &detail, editor, StatusCode::OK).await;
    }
    if let Some(i) = action.strip_prefix("remove_step:").and_then(|i| i.parse::<usize>().ok()) {
        if i < editor.steps.len() {
            let removed = editor.steps.remove(i).key;
            for step in &mut editor.steps {
                step.depends_on.retain(|d| *d != removed);
            }
        }
        return editor_page(&s, &viewer, &detail, editor, StatusCode::OK).await;
    }
    let definition = match definition_of(&editor.description, &editor.input_schema, &mut editor.steps) {
        Ok(d) => d,
        Err(message) => {
            editor.problems.push(format!("Not saved: {message}."));
            return editor_page(&s, &viewer, &detail, editor, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let message =
        if editor.message.trim().is_empty() { "Edited in the editor".to_string() } else { editor.message.clone() };
    match s
        .app
        .commit_version(&viewer.scope, &id, service::MAIN_BRANCH, definition, &message, Some(editor.revision))
        .await
    {
        Ok(v) => Ok(with_flash(&format!("/playbooks/{id}"), &format!("Version {} is saved.", v.number))),
        Err(e) => {
            let text = match &e {
                EngineError::Conflict { .. } => "Not saved: someone else saved a new version while you were editing. \
                     Open the editor again to start from their version."
                    .to_string(),
                other => format!("Not saved: {other}."),
            };
            if let EngineError::Definition(d) = &e {
                let words = d.to_string();
                for step in &mut editor.steps {
                    if words.contains(&format!("step `{}`", step.key.trim())) {
                        step.error = Some(words.clone());
                    }
                }
            }
            editor.problems.push(text);
            let status = AppError::from(e).status;
            editor_page(&s, &viewer, &detail, editor, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_survives_the_editor_unchanged() {
        let source = json!({
            "description": "Buy things",
            "steps": [
                { "key": "check", "name": "Check", "kind": "form", "assignee": { "round_robin": "finance" }, "sla": "1d",
                  "form": { "type": "object", "required": ["ok"], "properties": {
                      "ok": { "type": "boolean" },
                      "ref": { "type": "string", "pattern": "^PO-[0-9]{6}$" },
                      "level": { "type": "string", "enum": ["low", "high"] } } } },
                { "key": "approve", "name": "Approve", "kind": "approval", "depends_on": ["check"],
                  "assignee": { "role": "manager" }, "on_reject": { "rework": "check" },
                  "condition": { "var": "steps.check.ok", "op": "eq", "value": true } },
                { "key": "done", "name": "Done", "kind": "automated", "depends_on": ["approve"] }
            ]
        });
        let definition = orgata_engine::Definition::from_json(source.clone()).unwrap();
        let mut steps = editor_steps(&definition);
        assert_eq!(steps[0].fields.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(), ["boolean", "choice", "text"]);
        assert_eq!(steps[0].fields[1].options, "low, high");
        let rebuilt = definition_of("Buy things", "", &mut steps).unwrap();
        let again = orgata_engine::Definition::from_json(rebuilt).unwrap();
        assert_eq!(again, definition);
    }

    #[test]
    fn changing_a_field_type_drops_constraints_of_the_old_type() {
        let f = EditorField {
            name: "ref".into(),
            kind: "integer".into(),
            required: true,
            options: String::new(),
            base: json!({ "type": "string", "pattern": "^x$", "title": "Reference" }).to_string(),
        };
        assert_eq!(field_schema(&f), json!({ "type": "integer", "title": "Reference" }));
    }

    #[test]
    fn bad_condition_json_names_its_step() {
        let mut steps = vec![EditorStep {
            key: "a".into(),
            name: "A".into(),
            kind: "task".into(),
            condition: "{nope".into(),
            ..Default::default()
        }];
        let err = definition_of("", "", &mut steps).unwrap_err();
        assert_eq!(err, "step `a`: the condition is not valid JSON");
        assert_eq!(steps[0].error.as_deref(), Some("step `a`: the condition is not valid JSON"));
    }

    #[test]
    fn submitted_steps_parse_in_order_with_their_fields() {
        let form: Vec<(String, String)> = [
            ("s1.key", "b"),
            ("s0.key", "a"),
            ("s0.name", "A"),
            ("s1.depends_on", "a"),
            ("s0.f0.name", "x"),
            ("s0.f0.kind", "integer"),
            ("s0.f0.required", "true"),
            ("junk", "1"),
            ("s9x.key", "?"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let steps = parse_steps(&form);
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0].key.as_str(), steps[1].key.as_str()), ("a", "b"));
        assert_eq!(steps[1].depends_on, ["a"]);
        assert_eq!(steps[0].fields[0].name, "x");
        assert!(steps[0].fields[0].required);
    }

    #[test]
    fn simple_conditions_are_rows_of_a_form_and_back() {
        let condition = json!({ "any": [
            { "var": "input.severity", "op": "in", "value": ["sev1", "sev2"] },
            { "var": "steps.triage.impact", "op": "eq", "value": "critical" },
            { "var": "input.customer_impact", "op": "eq", "value": true },
            { "var": "input.amount", "op": "gte", "value": 1000 },
        ]});
        let (rules, combine) = rules_of(&condition).unwrap();
        let values: Vec<&str> = rules.iter().map(|r| r.value.as_str()).collect();
        assert_eq!((values, combine.as_str()), (vec!["sev1, sev2", "critical", "yes", "1000"], "any"));
        assert_eq!(condition_of(&rules, &combine), Some(condition));
        let one = json!({ "var": "input.note", "op": "exists" });
        let (rules, combine) = rules_of(&one).unwrap();
        assert_eq!(condition_of(&rules, &combine), Some(one));
        // A row without a field is no row; nested conditions stay JSON.
        assert_eq!(condition_of(&[Rule::default()], "all"), None);
        assert!(rules_of(&json!({ "not": { "var": "input.x", "op": "exists" } })).is_none());
        assert!(rules_of(&json!({ "all": [{ "any": [] }] })).is_none());
    }
}

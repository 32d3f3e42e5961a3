//! What the pages share: people's names, audit actions in words and their links, a playbook's
//! step graph coloured by its tasks, and a refused action in words.

use super::WebState;
use super::render::PageError;
use super::svg;
use orgata_engine::{
    AuditEntry, Comment, Definition, EngineError, InstanceFilter, InstanceId, Scope, Task, TaskFilter, TaskId,
    TaskStatus, UserId,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Every user of the organisation the viewer sees, by id: their display names.
pub async fn user_names(s: &WebState, scope: &Scope) -> Result<HashMap<UserId, String>, PageError> {
    Ok(s.app.engine.users(scope).await?.into_iter().map(|u| (u.id, u.display_name)).collect())
}

/// The titles of the processes `ids` (those the viewer sees), by id: what lists of tasks name
/// their process by.
pub async fn process_titles(
    s: &WebState,
    scope: &Scope,
    ids: impl IntoIterator<Item = InstanceId>,
) -> Result<HashMap<InstanceId, String>, PageError> {
    let mut ids: Vec<InstanceId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let filter = InstanceFilter { limit: ids.len() as i64, ids, ..Default::default() };
    Ok(s.app.engine.instances(scope, filter).await?.into_iter().map(|i| (i.id, i.title)).collect())
}

/// What audit entries are about, in words, by `(entity, id)`: a task as its step's name in its
/// process ("“Triage” in Search is slow"), a process as its title, a playbook as its name — for
/// the records the viewer still sees (others keep their short ids).
pub async fn entity_labels(
    s: &WebState,
    scope: &Scope,
    entries: &[AuditEntry],
) -> Result<HashMap<(String, String), String>, PageError> {
    let of = |entity: &str| -> Vec<String> {
        let mut ids: Vec<String> = entries.iter().filter(|e| e.entity == entity).map(|e| e.entity_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let task_ids: Vec<TaskId> = of("task").into_iter().map(TaskId::from).collect();
    let tasks = if task_ids.is_empty() {
        Vec::new()
    } else {
        let filter = TaskFilter { limit: task_ids.len() as i64, ids: task_ids, ..Default::default() };
        s.app.engine.tasks(scope, filter).await?
    };
    let instances = of("instance").into_iter().map(InstanceId::from).chain(tasks.iter().map(|t| t.instance_id.clone()));
    let playbooks = async {
        if entries.iter().any(|e| e.entity == "playbook") {
            s.app.engine.playbooks(scope, None).await
        } else {
            Ok(Vec::new())
        }
    };
    let (titles, playbooks) = tokio::join!(process_titles(s, scope, instances), playbooks);
    let (titles, playbooks) = (titles?, playbooks?);
    let mut labels = HashMap::new();
    for t in &tasks {
        let title = titles.get(&t.instance_id).map_or_else(|| "a process".to_string(), Clone::clone);
        labels.insert(("task".to_string(), t.id.to_string()), format!("“{}” in {title}", t.name));
    }
    for (id, title) in titles {
        labels.insert(("instance".to_string(), id.to_string()), title);
    }
    for p in playbooks {
        labels.insert(("playbook".to_string(), p.id.to_string()), p.name);
    }
    Ok(labels)
}

/// Comments as the pages show them: author's name, text, time, whether it was edited, and whether
/// the viewer wrote it (and so may edit or delete it).
pub fn comment_views<'a>(
    comments: impl IntoIterator<Item = &'a Comment>,
    names: &HashMap<UserId, String>,
    viewer: &UserId,
) -> Vec<Value> {
    comments
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id, "author": names.get(&c.author_id).cloned().unwrap_or_default(), "body": c.body,
                "at": c.created_at, "edited_at": c.edited_at, "task_id": c.task_id, "mine": &c.author_id == viewer,
            })
        })
        .collect()
}

/// An audit action in words (`task.complete` → "completed a task").
pub fn describe(action: &str) -> String {
    let known = match action {
        "task.complete" => "completed a task",
        "task.approve" => "approved",
        "task.reject" => "rejected",
        "task.claim" => "claimed a task",
        "task.assign" => "assigned a task",
        "task.start" => "started work on a task",
        "task.cancel" => "cancelled a task",
        "instance.start" => "started a process",
        "instance.cancel" => "cancelled a process",
        "comment.create" => "commented",
        "comment.edit" => "edited a comment",
        "comment.delete" => "deleted a comment",
        "playbook.archive" => "archived a playbook",
        "playbook.restore" => "restored a playbook from the archive",
        "playbook.delete" => "deleted a playbook",
        "team.delete" => "deleted a team",
        "user.remove" => "removed someone from the organisation",
        "organisation.settings" => "changed the organisation's settings",
        "playbook.create" => "created a playbook",
        "playbook.commit" => "saved a new playbook version",
        "playbook.branch" => "created a playbook branch",
        "team.rename" => "renamed the team",
        "team.add_member" => "added a member",
        "team.change_role" => "changed a member's role",
        "team.remove_member" => "removed a member",
        "auth.login" => "signed in",
        "auth.logout" => "signed out",
        _ => "",
    };
    if known.is_empty() { action.replace(['.', '_'], " ") } else { known.to_string() }
}

/// The UI page of an audited record, where there is one.
pub fn link(entity: &str, id: &str) -> Option<String> {
    match entity {
        "task" => Some(format!("/tasks/{id}")),
        "instance" => Some(format!("/processes/{id}")),
        "playbook" => Some(format!("/playbooks/{id}")),
        _ => None,
    }
}

/// The state a step is in, for the graph: from its current (or latest) task.
fn step_state(task: Option<&Task>) -> (svg::NodeState, &'static str) {
    match task.map(|t| t.status) {
        None => (svg::NodeState::Plain, "not reached"),
        Some(TaskStatus::Open) => (svg::NodeState::Waiting, "waiting"),
        Some(TaskStatus::Assigned) => (svg::NodeState::Waiting, "assigned"),
        Some(TaskStatus::Started) => (svg::NodeState::Running, "in progress"),
        Some(TaskStatus::Completed) => (svg::NodeState::Done, "done"),
        Some(TaskStatus::Rejected) => (svg::NodeState::Failed, "rejected"),
        Some(TaskStatus::Skipped) => (svg::NodeState::Skipped, "skipped"),
        Some(TaskStatus::Cancelled) => (svg::NodeState::Failed, "cancelled"),
    }
}

/// The step graph of `definition`, each step coloured by its latest task in `tasks` (none: the
/// plain definition) and linked to that task.
pub fn step_graph(title: &str, definition: &Definition, tasks: &[Task]) -> String {
    let nodes = definition
        .steps
        .iter()
        .map(|step| {
            let latest = tasks.iter().filter(|t| t.step_key == step.key).max_by_key(|t| (t.current, t.attempt));
            let (state, words) = if tasks.is_empty() { (svg::NodeState::Plain, "") } else { step_state(latest) };
            let detail = if tasks.is_empty() {
                Some(format!(
                    "{}{}",
                    step.kind.as_str(),
                    step.sla.as_ref().map(|s| format!(" · SLA {s}")).unwrap_or_default()
                ))
            } else {
                Some(words.to_string())
            };
            svg::Node {
                id: step.key.clone(),
                label: step.name.clone(),
                detail,
                state,
                href: latest.map(|t| format!("/tasks/{}", t.id)),
            }
        })
        .collect();
    let edges = definition
        .steps
        .iter()
        .flat_map(|step| {
            step.depends_on.iter().map(|d| svg::Edge {
                from: d.clone(),
                to: step.key.clone(),
                label: None,
                weight: 1.0,
            })
        })
        .collect();
    svg::graph(&svg::Graph { title: title.to_string(), nodes, edges })
}

/// A refused action in words.
pub fn failure(e: &EngineError) -> String {
    match e {
        EngineError::Conflict { entity, .. } => format!(
            "Someone else changed this {} while you had it open, so your change was not saved. The page now shows \
             its current state; check it and try again.",
            noun(entity)
        ),
        EngineError::InvalidTransition { entity, action, state, .. } => {
            format!("You cannot {action} this {}: it is {state}.", noun(entity))
        }
        EngineError::Forbidden(why) => format!("You may not do this: {why}."),
        other => other.to_string(),
    }
}

/// What the pages call a record of the engine's (an instance is a process).
fn noun(entity: &str) -> String {
    match entity {
        "instance" => "process".into(),
        other => other.replace('_', " "),
    }
}

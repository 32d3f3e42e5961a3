//! The MCP resources: the team's context as JSON documents — the same documents the REST API
//! answers with, read through the same functions.

use super::server::{Failure, OrgataMcp};
use crate::app::Page;
use crate::app::work::TaskListing;
use orgata_engine::{InstanceFilter, InstanceId, InstanceStatus, PlaybookId, Scope, TaskStatus, TeamId};
use orgata_reports::ReportKind;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde::Serialize;
use serde_json::json;

/// How many records a list resource holds at most (the first page of the REST list).
pub const LIST_LIMIT: i64 = 100;

/// The fixed resources: URI, name and description.
const FIXED: [(&str, &str, &str); 7] = [
    ("team://current", "team", "The team this API key acts in: its members, their roles, and your permissions."),
    ("processes://active", "active processes", "The team's running processes (the first 100, oldest first)."),
    ("tasks://assigned", "assigned tasks", "The tasks assigned to you that are not done yet."),
    ("playbooks://library", "playbook library", "The team's playbooks, each with its current definition."),
    (
        "analytics://bottlenecks",
        "bottleneck report",
        "Where the team's cycle time goes: activities and transitions by share, queues, findings.",
    ),
    (
        "analytics://metrics",
        "key metrics",
        "The cases report: case counts, durations and the arrival rate of the team's processes.",
    ),
    (
        "analytics://predictions",
        "predictions",
        "The forecasts of the team's running processes (remaining time, next steps, risk, why) and the model's card.",
    ),
];

/// The fixed resources, then one per playbook (`playbook://{id}`).
pub async fn list(server: &OrgataMcp, scope: &Scope, team: &TeamId) -> Result<Vec<Resource>, Failure> {
    let mut resources: Vec<Resource> = FIXED
        .iter()
        .map(|(uri, name, description)| {
            Resource::new(*uri, *name).with_description(*description).with_mime_type("application/json")
        })
        .collect();
    for playbook in server.app.engine.playbooks(scope, Some(team)).await? {
        let resource = Resource::new(format!("playbook://{}", playbook.id), playbook.name.clone())
            .with_description(format!("The playbook `{}` with its current definition.", playbook.name))
            .with_mime_type("application/json");
        resources.push(resource);
    }
    Ok(resources)
}

/// The templates of single records.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("process://{id}", "process")
            .with_description("A process with every execution of its steps and its comments.")
            .with_mime_type("application/json"),
        ResourceTemplate::new("playbook://{id}", "playbook")
            .with_description("A playbook with its branches and its current definition.")
            .with_mime_type("application/json"),
    ]
}

/// Reads a resource; an unknown URI, or a record the caller does not see, is not found.
pub async fn read(server: &OrgataMcp, scope: &Scope, team: &TeamId, uri: &str) -> Result<ReadResourceResult, Failure> {
    let engine = &server.app.engine;
    let document = match uri {
        "team://current" => {
            let grant = scope.grant(team);
            json!({
                "team": engine.team(scope, team).await?,
                "members": engine.members(scope, team).await?,
                "your_role": grant.map(|g| g.role.clone()),
                "your_permissions": grant.map(|g| g.permissions.names()).unwrap_or_default(),
            })
        }
        "processes://active" => {
            let filter = InstanceFilter {
                team_id: Some(team.clone()),
                status: Some(InstanceStatus::Running),
                limit: LIST_LIMIT,
                ..InstanceFilter::default()
            };
            to_json(&Page::of(engine.instances(scope, filter).await?, LIST_LIMIT, |i| i.id.to_string()))?
        }
        "tasks://assigned" => {
            to_json(&Page::of(assigned_tasks(server, scope, team).await?, LIST_LIMIT, |t| t.id.to_string()))?
        }
        "playbooks://library" => json!({ "playbooks": engine.search_playbooks(scope, Some(team), "").await? }),
        "analytics://bottlenecks" => to_json(&server.overview(scope, team, ReportKind::Bottlenecks).await?)?,
        "analytics://metrics" => to_json(&server.overview(scope, team, ReportKind::Cases).await?)?,
        "analytics://predictions" => to_json(&server.app.team_predictions(scope, team, false).await?)?,
        _ => match uri.split_once("://") {
            Some(("process", id)) if !id.is_empty() => to_json(&engine.instance(scope, &InstanceId::from(id)).await?)?,
            Some(("playbook", id)) if !id.is_empty() => to_json(&engine.playbook(scope, &PlaybookId::from(id)).await?)?,
            _ => {
                return Err(Failure::new(format!(
                    "not-found: no resource `{uri}`; list the resources, or use process://{{id}} or playbook://{{id}}"
                )));
            }
        },
    };
    let text = serde_json::to_string_pretty(&document).map_err(|e| Failure::new(format!("internal: {e}")))?;
    Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type("application/json")]))
}

/// The tasks assigned to the caller that are not done yet.
pub async fn assigned_tasks(
    server: &OrgataMcp,
    scope: &Scope,
    team: &TeamId,
) -> Result<Vec<orgata_engine::Task>, Failure> {
    let listing = TaskListing {
        statuses: vec![TaskStatus::Assigned, TaskStatus::Started],
        assignee: Some("me".into()),
        limit: LIST_LIMIT,
        ..TaskListing::default()
    };
    Ok(server.app.team_tasks(scope, team, listing).await?)
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::new(format!("internal: {e}")))
}

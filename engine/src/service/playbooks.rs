//! Playbooks: creating them, committing versions on branches, reading their history.

use super::{Engine, audit, check_name, check_payload, plural};
use crate::access::Permission;
use crate::definition::{Definition, canonical_json};
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::model::*;
use crate::store::Scope;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A playbook with its branches and the definition at the head of `main`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookDetail {
    pub playbook: Playbook,
    pub branches: Vec<Branch>,
    pub head: PlaybookVersion,
}

/// The name of the branch every playbook starts with.
pub const MAIN_BRANCH: &str = "main";

/// A version's id: SHA-256 over the canonical JSON of its playbook, parent and definition.
pub fn version_id(playbook: &PlaybookId, parent: Option<&VersionId>, definition: &Definition) -> Result<VersionId> {
    let definition = serde_json::to_value(definition).map_err(|e| EngineError::Corrupt(e.to_string()))?;
    let doc = json!({ "playbook_id": playbook, "parent_id": parent, "definition": definition });
    Ok(VersionId(hex::encode(Sha256::digest(canonical_json(&doc).as_bytes()))))
}

impl Engine {
    /// Checks a definition without saving it.
    pub fn validate_definition(&self, definition: Value) -> Result<Definition> {
        check_payload("definition", &definition)?;
        Ok(Definition::from_json(definition)?)
    }

    /// Creates a playbook in one of the caller's teams, with its first version on `main`.
    pub async fn create_playbook(
        &self,
        scope: &Scope,
        team: &TeamId,
        name: &str,
        definition: Value,
        message: &str,
    ) -> Result<PlaybookDetail> {
        let name = check_name("name", name)?;
        scope.require(team, Permission::PlaybookEdit)?;
        let definition = self.validate_definition(definition)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(team.as_str()).await?;
        tx.team(scope, team).await?.ok_or_else(|| EngineError::not_found("team", team))?;
        let playbook = Playbook {
            id: PlaybookId::generate(),
            team_id: team.clone(),
            name,
            created_by: scope.user_id.clone(),
            created_at: now,
            archived_at: None,
        };
        let version = PlaybookVersion {
            id: version_id(&playbook.id, None, &definition)?,
            playbook_id: playbook.id.clone(),
            team_id: team.clone(),
            parent_id: None,
            number: 1,
            definition,
            message: message_or(message, "Create playbook"),
            created_by: scope.user_id.clone(),
            created_at: now,
        };
        let branch = Branch {
            playbook_id: playbook.id.clone(),
            team_id: team.clone(),
            name: MAIN_BRANCH.into(),
            head: version.id.clone(),
            updated_at: now,
            revision: 1,
        };
        tx.insert_playbook(&playbook).await?;
        tx.insert_version(&version).await?;
        tx.insert_branch(&branch).await?;
        tx.audit(audit(
            scope,
            Some(team),
            "playbook.create",
            "playbook",
            &playbook.id,
            json!({ "name": playbook.name, "version": version.id }),
        ));
        tx.commit().await?;
        Ok(PlaybookDetail { playbook, branches: vec![branch], head: version })
    }

    /// Commits a new version on a branch and moves the branch to it. With `expected_revision`,
    /// fails with a conflict if the branch moved since the caller read it (no lost edits).
    pub async fn commit_version(
        &self,
        scope: &Scope,
        playbook: &PlaybookId,
        branch: &str,
        definition: Value,
        message: &str,
        expected_revision: Option<i64>,
    ) -> Result<PlaybookVersion> {
        let definition = self.validate_definition(definition)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(playbook.as_str()).await?;
        let mut b = tx
            .branch(scope, playbook, branch)
            .await?
            .ok_or_else(|| EngineError::not_found("branch", format!("{playbook}/{branch}")))?;
        let needed = if branch == MAIN_BRANCH { Permission::PlaybookPublish } else { Permission::PlaybookEdit };
        scope.require(&b.team_id, needed)?;
        if let Some(expected) = expected_revision
            && expected != b.revision
        {
            return Err(EngineError::Conflict {
                entity: "branch",
                id: format!("{playbook}/{branch}"),
                expected,
                found: b.revision,
            });
        }
        let head = tx
            .version(scope, &b.head)
            .await?
            .ok_or_else(|| EngineError::Corrupt(format!("branch head {} missing", b.head)))?;
        if head.definition == definition {
            return Err(EngineError::invalid("definition", format!("unchanged from the head of branch `{branch}`")));
        }
        let version = PlaybookVersion {
            id: version_id(playbook, Some(&head.id), &definition)?,
            playbook_id: playbook.clone(),
            team_id: b.team_id.clone(),
            parent_id: Some(head.id.clone()),
            number: tx.next_version_number(playbook).await?,
            definition,
            message: message_or(message, "Update playbook"),
            created_by: scope.user_id.clone(),
            created_at: now,
        };
        tx.insert_version(&version).await?;
        let expected = b.revision;
        b.head = version.id.clone();
        b.updated_at = now;
        b.revision += 1;
        tx.update_branch(&b, expected).await?;
        tx.audit(audit(
            scope,
            Some(&b.team_id),
            "playbook.commit",
            "playbook",
            playbook,
            json!({ "branch": branch, "version": version.id }),
        ));
        tx.commit().await?;
        Ok(version)
    }

    /// Creates a branch pointing at `from` (a version of this playbook), or at the head of `main`.
    pub async fn create_branch(
        &self,
        scope: &Scope,
        playbook: &PlaybookId,
        name: &str,
        from: Option<&VersionId>,
    ) -> Result<Branch> {
        let name = check_name("name", name)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(playbook.as_str()).await?;
        let p = tx.playbook(scope, playbook).await?.ok_or_else(|| EngineError::not_found("playbook", playbook))?;
        scope.require(&p.team_id, Permission::PlaybookEdit)?;
        let head = match from {
            Some(v) => {
                tx.version(scope, v)
                    .await?
                    .filter(|v| &v.playbook_id == playbook)
                    .ok_or_else(|| EngineError::not_found("version", v))?
                    .id
            }
            None => {
                tx.branch(scope, playbook, MAIN_BRANCH)
                    .await?
                    .ok_or_else(|| EngineError::not_found("branch", MAIN_BRANCH))?
                    .head
            }
        };
        let branch =
            Branch { playbook_id: p.id.clone(), team_id: p.team_id.clone(), name, head, updated_at: now, revision: 1 };
        tx.insert_branch(&branch).await?;
        tx.audit(audit(
            scope,
            Some(&p.team_id),
            "playbook.branch",
            "playbook",
            playbook,
            json!({ "branch": branch.name, "head": branch.head }),
        ));
        tx.commit().await?;
        Ok(branch)
    }

    /// Archives a playbook (`playbook.publish`): no process starts on it any more; running ones go
    /// on, and its history stays readable.
    pub async fn archive_playbook(&self, scope: &Scope, id: &PlaybookId) -> Result<Playbook> {
        self.set_archived(scope, id, true).await
    }

    /// Takes a playbook out of the archive (`playbook.publish`): processes start on it again.
    pub async fn restore_playbook(&self, scope: &Scope, id: &PlaybookId) -> Result<Playbook> {
        self.set_archived(scope, id, false).await
    }

    async fn set_archived(&self, scope: &Scope, id: &PlaybookId, archive: bool) -> Result<Playbook> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(id.as_str()).await?;
        let mut p = tx.playbook(scope, id).await?.ok_or_else(|| EngineError::not_found("playbook", id))?;
        scope.require(&p.team_id, Permission::PlaybookPublish)?;
        let (action, state, audited) = match archive {
            true => ("archive", "archived", "playbook.archive"),
            false => ("restore", "not archived", "playbook.restore"),
        };
        if p.archived_at.is_some() == archive {
            return Err(EngineError::InvalidTransition {
                entity: "playbook",
                id: id.to_string(),
                action,
                state: state.into(),
            });
        }
        p.archived_at = archive.then_some(now);
        tx.update_playbook(&p).await?;
        tx.audit(audit(scope, Some(&p.team_id), audited, "playbook", id, json!({ "name": p.name })));
        tx.commit().await?;
        Ok(p)
    }

    /// Deletes a playbook no process ever ran on, with its branches and versions
    /// (`playbook.publish`). One with processes is archived instead, so their history keeps its
    /// definition.
    pub async fn delete_playbook(&self, scope: &Scope, id: &PlaybookId) -> Result<()> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(id.as_str()).await?;
        let p = tx.playbook(scope, id).await?.ok_or_else(|| EngineError::not_found("playbook", id))?;
        scope.require(&p.team_id, Permission::PlaybookPublish)?;
        let runs = tx.playbook_instances(id).await?.max(0) as u64;
        if runs > 0 {
            return Err(EngineError::InvalidTransition {
                entity: "playbook",
                id: id.to_string(),
                action: "delete",
                state: format!("the definition of {} (archive it instead)", plural(runs, "process", "processes")),
            });
        }
        tx.delete_playbook(&p).await?;
        tx.audit(audit(scope, Some(&p.team_id), "playbook.delete", "playbook", id, json!({ "name": p.name })));
        tx.commit().await
    }

    /// A playbook with its branches and the head of `main`.
    pub async fn playbook(&self, scope: &Scope, id: &PlaybookId) -> Result<PlaybookDetail> {
        let mut tx = self.store.begin_read().await?;
        let playbook = tx.playbook(scope, id).await?.ok_or_else(|| EngineError::not_found("playbook", id))?;
        let branches = tx.branches(scope, id).await?;
        let main = branches
            .iter()
            .find(|b| b.name == MAIN_BRANCH)
            .ok_or_else(|| EngineError::Corrupt(format!("playbook {id} has no main branch")))?;
        let head = tx
            .version(scope, &main.head)
            .await?
            .ok_or_else(|| EngineError::Corrupt(format!("version {} missing", main.head)))?;
        Ok(PlaybookDetail { playbook, branches, head })
    }

    /// The caller's playbooks, optionally of one team.
    pub async fn playbooks(&self, scope: &Scope, team: Option<&TeamId>) -> Result<Vec<Playbook>> {
        self.store.begin_read().await?.playbooks(scope, team).await
    }

    /// The caller's playbooks in `team` (all of theirs when `None`) whose name, description, or a
    /// step's key or name (of the head of `main`) contains every word of `query`, ignoring case;
    /// with their heads, by name. An empty query matches them all.
    pub async fn search_playbooks(
        &self,
        scope: &Scope,
        team: Option<&TeamId>,
        query: &str,
    ) -> Result<Vec<PlaybookDetail>> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut found = Vec::new();
        for playbook in self.playbooks(scope, team).await? {
            let detail = self.playbook(scope, &playbook.id).await?;
            let definition = &detail.head.definition;
            let mut text = format!("{}\n{}", playbook.name, definition.description);
            for step in &definition.steps {
                text.push_str(&format!("\n{}\n{}", step.key, step.name));
            }
            let text = text.to_lowercase();
            if words.iter().all(|w| text.contains(w.as_str())) {
                found.push(detail);
            }
        }
        found.sort_by(|a, b| a.playbook.name.cmp(&b.playbook.name).then_with(|| a.playbook.id.cmp(&b.playbook.id)));
        Ok(found)
    }

    /// Every version of a playbook, oldest first.
    pub async fn versions(&self, scope: &Scope, playbook: &PlaybookId) -> Result<Vec<PlaybookVersion>> {
        let mut tx = self.store.begin_read().await?;
        tx.playbook(scope, playbook).await?.ok_or_else(|| EngineError::not_found("playbook", playbook))?;
        tx.versions(scope, playbook).await
    }

    /// One version.
    pub async fn version(&self, scope: &Scope, id: &VersionId) -> Result<PlaybookVersion> {
        let mut tx = self.store.begin_read().await?;
        tx.version(scope, id).await?.ok_or_else(|| EngineError::not_found("version", id))
    }
}

fn message_or(message: &str, default: &str) -> String {
    let m = message.trim();
    if m.is_empty() { default.to_string() } else { m.chars().take(2_000).collect() }
}

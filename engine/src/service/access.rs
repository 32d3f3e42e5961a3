//! Roles and memberships: who may do what in which team.

use super::directory::{keep_an_owner, person};
use super::{Engine, audit, check_name};
use crate::access::{BUILTIN_ROLES, OrgRole, Permission, Permissions, builtin_role};
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::model::*;
use crate::store::{Scope, Tx};
use serde::Serialize;
use serde_json::json;

/// A role as listed: built-in or custom, with its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInfo {
    pub name: String,
    pub builtin: bool,
    pub permissions: Permissions,
}

impl Engine {
    /// The organisation's roles: the built-in ones, then its custom roles by name.
    pub async fn roles(&self, scope: &Scope) -> Result<Vec<RoleInfo>> {
        let custom = self.store.begin_read().await?.roles(scope.org_id()).await?;
        let builtin = BUILTIN_ROLES.iter().map(|name| RoleInfo {
            name: name.to_string(),
            builtin: true,
            permissions: builtin_role(name).unwrap_or_default(),
        });
        let custom = custom.into_iter().map(|r| RoleInfo { name: r.name, builtin: false, permissions: r.permissions });
        Ok(builtin.chain(custom).collect())
    }

    /// Defines a custom role (organisation owners and admins).
    pub async fn create_role(&self, scope: &Scope, name: &str, permissions: &[String]) -> Result<CustomRole> {
        scope.require_org_admin()?;
        let name = role_name(name)?;
        if builtin_role(&name).is_some() {
            return Err(EngineError::AlreadyExists { entity: "role", name });
        }
        let permissions = Permissions::parse("permissions", permissions)?;
        let now = self.clock.now();
        let role = CustomRole { org_id: scope.org_id.clone(), name, permissions, created_at: now, updated_at: now };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_role(&role).await?;
        tx.audit(audit(scope, None, "role.create", "role", &role.name, json!({ "permissions": role.permissions })));
        tx.commit().await?;
        Ok(role)
    }

    /// Changes a custom role's permissions (organisation owners and admins).
    pub async fn update_role(&self, scope: &Scope, name: &str, permissions: &[String]) -> Result<CustomRole> {
        scope.require_org_admin()?;
        let permissions = Permissions::parse("permissions", permissions)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let mut role = custom_role(&mut *tx, scope, name).await?;
        role.permissions = permissions;
        role.updated_at = now;
        tx.update_role(&role).await?;
        tx.audit(audit(scope, None, "role.update", "role", &role.name, json!({ "permissions": role.permissions })));
        tx.commit().await?;
        Ok(role)
    }

    /// Deletes a custom role no membership holds (organisation owners and admins).
    pub async fn delete_role(&self, scope: &Scope, name: &str) -> Result<()> {
        scope.require_org_admin()?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        let role = custom_role(&mut *tx, scope, name).await?;
        let holders = tx.role_use(scope.org_id(), &role.name).await?;
        if holders > 0 {
            return Err(EngineError::InvalidTransition {
                entity: "role",
                id: role.name,
                action: "delete",
                state: format!("held by {holders} membership(s)"),
            });
        }
        tx.delete_role(&role).await?;
        tx.audit(audit(scope, None, "role.delete", "role", &role.name, json!({})));
        tx.commit().await
    }

    /// Adds a user of the same organisation to a team, with a role (`members.manage`; only an
    /// owner grants `owner`).
    pub async fn add_member(&self, scope: &Scope, team: &TeamId, user: &UserId, role: &str) -> Result<Membership> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(team.as_str()).await?;
        let role = check_role_grant(&mut *tx, scope, team, role).await?;
        let member = tx.user(user).await?.filter(|u| u.org_id == scope.org_id);
        let member = member.ok_or_else(|| EngineError::not_found("user", user))?;
        let m = Membership { team_id: team.clone(), user_id: member.id, role, created_at: now };
        tx.insert_membership(&m).await?;
        tx.audit(audit(scope, Some(team), "team.add_member", "membership", user, json!({ "role": m.role })));
        tx.commit().await?;
        Ok(m)
    }

    /// Changes a member's role (`members.manage`; only an owner grants or takes away `owner`,
    /// and a team keeps at least one owner).
    pub async fn change_member_role(
        &self,
        scope: &Scope,
        team: &TeamId,
        user: &UserId,
        role: &str,
    ) -> Result<Membership> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(team.as_str()).await?;
        let role = check_role_grant(&mut *tx, scope, team, role).await?;
        let mut m = existing_member(&mut *tx, scope, team, user).await?;
        let before = std::mem::replace(&mut m.role, role);
        check_owner_change(&mut *tx, scope, team, &before, &m.role).await?;
        tx.update_membership(&m).await?;
        tx.audit(audit(
            scope,
            Some(team),
            "team.change_role",
            "membership",
            user,
            json!({ "from": before, "to": m.role }),
        ));
        tx.commit().await?;
        Ok(m)
    }

    /// Removes a member from a team (`members.manage`, or anyone leaving; a team keeps at least
    /// one owner).
    pub async fn remove_member(&self, scope: &Scope, team: &TeamId, user: &UserId) -> Result<()> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(team.as_str()).await?;
        if user != scope.user_id() {
            scope.require(team, Permission::MembersManage)?;
        } else if scope.grant(team).is_none() {
            return Err(EngineError::not_found("team", team));
        }
        let m = existing_member(&mut *tx, scope, team, user).await?;
        check_owner_change(&mut *tx, scope, team, &m.role, "").await?;
        tx.delete_membership(&m).await?;
        tx.audit(audit(scope, Some(team), "team.remove_member", "membership", user, json!({ "role": m.role })));
        tx.commit().await
    }

    /// Renames a team (`team.manage`).
    pub async fn rename_team(&self, scope: &Scope, team: &TeamId, name: &str) -> Result<Team> {
        let name = check_name("name", name)?;
        scope.require(team, Permission::TeamManage)?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(team.as_str()).await?;
        let mut t = tx.team(scope, team).await?.ok_or_else(|| EngineError::not_found("team", team))?;
        let before = std::mem::replace(&mut t.name, name);
        tx.update_team(&t).await?;
        tx.audit(audit(scope, Some(team), "team.rename", "team", team, json!({ "from": before, "to": t.name })));
        tx.commit().await?;
        Ok(t)
    }

    /// Sets a user's organisation role (organisation owners only; an organisation keeps an owner).
    pub async fn set_org_role(&self, scope: &Scope, user: &UserId, role: OrgRole) -> Result<User> {
        if scope.org_role() != OrgRole::Owner {
            return Err(EngineError::Forbidden("only an organisation owner changes organisation roles".into()));
        }
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(scope.org_id().as_str()).await?;
        let mut u = person(&mut *tx, scope, user).await?;
        if role != OrgRole::Owner {
            keep_an_owner(&mut *tx, scope, &u, "demote").await?;
        }
        let before = std::mem::replace(&mut u.org_role, role);
        tx.update_user(&u).await?;
        tx.audit(audit(scope, None, "user.set_org_role", "user", user, json!({ "from": before, "to": role })));
        tx.commit().await?;
        Ok(u)
    }
}

/// A role name: lower-case letters, digits, `-` and `_`, at most 50 characters.
fn role_name(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok { Ok(name.to_string()) } else { Err(EngineError::invalid("name", "must be 1-50 of a-z, 0-9, `-` and `_`")) }
}

async fn custom_role(tx: &mut dyn Tx, scope: &Scope, name: &str) -> Result<CustomRole> {
    tx.roles(scope.org_id())
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| EngineError::not_found("role", name))
}

/// Checks that the caller may give `role` in `team`: `members.manage`, a role that exists, and
/// `owner` only from an owner. Returns the role name.
async fn check_role_grant(tx: &mut dyn Tx, scope: &Scope, team: &TeamId, role: &str) -> Result<String> {
    scope.require(team, Permission::MembersManage)?;
    let role = role.trim().to_string();
    let defined = builtin_role(&role).is_some() || tx.roles(scope.org_id()).await?.iter().any(|r| r.name == role);
    if !defined {
        return Err(EngineError::invalid("role", format!("no role `{role}` in this organisation")));
    }
    Ok(role)
}

/// A member of a team the caller sees.
async fn existing_member(tx: &mut dyn Tx, scope: &Scope, team: &TeamId, user: &UserId) -> Result<Membership> {
    tx.members(scope, team)
        .await?
        .into_iter()
        .find(|m| &m.user_id == user)
        .ok_or_else(|| EngineError::not_found("member", user))
}

/// Taking a membership from `before` to `after` (empty: removed): only owners touch the owner
/// role, and the team keeps one owner.
async fn check_owner_change(tx: &mut dyn Tx, scope: &Scope, team: &TeamId, before: &str, after: &str) -> Result<()> {
    let involves_owner = before == "owner" || after == "owner";
    let caller_is_owner = scope.grant(team).is_some_and(|g| g.role == "owner");
    if involves_owner && !caller_is_owner {
        return Err(EngineError::Forbidden("only a team owner grants or takes away the owner role".into()));
    }
    if before == "owner" && after != "owner" {
        let owners = tx.members(scope, team).await?.iter().filter(|m| m.role == "owner").count();
        if owners <= 1 {
            return Err(EngineError::InvalidTransition {
                entity: "team",
                id: team.to_string(),
                action: "remove its last owner from",
                state: "left with one owner".into(),
            });
        }
    }
    Ok(())
}

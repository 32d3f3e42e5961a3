//! Organisations, users, teams and memberships.

use super::{Engine, audit, check_name};
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::model::*;
use crate::store::{NewAuditEntry, Scope};
use argon2::password_hash::{PasswordHasher, SaltString};
use serde_json::json;

impl Engine {
    /// Creates an organisation (a system operation: registration wraps it with identity checks).
    pub async fn create_organisation(&self, name: &str, slug: &str) -> Result<Organisation> {
        let name = check_name("name", name)?;
        let slug = slug.trim().to_lowercase();
        if slug.is_empty() || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(EngineError::invalid("slug", "must be letters, digits and `-`"));
        }
        let now = self.clock.now();
        let org = Organisation { id: OrgId::generate(), name, slug, created_at: now };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_organisation(&org).await?;
        tx.audit(NewAuditEntry {
            org_id: org.id.clone(),
            team_id: None,
            actor_id: None,
            action: "organisation.create",
            entity: "organisation",
            entity_id: org.id.to_string(),
            detail: json!({ "name": org.name, "slug": org.slug }),
        });
        tx.commit().await?;
        Ok(org)
    }

    /// The organisation with this slug, if any.
    pub async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Organisation>> {
        let mut tx = self.store.begin_read().await?;
        tx.organisation_by_slug(slug).await
    }

    /// Creates a user in an organisation, with an argon2id password hash when a password is given
    /// (a system operation: sign-up and invitations wrap it).
    pub async fn create_user(
        &self,
        org: &OrgId,
        email: &str,
        display_name: &str,
        password: Option<&str>,
    ) -> Result<User> {
        let email = email.trim().to_lowercase();
        if !email.contains('@') || email.len() > 254 {
            return Err(EngineError::invalid("email", "must be an email address"));
        }
        let display_name = check_name("display_name", display_name)?;
        let hash = password.map(hash_password).transpose()?;
        let now = self.clock.now();
        let user = User { id: UserId::generate(), org_id: org.clone(), email, display_name, created_at: now };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_user(&user, hash.as_deref()).await?;
        tx.audit(NewAuditEntry {
            org_id: org.clone(),
            team_id: None,
            actor_id: None,
            action: "user.create",
            entity: "user",
            entity_id: user.id.to_string(),
            detail: json!({ "email": user.email }),
        });
        tx.commit().await?;
        Ok(user)
    }

    /// Checks a user's password against the stored argon2id hash.
    pub async fn verify_password(&self, user: &UserId, password: &str) -> Result<bool> {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let mut tx = self.store.begin_read().await?;
        let Some(stored) = tx.password_hash(user).await? else { return Ok(false) };
        let parsed = PasswordHash::new(&stored).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    }

    /// Creates a team in the caller's organisation; the caller becomes its `owner`.
    pub async fn create_team(&self, scope: &Scope, name: &str) -> Result<Team> {
        let name = check_name("name", name)?;
        let now = self.clock.now();
        let team = Team { id: TeamId::generate(), org_id: scope.org_id.clone(), name, created_at: now };
        let membership = Membership {
            team_id: team.id.clone(),
            user_id: scope.user_id.clone(),
            role: "owner".into(),
            created_at: now,
        };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_team(&team).await?;
        tx.insert_membership(&membership).await?;
        tx.audit(audit(scope, Some(&team.id), "team.create", "team", &team.id, json!({ "name": team.name })));
        tx.commit().await?;
        Ok(team)
    }

    /// Adds a user of the same organisation to a team of the caller's, with a role.
    pub async fn add_member(&self, scope: &Scope, team: &TeamId, user: &UserId, role: &str) -> Result<Membership> {
        let role = check_name("role", role)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(team.as_str()).await?;
        tx.team(scope, team).await?.ok_or_else(|| EngineError::not_found("team", team))?;
        let member = tx.user(user).await?.filter(|u| u.org_id == scope.org_id);
        let member = member.ok_or_else(|| EngineError::not_found("user", user))?;
        let m = Membership { team_id: team.clone(), user_id: member.id, role, created_at: now };
        tx.insert_membership(&m).await?;
        tx.audit(audit(scope, Some(team), "team.add_member", "membership", user, json!({ "role": m.role })));
        tx.commit().await?;
        Ok(m)
    }

    /// The caller's teams.
    pub async fn teams(&self, scope: &Scope) -> Result<Vec<Team>> {
        self.store.begin_read().await?.teams(scope).await
    }

    /// One of the caller's teams.
    pub async fn team(&self, scope: &Scope, id: &TeamId) -> Result<Team> {
        let mut tx = self.store.begin_read().await?;
        tx.team(scope, id).await?.ok_or_else(|| EngineError::not_found("team", id))
    }

    /// The members of one of the caller's teams.
    pub async fn members(&self, scope: &Scope, team: &TeamId) -> Result<Vec<Membership>> {
        let mut tx = self.store.begin_read().await?;
        tx.team(scope, team).await?.ok_or_else(|| EngineError::not_found("team", team))?;
        tx.members(scope, team).await
    }

    /// A team of the organisation by name (a system lookup used by the demo and bootstrap).
    pub async fn team_by_name(&self, org: &OrgId, name: &str) -> Result<Option<Team>> {
        self.store.begin_read().await?.team_by_name(org, name).await
    }

    /// A user of the organisation by email (a system lookup).
    pub async fn user_by_email(&self, org: &OrgId, email: &str) -> Result<Option<User>> {
        self.store.begin_read().await?.user_by_email(org, &email.trim().to_lowercase()).await
    }
}

/// Hashes a password with argon2id and a fresh random salt.
fn hash_password(password: &str) -> Result<String> {
    if password.len() < 8 {
        return Err(EngineError::invalid("password", "must be at least 8 characters"));
    }
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| EngineError::Corrupt(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::invalid("password", e.to_string()))
}

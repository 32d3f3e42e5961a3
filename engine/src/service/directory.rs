//! Organisations, users and teams: registration, the organisation's people, team creation.

use super::{Engine, audit, build_scope, check_name, plural};
use crate::access::{OrgRole, Permission};
use crate::error::{EngineError, FieldProblem, Result};
use crate::ids::*;
use crate::model::*;
use crate::store::{NewAuditEntry, Scope, Tx};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in bytes (argon2 hashes it all; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What registering a new organisation needs.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub organisation_name: String,
    /// Unique, URL-safe: letters, digits and `-`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub organisation_slug: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub team_name: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: String,
    /// At least 10 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 10))]
    pub password: String,
}

impl std::fmt::Debug for Registration {
    /// Never shows the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("organisation_slug", &self.organisation_slug)
            .field("team_name", &self.team_name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewUser {
    /// Never shows the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("email", &self.email).field("org_role", &self.org_role).finish_non_exhaustive()
    }
}

/// What registration created.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registered {
    pub organisation: Organisation,
    pub team: Team,
    pub user: User,
}

/// A user to add to the caller's organisation.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: String,
    /// None: the user cannot sign in until a password is set (at least 10 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 10))]
    pub password: Option<String>,
    /// `member` unless given.
    pub org_role: Option<OrgRole>,
}

impl Engine {
    /// Registers an organisation with its first team and its owner (who owns both), in one
    /// transaction. Open to anyone: this is how a new tenant begins.
    pub async fn register(&self, r: Registration) -> Result<Registered> {
        let org_name = check_name("organisation_name", &r.organisation_name)?;
        let slug = check_slug(&r.organisation_slug)?;
        let team_name = check_name("team_name", &r.team_name)?;
        let email = check_email(&r.email)?;
        let display_name = check_name("display_name", &r.display_name)?;
        let hash = hash_password(&r.password).await?;
        let now = self.clock.now();
        let organisation = Organisation { id: OrgId::generate(), name: org_name, slug, created_at: now };
        let user = User {
            id: UserId::generate(),
            org_id: organisation.id.clone(),
            email,
            display_name,
            org_role: OrgRole::Owner,
            created_at: now,
            deactivated_at: None,
        };
        let team = Team { id: TeamId::generate(), org_id: organisation.id.clone(), name: team_name, created_at: now };
        let membership =
            Membership { team_id: team.id.clone(), user_id: user.id.clone(), role: "owner".into(), created_at: now };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_organisation(&organisation).await?;
        tx.insert_user(&user, Some(&hash)).await?;
        tx.insert_team(&team).await?;
        tx.insert_membership(&membership).await?;
        tx.audit(NewAuditEntry {
            org_id: organisation.id.clone(),
            team_id: None,
            actor_id: Some(user.id.clone()),
            api_key_id: None,
            source: None,
            action: "organisation.register",
            entity: "organisation",
            entity_id: organisation.id.to_string(),
            detail: json!({ "slug": organisation.slug, "team": team.id, "owner": user.email }),
        });
        tx.commit().await?;
        Ok(Registered { organisation, team, user })
    }

    /// The organisation with this slug, if any (sign-in starts here).
    pub async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Organisation>> {
        let mut tx = self.store.begin_read().await?;
        tx.organisation_by_slug(&slug.trim().to_lowercase()).await
    }

    /// Adds a user to the caller's organisation (organisation owners and admins; only an owner
    /// makes owners).
    pub async fn create_user(&self, scope: &Scope, new: NewUser) -> Result<User> {
        scope.require_org_admin()?;
        let org_role = new.org_role.unwrap_or(OrgRole::Member);
        if org_role == OrgRole::Owner && scope.org_role() != OrgRole::Owner {
            return Err(EngineError::Forbidden("only an organisation owner makes owners".into()));
        }
        let email = check_email(&new.email)?;
        let display_name = check_name("display_name", &new.display_name)?;
        let hash = match &new.password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let now = self.clock.now();
        let user = User {
            id: UserId::generate(),
            org_id: scope.org_id.clone(),
            email,
            display_name,
            org_role,
            created_at: now,
            deactivated_at: None,
        };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_user(&user, hash.as_deref()).await?;
        tx.audit(audit(
            scope,
            None,
            "user.create",
            "user",
            &user.id,
            json!({ "email": user.email, "org_role": org_role }),
        ));
        tx.commit().await?;
        Ok(user)
    }

    /// The people of the caller's organisation, by email.
    pub async fn users(&self, scope: &Scope) -> Result<Vec<User>> {
        self.store.begin_read().await?.users(scope).await
    }

    /// The calling user.
    pub async fn me(&self, scope: &Scope) -> Result<User> {
        let mut tx = self.store.begin_read().await?;
        tx.user(scope.user_id()).await?.ok_or_else(|| EngineError::not_found("user", scope.user_id()))
    }

    /// Changes the caller's password, given the current one; every session of theirs ends.
    pub async fn change_password(&self, scope: &Scope, current: &str, new: &str) -> Result<()> {
        if scope.api_key_id().is_some() {
            return Err(EngineError::Forbidden("an API key cannot change a password".into()));
        }
        if !self.check_password(scope.user_id(), current).await? {
            return Err(EngineError::invalid("current_password", "is not the current password"));
        }
        let hash = hash_password(new).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.set_password_hash(scope.user_id(), &hash).await?;
        tx.revoke_user_refresh_tokens(scope.user_id(), now).await?;
        tx.audit(audit(scope, None, "user.change_password", "user", scope.user_id(), json!({})));
        tx.commit().await
    }

    /// Creates a team in the caller's organisation (organisation owners and admins); the caller
    /// becomes its `owner`. Use [`Engine::refresh_scope`] to act in it.
    pub async fn create_team(&self, scope: &Scope, name: &str) -> Result<Team> {
        scope.require_org_admin()?;
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

    /// Deletes a team that holds no playbooks (organisation owners and admins who manage the
    /// team): its memberships, API keys and assignment cursors go with it; its audit trail stays.
    pub async fn delete_team(&self, scope: &Scope, team: &TeamId) -> Result<()> {
        scope.require_org_admin()?;
        scope.require(team, Permission::TeamManage)?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(team.as_str()).await?;
        let t = tx.team(scope, team).await?.ok_or_else(|| EngineError::not_found("team", team))?;
        let playbooks = tx.playbooks(scope, Some(team)).await?.len() as u64;
        if playbooks > 0 {
            return Err(EngineError::InvalidTransition {
                entity: "team",
                id: team.to_string(),
                action: "delete",
                state: format!("the home of {}", plural(playbooks, "playbook", "playbooks")),
            });
        }
        tx.delete_team(&t).await?;
        tx.audit(audit(scope, None, "team.delete", "team", team, json!({ "name": t.name })));
        tx.commit().await
    }

    /// Removes a user from the organisation (owners and admins; only an owner removes an owner,
    /// and the organisation keeps one): they leave every team, their sessions, API keys and second
    /// factor end, and they can no longer sign in. Their name stays on what they did. Someone with
    /// unfinished tasks is refused until those are reassigned, so no work is left with nobody.
    pub async fn remove_user(&self, scope: &Scope, user: &UserId) -> Result<User> {
        scope.require_org_admin()?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(scope.org_id().as_str()).await?;
        // Serialised with assignments to them (`assign_task` locks the assignee too), so no task is
        // assigned to someone whose removal counted none.
        tx.lock(user.as_str()).await?;
        let mut u = person(&mut *tx, scope, user).await?;
        if u.org_role == OrgRole::Owner && scope.org_role() != OrgRole::Owner {
            return Err(EngineError::Forbidden("only an organisation owner removes an owner".into()));
        }
        keep_an_owner(&mut *tx, scope, &u, "remove").await?;
        let open = tx.open_tasks_of(user).await?.max(0) as u64;
        if open > 0 {
            return Err(EngineError::InvalidTransition {
                entity: "user",
                id: user.to_string(),
                action: "remove",
                state: format!(
                    "assigned {} (reassign {} first)",
                    plural(open, "unfinished task", "unfinished tasks"),
                    if open == 1 { "it" } else { "them" }
                ),
            });
        }
        let teams = tx.memberships_of(user).await?;
        for m in &teams {
            tx.delete_membership(m).await?;
        }
        tx.revoke_user_refresh_tokens(user, now).await?;
        tx.revoke_user_api_keys(user, now).await?;
        tx.delete_totp(user).await?;
        u.deactivated_at = Some(now);
        tx.deactivate_user(&u).await?;
        let teams: Vec<&TeamId> = teams.iter().map(|m| &m.team_id).collect();
        tx.audit(audit(scope, None, "user.remove", "user", user, json!({ "email": u.email, "teams": teams })));
        tx.commit().await?;
        Ok(u)
    }

    /// The caller's organisation's settings.
    pub async fn organisation_settings(&self, scope: &Scope) -> Result<OrganisationSettings> {
        self.store.begin_read().await?.organisation_settings(scope.org_id()).await
    }

    /// Changes the organisation's settings (owners and admins).
    pub async fn update_organisation_settings(
        &self,
        scope: &Scope,
        settings: OrganisationSettings,
    ) -> Result<OrganisationSettings> {
        scope.require_org_admin()?;
        let settings = check_settings(settings)?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.lock(scope.org_id().as_str()).await?;
        let before = tx.organisation_settings(scope.org_id()).await?;
        if before == settings {
            return Ok(settings);
        }
        tx.set_organisation_settings(scope.org_id(), &settings).await?;
        let org = scope.org_id();
        tx.audit(audit(
            scope,
            None,
            "organisation.settings",
            "organisation",
            org,
            json!({ "from": before, "to": settings }),
        ));
        tx.commit().await?;
        Ok(settings)
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

    /// A user of the organisation by email (a system lookup for the demo and the CLI).
    pub async fn user_by_email(&self, org: &OrgId, email: &str) -> Result<Option<User>> {
        self.store.begin_read().await?.user_by_email(org, &email.trim().to_lowercase()).await
    }

    /// Whether `password` is the user's (argon2id, verified off the async threads).
    pub(crate) async fn check_password(&self, user: &UserId, password: &str) -> Result<bool> {
        let stored = self.store.begin_read().await?.password_hash(user).await?;
        verify_password(stored, password).await
    }

    /// A user's scope after they proved who they are.
    pub(crate) async fn scope_of(&self, tx: &mut dyn Tx, user: &User, session: Option<String>) -> Result<Scope> {
        build_scope(tx, user, None, session).await
    }
}

/// A person of the caller's organisation who was not removed from it.
pub(super) async fn person(tx: &mut dyn Tx, scope: &Scope, user: &UserId) -> Result<User> {
    tx.user(user)
        .await?
        .filter(|u| u.org_id == scope.org_id && u.deactivated_at.is_none())
        .ok_or_else(|| EngineError::not_found("user", user))
}

/// Refuses to `action` (demote, remove) `user` when they are the organisation's last owner; people
/// removed from it do not count.
pub(super) async fn keep_an_owner(tx: &mut dyn Tx, scope: &Scope, user: &User, action: &'static str) -> Result<()> {
    if user.org_role != OrgRole::Owner {
        return Ok(());
    }
    let owners = tx.users(scope).await?;
    if owners.iter().filter(|o| o.org_role == OrgRole::Owner && o.deactivated_at.is_none()).count() <= 1 {
        return Err(EngineError::InvalidTransition {
            entity: "user",
            id: user.id.to_string(),
            action,
            state: "the organisation's only owner".into(),
        });
    }
    Ok(())
}

/// Settings as stored: a known time zone, working days in week order without repeats, and a
/// working day that starts before it ends.
fn check_settings(mut s: OrganisationSettings) -> Result<OrganisationSettings> {
    let mut problems = Vec::new();
    s.time_zone = s.time_zone.trim().to_string();
    if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(FieldProblem::new("time_zone", "must be an IANA time zone, like Europe/Berlin"));
    }
    s.working_days.sort();
    s.working_days.dedup();
    if s.working_days.is_empty() {
        problems.push(FieldProblem::new("working_days", "must name at least one day"));
    }
    let time = |field: &str, text: &str, problems: &mut Vec<FieldProblem>| {
        let parsed = chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        if parsed.is_none() {
            problems.push(FieldProblem::new(field, "must be a time of day as HH:MM, like 09:00"));
        }
        parsed
    };
    let start = time("workday_start", &s.workday_start, &mut problems);
    let end = time("workday_end", &s.workday_end, &mut problems);
    if let (Some(start), Some(end)) = (start, end) {
        if start >= end {
            problems.push(FieldProblem::new("workday_end", "must be after the start of the working day"));
        }
        s.workday_start = start.format("%H:%M").to_string();
        s.workday_end = end.format("%H:%M").to_string();
    }
    if problems.is_empty() { Ok(s) } else { Err(EngineError::Validation(problems)) }
}

fn check_slug(slug: &str) -> Result<String> {
    let slug = slug.trim().to_lowercase();
    if slug.is_empty() || slug.len() > 63 || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(EngineError::invalid("organisation_slug", "must be 1-63 letters, digits and `-`"));
    }
    Ok(slug)
}

fn check_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err(EngineError::invalid("email", "must be an email address")) }
}

/// Hashes a password with argon2id and a fresh random salt, off the async threads.
pub(crate) async fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(EngineError::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(EngineError::invalid("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        let salt = SaltString::encode_b64(&bytes).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| EngineError::invalid("password", e.to_string()))
    })
    .await
    .map_err(|e| EngineError::Corrupt(format!("password hashing task: {e}")))?
}

/// Checks a password against a stored argon2id hash (none stored: never matches).
pub(crate) async fn verify_password(stored: Option<String>, password: &str) -> Result<bool> {
    let Some(stored) = stored else { return Ok(false) };
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| EngineError::Corrupt(format!("password hashing task: {e}")))?
}

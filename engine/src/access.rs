//! Access control: permissions, roles, and the caller's [`Scope`].
//!
//! A scope is built only by the engine — from a verified access token, an API key, or (for
//! in-process callers that hold the database itself) [`crate::Engine::trusted_scope`] — and it is
//! what every engine operation and every team-scoped store query takes. It carries a snapshot of
//! the caller's teams and their permissions in each: queries filter by that team list in SQL, and
//! operations check the permission they need, so REST, the UI, MCP and the CLI get the same answer.

use crate::error::{EngineError, Result};
use crate::ids::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

macro_rules! permissions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal),* $(,)?) => {
        /// A named permission within a team.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $($(#[$doc])* $variant),*
        }

        impl Permission {
            /// Every permission, in declaration order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The permission's name, like `task.complete`.
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name),* }
            }

            /// The permission with this name.
            pub fn parse(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    /// Create playbooks, branches, and versions on branches other than `main`.
    PlaybookEdit => "playbook.edit",
    /// Commit versions to a playbook's `main` branch (what new processes start on).
    PlaybookPublish => "playbook.publish",
    /// Start process instances.
    ProcessStart => "process.start",
    /// Cancel process instances and tasks.
    ProcessCancel => "process.cancel",
    /// Comment on processes and tasks.
    ProcessComment => "process.comment",
    /// Claim, start and complete tasks.
    TaskComplete => "task.complete",
    /// Assign and reassign tasks to others.
    TaskAssign => "task.assign",
    /// Read process analytics and reports.
    AnalyticsRead => "analytics.read",
    /// Run SQL over the team's warehouse data.
    SqlRun => "sql.run",
    /// Add and remove members, change their roles.
    MembersManage => "members.manage",
    /// Change the team's settings.
    TeamManage => "team.manage",
    /// Read the team's audit trail.
    AuditRead => "audit.read",
    /// See and revoke every API key of the team (anyone may manage their own).
    ApiKeysManage => "apikeys.manage",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Permission::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown permission `{name}`")))
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u32);

impl Permissions {
    /// No permission at all (read access only).
    pub const NONE: Permissions = Permissions(0);

    /// Every permission.
    pub fn all() -> Self {
        Self::of(Permission::ALL)
    }

    /// The set of these permissions.
    pub fn of(list: &[Permission]) -> Self {
        Self(list.iter().fold(0, |bits, p| bits | 1 << *p as u32))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & (1 << p as u32) != 0
    }

    /// The permissions in both sets.
    pub fn intersect(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// Whether every permission of `other` is in this set.
    pub fn covers(self, other: Permissions) -> bool {
        other.0 & !self.0 == 0
    }

    /// The permissions, in declaration order.
    pub fn list(self) -> Vec<Permission> {
        Permission::ALL.iter().copied().filter(|p| self.contains(*p)).collect()
    }

    /// Parses permission names; an unknown name is a validation error on `field`.
    pub fn parse(field: &str, names: &[String]) -> Result<Permissions> {
        let mut list = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let p = Permission::parse(name)
                .ok_or_else(|| EngineError::invalid(format!("{field}/{i}"), format!("unknown permission `{name}`")))?;
            list.push(p);
        }
        Ok(Permissions::of(&list))
    }

    /// The permission names.
    pub fn names(self) -> Vec<String> {
        self.list().into_iter().map(|p| p.as_str().to_string()).collect()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .description(Some("A named permission within a team."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Permission {
    fn name() -> std::borrow::Cow<'static, str> {
        "Permission".into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Permissions {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new().items(Permission::schema()).into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Permissions {
    fn name() -> std::borrow::Cow<'static, str> {
        "Permissions".into()
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Permissions::of(&Vec::<Permission>::deserialize(d)?))
    }
}

/// The built-in team roles. Custom roles are defined per organisation (`roles` table).
pub const BUILTIN_ROLES: &[&str] = &["owner", "admin", "member", "viewer"];

/// The permissions of a built-in role, or `None` for a custom one.
pub fn builtin_role(name: &str) -> Option<Permissions> {
    use Permission::*;
    match name {
        "owner" | "admin" => Some(Permissions::all()),
        "member" => Some(Permissions::of(&[
            PlaybookEdit,
            ProcessStart,
            ProcessComment,
            TaskComplete,
            TaskAssign,
            AnalyticsRead,
        ])),
        "viewer" => Some(Permissions::of(&[AnalyticsRead])),
        _ => None,
    }
}

/// A user's standing in their organisation. Owners and admins manage the organisation (teams,
/// users, custom roles, login locks, the organisation-wide audit trail); team data still needs
/// team membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

impl OrgRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }

    /// The role with this stored name.
    pub fn parse(s: &str) -> Option<OrgRole> {
        match s {
            "owner" => Some(OrgRole::Owner),
            "admin" => Some(OrgRole::Admin),
            "member" => Some(OrgRole::Member),
            _ => None,
        }
    }
}

impl TryFrom<String> for OrgRole {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        OrgRole::parse(&s).ok_or_else(|| format!("unknown organisation role `{s}`"))
    }
}

/// The caller's standing in one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamGrant {
    /// The membership role (built-in or custom), which assignment rules also refer to.
    pub role: String,
    /// What the caller may do in the team (for an API key: the key's permissions within the
    /// user's).
    pub permissions: Permissions,
}

/// Who is calling, and what they may see and do. Built only by the engine (see the module doc);
/// a store query that reads team data cannot be written without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub(crate) org_id: OrgId,
    pub(crate) user_id: UserId,
    pub(crate) api_key_id: Option<String>,
    pub(crate) org_role: OrgRole,
    pub(crate) teams: Arc<BTreeMap<TeamId, TeamGrant>>,
    pub(crate) source: Option<String>,
    /// The login session (refresh-token family) of an access token.
    pub(crate) session_id: Option<String>,
}

impl Scope {
    /// The caller's organisation.
    pub fn org_id(&self) -> &OrgId {
        &self.org_id
    }

    /// The user acting (for an API key, the user who created it).
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The API key the caller authenticated with, if any.
    pub fn api_key_id(&self) -> Option<&str> {
        self.api_key_id.as_deref()
    }

    /// The caller's organisation role (an API key always acts as a plain member).
    pub fn org_role(&self) -> OrgRole {
        self.org_role
    }

    /// Where the request came from (a client address), recorded in the audit trail.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The same caller, with the address their request came from.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The teams the caller sees, with their role and permissions in each.
    pub fn teams(&self) -> &BTreeMap<TeamId, TeamGrant> {
        &self.teams
    }

    /// The caller's standing in `team`, if they see it.
    pub fn grant(&self, team: &TeamId) -> Option<&TeamGrant> {
        self.teams.get(team)
    }

    /// Whether the caller may do `p` in `team`.
    pub fn can(&self, team: &TeamId, p: Permission) -> bool {
        self.teams.get(team).is_some_and(|g| g.permissions.contains(p))
    }

    /// Checks that the caller may do `p` in `team`: a team they do not see is not found (so its
    /// existence is not revealed); one they see without the permission is forbidden.
    pub fn require(&self, team: &TeamId, p: Permission) -> Result<()> {
        match self.teams.get(team) {
            None => Err(EngineError::not_found("team", team)),
            Some(g) if g.permissions.contains(p) => Ok(()),
            Some(_) if self.api_key_id.is_some() => {
                Err(EngineError::Forbidden(format!("this API key lacks the permission `{p}`")))
            }
            Some(g) => {
                Err(EngineError::Forbidden(format!("role `{}` lacks the permission `{p}` in this team", g.role)))
            }
        }
    }

    /// Checks that the caller is an owner or admin of their organisation (and not an API key).
    pub fn require_org_admin(&self) -> Result<()> {
        match self.org_role {
            OrgRole::Owner | OrgRole::Admin => Ok(()),
            OrgRole::Member => Err(EngineError::Forbidden("this needs an organisation owner or admin".into())),
        }
    }

    /// The teams in which the caller holds `p`.
    pub fn teams_with(&self, p: Permission) -> Vec<TeamId> {
        self.teams.iter().filter(|(_, g)| g.permissions.contains(p)).map(|(t, _)| t.clone()).collect()
    }

    /// The ids of every team the caller sees (what scoped queries filter by).
    pub(crate) fn team_ids(&self) -> impl Iterator<Item = &TeamId> {
        self.teams.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::ALL.len(), 13);
        assert_eq!(Permission::parse("task.delete"), None);
    }

    #[test]
    fn sets_intersect_and_cover() {
        let member = builtin_role("member").unwrap();
        let viewer = builtin_role("viewer").unwrap();
        assert!(member.covers(viewer));
        assert!(!viewer.covers(member));
        assert_eq!(
            member.intersect(Permissions::of(&[Permission::SqlRun, Permission::TaskComplete])).names(),
            ["task.complete"]
        );
        assert_eq!(builtin_role("owner"), Some(Permissions::all()));
        assert_eq!(builtin_role("legal"), None);
        let err = Permissions::parse("permissions", &["sql.run".into(), "sql.drop".into()]).unwrap_err();
        assert_eq!(err.to_string(), "invalid input: permissions/1: unknown permission `sql.drop`");
    }
}

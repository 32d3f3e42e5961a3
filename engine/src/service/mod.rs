//! The engine's operations: what REST, the UI, MCP, the CLI and the demo all call. Each operation
//! takes the caller's [`Scope`], runs in one transaction, writes its audit entry and (through the
//! store) its change events, and returns typed errors.

use crate::access::{OrgRole, Permissions, TeamGrant, builtin_role};
use crate::clock::Clock;
use crate::definition::Definition;
use crate::error::{EngineError, FieldProblem, Result};
use crate::identity::{ApiKey, SigningKeys};
use crate::ids::*;
use crate::model::User;
use crate::store::{NewAuditEntry, Scope, Store, Tx};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod access;
mod audit;
mod directory;
mod events;
mod idempotency;
mod identity;
mod playbooks;
mod processes;
mod tasks;

pub use access::RoleInfo;
pub use audit::AuditVerification;
pub use directory::{NewUser, Registered, Registration};
pub use events::TeamEvent;
pub use idempotency::IdempotencyStart;
pub use identity::{ApiKeySecret, Login, LoginOutcome, Session, ThrottlePolicy, TotpEnrolment};
pub use playbooks::{MAIN_BRANCH, PlaybookDetail, version_id};
pub use processes::{InstanceDetail, StartInstance};
pub use tasks::{CompleteTask, Decision, TaskOutcome};

/// Largest JSON payload (instance input, task output, definition) the engine accepts, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// Longest comment body, in bytes.
pub const MAX_COMMENT_BYTES: usize = 16 * 1024;
/// Longest name or title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Largest page a list returns.
pub const MAX_PAGE: i64 = 1_000;

/// A playbook version, compiled once: its definition and the validators of its schemas.
/// Versions are immutable, so the compiled form never goes stale.
pub(crate) struct CompiledVersion {
    pub definition: Definition,
    pub input: Option<jsonschema::Validator>,
    pub forms: HashMap<String, jsonschema::Validator>,
}

/// The engine: a store, a clock, the token signing keys, the sign-in throttling policy and a
/// cache of compiled versions.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: SigningKeys,
    throttle: ThrottlePolicy,
    compiled: Mutex<HashMap<VersionId, Arc<CompiledVersion>>>,
}

impl Engine {
    /// An engine over `store`, telling time by `clock`, signing tokens with a fresh random key
    /// (see [`Engine::with_signing_keys`]).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            keys: SigningKeys::generate(),
            throttle: ThrottlePolicy::default(),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    /// Signs and verifies access tokens with `keys` (from configuration).
    pub fn with_signing_keys(mut self, keys: SigningKeys) -> Self {
        self.keys = keys;
        self
    }

    /// Throttles failed sign-ins by `policy`.
    pub fn with_throttle_policy(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// The store underneath (for the change-log reader and health checks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The scope of a user, without credentials: for in-process callers that hold the database
    /// itself (the demo, administrative CLI commands, tests). Network interfaces authenticate
    /// instead ([`Engine::authenticate`], [`Engine::authenticate_api_key`]).
    pub async fn trusted_scope(&self, user: &UserId) -> Result<Scope> {
        let mut tx = self.store.begin_read().await?;
        let u = tx.user(user).await?.ok_or_else(|| EngineError::not_found("user", user))?;
        build_scope(&mut *tx, &u, None, None).await
    }

    /// The same caller with their memberships read afresh (after they created or joined a team).
    pub async fn refresh_scope(&self, scope: &Scope) -> Result<Scope> {
        let mut tx = self.store.begin_read().await?;
        let u = tx.user(&scope.user_id).await?.ok_or_else(|| EngineError::not_found("user", &scope.user_id))?;
        let key = match &scope.api_key_id {
            Some(id) => tx.api_key(id).await?.map(|(k, _)| k),
            None => None,
        };
        let mut fresh = build_scope(&mut *tx, &u, key.as_ref(), scope.session_id.clone()).await?;
        fresh.source = scope.source.clone();
        Ok(fresh)
    }

    /// A version visible to the caller, compiled once: versions are immutable, so the cache is
    /// never stale. Only a miss reads the version (through the caller's scope).
    pub(crate) async fn compiled_version(
        &self,
        tx: &mut dyn Tx,
        scope: &Scope,
        id: &VersionId,
    ) -> Result<Arc<CompiledVersion>> {
        if let Some(c) = self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(c.clone());
        }
        let version = tx.version(scope, id).await?.ok_or_else(|| EngineError::not_found("version", id))?;
        let definition = version.definition;
        let validator = |schema: &Value| {
            jsonschema::validator_for(schema).map_err(|e| EngineError::Corrupt(format!("stored schema: {e}")))
        };
        let input = definition.input_schema.as_ref().map(validator).transpose()?;
        let mut forms = HashMap::new();
        for step in &definition.steps {
            if let Some(form) = &step.form {
                forms.insert(step.key.clone(), validator(form)?);
            }
        }
        let compiled = Arc::new(CompiledVersion { definition, input, forms });
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), compiled.clone());
        Ok(compiled)
    }
}

/// Builds the scope of `user` (for an API key: within the key's team and permissions). A custom
/// role that is no longer defined grants nothing beyond reading.
pub(crate) async fn build_scope(
    tx: &mut dyn Tx,
    user: &User,
    key: Option<&ApiKey>,
    session_id: Option<String>,
) -> Result<Scope> {
    let mut teams = std::collections::BTreeMap::new();
    for g in tx.grants(&user.id).await? {
        let permissions = builtin_role(&g.role).or(g.permissions).unwrap_or(Permissions::NONE);
        let grant = match key {
            Some(k) if k.team_id != g.team_id => continue,
            Some(k) => TeamGrant { role: g.role, permissions: permissions.intersect(k.permissions) },
            None => TeamGrant { role: g.role, permissions },
        };
        teams.insert(g.team_id, grant);
    }
    Ok(Scope {
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        api_key_id: key.map(|k| k.id.clone()),
        org_role: if key.is_some() { OrgRole::Member } else { user.org_role },
        teams: Arc::new(teams),
        source: None,
        session_id,
    })
}

/// An audit entry for an action of `scope` on a team's record.
pub(crate) fn audit(
    scope: &Scope,
    team: Option<&TeamId>,
    action: &'static str,
    entity: &'static str,
    entity_id: impl ToString,
    detail: Value,
) -> NewAuditEntry {
    NewAuditEntry {
        org_id: scope.org_id.clone(),
        team_id: team.cloned(),
        actor_id: Some(scope.user_id.clone()),
        api_key_id: scope.api_key_id.clone(),
        source: scope.source.clone(),
        action,
        entity,
        entity_id: entity_id.to_string(),
        detail,
    }
}

/// A count and the noun in the right number, for refusals: `1 playbook`, `3 playbooks`. (The
/// interfaces' formatters are `orgata_reports::text`, which the engine does not depend on.)
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Rejects a JSON payload over [`MAX_PAYLOAD_BYTES`].
pub(crate) fn check_payload(what: &'static str, value: &Value) -> Result<()> {
    let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_PAYLOAD_BYTES {
        return Err(EngineError::TooLarge { what, size, limit: MAX_PAYLOAD_BYTES });
    }
    Ok(())
}

/// Checks a name or title: not blank, at most [`MAX_NAME_CHARS`]; returns it trimmed.
pub(crate) fn check_name(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(EngineError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(EngineError::invalid(field, format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(v.to_string())
}

/// Validates `value` against a compiled schema; each failure names the offending field.
pub(crate) fn validate_against(validator: &jsonschema::Validator, value: &Value, prefix: &str) -> Result<()> {
    let problems: Vec<FieldProblem> =
        validator.iter_errors(value).map(|e| FieldProblem::of_schema(prefix, &e)).collect();
    if problems.is_empty() { Ok(()) } else { Err(EngineError::Validation(problems)) }
}

/// Clamps a requested page size to `1..=MAX_PAGE` (default 100).
pub fn page_size(limit: i64) -> i64 {
    if limit <= 0 { 100 } else { limit.min(MAX_PAGE) }
}

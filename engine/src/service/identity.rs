//! Signing in and proving who you are: login with password and second factor, rotating refresh
//! tokens, access-token and API-key authentication, TOTP enrolment, and sign-in throttling.

use super::directory::verify_password;
use super::{Engine, audit, build_scope, check_name};
use crate::access::{Permission, Permissions};
use crate::error::{EngineError, Result};
use crate::identity::tokens::{ACCESS_AUDIENCE, AccessClaims, ISSUER, MFA_AUDIENCE};
use crate::identity::{ApiKey, RefreshToken, Throttle, random_token, secret_hash, totp};
use crate::ids::*;
use crate::model::*;
use crate::store::{NewAuditEntry, Scope, SessionState, Tx};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long an access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// How long a refresh token lives (each refresh issues a new one).
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
/// How long the password step of a login waits for its second factor.
pub const SECOND_FACTOR_TTL: Duration = Duration::minutes(5);
/// Recovery codes issued when TOTP is enabled.
pub const RECOVERY_CODES: usize = 10;
/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "orgata_";
/// How stale an API key's last-used time may get before a use records it (bounds the writes).
const API_KEY_TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// When failed sign-ins slow down and then lock an account or a client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures counted together when they fall within this window of the first.
    pub window: Duration,
    /// Failures allowed at full speed; after these each attempt waits 2^(n - free) seconds
    /// (capped at `max_delay`) after the last failure.
    pub free_failures: i64,
    pub max_delay: Duration,
    /// Failures of one account that lock it.
    pub account_lock_after: i64,
    /// Failures from one client address that lock it.
    pub address_lock_after: i64,
    /// How long a lock lasts.
    pub lock_for: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            window: Duration::minutes(15),
            free_failures: 3,
            max_delay: Duration::seconds(60),
            account_lock_after: 10,
            address_lock_after: 50,
            lock_for: Duration::minutes(15),
        }
    }
}

/// A sign-in attempt.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Login {
    pub organisation: String,
    pub email: String,
    pub password: String,
    /// A TOTP code or a recovery code, when the account has a second factor (it may also be
    /// given in a second step, see [`Engine::login_second_factor`]).
    pub code: Option<String>,
    /// The client's address, for throttling and the audit trail.
    #[serde(skip)]
    pub source: Option<String>,
}

impl std::fmt::Debug for Login {
    /// Never shows the password or the code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("organisation", &self.organisation)
            .field("email", &self.email)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A signed-in session: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: User,
}

/// What a correct password leads to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LoginOutcome {
    /// Signed in.
    SignedIn(Session),
    /// The account has a second factor: send a code with this challenge.
    SecondFactorRequired { challenge: String, expires_at: DateTime<Utc> },
}

/// A new API key: its record and, this once, its secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeySecret {
    pub key: ApiKey,
    /// `orgata_<id>_<secret>`; only its hash is stored.
    pub secret: String,
}

/// A TOTP enrolment in progress: the secret and the URI an authenticator app scans.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    pub secret: String,
    pub provisioning_uri: String,
}

/// The second-factor challenge's claims.
#[derive(Debug, Serialize, Deserialize)]
struct ChallengeClaims {
    iss: String,
    aud: String,
    sub: UserId,
    org: OrgId,
    exp: i64,
}

/// The subjects a sign-in attempt is throttled under.
struct Subjects {
    account: Option<String>,
    address: Option<String>,
}

impl Engine {
    /// Signs in with organisation, email and password (and the second factor once enrolled).
    /// Wrong credentials of any kind give the same error; repeated failures are slowed and then
    /// locked ([`ThrottlePolicy`]).
    pub async fn login(&self, login: Login) -> Result<LoginOutcome> {
        let denied = || EngineError::Unauthenticated("wrong organisation, email or password".into());
        let now = self.clock.now();
        let mut tx = self.store.begin_read().await?;
        let org = tx.organisation_by_slug(&login.organisation.trim().to_lowercase()).await?;
        let user = match &org {
            Some(o) => tx.user_by_email(&o.id, &login.email.trim().to_lowercase()).await?,
            None => None,
        };
        let subjects = Subjects {
            account: user.as_ref().map(|u| format!("account:{}", u.id)),
            address: login.source.as_ref().map(|a| format!("address:{a}")),
        };
        self.check_throttle(&mut *tx, &subjects, now).await?;
        let stored = match &user {
            Some(u) => tx.password_hash(&u.id).await?,
            None => None,
        };
        let totp = match &user {
            Some(u) => tx.totp(&u.id).await?.filter(|t| t.enabled_at.is_some()),
            None => None,
        };
        drop(tx);
        // An unknown account costs the same hashing work as a known one.
        let stored = stored.or_else(|| Some(DUMMY_HASH.to_string()));
        let password_ok = verify_password(stored, &login.password).await? && user.is_some();
        let (Some(org), Some(user), true) = (&org, &user, password_ok) else {
            let (org_id, user_id) = (org.map(|o| o.id), user.map(|u| u.id));
            self.record_failure(&subjects, org_id.as_ref(), user_id.as_ref(), "password", login.source.as_deref())
                .await?;
            return Err(denied());
        };
        let (org, user) = (org.clone(), user.clone());
        if totp.is_none() {
            return self
                .sign_in(&user, &subjects, login.source.as_deref(), "password")
                .await
                .map(LoginOutcome::SignedIn);
        }
        match login.code {
            Some(code) => self.finish_second_factor(&user, &org.id, &code, &subjects, login.source.as_deref()).await,
            None => {
                let expires_at = now + SECOND_FACTOR_TTL;
                let challenge = self.keys.sign(&ChallengeClaims {
                    iss: ISSUER.into(),
                    aud: MFA_AUDIENCE.into(),
                    sub: user.id.clone(),
                    org: org.id.clone(),
                    exp: expires_at.timestamp(),
                });
                Ok(LoginOutcome::SecondFactorRequired { challenge, expires_at })
            }
        }
    }

    /// The second step of a login: the challenge from [`Engine::login`] and a TOTP or recovery
    /// code.
    pub async fn login_second_factor(&self, challenge: &str, code: &str, source: Option<&str>) -> Result<Session> {
        let claims: ChallengeClaims = self.keys.verify(challenge, MFA_AUDIENCE, self.clock.now())?;
        let user = self.store.begin_read().await?.user(&claims.sub).await?;
        let user = user
            .filter(|u| u.org_id == claims.org)
            .ok_or_else(|| EngineError::Unauthenticated("unknown user".into()))?;
        let subjects =
            Subjects { account: Some(format!("account:{}", user.id)), address: source.map(|a| format!("address:{a}")) };
        match self.finish_second_factor(&user, &claims.org, code, &subjects, source).await? {
            LoginOutcome::SignedIn(session) => Ok(session),
            LoginOutcome::SecondFactorRequired { .. } => {
                Err(EngineError::Unauthenticated("second factor required".into()))
            }
        }
    }

    async fn finish_second_factor(
        &self,
        user: &User,
        org: &OrgId,
        code: &str,
        subjects: &Subjects,
        source: Option<&str>,
    ) -> Result<LoginOutcome> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        self.check_throttle(&mut *tx, subjects, now).await?;
        let accepted = match tx.totp(&user.id).await?.filter(|t| t.enabled_at.is_some()) {
            None => return Err(EngineError::Unauthenticated("no second factor enrolled".into())),
            Some(t) => match totp::matching_step(&t.secret, code, now.timestamp()) {
                // A code is accepted once: its step must be newer than the last accepted.
                Some(step) => tx.accept_totp_step(&user.id, step).await?.then_some("totp"),
                None => tx
                    .use_recovery_code(&user.id, &secret_hash(&normalise_code(code)), now)
                    .await?
                    .then_some("recovery_code"),
            },
        };
        let Some(method) = accepted else {
            drop(tx);
            self.record_failure(subjects, Some(org), Some(&user.id), "second_factor", source).await?;
            return Err(EngineError::Unauthenticated("wrong or already used code".into()));
        };
        tx.commit().await?;
        self.sign_in(user, subjects, source, method).await.map(LoginOutcome::SignedIn)
    }

    /// Issues a session (a new refresh-token family) and clears the account's failures.
    async fn sign_in(&self, user: &User, subjects: &Subjects, source: Option<&str>, method: &str) -> Result<Session> {
        let now = self.clock.now();
        let family = uuid::Uuid::now_v7().to_string();
        let mut tx = self.store.begin_write(now).await?;
        if let Some(account) = &subjects.account {
            tx.clear_throttle(account).await?;
        }
        let session = self.issue(&mut *tx, user, &family, now).await?;
        tx.audit(self_audit(user, source, "auth.login", json!({ "method": method, "session": family })));
        tx.commit().await?;
        Ok(session)
    }

    /// A new access token and refresh token in `family`.
    async fn issue(&self, tx: &mut dyn Tx, user: &User, family: &str, now: DateTime<Utc>) -> Result<Session> {
        let access_expires_at = now + ACCESS_TOKEN_TTL;
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: ACCESS_AUDIENCE.into(),
            sub: user.id.clone(),
            org: user.org_id.clone(),
            sid: family.to_string(),
            iat: now.timestamp(),
            exp: access_expires_at.timestamp(),
        };
        let refresh_token = random_token(32);
        let refresh_expires_at = now + REFRESH_TOKEN_TTL;
        tx.insert_refresh_token(&RefreshToken {
            token_hash: secret_hash(&refresh_token),
            family_id: family.to_string(),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: refresh_expires_at,
            used_at: None,
            revoked_at: None,
        })
        .await?;
        Ok(Session {
            access_token: self.keys.sign(&claims),
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            user: user.clone(),
        })
    }

    /// Trades a refresh token for a new session of the same login. Each refresh token works once:
    /// presenting a used one again means it was stolen, and the whole login is revoked.
    pub async fn refresh(&self, refresh_token: &str, source: Option<&str>) -> Result<Session> {
        let now = self.clock.now();
        let hash = secret_hash(refresh_token);
        let mut tx = self.store.begin_write(now).await?;
        let token = tx
            .refresh_token(&hash)
            .await?
            .ok_or_else(|| EngineError::Unauthenticated("unknown refresh token".into()))?;
        if token.revoked_at.is_some() {
            return Err(EngineError::Unauthenticated("session revoked".into()));
        }
        if token.expires_at <= now {
            return Err(EngineError::Unauthenticated("refresh token expired".into()));
        }
        let user = tx.user(&token.user_id).await?.ok_or_else(|| EngineError::Unauthenticated("unknown user".into()))?;
        if !tx.use_refresh_token(&hash, now).await? {
            tx.revoke_refresh_family(&token.family_id, now).await?;
            tx.audit(self_audit(&user, source, "auth.refresh_reuse", json!({ "session": token.family_id })));
            tx.commit().await?;
            return Err(EngineError::Unauthenticated("refresh token reused; the session is revoked".into()));
        }
        let session = self.issue(&mut *tx, &user, &token.family_id, now).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Ends the caller's session: its refresh tokens stop working, and so do its access tokens.
    pub async fn logout(&self, scope: &Scope) -> Result<()> {
        let Some(session) = scope.session_id.clone() else {
            return Err(EngineError::Forbidden("only a signed-in session can log out".into()));
        };
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.revoke_refresh_family(&session, self.clock.now()).await?;
        tx.audit(audit(scope, None, "auth.logout", "user", scope.user_id(), json!({ "session": session })));
        tx.commit().await
    }

    /// The caller of an access token: its signature, audience and expiry hold, and its session
    /// was not revoked.
    pub async fn authenticate(&self, access_token: &str) -> Result<Scope> {
        let claims: AccessClaims = self.keys.verify(access_token, ACCESS_AUDIENCE, self.clock.now())?;
        let mut tx = self.store.begin_read().await?;
        let found = tx.session_user(&claims.sub, &claims.sid).await?.filter(|(u, _)| u.org_id == claims.org);
        let (user, session) = found.ok_or_else(|| EngineError::Unauthenticated("unknown user".into()))?;
        match session {
            SessionState::Live => {}
            SessionState::Revoked => return Err(EngineError::Unauthenticated("session revoked".into())),
            SessionState::Unknown => return Err(EngineError::Unauthenticated("unknown session".into())),
        }
        self.scope_of(&mut *tx, &user, Some(claims.sid)).await
    }

    /// The caller of an API key: known, unrevoked, unexpired, and its owner still a member of
    /// its team; it acts with its permissions within the owner's.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Scope> {
        let denied = |why: &str| EngineError::Unauthenticated(why.to_string());
        let (id, secret) = key
            .strip_prefix(API_KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .ok_or_else(|| denied("malformed API key"))?;
        let now = self.clock.now();
        let mut tx = self.store.begin_read().await?;
        let (record, hash) = tx.api_key(id).await?.ok_or_else(|| denied("unknown API key"))?;
        if hash != secret_hash(secret) {
            return Err(denied("unknown API key"));
        }
        if record.revoked_at.is_some() {
            return Err(denied("API key revoked"));
        }
        if record.expires_at.is_some_and(|e| e <= now) {
            return Err(denied("API key expired"));
        }
        let user = tx.user(&record.user_id).await?.ok_or_else(|| denied("API key's user is gone"))?;
        let scope = build_scope(&mut *tx, &user, Some(&record), None).await?;
        if scope.grant(&record.team_id).is_none() {
            return Err(denied("API key's user is no longer a member of its team"));
        }
        drop(tx);
        if record.last_used_at.is_none_or(|t| now - t >= API_KEY_TOUCH_INTERVAL) {
            let mut tx = self.store.begin_write(now).await?;
            tx.touch_api_key(&record.id, now).await?;
            tx.commit().await?;
        }
        Ok(scope)
    }

    /// The caller of a bearer credential: an API key (`orgata_…`) or an access token.
    pub async fn authenticate_bearer(&self, credential: &str) -> Result<Scope> {
        if credential.starts_with(API_KEY_PREFIX) {
            self.authenticate_api_key(credential).await
        } else {
            self.authenticate(credential).await
        }
    }

    /// Creates an API key acting as the caller in `team`, with `permissions` (all of the caller's
    /// there when `None`; never more), expiring at `expires_at` if given. The secret is returned
    /// this once.
    pub async fn create_api_key(
        &self,
        scope: &Scope,
        team: &TeamId,
        name: &str,
        permissions: Option<&[String]>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ApiKeySecret> {
        let name = check_name("name", name)?;
        let grant = scope.grant(team).ok_or_else(|| EngineError::not_found("team", team))?;
        if scope.api_key_id().is_some() {
            return Err(EngineError::Forbidden("an API key cannot create API keys".into()));
        }
        let permissions = match permissions {
            Some(names) => Permissions::parse("permissions", names)?,
            None => grant.permissions,
        };
        if !grant.permissions.covers(permissions) {
            let missing: Vec<String> = permissions
                .list()
                .into_iter()
                .filter(|p| !grant.permissions.contains(*p))
                .map(|p| p.to_string())
                .collect();
            return Err(EngineError::Forbidden(format!(
                "a key cannot hold permissions you lack: {}",
                missing.join(", ")
            )));
        }
        let now = self.clock.now();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(EngineError::invalid("expires_at", "must be in the future"));
        }
        let id = uuid::Uuid::now_v7().simple().to_string();
        let secret = random_token(32);
        let key = ApiKey {
            id: id.clone(),
            org_id: scope.org_id.clone(),
            team_id: team.clone(),
            user_id: scope.user_id.clone(),
            name,
            permissions,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin_write(now).await?;
        tx.insert_api_key(&key, &secret_hash(&secret)).await?;
        let detail = json!({ "name": key.name, "permissions": key.permissions, "expires_at": expires_at });
        tx.audit(audit(scope, Some(team), "apikey.create", "api_key", &id, detail));
        tx.commit().await?;
        Ok(ApiKeySecret { secret: format!("{API_KEY_PREFIX}{id}_{secret}"), key })
    }

    /// API keys of a team: the caller's own, or everyone's with `apikeys.manage`.
    pub async fn api_keys(&self, scope: &Scope, team: &TeamId) -> Result<Vec<ApiKey>> {
        scope.grant(team).ok_or_else(|| EngineError::not_found("team", team))?;
        let only = (!scope.can(team, Permission::ApiKeysManage)).then(|| scope.user_id());
        self.store.begin_read().await?.api_keys(team, only).await
    }

    /// Revokes an API key: the caller's own, or any of a team where they hold `apikeys.manage`.
    pub async fn revoke_api_key(&self, scope: &Scope, id: &str) -> Result<ApiKey> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let key = tx.api_key(id).await?.map(|(k, _)| k);
        let visible = key.filter(|k| {
            scope.grant(&k.team_id).is_some()
                && (&k.user_id == scope.user_id() || scope.can(&k.team_id, Permission::ApiKeysManage))
        });
        let mut key = visible.ok_or_else(|| EngineError::not_found("api_key", id))?;
        tx.revoke_api_key(id, now).await?;
        tx.audit(audit(scope, Some(&key.team_id), "apikey.revoke", "api_key", id, json!({ "name": key.name })));
        tx.commit().await?;
        key.revoked_at.get_or_insert(now);
        Ok(key)
    }

    /// Whether the caller signs in with a second factor (TOTP enrolled and confirmed).
    pub async fn totp_enabled(&self, scope: &Scope) -> Result<bool> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.totp(scope.user_id()).await?.is_some_and(|t| t.enabled_at.is_some()))
    }

    /// Starts TOTP enrolment: a new secret, not required at sign-in until confirmed with a code.
    pub async fn enrol_totp(&self, scope: &Scope) -> Result<TotpEnrolment> {
        require_person(scope)?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        if tx.totp(scope.user_id()).await?.is_some_and(|t| t.enabled_at.is_some()) {
            return Err(EngineError::InvalidTransition {
                entity: "totp",
                id: scope.user_id().to_string(),
                action: "enrol",
                state: "already enabled; disable it first".into(),
            });
        }
        let user = tx.user(scope.user_id()).await?.ok_or_else(|| EngineError::not_found("user", scope.user_id()))?;
        let secret = totp::generate_secret();
        tx.set_totp_secret(scope.user_id(), &secret).await?;
        tx.commit().await?;
        Ok(TotpEnrolment { provisioning_uri: totp::provisioning_uri("Orgata", &user.email, &secret), secret })
    }

    /// Confirms TOTP enrolment with a first code; from now on sign-in needs a code. Returns the
    /// one-time recovery codes, shown this once.
    pub async fn confirm_totp(&self, scope: &Scope, code: &str) -> Result<Vec<String>> {
        require_person(scope)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let pending = tx.totp(scope.user_id()).await?.filter(|t| t.enabled_at.is_none());
        let pending = pending.ok_or_else(|| EngineError::not_found("totp enrolment", scope.user_id()))?;
        let step = totp::matching_step(&pending.secret, code, now.timestamp())
            .ok_or_else(|| EngineError::invalid("code", "is not the current code of this secret"))?;
        tx.accept_totp_step(scope.user_id(), step).await?;
        tx.enable_totp(scope.user_id(), now).await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| secret_hash(c)).collect();
        tx.replace_recovery_codes(scope.user_id(), &hashes).await?;
        tx.audit(audit(scope, None, "auth.totp_enable", "user", scope.user_id(), json!({})));
        tx.commit().await?;
        Ok(codes)
    }

    /// Removes the caller's second factor, given their password.
    pub async fn disable_totp(&self, scope: &Scope, password: &str) -> Result<()> {
        require_person(scope)?;
        if !self.check_password(scope.user_id(), password).await? {
            return Err(EngineError::invalid("password", "is not your password"));
        }
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.delete_totp(scope.user_id()).await?;
        tx.audit(audit(scope, None, "auth.totp_disable", "user", scope.user_id(), json!({})));
        tx.commit().await
    }

    /// Accounts and addresses of the caller's organisation that are locked now (owners and
    /// admins).
    pub async fn login_locks(&self, scope: &Scope) -> Result<Vec<Throttle>> {
        scope.require_org_admin()?;
        self.store.begin_read().await?.locks(scope.org_id(), self.clock.now()).await
    }

    /// Lifts a lock of the caller's organisation (owners and admins).
    pub async fn unlock(&self, scope: &Scope, subject: &str) -> Result<()> {
        scope.require_org_admin()?;
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        let t = tx.throttle(subject).await?.filter(|t| t.org_id.as_ref() == Some(scope.org_id()));
        t.ok_or_else(|| EngineError::not_found("lock", subject))?;
        tx.clear_throttle(subject).await?;
        tx.audit(audit(scope, None, "auth.unlock", "lock", subject, json!({})));
        tx.commit().await
    }

    /// Refuses an attempt while a subject is locked or must still wait after its last failure.
    async fn check_throttle(&self, tx: &mut dyn Tx, subjects: &Subjects, now: DateTime<Utc>) -> Result<()> {
        for subject in [&subjects.account, &subjects.address].into_iter().flatten() {
            let Some(t) = tx.throttle(subject).await? else { continue };
            if let Some(until) = t.locked_until.filter(|u| *u > now) {
                return Err(EngineError::Throttled {
                    retry_after_secs: seconds_until(now, until),
                    locked_until: Some(until),
                });
            }
            if t.first_failure + self.throttle.window <= now || t.failures < self.throttle.free_failures {
                continue;
            }
            let next = t.last_failure + self.throttle.delay(t.failures);
            if next > now {
                return Err(EngineError::Throttled { retry_after_secs: seconds_until(now, next), locked_until: None });
            }
        }
        Ok(())
    }

    /// Counts a failed attempt against its account and address, locking them past the policy's
    /// limits, and audits it. Committed on its own: the attempt itself fails.
    async fn record_failure(
        &self,
        subjects: &Subjects,
        org: Option<&OrgId>,
        user: Option<&UserId>,
        step: &str,
        source: Option<&str>,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let limits = [
            (&subjects.account, self.throttle.account_lock_after),
            (&subjects.address, self.throttle.address_lock_after),
        ];
        let mut locked = Vec::new();
        for (subject, lock_after) in limits {
            let Some(subject) = subject else { continue };
            let mut t = match tx.throttle(subject).await? {
                Some(t) if t.first_failure + self.throttle.window > now => t,
                _ => Throttle {
                    subject: subject.clone(),
                    org_id: None,
                    failures: 0,
                    first_failure: now,
                    last_failure: now,
                    locked_until: None,
                },
            };
            t.org_id = org.cloned();
            t.failures += 1;
            t.last_failure = now;
            if t.failures >= lock_after && t.locked_until.is_none_or(|u| u <= now) {
                t.locked_until = Some(now + self.throttle.lock_for);
                locked.push(json!({ "subject": subject, "until": t.locked_until }));
            }
            tx.put_throttle(&t).await?;
        }
        if let Some(org) = org {
            let detail = json!({ "step": step, "locked": locked });
            tx.audit(NewAuditEntry {
                org_id: org.clone(),
                team_id: None,
                actor_id: user.cloned(),
                api_key_id: None,
                source: source.map(str::to_string),
                action: "auth.login_failed",
                entity: "user",
                entity_id: user.map(|u| u.to_string()).unwrap_or_default(),
                detail,
            });
        }
        tx.commit().await
    }
}

impl ThrottlePolicy {
    /// The wait after the `failures`-th failure.
    fn delay(&self, failures: i64) -> Duration {
        let exponent = (failures - self.free_failures).clamp(0, 20) as u32;
        Duration::seconds(2i64.pow(exponent)).min(self.max_delay)
    }
}

/// An audit entry of a user about themselves (sign-in events).
fn self_audit(user: &User, source: Option<&str>, action: &'static str, detail: Value) -> NewAuditEntry {
    NewAuditEntry {
        org_id: user.org_id.clone(),
        team_id: None,
        actor_id: Some(user.id.clone()),
        api_key_id: None,
        source: source.map(str::to_string),
        action,
        entity: "user",
        entity_id: user.id.to_string(),
        detail,
    }
}

fn require_person(scope: &Scope) -> Result<()> {
    if scope.api_key_id().is_some() {
        return Err(EngineError::Forbidden("an API key cannot manage a second factor".into()));
    }
    Ok(())
}

fn seconds_until(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    ((then - now).num_milliseconds() + 999).div_euclid(1000).max(1)
}

/// A recovery code: ten characters of an unambiguous alphabet, as `xxxxx-xxxxx`.
fn recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let chars: String = (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A recovery code as typed: trimmed, lower-case.
fn normalise_code(code: &str) -> String {
    code.trim().to_lowercase()
}

/// An argon2id hash of a random password: verified against when the account does not exist, so
/// that an unknown email costs as much time as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5tqZ9VAtFKdDUUPZ1C9Wk2a6ZaukkU9Ty4J0cbMJzH8";

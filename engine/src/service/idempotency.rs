//! Idempotency keys: a creating request retried with the same key gets the first response, and
//! nothing is created twice. The interfaces (REST) hold the request and response; the engine keeps
//! the record, per caller.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::store::{IdempotencyRecord, Scope};
use chrono::Duration;

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// Longest key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time: run it, then [`Engine::finish_idempotent`] (or [`Engine::abandon_idempotent`]).
    Run,
    /// Done before: send this response again.
    Replay { status: i32, etag: Option<String>, body: String },
}

impl Engine {
    /// Claims `key` for a request with this `fingerprint`, or finds its earlier response. The
    /// same key with a different request is a validation error; one still running is a conflict.
    pub async fn begin_idempotent(&self, scope: &Scope, key: &str, fingerprint: &str) -> Result<IdempotencyStart> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EngineError::invalid(
                "Idempotency-Key",
                format!("must be 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
            ));
        }
        let owner = owner(scope);
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(&format!("idempotency:{owner}:{key}")).await?;
        if let Some(r) = tx.idempotency_record(&owner, key).await?.filter(|r| r.created_at + IDEMPOTENCY_TTL > now) {
            if r.fingerprint != fingerprint {
                return Err(EngineError::invalid("Idempotency-Key", "was used for a different request"));
            }
            return match (r.status, r.body) {
                (Some(status), Some(body)) => Ok(IdempotencyStart::Replay { status, etag: r.etag, body }),
                _ => Err(EngineError::InvalidTransition {
                    entity: "request",
                    id: key.to_string(),
                    action: "repeat",
                    state: "still in progress".into(),
                }),
            };
        }
        let record = IdempotencyRecord {
            owner,
            key: key.to_string(),
            fingerprint: fingerprint.to_string(),
            status: None,
            etag: None,
            body: None,
            created_at: now,
        };
        tx.put_idempotency_record(&record).await?;
        tx.commit().await?;
        Ok(IdempotencyStart::Run)
    }

    /// Records the response of a request begun with [`Engine::begin_idempotent`].
    pub async fn finish_idempotent(
        &self,
        scope: &Scope,
        key: &str,
        status: i32,
        etag: Option<&str>,
        body: &str,
    ) -> Result<()> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.finish_idempotency_record(&owner(scope), key, status, etag, body).await?;
        tx.commit().await
    }

    /// Forgets a request that failed on the server's side, so that a retry runs it again.
    pub async fn abandon_idempotent(&self, scope: &Scope, key: &str) -> Result<()> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        tx.delete_idempotency_record(&owner(scope), key).await?;
        tx.commit().await
    }
}

/// Whose key it is: an API key's own, or the user's.
fn owner(scope: &Scope) -> String {
    match scope.api_key_id() {
        Some(k) => format!("key:{k}"),
        None => format!("user:{}", scope.user_id()),
    }
}

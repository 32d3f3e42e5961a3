// Credentials and sign-in state (`CredentialTx`) and idempotency records (`IdempotencyTx`), part of
// the shared SQL source (`sql.rs` includes this file). None of these writes records a change event.

#[async_trait]
impl CredentialTx for SqlTx {
    async fn insert_refresh_token(&mut self, t: &RefreshToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.user_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn refresh_token(&mut self, token_hash: &str) -> Result<Option<RefreshToken>> {
        Ok(sqlx::query_as("SELECT * FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn use_refresh_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_refresh_family(&mut self, family: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(family)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn session_user(&mut self, user: &UserId, family: &str) -> Result<Option<(User, SessionState)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: User,
            tokens: i64,
            revoked: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT users.*, family.tokens, family.revoked
             FROM users, (SELECT COUNT(*) AS tokens, COUNT(revoked_at) AS revoked
                          FROM refresh_tokens WHERE family_id = $2 AND user_id = $1) AS family
             WHERE users.id = $1",
        )
        .bind(user)
        .bind(family)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(|r| {
            let state = match (r.tokens, r.revoked) {
                (0, _) => SessionState::Unknown,
                (_, 0) => SessionState::Live,
                _ => SessionState::Revoked,
            };
            (r.user, state)
        }))
    }

    async fn revoke_user_refresh_tokens(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey, secret_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, team_id, user_id, name, permissions, secret_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&key.id)
        .bind(&key.org_id)
        .bind(&key.team_id)
        .bind(&key.user_id)
        .bind(&key.name)
        .bind(Json(key.permissions))
        .bind(secret_hash)
        .bind(key.created_at)
        .bind(key.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn api_key(&mut self, id: &str) -> Result<Option<(ApiKey, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            key: ApiKey,
            secret_hash: String,
        }
        let row: Option<Row> =
            sqlx::query_as("SELECT * FROM api_keys WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        Ok(row.map(|r| (r.key, r.secret_hash)))
    }

    async fn api_keys(&mut self, team: &TeamId, user: Option<&UserId>) -> Result<Vec<ApiKey>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM api_keys WHERE team_id = ");
        qb.push_bind(team.clone());
        if let Some(u) = user {
            qb.push(" AND user_id = ").push_bind(u.clone());
        }
        qb.push(" ORDER BY id");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn revoke_api_key(&mut self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn revoke_user_api_keys(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn touch_api_key(&mut self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn totp(&mut self, user: &UserId) -> Result<Option<TotpRow>> {
        Ok(sqlx::query_as("SELECT * FROM user_totp WHERE user_id = $1").bind(user).fetch_optional(&mut *self.tx).await?)
    }

    async fn set_totp_secret(&mut self, user: &UserId, secret: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_totp (user_id, secret, enabled_at, last_step) VALUES ($1, $2, NULL, 0)
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled_at = NULL, last_step = 0",
        )
        .bind(user)
        .bind(secret)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn enable_totp(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE user_totp SET enabled_at = $1 WHERE user_id = $2")
            .bind(now)
            .bind(user)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_totp(&mut self, user: &UserId) -> Result<()> {
        sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(user).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn accept_totp_step(&mut self, user: &UserId, step: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
            .bind(step)
            .bind(user)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_recovery_codes(&mut self, user: &UserId, hashes: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(&mut *self.tx).await?;
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO recovery_codes (user_id, code_hash) ");
        qb.push_values(hashes, |mut b, h| {
            b.push_bind(user.clone()).push_bind(h.clone());
        });
        qb.build().execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn use_recovery_code(&mut self, user: &UserId, hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user)
        .bind(hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn unused_recovery_codes(&mut self, user: &UserId) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn throttle(&mut self, subject: &str) -> Result<Option<Throttle>> {
        Ok(sqlx::query_as("SELECT * FROM login_throttle WHERE subject = $1")
            .bind(subject)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn put_throttle(&mut self, t: &Throttle) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_throttle (subject, org_id, failures, first_failure, last_failure, locked_until)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (subject) DO UPDATE SET org_id = excluded.org_id, failures = excluded.failures,
                 first_failure = excluded.first_failure, last_failure = excluded.last_failure,
                 locked_until = excluded.locked_until",
        )
        .bind(&t.subject)
        .bind(&t.org_id)
        .bind(t.failures)
        .bind(t.first_failure)
        .bind(t.last_failure)
        .bind(t.locked_until)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn clear_throttle(&mut self, subject: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE subject = $1").bind(subject).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn locks(&mut self, org: &OrgId, now: DateTime<Utc>) -> Result<Vec<Throttle>> {
        Ok(sqlx::query_as(
            "SELECT * FROM login_throttle WHERE org_id = $1 AND locked_until > $2 ORDER BY locked_until, subject",
        )
        .bind(org)
        .bind(now)
        .fetch_all(&mut *self.tx)
        .await?)
    }
}

#[async_trait]
impl IdempotencyTx for SqlTx {
    async fn idempotency_record(&mut self, owner: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        Ok(sqlx::query_as("SELECT * FROM idempotency_keys WHERE owner = $1 AND key = $2")
            .bind(owner)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn put_idempotency_record(&mut self, r: &IdempotencyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (owner, key, fingerprint, status, etag, body, created_at)
             VALUES ($1, $2, $3, NULL, NULL, NULL, $4)
             ON CONFLICT (owner, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = NULL, etag = NULL,
                 body = NULL, created_at = excluded.created_at",
        )
        .bind(&r.owner)
        .bind(&r.key)
        .bind(&r.fingerprint)
        .bind(r.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn finish_idempotency_record(
        &mut self,
        owner: &str,
        key: &str,
        status: i32,
        etag: Option<&str>,
        body: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE idempotency_keys SET status = $1, etag = $2, body = $3 WHERE owner = $4 AND key = $5")
            .bind(status)
            .bind(etag)
            .bind(body)
            .bind(owner)
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_idempotency_record(&mut self, owner: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2")
            .bind(owner)
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

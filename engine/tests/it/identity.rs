//! Sign-in, tokens, API keys, second factors and throttling.

use crate::conformance;
use crate::support::*;
use orgata_engine::identity::totp;
use orgata_engine::*;
use serde_json::json;

conformance!(
    login_refresh_rotation_and_logout,
    access_tokens_expire_and_forgeries_are_refused,
    api_keys_act_within_their_team_and_permissions,
    totp_second_factor_window_and_replay,
    failed_sign_ins_slow_down_then_lock,
    idempotency_keys_replay_per_caller,
);

/// The reason of an `Unauthenticated` error.
fn unauthenticated<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(EngineError::Unauthenticated(why)) => why,
        other => panic!("expected not authenticated, got {other:?}"),
    }
}

/// The session id (`sid`) an access token carries.
fn session_of(session: &Session) -> String {
    use base64::Engine as _;
    let payload = session.access_token.split('.').nth(1).expect("a JWT");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&payload).expect("JSON claims");
    claims["sid"].as_str().expect("a session id").to_string()
}

async fn login_refresh_rotation_and_logout(h: Harness) {
    let w = World::new(&h, "acme").await;
    let wrong = Login {
        organisation: "acme".into(),
        email: "owner@acme.test".into(),
        password: "not the password".into(),
        ..Default::default()
    };
    assert_eq!(unauthenticated(h.engine.login(wrong).await), "wrong organisation, email or password");
    let unknown = Login {
        organisation: "nope".into(),
        email: "owner@acme.test".into(),
        password: OWNER_PASSWORD.into(),
        ..Default::default()
    };
    assert_eq!(unauthenticated(h.engine.login(unknown).await), "wrong organisation, email or password");

    let session = h.sign_in("ACME", " Owner@Acme.test ", OWNER_PASSWORD).await;
    assert_eq!(session.user.id, *w.owner.user_id());
    assert_eq!(session.access_expires_at, t0() + chrono::Duration::minutes(15));
    assert_eq!(session.refresh_expires_at, t0() + chrono::Duration::days(30));
    let scope = h.engine.authenticate(&session.access_token).await.unwrap();
    assert_eq!((scope.user_id(), scope.org_role()), (w.owner.user_id(), OrgRole::Owner));
    assert_eq!(scope.grant(&w.team.id).map(|g| g.role.as_str()), Some("owner"));

    // Each refresh token works once; the new one carries on the same session.
    let second = h.engine.refresh(&session.refresh_token, None).await.unwrap();
    assert_ne!(second.refresh_token, session.refresh_token);
    h.engine.authenticate(&second.access_token).await.unwrap();
    // Presenting the used one again is theft: the whole session is revoked.
    assert_eq!(
        unauthenticated(h.engine.refresh(&session.refresh_token, Some("203.0.113.9")).await),
        "refresh token reused; the session is revoked"
    );
    assert_eq!(unauthenticated(h.engine.refresh(&second.refresh_token, None).await), "session revoked");
    assert_eq!(unauthenticated(h.engine.authenticate(&second.access_token).await), "session revoked");
    assert_eq!(unauthenticated(h.engine.refresh("made-up", None).await), "unknown refresh token");

    // A correctly signed token naming a session that does not exist, or another user's, is refused.
    let keys = || SigningKeys::new(vec![9; 32], vec![]).unwrap();
    let forging = h.reopen().await.with_signing_keys(keys());
    let keys = keys();
    let forged = |sid: &str| {
        keys.sign(&orgata_engine::identity::AccessClaims {
            iss: "orgata".into(),
            aud: "orgata-api".into(),
            sub: w.owner.user_id().clone(),
            org: w.org.id.clone(),
            sid: sid.into(),
            iat: t0().timestamp(),
            exp: (t0() + chrono::Duration::minutes(15)).timestamp(),
        })
    };
    assert_eq!(unauthenticated(forging.authenticate(&forged("no-such-session")).await), "unknown session");
    World::new(&h, "globex").await;
    let theirs = h.sign_in("globex", "owner@globex.test", OWNER_PASSWORD).await;
    assert_eq!(unauthenticated(forging.authenticate(&forged(&session_of(&theirs))).await), "unknown session");
    let own = h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
    forging.authenticate(&forged(&session_of(&own))).await.expect("the owner's own live session");

    // Logout ends a session; another session of the same user is untouched.
    let a = h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
    let b = h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
    let scope_a = h.engine.authenticate(&a.access_token).await.unwrap();
    h.engine.logout(&scope_a).await.unwrap();
    assert_eq!(unauthenticated(h.engine.authenticate(&a.access_token).await), "session revoked");
    assert_eq!(unauthenticated(h.engine.refresh(&a.refresh_token, None).await), "session revoked");
    h.engine.authenticate(&b.access_token).await.unwrap();

    // A password change ends every session.
    h.engine.change_password(&scope_a, OWNER_PASSWORD, "a new password!").await.unwrap();
    assert_eq!(unauthenticated(h.engine.refresh(&b.refresh_token, None).await), "session revoked");
    let err = h.engine.change_password(&scope_a, "wrong", "another password").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: current_password: is not the current password");
    h.sign_in("acme", "owner@acme.test", "a new password!").await;

    let actions: Vec<String> = h
        .engine
        .audit_entries(&w.owner, AuditFilter { actor_id: Some(w.owner.user_id().clone()), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "organisation.register",
            "auth.login_failed",
            "auth.login",
            "auth.refresh_reuse",
            "auth.login",
            "auth.login",
            "auth.login",
            "auth.logout",
            "user.change_password",
            "auth.login"
        ]
    );
    let reuse = AuditFilter { action: Some("auth.refresh_reuse".into()), ..Default::default() };
    let reuse = h.engine.audit_entries(&w.owner, reuse).await.unwrap();
    assert_eq!(reuse[0].source.as_deref(), Some("203.0.113.9"));
}

async fn access_tokens_expire_and_forgeries_are_refused(h: Harness) {
    World::new(&h, "acme").await;
    let session = h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
    // Another engine on the same database with its own key (a server with other configuration).
    let other = Engine::new(h.store.clone(), h.clock.clone()).with_signing_keys(SigningKeys::generate());
    assert_eq!(unauthenticated(other.authenticate(&session.access_token).await), "token signed with an unknown key");
    let mut parts: Vec<&str> = session.access_token.split('.').collect();
    let signature = parts[2].replace(|c: char| c != 'A', "A");
    parts[2] = &signature;
    assert_eq!(unauthenticated(h.engine.authenticate(&parts.join(".")).await), "invalid token signature");
    assert_eq!(unauthenticated(h.engine.authenticate("not a token").await), "malformed token");

    h.advance_secs(15 * 60 - 1);
    h.engine.authenticate(&session.access_token).await.unwrap();
    h.advance_secs(1);
    assert_eq!(unauthenticated(h.engine.authenticate(&session.access_token).await), "token expired");
    // The refresh token outlives it.
    let renewed = h.engine.refresh(&session.refresh_token, None).await.unwrap();
    h.engine.authenticate(&renewed.access_token).await.unwrap();
}

async fn api_keys_act_within_their_team_and_permissions(h: Harness) {
    let w = World::new(&h, "acme").await;
    let pb = w.playbook(&h, "Purchase", purchase_definition()).await;
    let bob = w.member(&h, "bob", "member").await;
    let read_only = ["analytics.read".to_string()];
    let key = h.engine.create_api_key(&bob, &w.team.id, "Reporting agent", Some(&read_only), None).await.unwrap();
    assert!(key.secret.starts_with(&format!("orgata_{}_", key.key.id)), "{}", key.secret);
    let agent = h.engine.authenticate_api_key(&key.secret).await.unwrap();
    assert_eq!(agent.api_key_id(), Some(key.key.id.as_str()));
    assert_eq!(agent.user_id(), bob.user_id());
    assert_eq!(agent.org_role(), OrgRole::Member);
    assert_eq!(agent.grant(&w.team.id).unwrap().permissions.names(), ["analytics.read"]);
    // It reads the team, but starting a process needs `process.start`.
    assert_eq!(h.engine.playbooks(&agent, None).await.unwrap().len(), 1);
    let start =
        StartInstance { playbook_id: pb.playbook.id.clone(), branch: None, title: None, input: json!({"amount": 1}) };
    let err = h.engine.start_instance(&agent, start.clone()).await.unwrap_err();
    assert_eq!(err.to_string(), "not allowed: this API key lacks the permission `process.start`");
    // A key never holds more than its creator: bob is a member, not a manager of members.
    let err = h
        .engine
        .create_api_key(&bob, &w.team.id, "Too much", Some(&["members.manage".into(), "task.complete".into()]), None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "not allowed: a key cannot hold permissions you lack: members.manage");
    let err = h.engine.create_api_key(&bob, &w.team.id, "Bad", Some(&["task.fly".into()]), None).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: permissions/0: unknown permission `task.fly`");

    // A key with bob's full permissions can start processes, and its actions are attributed.
    let full = h.engine.create_api_key(&bob, &w.team.id, "Automation", None, None).await.unwrap();
    let automation = h.engine.authenticate_bearer(&full.secret).await.unwrap().with_source("198.51.100.7");
    let started = h.engine.start_instance(&automation, start).await.unwrap();
    let entry = h
        .engine
        .audit_entries(&w.owner, AuditFilter { entity_id: Some(started.instance.id.to_string()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(entry[0].action, "instance.start");
    assert_eq!(entry[0].actor_id.as_ref(), Some(bob.user_id()));
    assert_eq!(entry[0].api_key_id.as_deref(), Some(full.key.id.as_str()));
    assert_eq!(entry[0].source.as_deref(), Some("198.51.100.7"));

    // Last use is recorded; bob lists his own keys, the owner sees everyone's.
    let listed = h.engine.api_keys(&bob, &w.team.id).await.unwrap();
    assert_eq!(listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["Reporting agent", "Automation"]);
    assert_eq!(listed[0].last_used_at, Some(t0()));
    let owner_key = h.engine.create_api_key(&w.owner, &w.team.id, "Owner's", None, None).await.unwrap();
    assert_eq!(h.engine.api_keys(&bob, &w.team.id).await.unwrap().len(), 2);
    assert_eq!(h.engine.api_keys(&w.owner, &w.team.id).await.unwrap().len(), 3);
    assert!(matches!(h.engine.revoke_api_key(&bob, &owner_key.key.id).await, Err(EngineError::NotFound { .. })));

    // Revoked, expired, forged and orphaned keys are refused.
    h.engine.revoke_api_key(&bob, &key.key.id).await.unwrap();
    assert_eq!(unauthenticated(h.engine.authenticate_api_key(&key.secret).await), "API key revoked");
    let forged = format!("orgata_{}_{}", full.key.id, "x".repeat(43));
    assert_eq!(unauthenticated(h.engine.authenticate_api_key(&forged).await), "unknown API key");
    assert_eq!(unauthenticated(h.engine.authenticate_api_key("orgata_nonsense").await), "malformed API key");
    let soon = t0() + chrono::Duration::hours(1);
    let expiring = h.engine.create_api_key(&bob, &w.team.id, "Hourly", None, Some(soon)).await.unwrap();
    h.engine.authenticate_api_key(&expiring.secret).await.unwrap();
    h.advance(60);
    assert_eq!(unauthenticated(h.engine.authenticate_api_key(&expiring.secret).await), "API key expired");
    h.engine.remove_member(&w.owner, &w.team.id, bob.user_id()).await.unwrap();
    assert_eq!(
        unauthenticated(h.engine.authenticate_api_key(&full.secret).await),
        "API key's user is no longer a member of its team"
    );
    let err = h.engine.create_api_key(&agent, &w.team.id, "From a key", None, None).await.unwrap_err();
    assert_eq!(err.to_string(), "not allowed: an API key cannot create API keys");
}

async fn totp_second_factor_window_and_replay(h: Harness) {
    let w = World::new(&h, "acme").await;
    let enrolment = h.engine.enrol_totp(&w.owner).await.unwrap();
    assert_eq!(
        enrolment.provisioning_uri,
        format!(
            "otpauth://totp/Orgata:owner%40acme.test?secret={}&issuer=Orgata&algorithm=SHA1&digits=6&period=30",
            enrolment.secret
        )
    );
    // Until confirmed, sign-in needs no code.
    h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
    let now = || h.clock.now().timestamp();
    let code = |at: i64| totp::code_at(&enrolment.secret, at).unwrap();
    let err = h.engine.confirm_totp(&w.owner, "000000").await;
    let wrong_first = code(now()) == "000000";
    if !wrong_first {
        assert_eq!(err.unwrap_err().to_string(), "invalid input: code: is not the current code of this secret");
    }
    let recovery = h.engine.confirm_totp(&w.owner, &code(now())).await.unwrap();
    assert_eq!(recovery.len(), 10);
    assert!(recovery.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{recovery:?}");

    let login = |code: Option<String>| Login {
        organisation: "acme".into(),
        email: "owner@acme.test".into(),
        password: OWNER_PASSWORD.into(),
        code,
        source: None,
    };
    // The password alone now leads to the second step.
    let LoginOutcome::SecondFactorRequired { challenge, expires_at } = h.engine.login(login(None)).await.unwrap()
    else {
        panic!("expected a second-factor challenge");
    };
    assert_eq!(expires_at, h.clock.now() + chrono::Duration::minutes(5));
    // The code that confirmed enrolment was used: it is not accepted again.
    assert_eq!(
        unauthenticated(h.engine.login_second_factor(&challenge, &code(now()), None).await),
        "wrong or already used code"
    );
    // A code one step ahead (a phone clock running fast) is accepted, once.
    let ahead = code(now() + 30);
    h.engine.login_second_factor(&challenge, &ahead, None).await.unwrap();
    assert_eq!(
        unauthenticated(h.engine.login_second_factor(&challenge, &ahead, None).await),
        "wrong or already used code"
    );
    // Two steps ahead is outside the window.
    h.advance_secs(60);
    assert_eq!(unauthenticated(h.engine.login(login(Some(code(now() + 60)))).await), "wrong or already used code");
    // The current code works in a single step.
    assert!(matches!(h.engine.login(login(Some(code(now())))).await, Ok(LoginOutcome::SignedIn(_))));
    // A recovery code works once, in any case.
    h.engine.login_second_factor(&challenge, &recovery[0].to_uppercase(), None).await.unwrap();
    assert_eq!(
        unauthenticated(h.engine.login_second_factor(&challenge, &recovery[0], None).await),
        "wrong or already used code"
    );
    // The challenge expires; it is no access token either.
    assert_eq!(unauthenticated(h.engine.authenticate(&challenge).await), "token for another audience");
    h.advance_secs(5 * 60);
    assert_eq!(unauthenticated(h.engine.login_second_factor(&challenge, &recovery[1], None).await), "token expired");

    // Disabling needs the password; afterwards the password alone signs in again.
    let err = h.engine.disable_totp(&w.owner, "wrong").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: password: is not your password");
    h.engine.disable_totp(&w.owner, OWNER_PASSWORD).await.unwrap();
    h.sign_in("acme", "owner@acme.test", OWNER_PASSWORD).await;
}

async fn failed_sign_ins_slow_down_then_lock(h: Harness) {
    let w = World::new(&h, "acme").await;
    let attempt = |password: &str, source: &str| Login {
        organisation: "acme".into(),
        email: "owner@acme.test".into(),
        password: password.into(),
        code: None,
        source: Some(source.into()),
    };
    let throttled = |r: Result<LoginOutcome>| match r {
        Err(EngineError::Throttled { retry_after_secs, locked_until }) => (retry_after_secs, locked_until),
        other => panic!("expected throttled, got {other:?}"),
    };
    // Three failures at full speed.
    for _ in 0..3 {
        assert!(matches!(
            h.engine.login(attempt("bad password", "10.0.0.1")).await,
            Err(EngineError::Unauthenticated(_))
        ));
    }
    // Then each attempt waits 1, 2, 4 … seconds after the last failure, even with the right
    // password and from another address.
    assert_eq!(throttled(h.engine.login(attempt(OWNER_PASSWORD, "10.0.0.2")).await), (1, None));
    let mut waited = Vec::new();
    for _ in 3..9 {
        let (wait, _) = throttled(h.engine.login(attempt("bad password", "10.0.0.1")).await);
        waited.push(wait);
        h.advance_secs(wait);
        assert!(matches!(
            h.engine.login(attempt("bad password", "10.0.0.1")).await,
            Err(EngineError::Unauthenticated(_))
        ));
    }
    assert_eq!(waited, [1, 2, 4, 8, 16, 32]);
    // The tenth failure locks the account for 15 minutes.
    h.advance_secs(60);
    assert!(matches!(h.engine.login(attempt("bad password", "10.0.0.1")).await, Err(EngineError::Unauthenticated(_))));
    let until = h.clock.now() + chrono::Duration::minutes(15);
    assert_eq!(throttled(h.engine.login(attempt(OWNER_PASSWORD, "10.0.0.3")).await), (900, Some(until)));

    // Admins see the lock and its end, and can lift it.
    let locks = h.engine.login_locks(&w.owner).await.unwrap();
    let account = format!("account:{}", w.owner.user_id());
    assert_eq!(
        locks.iter().map(|l| (l.subject.as_str(), l.failures, l.locked_until)).collect::<Vec<_>>(),
        [(account.as_str(), 10, Some(until))]
    );
    let bob = w.member(&h, "bob", "member").await;
    assert!(matches!(h.engine.login_locks(&bob).await, Err(EngineError::Forbidden(_))));
    h.engine.unlock(&w.owner, &account).await.unwrap();
    assert!(matches!(h.engine.login(attempt(OWNER_PASSWORD, "10.0.0.3")).await, Ok(LoginOutcome::SignedIn(_))));
    // A success clears the account's count.
    assert!(matches!(h.engine.login(attempt("bad password", "10.0.0.3")).await, Err(EngineError::Unauthenticated(_))));
    assert!(matches!(h.engine.login(attempt(OWNER_PASSWORD, "10.0.0.3")).await, Ok(LoginOutcome::SignedIn(_))));

    // One address failing across accounts (guessing) is locked on its own, by a stricter policy here.
    let strict = ThrottlePolicy { address_lock_after: 4, free_failures: 10, ..Default::default() };
    let engine = Engine::new(h.store.clone(), h.clock.clone()).with_throttle_policy(strict);
    for user in ["a", "b", "c", "d"] {
        let guess = Login {
            organisation: "acme".into(),
            email: format!("{user}@acme.test"),
            password: "guess guess".into(),
            code: None,
            source: Some("192.0.2.66".into()),
        };
        assert!(matches!(engine.login(guess).await, Err(EngineError::Unauthenticated(_))));
    }
    let (_, locked) = throttled(engine.login(attempt(OWNER_PASSWORD, "192.0.2.66")).await);
    assert_eq!(locked, Some(h.clock.now() + chrono::Duration::minutes(15)));
    assert!(matches!(engine.login(attempt(OWNER_PASSWORD, "192.0.2.67")).await, Ok(LoginOutcome::SignedIn(_))));
}

async fn idempotency_keys_replay_per_caller(h: Harness) {
    use orgata_engine::service::IdempotencyStart;
    let w = World::new(&h, "acme").await;
    let bob = w.member(&h, "bob", "member").await;
    let e = &h.engine;
    assert_eq!(e.begin_idempotent(&w.owner, "k1", "fp-a").await.unwrap(), IdempotencyStart::Run);
    // While it runs, a retry is refused; another caller's same key is theirs alone.
    let err = e.begin_idempotent(&w.owner, "k1", "fp-a").await.unwrap_err();
    assert_eq!(err.to_string(), "cannot repeat request `k1`: it is still in progress");
    assert_eq!(e.begin_idempotent(&bob, "k1", "fp-b").await.unwrap(), IdempotencyStart::Run);
    e.finish_idempotent(&w.owner, "k1", 201, Some("\"1\""), "{\"id\":1}").await.unwrap();
    assert_eq!(
        e.begin_idempotent(&w.owner, "k1", "fp-a").await.unwrap(),
        IdempotencyStart::Replay { status: 201, etag: Some("\"1\"".into()), body: "{\"id\":1}".into() }
    );
    let err = e.begin_idempotent(&w.owner, "k1", "fp-other").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: Idempotency-Key: was used for a different request");
    let err = e.begin_idempotent(&w.owner, "bad key", "fp").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: Idempotency-Key: must be 1-255 visible ASCII characters");
    // A server-side failure forgets the key; after 24 hours it is forgotten anyway.
    e.abandon_idempotent(&bob, "k1").await.unwrap();
    assert_eq!(e.begin_idempotent(&bob, "k1", "fp-c").await.unwrap(), IdempotencyStart::Run);
    h.advance(24 * 60);
    assert_eq!(e.begin_idempotent(&w.owner, "k1", "fp-new").await.unwrap(), IdempotencyStart::Run);
}

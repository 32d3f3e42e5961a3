//! The web UI over plain HTTP, as a browser without JavaScript sees it: registration signs the
//! owner in, pages need a session (and say so when it has ended), the TOTP step of sign-in, forms
//! from another site are refused, an expired access token is renewed from the refresh cookie, the
//! profile (password, API keys) and team settings, and unknown pages explained in words — on
//! SQLite and PostgreSQL.

use crate::support::{Browser, Server, call};
use orgata_engine::testing::TestDatabase;
use reqwest::{Client, Method, StatusCode, header};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn web_pages_over_http(db: TestDatabase) {
    let server = Server::start(&db.url);
    let mut b = Browser::new(&server);

    // No session: every page leads to the sign-in page, and back after it.
    let page = b.get("/teams/nope/tasks?status=open").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/sign-in?next=/teams/nope/tasks%3Fstatus%3Dopen");

    // Registration: a wrong form is answered in words, next to its field; a right one signs in.
    let page = b.get("/register").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut registration = vec![
        ("organisation_name", "Web Test"),
        ("organisation_slug", "web test!"),
        ("team_name", "Ops"),
        ("display_name", "Wendy"),
        ("email", "wendy@web.test"),
        ("password", PASSWORD),
        ("confirm_password", PASSWORD),
    ];
    let page = b.post("/register", &registration).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("aria-invalid=\"true\""), "{}", page.body);
    assert!(!b.jar.contains_key("orgata_access"));
    registration[1].1 = "web-test";
    let page = b.post("/register", &registration).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(b.jar.contains_key("orgata_access") && b.jar.contains_key("orgata_refresh"));
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert!(home.location.starts_with("/teams/"), "{}", home.location);
    let dashboard = b.get(&home.location).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("<h1>Ops</h1>"), "{}", dashboard.body);
    assert!(dashboard.body.contains("Nothing assigned to you."));
    let team = home.location.trim_start_matches("/teams/").to_string();

    // Analytics over no events say why there is nothing, instead of drawing empty tables.
    let report = b.get(&format!("/teams/{team}/analytics?tab=variants&fragment=1")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let why = "No events: the source `orgata` has none here, and there are no events at all yet.";
    assert!(report.body.contains(&format!("<p class=\"notice\" data-selection>{why}</p>")), "{}", report.body);
    assert!(!report.body.contains("<table"), "{}", report.body);

    // A form sent from another site is refused, and changes nothing.
    let settings = format!("/teams/{team}/settings");
    let page = b.post_from("http://evil.example", &settings, &[("action", "rename"), ("name", "Pwned")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("sent from another site"), "{}", page.body);
    assert!(b.get(&home.location).await.body.contains("<h1>Ops</h1>"));

    // An access token that no longer verifies is renewed from the refresh cookie, once.
    let refresh = b.jar["orgata_refresh"].clone();
    b.jar.insert("orgata_access".into(), "expired".into());
    let page = b.get(&home.location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_ne!(b.jar["orgata_refresh"], refresh, "the refresh token rotated");
    assert_ne!(b.jar["orgata_access"], "expired");

    // Two-factor sign-in: enrol over REST with the session's access token, then sign in with
    // password and a recovery code.
    let c = Client::new();
    let token = b.jar["orgata_access"].clone();
    let (_, _, enrolment) = call(&c, &server, Method::POST, "/v1/me/totp", Some(&token), &[], None).await;
    let code =
        orgata_engine::identity::totp::code_at(enrolment["secret"].as_str().unwrap(), chrono::Utc::now().timestamp())
            .unwrap();
    let (status, _, codes) =
        call(&c, &server, Method::POST, "/v1/me/totp/confirm", Some(&token), &[], Some(json!({"code": code}))).await;
    assert_eq!(status, StatusCode::OK);
    let page = b.post("/sign-out", &[]).await;
    assert_eq!((page.status, page.location.as_str()), (StatusCode::SEE_OTHER, "/sign-in"));
    assert!(!b.jar.contains_key("orgata_access"));
    let signed_out = b.get("/sign-in").await;
    assert!(signed_out.body.contains("You are signed out."), "{}", signed_out.body);
    // Only this site's paths are followed after sign-in; a control character is no server error.
    for next in ["/%09/evil.example/", "//evil.example", "/%5Cevil.example", "https://evil.example/", "/%0Ax", "/%7F"] {
        let page = b.get(&format!("/sign-in?next={next}")).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
        assert!(page.body.contains(r#"name="next" value="&#x2f;">"#), "{next}: {}", page.body);
    }
    let page = b.get("/sign-in?next=/teams/x/tasks%3Fstatus%3Dopen").await;
    let kept = r#"name="next" value="&#x2f;teams&#x2f;x&#x2f;tasks?status=open">"#;
    assert!(page.body.contains(kept), "{}", page.body);
    let login =
        [("organisation", "web-test"), ("email", "wendy@web.test"), ("password", PASSWORD), ("next", &settings)];
    let page = b.post("/sign-in", &login).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.starts_with("/sign-in/code"), "{}", page.location);
    assert!(!b.jar.contains_key("orgata_access"), "no session before the second factor");
    let page = b.post("/sign-in/code", &[("code", "000000"), ("next", &settings)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("That code is wrong or was already used."), "{}", page.body);
    let recovery = codes["recovery_codes"][0].as_str().unwrap();
    let page = b.post("/sign-in/code", &[("code", recovery), ("next", &settings)]).await;
    assert_eq!((page.status, page.location.as_str()), (StatusCode::SEE_OTHER, settings.as_str()));
    assert_eq!(b.get(&settings).await.status, StatusCode::OK);

    // The profile: a wrong current password is refused in words; an API key's secret is shown
    // once and works against the REST API; the team settings rename the team.
    let profile = b.get("/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("wendy@web.test"), "{}", profile.body);
    let wrong = [
        ("action", "password"),
        ("current_password", "not it at all"),
        ("new_password", "a new long password"),
        ("confirm_password", "a new long password"),
    ];
    let page = b.post("/profile", &wrong).await;
    assert!(page.status.is_client_error(), "{}", page.status);
    assert!(page.body.contains("aria-invalid=\"true\""), "{}", page.body);
    let page = b.post("/profile", &[("action", "create_key"), ("team", &team), ("name", "ci agent")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret =
        page.body.split("orgata_").nth(1).map(|rest| format!("orgata_{}", rest.split(['<', '"', ' ']).next().unwrap()));
    let secret = secret.expect("the new key's secret on the page");
    let (status, _, me) = call(&c, &server, Method::GET, "/v1/me", Some(&secret), &[], None).await;
    assert_eq!((status, me["user"]["email"].as_str()), (StatusCode::OK, Some("wendy@web.test")));
    let page = b.post(&settings, &[("action", "rename"), ("name", "Operations")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(b.get(&settings).await.body.contains("Operations"));

    // The organisation's page: its settings, with a checked box per working day.
    let token = b.jar["orgata_access"].clone();
    let rest = |method: Method, path: String, body: Option<serde_json::Value>| {
        let (c, server, token) = (c.clone(), &server, token.clone());
        async move { call(&c, server, method, &path, Some(&token), &[], body).await }
    };
    let page = b.get("/organisation").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Wendy") && page.body.contains(r#"name="working_days" value="friday" checked"#),
        "{}",
        page.body
    );
    let mut form = vec![
        ("action", "settings"),
        ("time_zone", "Moon/Base"),
        ("working_days", "thursday"),
        ("working_days", "monday"),
        ("workday_start", "08:00"),
        ("workday_end", "16:00"),
        ("week_start", "sunday"),
    ];
    let page = b.post("/organisation", &form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("must be an IANA time zone, like Europe&#x2f;Berlin"), "{}", page.body);
    form[1].1 = "Europe/Paris";
    let page = b.post("/organisation", &form).await;
    assert_eq!((page.status, page.location.as_str()), (StatusCode::SEE_OTHER, "/organisation"));
    let settings_now = rest(Method::GET, "/v1/organisation/settings".into(), None).await.2;
    assert_eq!(
        settings_now,
        json!({"time_zone": "Europe/Paris", "working_days": ["monday", "thursday"], "workday_start": "08:00",
               "workday_end": "16:00", "week_start": "sunday"})
    );

    // A comment is edited and deleted where it is shown; a playbook is archived and restored, and
    // one that processes ran on is not deleted, nor is the team that holds it.
    let steps = json!({"steps": [{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "owner"}}]});
    let created =
        rest(Method::POST, format!("/v1/teams/{team}/playbooks"), Some(json!({"name": "Web", "definition": steps})))
            .await
            .2;
    let playbook = created["playbook"]["id"].as_str().unwrap().to_string();
    let started =
        rest(Method::POST, format!("/v1/teams/{team}/processes"), Some(json!({"playbook_id": playbook}))).await.2;
    let process = started["instance"]["id"].as_str().unwrap().to_string();
    let page = b.post(&format!("/processes/{process}/comments"), &[("body", "Frist")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let comment = rest(Method::GET, format!("/v1/processes/{process}"), None).await.2["comments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = b.get(&format!("/processes/{process}")).await;
    assert!(shown.body.contains(&format!(r#"action="/comments/{comment}""#)), "{}", shown.body);
    let edit = [("action", "edit"), ("body", "First"), ("process", process.as_str())];
    let page = b.post(&format!("/comments/{comment}"), &edit).await;
    assert_eq!((page.status, page.location.clone()), (StatusCode::SEE_OTHER, format!("/processes/{process}#comments")));
    let comments = rest(Method::GET, format!("/v1/processes/{process}"), None).await.2["comments"].clone();
    assert_eq!((&comments[0]["body"], comments[0]["edited_at"].is_string()), (&json!("First"), true));
    assert!(b.get(&format!("/processes/{process}")).await.body.contains("· edited"));
    let page = b.post(&format!("/comments/{comment}"), &[("action", "delete"), ("process", process.as_str())]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(rest(Method::GET, format!("/v1/processes/{process}"), None).await.2["comments"], json!([]));
    let archive = format!("/playbooks/{playbook}/archive");
    let page = b.post(&archive, &[("action", "archive")]).await;
    assert_eq!((page.status, page.location.clone()), (StatusCode::SEE_OTHER, format!("/playbooks/{playbook}")));
    let shown = b.get(&format!("/playbooks/{playbook}")).await;
    assert!(
        shown.body.contains(r#"<span class="badge">Archived</span>"#) && !shown.body.contains("Start a process"),
        "{}",
        shown.body
    );
    let page = b.post(&archive, &[("action", "delete")]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body.contains("You cannot delete this playbook: it is the definition of 1 process (archive it instead)."),
        "{}",
        page.body
    );
    let page = b.post(&archive, &[("action", "restore")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        rest(Method::GET, format!("/v1/playbooks/{playbook}"), None).await.2["playbook"]["archived_at"],
        json!(null)
    );
    let page = b.post(&settings, &[("action", "delete")]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("You cannot delete this team: it is the home of 1 playbook."), "{}", page.body);

    // Someone else's session ends: the page says so in words on the sign-in page.
    b.jar.insert("orgata_access".into(), "garbage".into());
    b.jar.insert("orgata_refresh".into(), "garbage".into());
    let page = b.get(&settings).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let sign_in = b.get(&page.location).await;
    assert!(sign_in.body.contains("Your session has ended. Sign in again to continue."), "{}", sign_in.body);

    // An unknown page is a page in words for a browser, a problem document for an API client.
    let page = b.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // (minijinja escapes `/` in text as `&#x2f;`, which a browser shows as `/`.)
    assert!(page.body.contains("There is no page at &#x2f;no&#x2f;such&#x2f;page."), "{}", page.body);
    let (status, headers, _) = call(&c, &server, Method::GET, "/no/such/page", None, &[], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
}

orgata_engine::on_both_databases!(web_pages_over_http);

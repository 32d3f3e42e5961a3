//! The OpenAPI 3.1 document, generated from the handlers' annotations and the records' types
//! (`#[utoipa::path]`, `ToSchema`), served at `/openapi.json`.

use super::{analytics, events, identity, imports, metrics, ops, processes, sql, teams};
use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Orgata API", version = "1", description = "Teams run their processes on Orgata. Errors are RFC 9457 problem documents."),
    paths(
        ops::healthz, ops::readyz, metrics::render,
        identity::register, identity::login, identity::second_factor, identity::refresh, identity::logout,
        identity::me, identity::change_password, identity::enrol_totp, identity::disable_totp,
        identity::confirm_totp, identity::list_api_keys, identity::create_api_key, identity::revoke_api_key,
        identity::list_users, identity::create_user, identity::set_org_role, identity::list_roles,
        identity::create_role, identity::update_role, identity::delete_role, identity::login_locks,
        identity::unlock,
        teams::list, teams::create, teams::one, teams::update, teams::members, teams::add_member, teams::change_role,
        teams::remove_member,
        processes::list_playbooks, processes::create_playbook, processes::validate_definition,
        processes::get_playbook, processes::update_playbook, processes::list_versions, processes::get_version,
        processes::start_process, processes::list_processes, processes::get_process, processes::cancel_process,
        processes::comment, processes::list_tasks, processes::get_task, processes::update_task,
        processes::complete_task, processes::cancel_task, processes::audit, processes::verify_audit,
        events::events, sql::run, imports::import_log, analytics::report,
    ),
    // Reached only through the recursive `Condition`, whose schema does not collect them.
    components(schemas(orgata_engine::definition::Condition, orgata_engine::definition::CompareOp)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// `Authorization: Bearer <access token or API key>`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

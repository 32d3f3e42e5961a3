//! Reading and verifying the audit trail.

use super::{Engine, page_size};
use crate::access::{OrgRole, Permission};
use crate::audit::{Break, Verifier};
use crate::error::Result;
use crate::ids::OrgId;
use crate::model::AuditEntry;
use crate::store::{AuditFilter, Scope};
use serde::Serialize;

/// Entries read per round trip when verifying a chain.
const VERIFY_PAGE: i64 = 5_000;

/// The result of walking an organisation's audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerification {
    pub org_id: OrgId,
    /// Entries whose links held (in the chains walked until a break).
    pub verified: i64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
}

impl Engine {
    /// The audit trail the caller may read: the entries of their teams where they hold
    /// `audit.read`, and the organisation-wide entries (sign-ins, users, roles) for organisation
    /// owners and admins. Filtered and paged by `filter`, in id order.
    pub async fn audit_entries(&self, scope: &Scope, mut filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        filter.limit = page_size(filter.limit);
        let teams = scope.teams_with(Permission::AuditRead);
        let org_wide = matches!(scope.org_role(), OrgRole::Owner | OrgRole::Admin);
        self.store.begin_read().await?.audit_entries(scope.org_id(), org_wide, &teams, &filter).await
    }

    /// Walks the caller's organisation's audit chain from its first entry and reports the first
    /// broken link (an organisation owner or admin only).
    pub async fn verify_audit(&self, scope: &Scope) -> Result<AuditVerification> {
        scope.require_org_admin()?;
        self.verify_audit_chain(scope.org_id()).await
    }

    /// [`Engine::verify_audit`] for an in-process caller that holds the database (the CLI).
    /// Walks every chain of the organisation (in one consistent snapshot) and stops at the first
    /// broken link.
    pub async fn verify_audit_chain(&self, org: &OrgId) -> Result<AuditVerification> {
        let mut tx = self.store.begin_read().await?;
        let heads = tx.audit_heads(org).await?;
        let mut verified = 0;
        for (chain, head_seq, head_hash) in heads {
            let mut verifier = Verifier::default();
            let mut after = 0;
            let outcome = 'walk: loop {
                let page = tx.audit_chain(org, chain, after, VERIFY_PAGE).await?;
                for e in &page {
                    if let Err(broken) = verifier.check(e) {
                        break 'walk Err(broken);
                    }
                }
                match page.last() {
                    Some(last) if page.len() as i64 == VERIFY_PAGE => after = last.seq,
                    _ => break verifier.finish(chain, head_seq, &head_hash),
                }
            };
            verified += verifier.checked();
            if let Err(broken) = outcome {
                return Ok(AuditVerification { org_id: org.clone(), verified, broken: Some(broken) });
            }
        }
        Ok(AuditVerification { org_id: org.clone(), verified, broken: None })
    }
}

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
pub struct AuditVerification {
    pub org_id: OrgId,
    /// Entries whose links held, from the first.
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
    pub async fn verify_audit_chain(&self, org: &OrgId) -> Result<AuditVerification> {
        let mut tx = self.store.begin_read().await?;
        let mut verifier = Verifier::default();
        let mut after = 0;
        loop {
            let page = tx.audit_chain(org, after, VERIFY_PAGE).await?;
            for e in &page {
                if let Err(broken) = verifier.check(e) {
                    return Ok(AuditVerification {
                        org_id: org.clone(),
                        verified: verifier.checked(),
                        broken: Some(broken),
                    });
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == VERIFY_PAGE => after = last.seq,
                _ => break,
            }
        }
        let head = tx.audit_head(org).await?;
        Ok(match verifier.finish(head) {
            Ok(verified) => AuditVerification { org_id: org.clone(), verified, broken: None },
            Err(broken) => {
                AuditVerification { org_id: org.clone(), verified: verifier.checked(), broken: Some(broken) }
            }
        })
    }
}

//! Typed identifiers. Every id is a UUIDv7 (time-ordered) rendered as text, so ids sort by creation
//! and read the same in PostgreSQL, SQLite, logs and URLs.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    )*};
}

id_type!(
    /// An organisation: the tenant boundary.
    OrgId,
    /// A user of one organisation.
    UserId,
    /// A team within an organisation; the unit that owns playbooks and processes.
    TeamId,
    /// A playbook: a named, versioned process definition of one team.
    PlaybookId,
    /// A process instance: one run of a playbook version.
    InstanceId,
    /// A task: one execution of one step of a process instance.
    TaskId,
    /// A comment on a process instance or one of its tasks.
    CommentId,
);

/// A playbook version's id: the SHA-256 of its canonical JSON, in hex (content addressing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct VersionId(pub String);

impl VersionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for VersionId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

//! The audit trail's hash chains. Each organisation's entries form one or more chains (parallel
//! chains let concurrent writers of one organisation append without queueing behind a single
//! head): entry `seq` of a chain stores the hash of entry `seq - 1` and its own hash, SHA-256 over
//! that previous hash and its content. An altered entry no longer matches its hash; a removed one
//! leaves a gap in `seq` (or, at the end, a chain shorter than its recorded head). A [`Verifier`]
//! walks a chain and reports the first broken link.

use crate::definition::canonical_json;
use crate::model::AuditEntry;
use crate::store::NewAuditEntry;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The content of one link, as hashed.
pub struct Link<'a> {
    pub org_id: &'a str,
    pub chain: i32,
    pub seq: i64,
    pub at_micros: i64,
    pub team_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub source: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub detail: &'a Value,
}

impl Link<'_> {
    /// SHA-256 (hex) of the previous link's hash, a newline, and this link's content as canonical
    /// JSON (an array of its fields, the detail with sorted keys).
    pub fn hash(&self, prev_hash: &str) -> String {
        let content = json!([
            self.org_id,
            self.chain,
            self.seq,
            self.at_micros,
            self.team_id,
            self.actor_id,
            self.api_key_id,
            self.source,
            self.action,
            self.entity,
            self.entity_id,
            canonical_json(self.detail),
        ]);
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(content.to_string().as_bytes());
        hex::encode(h.finalize())
    }

    /// The link an entry about to be written gets at position `seq` of `chain`.
    pub fn of_new(e: &NewAuditEntry, chain: i32, seq: i64, at_micros: i64) -> Link<'_> {
        Link {
            org_id: e.org_id.as_str(),
            chain,
            seq,
            at_micros,
            team_id: e.team_id.as_ref().map(|t| t.as_str()),
            actor_id: e.actor_id.as_ref().map(|u| u.as_str()),
            api_key_id: e.api_key_id.as_deref(),
            source: e.source.as_deref(),
            action: e.action,
            entity: e.entity,
            entity_id: &e.entity_id,
            detail: &e.detail,
        }
    }

    /// The link of a stored entry.
    pub fn of(e: &AuditEntry) -> Link<'_> {
        Link {
            org_id: e.org_id.as_str(),
            chain: e.chain,
            seq: e.seq,
            at_micros: e.at.timestamp_micros(),
            team_id: e.team_id.as_ref().map(|t| t.as_str()),
            actor_id: e.actor_id.as_ref().map(|u| u.as_str()),
            api_key_id: e.api_key_id.as_deref(),
            source: e.source.as_deref(),
            action: &e.action,
            entity: &e.entity,
            entity_id: &e.entity_id,
            detail: &e.detail,
        }
    }
}

/// What is wrong at the first broken link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Break {
    /// The entry's content or hash was changed: its stored hash is not the hash of its content.
    Altered { chain: i32, seq: i64, id: i64 },
    /// The entry does not link to the one before it (that one was changed or replaced).
    Relinked { chain: i32, seq: i64, id: i64 },
    /// Entries are missing before this one.
    Missing { chain: i32, expected_seq: i64, found_seq: i64, id: i64 },
    /// The newest entries are missing: the chain ends before its recorded head.
    Truncated { chain: i32, last_seq: i64, head_seq: i64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Altered { chain, seq, id } => {
                write!(f, "row {id} (entry {seq} of chain {chain}) was altered: its content no longer matches its hash")
            }
            Break::Relinked { chain, seq, id } => write!(
                f,
                "row {id} (entry {seq} of chain {chain}) no longer links to entry {}: that entry was replaced",
                seq - 1
            ),
            Break::Missing { chain, expected_seq, found_seq, id } => write!(
                f,
                "entries {expected_seq} to {} of chain {chain} are missing before row {id} (entry {found_seq})",
                found_seq - 1
            ),
            Break::Truncated { chain, last_seq, head_seq } => {
                write!(f, "entries {} to {head_seq} of chain {chain} are missing at its end", last_seq + 1)
            }
        }
    }
}

/// A chain walk in progress, fed entries in `seq` order.
#[derive(Debug, Default)]
pub struct Verifier {
    last_seq: i64,
    last_hash: String,
    checked: i64,
}

impl Verifier {
    /// Checks the next entry; the first problem found is returned.
    pub fn check(&mut self, e: &AuditEntry) -> Result<(), Break> {
        if e.seq != self.last_seq + 1 {
            return Err(Break::Missing { chain: e.chain, expected_seq: self.last_seq + 1, found_seq: e.seq, id: e.id });
        }
        if e.hash != Link::of(e).hash(&e.prev_hash) {
            return Err(Break::Altered { chain: e.chain, seq: e.seq, id: e.id });
        }
        if e.prev_hash != self.last_hash {
            return Err(Break::Relinked { chain: e.chain, seq: e.seq, id: e.id });
        }
        self.last_seq = e.seq;
        self.last_hash = e.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// How many entries held so far.
    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// Checks the end of chain `chain` against its head `(seq, hash)`.
    pub fn finish(&self, chain: i32, head_seq: i64, head_hash: &str) -> Result<i64, Break> {
        if head_seq != self.last_seq || head_hash != self.last_hash {
            return Err(Break::Truncated { chain, last_seq: self.last_seq, head_seq });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = String::new();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    id: seq * 10,
                    org_id: "org".into(),
                    chain: 2,
                    seq,
                    team_id: None,
                    actor_id: Some("u".into()),
                    api_key_id: None,
                    source: Some("10.0.0.1".into()),
                    action: "task.complete".into(),
                    entity: "task".into(),
                    entity_id: format!("t{seq}"),
                    detail: json!({ "b": 1, "a": seq }),
                    at: Utc.timestamp_micros(1_700_000_000_000_000 + seq).unwrap(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = Link::of(&e).hash(&prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry], head: (i64, String)) -> Result<i64, Break> {
        let mut v = Verifier::default();
        entries.iter().try_for_each(|e| v.check(e))?;
        v.finish(2, head.0, &head.1)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let head = (5, c[4].hash.clone());
        assert_eq!(walk(&c, head), Ok(5));
        assert_eq!(walk(&[], (0, String::new())), Ok(0));
    }

    #[test]
    fn each_kind_of_tampering_points_at_its_entry() {
        let c = chain(5);
        let head = (5, c[4].hash.clone());
        let mut altered = c.clone();
        altered[2].detail = json!({ "a": 99, "b": 1 });
        assert_eq!(walk(&altered, head.clone()), Err(Break::Altered { chain: 2, seq: 3, id: 30 }));

        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(
            walk(&removed, head.clone()),
            Err(Break::Missing { chain: 2, expected_seq: 2, found_seq: 3, id: 30 })
        );

        // Entry 2 rewritten with a consistent hash of its own: entry 3 no longer links to it.
        let mut rewritten = c.clone();
        rewritten[1].action = "task.cancel".into();
        rewritten[1].hash = Link::of(&rewritten[1]).hash(&rewritten[1].prev_hash);
        assert_eq!(walk(&rewritten, head.clone()), Err(Break::Relinked { chain: 2, seq: 3, id: 30 }));

        assert_eq!(walk(&c[..4], head), Err(Break::Truncated { chain: 2, last_seq: 4, head_seq: 5 }));
    }

    #[test]
    fn detail_key_order_does_not_change_the_hash() {
        let c = chain(1);
        let mut reordered = c[0].clone();
        reordered.detail = serde_json::from_str(r#"{"a":1,"b":1}"#).unwrap();
        assert_eq!(Link::of(&reordered).hash(""), c[0].hash);
    }
}

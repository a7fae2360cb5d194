//! An in-memory revocation snapshot, also the format of the CLI's `--revocations` file:
//! `{"jti":["…"],"sub":{"alice":1700000000},"before":null}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{RevocationFacts, RevocationRequest, RevocationStatus};
use crate::error::{Error, Result};

/// A complete revocation set held in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationList {
    /// Revoked token ids.
    #[serde(default)]
    pub jti: BTreeSet<String>,
    /// Subjects revoked before a time.
    #[serde(default)]
    pub sub: BTreeMap<String, u64>,
    /// Global revoked-before time.
    #[serde(default)]
    pub before: Option<u64>,
}

impl RevocationList {
    /// Parses the JSON form; errors name the field path.
    pub fn from_json(json: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::config(&path, e.into_inner())
        })
    }

    /// Looks up everything that concerns `facts`.
    pub fn status_for(&self, facts: &RevocationFacts) -> RevocationStatus {
        RevocationStatus {
            jti_revoked: facts.jti.as_ref().is_some_and(|j| self.jti.contains(j)),
            subject_revoked_before: facts.sub.as_ref().and_then(|s| self.sub.get(s)).copied(),
            global_revoked_before: self.before,
        }
    }

    /// Applies a request. Idempotent; a later "before" time replaces an earlier one, never the
    /// reverse, so replaying an old request cannot un-revoke anything.
    pub fn apply(&mut self, request: &RevocationRequest) {
        match request {
            RevocationRequest::Jti { jti, .. } => {
                self.jti.insert(jti.clone());
            }
            RevocationRequest::Subject { sub, before } => {
                let entry = self.sub.entry(sub.clone()).or_insert(*before);
                *entry = (*entry).max(*before);
            }
            RevocationRequest::Global { before } => {
                self.before = Some(self.before.map_or(*before, |b| b.max(*before)));
            }
        }
    }
}

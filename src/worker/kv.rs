//! The revocation store on Workers KV, with a read deadline (a slow read fails closed).

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::kv::KvStore;
use worker::Delay;

use crate::error::{Error, ErrorCode, Result};
use crate::gateway::RevocationSettings;
use crate::revocation::KeyValueStore;

/// KV binding name of the revocation set.
pub const BINDING: &str = "REVOCATIONS";

/// Workers KV as a [`KeyValueStore`].
pub struct KvRevocations {
    kv: KvStore,
    cache_ttl_s: u64,
    timeout: Duration,
}

impl KvRevocations {
    /// Wraps the binding with the policy's read settings.
    pub fn new(kv: KvStore, settings: &RevocationSettings) -> Self {
        Self {
            kv,
            cache_ttl_s: settings.kv_cache_ttl_s,
            timeout: Duration::from_millis(settings.timeout_ms),
        }
    }
}

fn unavailable(what: &str) -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        format!("revocation store {what}"),
    )
}

impl KeyValueStore for KvRevocations {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        let mut read = self.kv.get(key);
        if self.cache_ttl_s > 0 {
            read = read.cache_ttl(self.cache_ttl_s);
        }
        let read = Box::pin(read.text());
        match select(read, Delay::from(self.timeout)).await {
            Either::Left((Ok(value), _)) => Ok(value),
            Either::Left((Err(_), _)) => Err(unavailable("read failed")),
            Either::Right(_) => Err(unavailable("read timed out")),
        }
    }

    async fn put(&self, key: &str, value: &str, ttl_s: u64) -> Result<()> {
        let write = self
            .kv
            .put(key, value)
            .map_err(|_| unavailable("write failed"))?
            .expiration_ttl(ttl_s)
            .execute();
        match select(Box::pin(write), Delay::from(self.timeout)).await {
            Either::Left((Ok(()), _)) => Ok(()),
            Either::Left((Err(_), _)) => Err(unavailable("write failed")),
            Either::Right(_) => Err(unavailable("write timed out")),
        }
    }
}

//! Remote key sets for `edge-jwt verify`: a policy's `jwks_url` and `issuers[].discovery` /
//! `jwks_url` are fetched here, blocking, under the same rules as the Worker's and the npm
//! package's fetch (https only unless `jwks.allow_http`, checked at load; no redirects; the
//! body bounded by [`MAX_DOCUMENT_BYTES`]; `timeout_ms` over the whole exchange). Which set to
//! fetch, when, and what to make of it is the shared edge validator's decision.

use std::time::Duration;

use edge_jwt::gateway::edge::JwksHost;
use edge_jwt::gateway::jwks::MAX_DOCUMENT_BYTES;
use serde_json::Value;

/// The CLI's fetch: one short-lived process, so no shared copy and nothing to wait for.
pub struct CliJwksHost;

impl JwksHost for CliJwksHost {
    async fn fetch(&self, url: &str, timeout_ms: u64) -> Result<(String, Option<String>), String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_millis(timeout_ms)))
            .build()
            .into();
        let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            return Err(format!(
                "HTTP {status}: redirect not followed (the URL must serve the document itself)"
            ));
        }
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        let cache_control = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_string()
            .map_err(|e| format!("reading the document failed: {e}"))?;
        Ok((body, cache_control))
    }

    async fn shared_get(&self, _key: &str, _timeout_ms: u64) -> Option<String> {
        None
    }

    async fn shared_put(&self, _key: &str, _value: String, _ttl_s: u64, _timeout_ms: u64) {}

    async fn sleep(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    /// Fetch failures go to stderr as the Worker's log lines do; the verdict stays on stdout.
    fn log(&self, event: &Value) {
        eprintln!("{event}");
    }
}

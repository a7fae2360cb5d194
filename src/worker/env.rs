//! Reading the Worker's environment: string bindings (vars and secrets) and the secrets more
//! than one part of the Worker needs (the isolates and the revocation authority).

use worker::Env;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::revocation::snapshot::MIN_KEY_BYTES;

/// A string binding (var or secret); `None` when unset or empty.
pub fn env_string(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
        .filter(|s| !s.is_empty())
}

/// The `SNAPSHOT_KEY` secret (the revocation snapshot's MAC key), when set.
pub fn snapshot_key(env: &Env) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let Some(key) = env_string(env, "SNAPSHOT_KEY") else {
        return Ok(None);
    };
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::config(
            "SNAPSHOT_KEY",
            format!("must be at least {MIN_KEY_BYTES} bytes"),
        ));
    }
    Ok(Some(Zeroizing::new(key.into_bytes())))
}

//! `edge-jwt`: verify, issue, inspect and generate keys from the command line.
//!
//! Machines read JSON on stdout; exit codes: 0 accepted, 1 rejected, 2 configuration or usage
//! error.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use edge_jwt::gateway::edge::EdgeValidator;
use edge_jwt::inspect::inspect;
use edge_jwt::keygen::generate;
use edge_jwt::revocation::KeyValueStore;
use edge_jwt::track::TrackTable;
use edge_jwt::verify::{JwtCompact, Ready};
use edge_jwt::{issue, Alg, Error, ErrorCode, IssueRequest, RevocationList, Signer, Validator};
use futures_util::FutureExt;
use rand_core::OsRng;
use serde_json::{json, Map, Value};

#[path = "edge-jwt/remote_keys.rs"]
mod remote_keys;
use remote_keys::CliJwksHost;

#[derive(Parser)]
#[command(
    name = "edge-jwt",
    version,
    about = "Validate, mint and inspect JWTs under an edge-jwt policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a token; prints {"ok":true,…} (exit 0) or {"ok":false,"error":…} (exit 1).
    Verify {
        /// Policy config JSON file.
        #[arg(long)]
        config: String,
        /// Current time in seconds since the epoch (default: the system clock).
        #[arg(long)]
        now: Option<u64>,
        /// Revocation file: {"jti":[…],"sub":{"alice":1700000000},"before":null}.
        #[arg(long)]
        revocations: Option<String>,
        /// The token, or - to read it from stdin.
        token: String,
    },
    /// Mint a token with a fresh jti and the track's TTL.
    Issue {
        /// Policy config JSON file (its secret suffices for HS*).
        #[arg(long)]
        config: String,
        /// Private JWK file (ES256, EdDSA, RS*/PS*, or an oct key).
        #[arg(long)]
        key: Option<String>,
        /// Algorithm when the key does not name one (default: the key type's usual one).
        #[arg(long)]
        alg: Option<String>,
        /// Subject.
        #[arg(long)]
        sub: String,
        /// Track.
        #[arg(long)]
        track: String,
        /// Lifetime such as 30m or 1h (default and maximum: the track's ceiling).
        #[arg(long)]
        ttl: Option<String>,
        /// Extra claim name=value (value parsed as JSON when it is JSON, else a string).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// Issue time (default: the system clock).
        #[arg(long)]
        now: Option<u64>,
    },
    /// Decode a token WITHOUT verifying it: times, time left, track verdict.
    Inspect {
        /// Policy config whose track table to use (default: the built-in table).
        #[arg(long)]
        config: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Current time (default: the system clock).
        #[arg(long)]
        now: Option<u64>,
        /// The token, or - to read it from stdin.
        token: String,
    },
    /// Revoke through a deployed gateway's admin API (POST /v1/revoke).
    Revoke {
        /// Base URL of the edge-jwt Worker.
        #[arg(long)]
        url: String,
        /// The ADMIN_TOKEN (or an admin-scoped JWT).
        #[arg(long, env = "EDGE_JWT_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// Revoke one token id.
        #[arg(long, group = "what")]
        jti: Option<String>,
        /// With --jti: the token's exp, so the entry expires with it.
        #[arg(long, requires = "jti")]
        exp: Option<u64>,
        /// Revoke every token of a subject issued before --before (default: now).
        #[arg(long, group = "what")]
        sub: Option<String>,
        /// With --sub: the cut-off time.
        #[arg(long, requires = "sub")]
        before: Option<u64>,
        /// Revoke every token issued before this time (kill switch).
        #[arg(long, group = "what")]
        all_before: Option<u64>,
        /// Reason recorded with a jti revocation.
        #[arg(long, requires = "jti")]
        reason: Option<String>,
    },
    /// Ask a deployed gateway whether a token is active (POST /v1/introspect).
    Introspect {
        /// Base URL of the edge-jwt Worker.
        #[arg(long)]
        url: String,
        /// The ADMIN_TOKEN (or an admin-scoped JWT).
        #[arg(long, env = "EDGE_JWT_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// The token, or - to read it from stdin.
        token: String,
    },
    /// Generate a private JWK and the public JWKS.
    Keygen {
        /// ES256, EdDSA, RS256 (and other RS*/PS*) or HS256 (and HS384/HS512).
        #[arg(long)]
        alg: String,
        /// Key id (default: the RFC 7638 thumbprint).
        #[arg(long)]
        kid: Option<String>,
    },
}

/// A failure and the exit code it maps to.
struct Failure {
    error: Error,
    exit: u8,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let exit = if error.code() == ErrorCode::ConfigError {
            2
        } else {
            1
        };
        Failure { error, exit }
    }
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        error: Error::config("", message),
        exit: 2,
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_file(path: &str, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {what} {path}: {e}")))
}

fn read_token(arg: &str) -> Result<String, Failure> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .map_err(|e| usage(format!("cannot read the token from stdin: {e}")))?;
    Ok(token.trim().to_owned())
}

/// The token policy of a config file (its edge sections are checked too, and then unused).
fn load_validator(path: &str) -> Result<Validator, Failure> {
    Ok(edge_jwt::gateway::edge_policy::load(&read_file(path, "config")?)?.0)
}

/// The CLI reads revocations from a file (`--revocations`), never from a store: the edge
/// validator is built without one, and this type only names that (it refuses, should it ever be
/// asked).
struct NoStore;

impl KeyValueStore for NoStore {
    async fn get(&self, _key: &str) -> edge_jwt::Result<Option<String>> {
        Err(Error::new(ErrorCode::RevocationUnavailable, "no store"))
    }
    async fn put(&self, _key: &str, _value: &str, _ttl_s: u64) -> edge_jwt::Result<()> {
        Err(Error::new(ErrorCode::RevocationUnavailable, "no store"))
    }
}

fn verify(
    config: &str,
    now: Option<u64>,
    revocations: Option<&str>,
    token: &str,
) -> Result<Value, Failure> {
    let (validator, edge) = edge_jwt::gateway::edge_policy::load(&read_file(config, "config")?)?;
    // The gateway's own validator: remote key sets (jwks_url, discovery) are fetched as the
    // Worker fetches them.
    let core = EdgeValidator::<NoStore>::new(validator, edge, None);
    let revocations = match revocations {
        Some(path) => Some(RevocationList::from_json(&read_file(
            path,
            "revocations file",
        )?)?),
        None => None,
    };
    let token = read_token(token)?;
    let now = now.unwrap_or_else(system_now);
    let verified = core
        .verify(&CliJwksHost, &token, now, &Ready(&JwtCompact))
        .now_or_never()
        .unwrap_or_else(|| {
            Err(Error::new(
                ErrorCode::JwksUnavailable,
                "the remote key set could not be fetched",
            ))
        })?;
    let facts = verified.revocation_facts();
    let status = revocations
        .as_ref()
        .map(|list| list.status_for(&facts))
        .unwrap_or_default();
    edge_jwt::revocation::check(&facts, &status)?;
    Ok(json!({
        "ok": true,
        "claims": verified.claims(),
        "header": verified.header.fields,
        "track": verified.track.track,
        "ttl_ceiling_s": verified.track.ttl_ceiling_s,
    }))
}

fn parse_claim(raw: &str) -> Result<(String, Value), Failure> {
    let (name, value) = raw
        .split_once('=')
        .ok_or_else(|| usage(format!("--claim expects name=value, got {raw:?}")))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
    Ok((name.to_owned(), value))
}

fn parse_alg(name: &str) -> Result<Alg, Failure> {
    Alg::from_name(name).ok_or_else(|| usage(format!("unknown or unsupported algorithm {name:?}")))
}

#[allow(clippy::too_many_arguments)]
fn issue_token(
    config: &str,
    key: Option<&str>,
    alg: Option<&str>,
    sub: String,
    track: String,
    ttl: Option<&str>,
    claims: &[String],
    now: Option<u64>,
) -> Result<Value, Failure> {
    let (config, edge) = edge_jwt::gateway::edge_policy::split(&read_file(config, "config")?)?;
    let secret = config.secret.clone();
    let (policy, _) = edge_jwt::gateway::edge_policy::build(config, edge)?;
    let alg = alg.map(parse_alg).transpose()?;
    let key = key.map(|path| read_file(path, "key")).transpose()?;
    // The same choice as the Worker and the npm Issuer (Signer::for_policy).
    let signer = Signer::for_policy(
        &policy,
        key.as_deref(),
        secret.as_ref().map(edge_jwt::config::Secret::expose),
        alg,
    )?
    .ok_or_else(|| match secret {
        Some(_) => usage("the policy allows no HMAC algorithm: pass --alg or --key"),
        None => usage("--key is required unless the config has an HMAC secret"),
    })?;
    let ttl_s = ttl
        .map(|t| humantime::parse_duration(t).map_err(|e| usage(format!("--ttl {t:?}: {e}"))))
        .transpose()?
        .map(|d| d.as_secs());
    let claims: Map<String, Value> = claims
        .iter()
        .map(|c| parse_claim(c))
        .collect::<Result<_, _>>()?;
    let issued = issue(
        &policy,
        &signer,
        IssueRequest {
            sub: Some(sub),
            track: Some(track),
            ttl_s,
            claims,
        },
        now.unwrap_or_else(system_now),
        &mut OsRng,
    )?;
    Ok(serde_json::to_value(&issued).unwrap_or_default())
}

/// Whether `host` (as `http::Uri` gives it: IPv6 in brackets) is this machine: `localhost`,
/// 127.0.0.0/8 or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The admin token is a bearer credential: it goes only over https, or in plain http to a
/// loopback host (a local `wrangler dev`). Checked on the URL exactly as the HTTP client will
/// parse it, before any network I/O.
fn check_admin_url(url: &str) -> Result<(), Failure> {
    let refuse = |why: &str| {
        usage(format!(
            "refusing to send --admin-token to {url}: {why} (the URL must be https; plain http \
             only to localhost, 127.0.0.0/8 or [::1])"
        ))
    };
    let uri: ureq::http::Uri = url.parse().map_err(|_| refuse("not a valid URL"))?;
    let host = uri.host().unwrap_or("");
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") && !host.is_empty() => Ok(()),
        Some(scheme) if scheme.eq_ignore_ascii_case("http") && is_loopback_host(host) => Ok(()),
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => {
            Err(refuse("plain http to a host other than loopback"))
        }
        _ => Err(refuse("not an https URL")),
    }
}

/// POSTs JSON to an admin endpoint; the answer is printed whatever its status, and a non-2xx
/// status exits 1.
fn admin_post(base: &str, path: &str, admin_token: &str, body: &Value) -> Result<Value, Failure> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    check_admin_url(&url)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(&url)
        .header("authorization", &format!("Bearer {admin_token}"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| usage(format!("request to {url} failed: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| usage(format!("reading the answer of {url} failed: {e}")))?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if (200..300).contains(&status) {
        Ok(answer)
    } else {
        println!("{answer}");
        Err(Failure {
            error: Error::new(
                ErrorCode::ConfigError,
                format!("{url} answered HTTP {status}"),
            ),
            exit: 1,
        })
    }
}

fn run(cli: Cli) -> Result<Option<Value>, Failure> {
    match cli.command {
        Command::Verify {
            config,
            now,
            revocations,
            token,
        } => verify(&config, now, revocations.as_deref(), &token).map(Some),
        Command::Issue {
            config,
            key,
            alg,
            sub,
            track,
            ttl,
            claims,
            now,
        } => issue_token(
            &config,
            key.as_deref(),
            alg.as_deref(),
            sub,
            track,
            ttl.as_deref(),
            &claims,
            now,
        )
        .map(Some),
        Command::Inspect {
            config,
            json,
            now,
            token,
        } => {
            let tracks = match config {
                Some(path) => load_validator(&path)?.policy().tracks.clone(),
                None => TrackTable::default(),
            };
            let report = inspect(
                &read_token(&token)?,
                &tracks,
                now.unwrap_or_else(system_now),
            )?;
            if json {
                return Ok(Some(serde_json::to_value(report).unwrap_or_default()));
            }
            print!("{}", report.to_text());
            Ok(None)
        }
        Command::Revoke {
            url,
            admin_token,
            jti,
            exp,
            sub,
            before,
            all_before,
            reason,
        } => {
            let body = match (jti, sub, all_before) {
                (Some(jti), None, None) => json!({"jti": jti, "exp": exp, "reason": reason}),
                (None, Some(sub), None) => {
                    json!({"sub": sub, "before": before.unwrap_or_else(system_now)})
                }
                (None, None, Some(before)) => json!({"before": before}),
                _ => return Err(usage("give exactly one of --jti, --sub or --all-before")),
            };
            admin_post(&url, "/v1/revoke", &admin_token, &body).map(Some)
        }
        Command::Introspect {
            url,
            admin_token,
            token,
        } => {
            let body = json!({"token": read_token(&token)?});
            admin_post(&url, "/v1/introspect", &admin_token, &body).map(Some)
        }
        Command::Keygen { alg, kid } => {
            let key = generate(parse_alg(&alg)?, kid.as_deref(), &mut OsRng)?;
            Ok(Some(
                json!({ "private_jwk": key.private_jwk, "jwks": key.public_jwks }),
            ))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(output) => {
            if let Some(value) = output {
                println!("{value}");
            }
            ExitCode::SUCCESS
        }
        Err(Failure { error, exit }) => {
            println!(
                "{}",
                json!({"ok": false, "error": {"code": error.code().code(), "message": error.message()}})
            );
            ExitCode::from(exit)
        }
    }
}

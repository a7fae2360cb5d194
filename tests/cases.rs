//! The shared case table (`tests/cases/*.json`, format in `tests/cases/README.md`) through the
//! core: each row's config is loaded into a validator and an edge policy, its request is
//! planned, its token verified and the plan concluded, exactly as every host does; the status,
//! code, challenge, canonical path and forwarded identity headers must be the row's. Rows marked
//! `cli` also go through `edge-jwt verify`, which must give the same verdict on the token.
//! Rows with `request.dpop` carry DPoP proofs (RFC 9449) made here by hand (header and claims
//! assembled, signed with `Signer::sign`), not by the core's `create_proof`, for the request's
//! absolute URI under [`BASE`].
//! The same rows run through the Worker (workerd), Hono and Express in
//! `tests/js/consumer/cases.test.mjs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a table or fixture that cannot be read must stop the test at that line"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_jwt::gateway::decision::{borrowed_pairs, Plan, RequestParts};
use edge_jwt::gateway::edge_policy::load;
use edge_jwt::Signer;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_edge-jwt");
/// The runner's clock: every `now±N` in the table is relative to it.
const NOW: u64 = 1_700_000_000;
/// The scheme and authority of the runner's requests: `RequestParts::with_uri` gets this plus
/// the row's path, and a DPoP proof's `htu` is made from it.
const BASE: &str = "http://gateway.test";

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// `tests/cases/configs.json`: the shared secret, token defaults and named configs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shared {
    secret: String,
    other_secret: String,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// Private JWKs of the DPoP clients (`request.dpop.key`, `$jkt:<name>`).
    #[serde(default)]
    dpop_keys: Map<String, Value>,
    configs: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    config: Value,
    #[serde(default)]
    token: Option<TokenSpec>,
    #[serde(default)]
    request: RequestSpec,
    expect: Expect,
    #[serde(default)]
    cli: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    raw: Option<String>,
    header: Option<Value>,
    claims: Option<Value>,
    #[serde(default)]
    omit: Vec<String>,
    sign: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    method: Option<String>,
    path: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    dpop: Option<DpopSpec>,
}

/// `request.dpop`: the DPoP proof(s) the request carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DpopSpec {
    key: String,
    htm: Option<String>,
    htu: Option<String>,
    /// `true` (default): the token's hash; `false`: none; `"other"`: another token's.
    ath: Option<Value>,
    iat: Option<String>,
    header: Option<Map<String, Value>>,
    claims: Option<Map<String, Value>>,
    #[serde(default)]
    omit: Vec<String>,
    count: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    code: Option<String>,
    /// Absent: not checked; `null`: no challenge.
    #[serde(default, deserialize_with = "present")]
    challenge: Option<Option<String>>,
    path: Option<String>,
    #[serde(default)]
    forwarded: BTreeMap<String, Option<String>>,
}

/// Tells a member given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn load_cases() -> (Shared, Vec<(String, Case)>) {
    let dir = cases_dir();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let shared: Shared =
        serde_json::from_str(&read(&dir.join("configs.json"))).expect("configs.json");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("configs.json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut names = BTreeSet::new();
    for file in files {
        let rows: Vec<Case> = serde_json::from_str(&read(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for row in rows {
            assert!(
                names.insert(row.name.clone()),
                "duplicate case name {:?}",
                row.name
            );
            cases.push((stem.clone(), row));
        }
    }
    (shared, cases)
}

/// `now`, `now+N`, `now-N` → a time; `{"$repeat": s, "count": n}` → `s` n times; `$jti` → a
/// fresh token id; `$jkt:<name>` → the thumbprint of that DPoP key; anything else as written.
fn expand(value: &Value, jti: &str, keys: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) if s == "$jti" => Value::String(jti.to_owned()),
        Value::String(s) if s.starts_with("$jkt:") => {
            Value::String(thumbprint(dpop_key(keys, &s["$jkt:".len()..])))
        }
        Value::String(s) => match relative_time(s) {
            Some(t) => Value::from(t),
            None => value.clone(),
        },
        Value::Object(o) if o.contains_key("$repeat") => {
            let unit = o["$repeat"].as_str().expect("$repeat is a string");
            let count = o["count"].as_u64().expect("$repeat needs a count");
            let count = usize::try_from(count).expect("a count that fits in memory");
            Value::String(unit.repeat(count))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| expand(v, jti, keys)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), expand(v, jti, keys)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn relative_time(s: &str) -> Option<u64> {
    let rest = s.strip_prefix("now")?;
    if rest.is_empty() {
        return Some(NOW);
    }
    let (sign, digits) = rest.split_at(1);
    let n: u64 = digits.parse().ok()?;
    match sign {
        "+" => Some(NOW + n),
        "-" => Some(NOW - n),
        _ => None,
    }
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn hmac(alg: &str, secret: &str, input: &str) -> String {
    let algorithm = match alg {
        "HS384" => ring::hmac::HMAC_SHA384,
        "HS512" => ring::hmac::HMAC_SHA512,
        _ => ring::hmac::HMAC_SHA256,
    };
    let key = ring::hmac::Key::new(algorithm, secret.as_bytes());
    b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
}

/// Builds the row's token (see tests/cases/README.md).
fn make_token(shared: &Shared, spec: &TokenSpec, serial: usize) -> String {
    if let Some(raw) = &spec.raw {
        return raw.clone();
    }
    let jti = format!("{serial:032x}");
    let (header_text, alg) = match &spec.header {
        Some(Value::String(literal)) => {
            let alg = serde_json::from_str::<Value>(literal)
                .ok()
                .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
            (literal.clone(), alg)
        }
        other => {
            let mut header = shared.header.clone();
            if let Some(Value::Object(extra)) = other {
                header.extend(extra.clone());
            }
            let alg = header.get("alg").and_then(Value::as_str).map(str::to_owned);
            (Value::Object(header).to_string(), alg)
        }
    };
    let claims_of = |overrides: &Map<String, Value>| {
        let mut claims = shared.claims.clone();
        claims.extend(overrides.clone());
        for name in &spec.omit {
            claims.remove(name);
        }
        expand(&Value::Object(claims), &jti, &shared.dpop_keys).to_string()
    };
    let payload_text = match &spec.claims {
        Some(Value::String(literal)) => literal.clone(),
        Some(Value::Object(overrides)) => claims_of(overrides),
        None => claims_of(&Map::new()),
        Some(other) => panic!("token.claims must be an object or a string: {other}"),
    };
    let alg = alg.unwrap_or_default();
    let input = format!(
        "{}.{}",
        b64(header_text.as_bytes()),
        b64(payload_text.as_bytes())
    );
    match spec.sign.as_deref().unwrap_or("hmac") {
        "hmac" => format!("{input}.{}", hmac(&alg, &shared.secret, &input)),
        "other-secret" => format!("{input}.{}", hmac(&alg, &shared.other_secret, &input)),
        "none" => format!("{input}."),
        "tamper" => {
            let signature = hmac(&alg, &shared.secret, &input);
            let mut claims: Map<String, Value> =
                serde_json::from_str(&payload_text).expect("tamper needs JSON claims");
            claims.insert("sub".into(), Value::String("mallory".into()));
            let swapped = b64(Value::Object(claims).to_string().as_bytes());
            format!("{}.{swapped}.{signature}", b64(header_text.as_bytes()))
        }
        other => panic!("unknown token.sign {other:?}"),
    }
}

fn dpop_key<'a>(keys: &'a Map<String, Value>, name: &str) -> &'a Value {
    keys.get(name)
        .unwrap_or_else(|| panic!("no DPoP key named {name:?} in configs.json"))
}

fn member<'a>(jwk: &'a Value, name: &str) -> &'a str {
    jwk[name]
        .as_str()
        .unwrap_or_else(|| panic!("the DPoP key has no {name}"))
}

/// The public half of a DPoP key (RFC 7638's required members), as the proof's `jwk`.
fn public_members(jwk: &Value) -> Map<String, Value> {
    let names: &[&str] = match member(jwk, "kty") {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        other => panic!("DPoP key type {other} is not in the table's keys"),
    };
    names
        .iter()
        .map(|n| ((*n).to_owned(), Value::String(member(jwk, n).to_owned())))
        .collect()
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(jwk: &Value) -> String {
    let members = public_members(jwk);
    let text = members
        .iter()
        .map(|(n, v)| format!("{}:{v}", Value::String(n.clone())))
        .collect::<Vec<_>>()
        .join(",");
    b64(&Sha256::digest(format!("{{{text}}}").as_bytes()))
}

/// `htu` from a row: absent or `{url}` the request's own absolute URL; a path under the
/// runner's base; else the text with `{url}` and `{authority}` replaced.
fn htu_of(htu: Option<&str>, url: &str) -> String {
    let authority = BASE.split_once("://").map_or(BASE, |(_, rest)| rest);
    match htu {
        None => url.to_owned(),
        Some(path) if path.starts_with('/') => format!("{BASE}{path}"),
        Some(text) => text.replace("{url}", url).replace("{authority}", authority),
    }
}

/// The row's DPoP proofs (`count`, default one), each with its own `jti`, made by hand.
fn make_proofs(
    shared: &Shared,
    spec: &DpopSpec,
    method: &str,
    url: &str,
    token: Option<&str>,
    serial: usize,
) -> Vec<String> {
    let jwk = dpop_key(&shared.dpop_keys, &spec.key);
    let signer = Signer::from_jwk(&jwk.to_string(), None).expect("a DPoP key that signs");
    let alg = match member(jwk, "kty") {
        "OKP" => "EdDSA",
        _ => "ES256",
    };
    let ath = match &spec.ath {
        None | Some(Value::Bool(true)) => token.map(|t| b64(&Sha256::digest(t.as_bytes()))),
        Some(Value::Bool(false)) => None,
        Some(Value::String(s)) if s == "other" => {
            Some(b64(&Sha256::digest(b"another access token")))
        }
        Some(other) => panic!("request.dpop.ath must be true, false or \"other\": {other}"),
    };
    let iat = relative_time(spec.iat.as_deref().unwrap_or("now")).expect("iat: now±N");
    (0..spec.count.unwrap_or(1))
        .map(|index| {
            let mut header = Map::new();
            header.insert("typ".into(), "dpop+jwt".into());
            header.insert("alg".into(), alg.into());
            header.insert("jwk".into(), Value::Object(public_members(jwk)));
            header.extend(spec.header.clone().unwrap_or_default());
            let mut claims = Map::new();
            claims.insert("jti".into(), format!("proof-{serial}-{index}").into());
            claims.insert("htm".into(), spec.htm.as_deref().unwrap_or(method).into());
            claims.insert("htu".into(), htu_of(spec.htu.as_deref(), url).into());
            claims.insert("iat".into(), iat.into());
            if let Some(ath) = &ath {
                claims.insert("ath".into(), ath.clone().into());
            }
            claims.extend(spec.claims.clone().unwrap_or_default());
            for name in &spec.omit {
                claims.remove(name);
            }
            let input = format!(
                "{}.{}",
                b64(Value::Object(header).to_string().as_bytes()),
                b64(Value::Object(claims).to_string().as_bytes())
            );
            format!("{input}.{}", b64(&signer.sign(input.as_bytes())))
        })
        .collect()
}

/// The row's config with the table's secret (the Worker takes it from `JWT_SECRET` instead).
fn config_of(shared: &Shared, config: &Value) -> Value {
    let mut config = match config {
        Value::String(name) => shared
            .configs
            .get(name)
            .unwrap_or_else(|| panic!("no config named {name:?} in configs.json"))
            .clone(),
        other => other.clone(),
    };
    config
        .as_object_mut()
        .expect("a config is an object")
        .insert("secret".into(), Value::String(shared.secret.clone()));
    config
}

/// The request's headers, `{token}` replaced; `Authorization: Bearer {token}` when a token is
/// given and no header carries it; one `DPoP` header per proof.
fn headers_of(
    request: &RequestSpec,
    token: Option<&str>,
    proofs: &[String],
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.replace("{token}", token.unwrap_or(""))))
        .collect();
    if let Some(token) = token {
        if !request.headers.values().any(|v| v.contains("{token}")) {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
    }
    for proof in proofs {
        headers.push(("dpop".into(), proof.clone()));
    }
    headers
}

/// What the core decided, in the terms a row states.
#[derive(Debug)]
struct Outcome {
    status: u16,
    code: Option<String>,
    challenge: Option<String>,
    /// Refusal: the body's `error_description`.
    description: Option<String>,
    /// Pass: the canonical path and the headers the next hop sees (lower-case names).
    path: Option<String>,
    forwarded: BTreeMap<String, String>,
}

fn decide(shared: &Shared, case: &Case, token: Option<&str>, proofs: &[String]) -> Outcome {
    let config = config_of(shared, &case.config).to_string();
    let (validator, edge) = load(&config).unwrap_or_else(|e| panic!("config: {e}"));
    let owned_headers = headers_of(&case.request, token, proofs);
    let headers = borrowed_pairs(&owned_headers);
    let target = case.request.path.as_deref().unwrap_or("/api/items");
    let uri = format!("{BASE}{target}");
    // Hosts hand the core the path without the query (the Worker's URL, Hono's path, Express's
    // target up to `?`); the absolute URI keeps it.
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let request = RequestParts::new(
        case.request.method.as_deref().unwrap_or("GET"),
        path,
        &headers,
        false,
    )
    .with_uri(&uri);
    let decided = match edge.plan(&request) {
        Plan::Pass(pass) => Ok(pass),
        Plan::Refuse(refusal) => Err(refusal),
        Plan::Verify(pending) => match validator.verify(&pending.token, NOW) {
            Ok(verified) => edge.conclude(&request, &pending, Ok(&verified), NOW),
            Err(error) => edge.conclude(&request, &pending, Err((error, None)), NOW),
        }
        .map_err(|refusal| *refusal),
    };
    match decided {
        Ok(pass) => {
            let mut seen: BTreeMap<String, String> = owned_headers
                .iter()
                .filter(|(n, _)| !pass.edits.remove.contains(n))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            for (name, value) in &pass.edits.set {
                seen.insert(name.to_ascii_lowercase(), value.clone());
            }
            Outcome {
                status: 200,
                code: None,
                challenge: None,
                description: None,
                path: Some(pass.path),
                forwarded: seen,
            }
        }
        Err(refusal) => {
            let body: Value = serde_json::from_str(&refusal.body).expect("JSON body");
            assert_eq!(
                body["code"].as_str(),
                Some(refusal.error.code().code()),
                "body and error agree"
            );
            Outcome {
                status: refusal.status,
                code: Some(refusal.error.code().code().to_owned()),
                challenge: refusal.challenge,
                description: body["error_description"].as_str().map(str::to_owned),
                path: None,
                forwarded: BTreeMap::new(),
            }
        }
    }
}

/// What a row's expectation says with `{token}`, `{dpop}` (the proofs sent, as one header
/// value) and `{description}` (the body's description, quoted-string-safe) filled in.
fn fill(text: &str, token: Option<&str>, proofs: &[String], description: Option<&str>) -> String {
    let safe = edge_jwt::error::quoted_string_safe(description.unwrap_or_default());
    text.replace("{token}", token.unwrap_or_default())
        .replace("{dpop}", &proofs.join(", "))
        .replace("{description}", &safe)
}

fn check(case: &Case, got: &Outcome, token: Option<&str>, proofs: &[String]) -> Vec<String> {
    let fill = |text: &str| fill(text, token, proofs, got.description.as_deref());
    let mut problems = Vec::new();
    let want = &case.expect;
    if got.status != want.status || got.code != want.code {
        problems.push(format!(
            "core: want {} {:?}, got {} {:?}",
            want.status, want.code, got.status, got.code
        ));
    }
    if let Some(challenge) = &want.challenge {
        let challenge = challenge.as_deref().map(fill);
        if got.challenge != challenge {
            problems.push(format!(
                "core: challenge {:?}, want {challenge:?}",
                got.challenge
            ));
        }
    }
    if let Some(path) = &want.path {
        if got.path.as_ref() != Some(path) {
            problems.push(format!("core: path {:?}, want {path:?}", got.path));
        }
    }
    for (name, value) in &want.forwarded {
        let seen = got.forwarded.get(&name.to_ascii_lowercase());
        let value = value.as_deref().map(fill);
        if seen != value.as_ref() {
            problems.push(format!("core: forwarded {name} = {seen:?}, want {value:?}"));
        }
    }
    problems
}

/// `edge-jwt verify --config <file> --now NOW -` with the token on stdin: `None` when it
/// accepts, else the error code.
fn cli_verdict(config: &Path, token: &str) -> Result<Option<String>, String> {
    let mut child = Command::new(BIN)
        .args(["verify", "--config"])
        .arg(config)
        .args(["--now", &NOW.to_string(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {BIN}: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(token.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "stdout is not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    match (out.status.code(), json["ok"].as_bool()) {
        (Some(0), Some(true)) => Ok(None),
        (Some(1), Some(false)) => Ok(json["error"]["code"].as_str().map(str::to_owned)),
        (status, _) => Err(format!("exit {status:?}: {json}")),
    }
}

#[test]
fn every_row_through_the_core_and_the_cli() {
    let (shared, cases) = load_cases();
    assert!(cases.len() >= 30, "the table has {} rows", cases.len());
    let dir = std::env::temp_dir().join(format!("edge-jwt-cases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    let mut cli_rows = 0;
    for (serial, (file, case)) in cases.iter().enumerate() {
        let token = case
            .token
            .as_ref()
            .map(|spec| make_token(&shared, spec, serial + 1));
        let proofs = case.request.dpop.as_ref().map_or_else(Vec::new, |spec| {
            let method = case.request.method.as_deref().unwrap_or("GET");
            let path = case.request.path.as_deref().unwrap_or("/api/items");
            let url = format!("{BASE}{path}");
            make_proofs(&shared, spec, method, &url, token.as_deref(), serial + 1)
        });
        let outcome = decide(&shared, case, token.as_deref(), &proofs);
        let mut problems = check(case, &outcome, token.as_deref(), &proofs);
        if let Some(cli) = &case.cli {
            let want = match cli {
                Value::Bool(true) => case.expect.code.clone(),
                Value::String(s) if s == "ok" => None,
                Value::String(code) => Some(code.clone()),
                other => panic!("{}: cli must be true, \"ok\" or a code: {other}", case.name),
            };
            let token = token.as_deref().expect("a cli row has a token");
            let config = dir.join(format!("{serial}.json"));
            std::fs::write(&config, config_of(&shared, &case.config).to_string()).unwrap();
            cli_rows += 1;
            match cli_verdict(&config, token) {
                Ok(got) if got == want => {}
                Ok(got) => problems.push(format!("cli: want {want:?}, got {got:?}")),
                Err(e) => problems.push(format!("cli: {e}")),
            }
        }
        for problem in problems {
            failures.push(format!("{file}.json: {}: {problem}", case.name));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} rows through the core, {cli_rows} through the CLI",
        cases.len()
    );
}

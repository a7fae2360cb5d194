//! End-to-end tests of the `edge-jwt` binary: keygen → issue → verify, stdin input, clock
//! boundaries, revocation files, config errors, issue limits, and the UNVERIFIED `inspect`.
//!
//! Every test runs the real binary (`CARGO_BIN_EXE_edge-jwt`) in its own temporary directory
//! and reads the JSON it prints, as a script or a person would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_jwt::{Alg, Signer};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_edge-jwt");

/// A fixed issue time: 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000;
/// A 32-byte HMAC secret (the HS256 minimum).
const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The default leeway (`claims::DEFAULT_LEEWAY_S`), as documented in the README.
const LEEWAY: u64 = 30;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edge-jwt-cli-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("write temp file");
        path
    }

    fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        self.write(name, &value.to_string())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The outcome of one run of the binary.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON printed on stdout.
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?} (stderr: {:?})",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts success and returns the JSON.
    fn ok(&self) -> Value {
        assert_eq!(self.code, 0, "expected exit 0: {self:?}");
        self.json()
    }

    /// Asserts the failure exit code and error code, and returns the error message.
    fn fails(&self, exit: i32, code: &str) -> String {
        assert_eq!(self.code, exit, "expected exit {exit}: {self:?}");
        let out = self.json();
        assert_eq!(out["ok"], json!(false), "{out}");
        assert_eq!(out["error"]["code"], json!(code), "{out}");
        out["error"]["message"]
            .as_str()
            .expect("error.message is a string")
            .to_owned()
    }
}

fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn edge-jwt");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for edge-jwt");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn is_lower_hex_128(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An HS256 policy with only a `secret`.
fn hs256_config(dir: &TempDir) -> PathBuf {
    dir.write_json(
        "config.json",
        &json!({"algorithms": ["HS256"], "secret": SECRET}),
    )
}

/// Issues an HS256 token from the config's secret at `now`; returns the issue output.
fn issue_hs256(config: &Path, track: &str, now: u64, extra: &[&str]) -> Value {
    let now = now.to_string();
    let mut args = vec![
        "issue",
        "--config",
        p(config),
        "--sub",
        "alice",
        "--track",
        track,
        "--now",
        &now,
    ];
    args.extend_from_slice(extra);
    run(&args).ok()
}

fn verify_at(config: &Path, token: &str, now: u64, extra: &[&str]) -> Run {
    let now = now.to_string();
    let mut args = vec!["verify", "--config", p(config), "--now", &now];
    args.extend_from_slice(extra);
    args.push(token);
    run(&args)
}

fn b64_json(value: &Value) -> String {
    Base64UrlUnpadded::encode_string(value.to_string().as_bytes())
}

/// Signs arbitrary header and claims with the HS256 secret, for claims `issue` will not write.
fn hs256_token(header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let signer = Signer::from_secret(SECRET, Alg::HS256).expect("signer");
    let sig = Base64UrlUnpadded::encode_string(&signer.sign(input.as_bytes()));
    format!("{input}.{sig}")
}

/// keygen (with or without --kid) → issue with the private JWK → verify with the public JWKS.
fn keygen_issue_verify(alg: &str, kid: Option<&str>) {
    let dir = TempDir::new(&format!("roundtrip-{alg}"));
    let mut keygen = vec!["keygen", "--alg", alg];
    if let Some(kid) = kid {
        keygen.extend_from_slice(&["--kid", kid]);
    }
    let generated = run(&keygen).ok();
    let private = &generated["private_jwk"];
    assert_eq!(private["alg"], json!(alg), "{generated}");
    let expected_kid = private["kid"].as_str().expect("private kid").to_owned();
    if let Some(kid) = kid {
        assert_eq!(expected_kid, kid);
    } else {
        assert!(!expected_kid.is_empty(), "default kid is the thumbprint");
    }
    // HMAC has nothing public: the policy holds the oct JWK itself.
    let keys = if alg.starts_with("HS") {
        assert_eq!(generated["jwks"], Value::Null, "{generated}");
        json!([private])
    } else {
        let jwks = generated["jwks"].clone();
        let public = &jwks["keys"][0];
        assert_eq!(public["kid"], json!(expected_kid));
        for private_member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                public.get(private_member).is_none(),
                "public JWK leaks {private_member}: {public}"
            );
        }
        jwks
    };
    let key = dir.write_json("private.json", private);
    let config = dir.write_json("config.json", &json!({"algorithms": [alg], "keys": keys}));
    let now = T0.to_string();
    let issued = run(&[
        "issue",
        "--config",
        p(&config),
        "--key",
        p(&key),
        "--sub",
        "alice",
        "--track",
        "2",
        "--now",
        &now,
    ])
    .ok();
    assert_eq!(issued["iat"], json!(T0));
    assert_eq!(
        issued["exp"],
        json!(T0 + 8 * 3600),
        "track 2 defaults to 8 h"
    );
    let token = issued["token"].as_str().expect("token");
    let out = verify_at(&config, token, T0 + 60, &[]).ok();
    assert_eq!(out["ok"], json!(true));
    assert_eq!(out["claims"]["sub"], json!("alice"));
    let jti = out["claims"]["jti"].as_str().expect("jti");
    assert!(is_lower_hex_128(jti), "jti {jti:?}");
    assert_eq!(out["claims"]["jti"], issued["jti"]);
    assert_eq!(out["track"], json!("2"));
    assert_eq!(out["ttl_ceiling_s"], json!(8 * 3600));
    assert_eq!(out["header"]["kid"], json!(expected_kid));
    assert_eq!(out["header"]["alg"], json!(alg));
}

#[test]
fn es256_keygen_issue_verify_round_trip() {
    keygen_issue_verify("ES256", Some("es-key-1"));
}

#[test]
fn eddsa_keygen_issue_verify_round_trip() {
    keygen_issue_verify("EdDSA", Some("ed-key-1"));
}

#[test]
fn rs256_keygen_issue_verify_round_trip() {
    keygen_issue_verify("RS256", Some("rsa-key-1"));
}

#[test]
fn ps256_keygen_issue_verify_round_trip() {
    keygen_issue_verify("PS256", Some("pss-key-1"));
}

#[test]
fn hs256_keygen_issue_verify_round_trip() {
    keygen_issue_verify("HS256", Some("hmac-key-1"));
}

#[test]
fn keygen_without_kid_uses_a_kid_that_issue_and_verify_carry() {
    keygen_issue_verify("EdDSA", None);
}

#[test]
fn two_tokens_issued_in_the_same_second_get_different_jtis() {
    let dir = TempDir::new("jti-unique");
    let config = hs256_config(&dir);
    let a = issue_hs256(&config, "4", T0, &[]);
    let b = issue_hs256(&config, "4", T0, &[]);
    assert!(is_lower_hex_128(a["jti"].as_str().unwrap()));
    assert_ne!(a["jti"], b["jti"]);
}

#[test]
fn hs256_issue_uses_the_config_secret_when_no_key_is_given() {
    let dir = TempDir::new("hs-secret");
    let config = hs256_config(&dir);
    let issued = issue_hs256(&config, "4", T0, &[]);
    let token = issued["token"].as_str().unwrap();
    let out = verify_at(&config, token, T0, &[]).ok();
    assert_eq!(out["claims"]["sub"], json!("alice"));
    assert_eq!(out["header"]["alg"], json!("HS256"));
    assert_eq!(out["track"], json!("4"));
    assert_eq!(out["ttl_ceiling_s"], json!(3600));
    // The same token under another secret is a forgery.
    let other = dir.write_json(
        "other.json",
        &json!({"algorithms": ["HS256"], "secret": "another secret of thirty-two bytes!"}),
    );
    verify_at(&other, token, T0, &[]).fails(1, "bad_signature");
}

#[test]
fn issue_without_key_or_secret_is_a_usage_error() {
    let dir = TempDir::new("no-key");
    let generated = run(&["keygen", "--alg", "ES256"]).ok();
    let config = dir.write_json(
        "config.json",
        &json!({"algorithms": ["ES256"], "keys": generated["jwks"]}),
    );
    let msg = run(&[
        "issue",
        "--config",
        p(&config),
        "--sub",
        "a",
        "--track",
        "4",
    ])
    .fails(2, "config_error");
    assert!(msg.contains("--key"), "{msg}");
}

#[test]
fn verify_dash_reads_the_token_from_stdin_with_the_same_result() {
    let dir = TempDir::new("stdin");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "3", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = (T0 + 10).to_string();
    let from_arg = run(&["verify", "--config", p(&config), "--now", &now, &token]);
    let from_stdin = run_with_stdin(
        &["verify", "--config", p(&config), "--now", &now, "-"],
        Some(&format!("{token}\n")),
    );
    assert_eq!(from_arg.ok(), from_stdin.ok());
    assert_eq!(from_stdin.json()["track"], json!("3"));

    // A rejection is the same through stdin too (same exit code, same error).
    let late = (T0 + 4 * 3600 + LEEWAY).to_string();
    let from_arg = run(&["verify", "--config", p(&config), "--now", &late, &token]);
    let from_stdin = run_with_stdin(
        &["verify", "--config", p(&config), "--now", &late, "-"],
        Some(&token),
    );
    from_arg.fails(1, "expired");
    from_stdin.fails(1, "expired");
    assert_eq!(from_arg.json(), from_stdin.json());
}

#[test]
fn verify_now_before_iat_beyond_leeway_is_iat_in_future() {
    let dir = TempDir::new("iat-future");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "4", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // iat <= now + leeway is accepted; one second earlier is not.
    verify_at(&config, &token, T0 - LEEWAY, &[]).ok();
    verify_at(&config, &token, T0 - LEEWAY - 1, &[]).fails(1, "iat_in_future");
    verify_at(&config, &token, 1, &[]).fails(1, "iat_in_future");
}

#[test]
fn verify_now_after_exp_plus_leeway_is_expired() {
    let dir = TempDir::new("expired");
    let config = hs256_config(&dir);
    let issued = issue_hs256(&config, "4", T0, &[]);
    let exp = issued["exp"].as_u64().unwrap();
    assert_eq!(exp, T0 + 3600);
    let token = issued["token"].as_str().unwrap();
    verify_at(&config, token, exp + LEEWAY - 1, &[]).ok();
    verify_at(&config, token, exp + LEEWAY, &[]).fails(1, "expired");
    verify_at(&config, token, exp + 86_400, &[]).fails(1, "expired");
}

#[test]
fn verify_now_before_nbf_beyond_leeway_is_not_yet_valid() {
    let dir = TempDir::new("nbf");
    let config = hs256_config(&dir);
    let nbf = T0 + 600;
    let token = hs256_token(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"sub": "alice", "iat": T0, "nbf": nbf, "exp": T0 + 3600, "jti": "n1", "track": 4}),
    );
    verify_at(&config, &token, nbf - LEEWAY - 1, &[]).fails(1, "not_yet_valid");
    verify_at(&config, &token, nbf - LEEWAY, &[]).ok();
}

#[test]
fn revocations_file_listing_the_jti_revokes_the_token() {
    let dir = TempDir::new("rev-jti");
    let config = hs256_config(&dir);
    let issued = issue_hs256(&config, "4", T0, &[]);
    let token = issued["token"].as_str().unwrap();
    let listed = dir.write_json("rev.json", &json!({"jti": [issued["jti"]]}));
    verify_at(&config, token, T0, &["--revocations", p(&listed)]).fails(1, "revoked");
    let other = dir.write_json(
        "other.json",
        &json!({"jti": ["00000000000000000000000000000000"], "sub": {}, "before": null}),
    );
    verify_at(&config, token, T0, &["--revocations", p(&other)]).ok();
}

#[test]
fn subject_revocation_spares_a_token_issued_at_the_revocation_time() {
    let dir = TempDir::new("rev-sub");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "4", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let at_iat = dir.write_json("at.json", &json!({"sub": {"alice": T0}}));
    verify_at(&config, &token, T0, &["--revocations", p(&at_iat)]).ok();
    let after_iat = dir.write_json("after.json", &json!({"sub": {"alice": T0 + 1}}));
    verify_at(&config, &token, T0, &["--revocations", p(&after_iat)]).fails(1, "revoked");
    // Another subject's revocation does not touch alice.
    let bob = dir.write_json("bob.json", &json!({"sub": {"bob": T0 + 1}}));
    verify_at(&config, &token, T0, &["--revocations", p(&bob)]).ok();
}

#[test]
fn global_revocation_time_is_strict_too() {
    let dir = TempDir::new("rev-global");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "4", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = dir.write_json("at.json", &json!({"before": T0}));
    verify_at(&config, &token, T0, &["--revocations", p(&at)]).ok();
    let after = dir.write_json("after.json", &json!({"before": T0 + 1}));
    verify_at(&config, &token, T0, &["--revocations", p(&after)]).fails(1, "revoked");
}

#[test]
fn bad_revocations_file_exits_2_with_config_error() {
    let dir = TempDir::new("rev-bad");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "4", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong_type = dir.write_json("type.json", &json!({"jti": "not-a-list"}));
    let msg =
        verify_at(&config, &token, T0, &["--revocations", p(&wrong_type)]).fails(2, "config_error");
    assert!(msg.starts_with("jti"), "{msg}");
    let typo = dir.write_json("typo.json", &json!({"jtis": []}));
    let msg = verify_at(&config, &token, T0, &["--revocations", p(&typo)]).fails(2, "config_error");
    assert!(msg.contains("jtis"), "{msg}");
    let not_json = dir.write("broken.json", "{\"jti\": [");
    verify_at(&config, &token, T0, &["--revocations", p(&not_json)]).fails(2, "config_error");
    let missing = dir.0.join("does-not-exist.json");
    verify_at(&config, &token, T0, &["--revocations", p(&missing)]).fails(2, "config_error");
}

/// Runs verify under a bad config and returns the config error message.
fn config_error_for(config: &Value) -> String {
    let dir = TempDir::new("bad-config");
    let path = dir.write_json("config.json", config);
    let token = hs256_token(
        &json!({"alg": "HS256"}),
        &json!({"sub": "a", "iat": T0, "exp": T0 + 60, "jti": "j"}),
    );
    verify_at(&path, &token, T0, &[]).fails(2, "config_error")
}

#[test]
fn config_with_unknown_field_algorithm_is_rejected_naming_it() {
    let msg = config_error_for(&json!({"algorithm": ["HS256"], "secret": SECRET}));
    assert!(msg.starts_with("algorithm:"), "{msg}");
    assert!(msg.contains("unknown field"), "{msg}");
}

#[test]
fn config_with_short_secret_is_rejected_naming_secret() {
    let msg = config_error_for(&json!({"algorithms": ["HS256"], "secret": "too short"}));
    assert!(msg.starts_with("secret:"), "{msg}");
    // One byte short of the HS256 minimum is still refused.
    let msg = config_error_for(&json!({"algorithms": ["HS256"], "secret": &SECRET[1..]}));
    assert!(msg.starts_with("secret:"), "{msg}");
}

#[test]
fn config_with_es512_is_rejected_naming_its_index() {
    let msg = config_error_for(&json!({"algorithms": ["HS256", "ES512"], "secret": SECRET}));
    assert!(msg.starts_with("algorithms[1]:"), "{msg}");
    assert!(msg.contains("ES512"), "{msg}");
}

#[test]
fn config_without_any_key_is_rejected() {
    for config in [
        json!({"algorithms": ["HS256"]}),
        json!({"algorithms": ["ES256"], "keys": []}),
        json!({"algorithms": ["ES256"], "keys": {"keys": []}}),
    ] {
        let msg = config_error_for(&config);
        assert!(msg.starts_with("keys:"), "{config}: {msg}");
    }
}

#[test]
fn config_with_wrong_nested_type_names_the_nested_path() {
    let msg = config_error_for(
        &json!({"algorithms": ["HS256"], "secret": SECRET, "tracks": {"ttl_s": {"4": "1h"}}}),
    );
    assert!(msg.starts_with("tracks.ttl_s.4:"), "{msg}");
}

#[test]
fn missing_config_file_exits_2() {
    let dir = TempDir::new("missing-config");
    let token = hs256_token(&json!({"alg": "HS256"}), &json!({"exp": T0}));
    verify_at(&dir.0.join("nope.json"), &token, T0, &[]).fails(2, "config_error");
}

#[test]
fn issue_with_ttl_above_the_track_ceiling_is_refused() {
    let dir = TempDir::new("ttl");
    let config = hs256_config(&dir);
    let now = T0.to_string();
    let base = [
        "issue",
        "--config",
        p(&config),
        "--sub",
        "a",
        "--track",
        "4",
        "--now",
        &now,
    ];
    let msg = run(&[&base[..], &["--ttl", "2h"]].concat()).fails(1, "ttl_exceeds_track");
    assert!(msg.contains("3600"), "{msg}");
    // Exactly the ceiling is allowed, and so is less.
    let exact = run(&[&base[..], &["--ttl", "1h"]].concat()).ok();
    assert_eq!(exact["exp"], json!(T0 + 3600));
    let short = run(&[&base[..], &["--ttl", "30m"]].concat()).ok();
    assert_eq!(short["exp"], json!(T0 + 1800));
    // Track 1 allows 12 h.
    let long = run(&[
        "issue",
        "--config",
        p(&config),
        "--sub",
        "a",
        "--track",
        "1",
        "--now",
        &now,
        "--ttl",
        "2h",
    ])
    .ok();
    assert_eq!(long["exp"], json!(T0 + 7200));
}

#[test]
fn extra_claims_keep_strings_and_parse_json_numbers() {
    let dir = TempDir::new("claims");
    let config = hs256_config(&dir);
    let issued = issue_hs256(
        &config,
        "4",
        T0,
        &[
            "--claim",
            "scope=a b",
            "--claim",
            "n=5",
            "--claim",
            "roles=[\"x\",\"y\"]",
        ],
    );
    let out = verify_at(&config, issued["token"].as_str().unwrap(), T0, &[]).ok();
    assert_eq!(out["claims"]["scope"], json!("a b"));
    assert_eq!(out["claims"]["n"], json!(5));
    assert!(out["claims"]["n"].is_u64(), "n is a JSON number");
    assert_eq!(out["claims"]["roles"], json!(["x", "y"]));
}

#[test]
fn issue_refuses_to_let_claim_override_registered_claims() {
    let dir = TempDir::new("reserved");
    let config = hs256_config(&dir);
    for claim in ["exp=1", "iat=5", "jti=mine", "track=1", "sub=mallory"] {
        let out = run(&[
            "issue",
            "--config",
            p(&config),
            "--sub",
            "a",
            "--track",
            "4",
            "--claim",
            claim,
        ]);
        let msg = out.fails(1, "invalid_claim");
        let name = claim.split('=').next().unwrap();
        assert!(msg.contains(name), "{claim}: {msg}");
    }
    let malformed = run(&[
        "issue",
        "--config",
        p(&config),
        "--sub",
        "a",
        "--track",
        "4",
        "--claim",
        "novalue",
    ]);
    malformed.fails(2, "config_error");
}

#[test]
fn inspect_prints_the_unverified_warning_utc_times_time_left_and_verdict() {
    let dir = TempDir::new("inspect");
    let config = hs256_config(&dir);
    let token = issue_hs256(&config, "4", T0, &[])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = (T0 + 600).to_string();
    let out = run(&["inspect", "--now", &now, &token]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = &out.stdout;
    assert!(text.contains("UNVERIFIED"), "{text}");
    // 1700000000 is 2023-11-14T22:13:20Z; exp is one hour later.
    assert!(
        text.contains("2023-11-14T22:13:20+00:00"),
        "iat in UTC: {text}"
    );
    assert!(
        text.contains("2023-11-14T23:13:20+00:00"),
        "exp in UTC: {text}"
    );
    assert!(text.contains("time left: 50m 00s"), "{text}");
    assert!(text.contains("verdict: within_ceiling"), "{text}");
    assert!(text.contains("track: 4"), "{text}");
    assert!(text.contains("\"sub\": \"alice\""), "{text}");

    // Past exp it says how long ago.
    let late = (T0 + 3600 + 125).to_string();
    let text = run(&["inspect", "--now", &late, &token]).stdout;
    assert!(text.contains("expired 2m 05s ago"), "{text}");
}

#[test]
fn inspect_reports_a_lifetime_above_the_track_ceiling() {
    // `issue` refuses to mint this, so it is signed directly: track 4 living 2 h.
    let token = hs256_token(
        &json!({"alg": "HS256"}),
        &json!({"sub": "a", "iat": T0, "exp": T0 + 7200, "jti": "j", "track": 4}),
    );
    let now = T0.to_string();
    let text = run(&["inspect", "--now", &now, &token]).stdout;
    assert!(text.contains("verdict: exceeds_ceiling"), "{text}");
    let report = run(&["inspect", "--json", "--now", &now, &token]).ok();
    assert_eq!(report["track"]["verdict"], json!("exceeds_ceiling"));
    assert_eq!(report["track"]["lifetime_s"], json!(7200));
    assert_eq!(report["track"]["ttl_ceiling_s"], json!(3600));
    // And verify agrees that it is over the ceiling.
    let dir = TempDir::new("inspect-exceeds");
    let config = hs256_config(&dir);
    verify_at(&config, &token, T0, &[]).fails(1, "ttl_exceeds_track");
}

#[test]
fn inspect_shows_the_cnf_binding() {
    let now = T0.to_string();
    let claims =
        |cnf: Value| json!({"sub": "a", "iat": T0, "exp": T0 + 60, "jti": "j", "cnf": cnf});
    let cases = [
        (
            json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
            "dpop",
            true,
        ),
        (
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            "mtls",
            true,
        ),
        (json!({"jkt": "a", "x5t#S256": "b"}), "dpop+mtls", true),
        (json!({"jkt": 7}), "invalid", false),
        (json!({}), "none", false),
    ];
    for (cnf, kind, constrained) in cases {
        let token = hs256_token(&json!({"alg": "HS256"}), &claims(cnf.clone()));
        let report = run(&["inspect", "--json", "--now", &now, &token]).ok();
        assert_eq!(report["binding"]["kind"], json!(kind), "{cnf}");
        assert_eq!(
            report["binding"]["sender_constrained"],
            json!(constrained),
            "{cnf}"
        );
    }
    let token = hs256_token(
        &json!({"alg": "HS256"}),
        &claims(json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})),
    );
    let text = run(&["inspect", "--now", &now, &token]).stdout;
    assert!(
        text.contains("binding: dpop (sender-constrained)  cnf.jkt: 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        "{text}"
    );
    let bearer = hs256_token(
        &json!({"alg": "HS256"}),
        &json!({"sub": "a", "exp": T0 + 60}),
    );
    let text = run(&["inspect", "--now", &now, &bearer]).stdout;
    assert!(text.contains("binding: none (a bearer token)"), "{text}");
}

#[test]
fn inspect_json_says_verified_false() {
    let dir = TempDir::new("inspect-json");
    let config = hs256_config(&dir);
    let issued = issue_hs256(&config, "2", T0, &[]);
    let now = (T0 + 60).to_string();
    let report = run(&[
        "inspect",
        "--json",
        "--now",
        &now,
        issued["token"].as_str().unwrap(),
    ])
    .ok();
    assert_eq!(report["verified"], json!(false));
    assert!(report["warning"].as_str().unwrap().contains("UNVERIFIED"));
    assert_eq!(report["claims"]["jti"], issued["jti"]);
    assert_eq!(report["time_left_s"], json!(8 * 3600 - 60));
    assert_eq!(report["track"]["track"], json!("2"));
    assert_eq!(report["track"]["verdict"], json!("within_ceiling"));
    let times = report["times"].as_array().unwrap();
    let exp = times.iter().find(|t| t["claim"] == json!("exp")).unwrap();
    assert_eq!(exp["unix"], json!(T0 + 8 * 3600));
    assert_eq!(exp["utc"], json!("2023-11-15T06:13:20+00:00"));
}

/// The unsecured JWT of RFC 7519 §6.1: `alg: none` and an empty signature segment.
fn unsecured_token(alg: &str, signature: &str) -> String {
    let header = b64_json(&json!({"alg": alg, "typ": "JWT"}));
    let payload = b64_json(&json!({"sub": "admin", "iat": T0, "exp": T0 + 600, "jti": "x"}));
    format!("{header}.{payload}.{signature}")
}

#[test]
fn inspect_shows_an_alg_none_token_that_verify_rejects() {
    let token = unsecured_token("none", "");
    let now = T0.to_string();
    let report = run(&["inspect", "--json", "--now", &now, &token]).ok();
    assert_eq!(report["header"]["alg"], json!("none"));
    assert_eq!(report["claims"]["sub"], json!("admin"));
    assert_eq!(report["verified"], json!(false));
    let text = run(&["inspect", "--now", &now, &token]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("UNVERIFIED"));
    assert!(text.stdout.contains("\"alg\":\"none\""), "{}", text.stdout);

    // verify refuses `none` in any case, whatever the signature segment holds.
    let dir = TempDir::new("alg-none");
    let config = hs256_config(&dir);
    for alg in ["none", "None", "NONE", "nOnE"] {
        verify_at(&config, &unsecured_token(alg, "AAAA"), T0, &[]).fails(1, "alg_not_allowed");
    }
}

#[test]
fn verify_rejects_the_standard_unsecured_jwt_with_alg_not_allowed() {
    let dir = TempDir::new("alg-none-empty-sig");
    let config = hs256_config(&dir);
    let msg = verify_at(&config, &unsecured_token("none", ""), T0, &[]).fails(1, "alg_not_allowed");
    assert!(msg.contains("none"), "{msg}");
}

#[test]
fn inspect_of_garbage_is_malformed_exit_1() {
    run(&["inspect", "not-a-token"]).fails(1, "malformed");
}

// ---------------------------------------------------------------------------------------------
// revoke / introspect: where the admin token may be sent

const ADMIN_TOKEN: &str = "cli-admin-token-0123456789abcdef";

/// A loopback HTTP server that records each request (head and body) and answers 200
/// `{"ok":true}`, until it is stopped.
struct AdminServer {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminServer {
    fn start(listener: std::net::TcpListener) -> AdminServer {
        use std::io::{BufRead, BufReader, Read};
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};

        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let (stream, _) = match listener.accept() {
                    Ok(conn) => conn,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        continue;
                    }
                    Err(e) => panic!("accept: {e}"),
                };
                stream.set_nonblocking(false).expect("blocking stream");
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut request = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    request.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                request.push_str(&String::from_utf8_lossy(&body));
                seen.lock().unwrap().push(request);
                let answer = "{\"ok\":true}";
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        AdminServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn on(addr: &str) -> Option<AdminServer> {
        std::net::TcpListener::bind(addr)
            .ok()
            .map(AdminServer::start)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn revoke_jti(url: &str) -> Run {
    run(&[
        "revoke",
        "--url",
        url,
        "--admin-token",
        ADMIN_TOKEN,
        "--jti",
        "some-jti",
    ])
}

fn introspect(url: &str) -> Run {
    run(&[
        "introspect",
        "--url",
        url,
        "--admin-token",
        ADMIN_TOKEN,
        "a.b.c",
    ])
}

#[test]
fn admin_token_is_never_sent_over_plain_http_to_a_host_other_than_loopback() {
    // 0.0.0.0 is not a loopback address, yet on Linux a connection to it reaches this machine:
    // the server below would see the token if the CLI sent it.
    let server = AdminServer::on("0.0.0.0:0").expect("bind 0.0.0.0");
    let port = server.port;
    let refused = [
        format!("http://0.0.0.0:{port}"),
        // userinfo that looks like loopback: the host is what follows the @
        format!("http://127.0.0.1:{port}@0.0.0.0:{port}/"),
        format!("http://localhost.:{port}"),
        format!("http://127.0.0.1.example.invalid:{port}"),
        "http://example.invalid".to_owned(),
        format!("ftp://127.0.0.1:{port}"),
        format!("127.0.0.1:{port}"),
    ];
    for url in &refused {
        for outcome in [revoke_jti(url), introspect(url)] {
            let msg = outcome.fails(2, "config_error");
            assert!(
                msg.contains("refusing to send --admin-token") && msg.contains("https"),
                "{url}: {msg}"
            );
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(server.requests(), Vec::<String>::new(), "nothing was sent");
}

#[test]
fn admin_token_goes_over_plain_http_to_loopback_hosts() {
    let server = AdminServer::on("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = server.port;
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}/"),
        format!("HTTP://LocalHost:{port}"),
    ] {
        assert_eq!(revoke_jti(&url).ok(), json!({"ok": true}), "{url}");
        assert_eq!(introspect(&url).ok(), json!({"ok": true}), "{url}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 6, "{requests:?}");
    for request in &requests {
        assert!(
            request.contains(&format!("Bearer {ADMIN_TOKEN}")),
            "{request}"
        );
    }
    assert!(
        requests[0].starts_with("POST /v1/revoke "),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].starts_with("POST /v1/introspect "),
        "{}",
        requests[1]
    );

    // The rest of 127.0.0.0/8 and [::1] (when this machine has IPv6) are loopback too.
    let other = AdminServer::on("127.0.0.2:0");
    if let Some(other) = &other {
        let url = format!("http://127.0.0.2:{}", other.port);
        assert_eq!(revoke_jti(&url).ok(), json!({"ok": true}), "{url}");
        assert_eq!(other.requests().len(), 1);
    }
    if let Some(v6) = AdminServer::on("[::1]:0") {
        let url = format!("http://[::1]:{}", v6.port);
        assert_eq!(revoke_jti(&url).ok(), json!({"ok": true}), "{url}");
        assert_eq!(v6.requests().len(), 1);
    }
}

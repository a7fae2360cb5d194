//! Structured mutations of valid tokens, so the fuzzer reaches the signature, payload and claim
//! code, not only the parser.
//!
//! The input picks one of the tokens minted at start-up and a list of mutations: byte edits,
//! segment swaps, JSON member edits (with values near `now` and near the documented bounds),
//! signature edits, and re-signing with any of the harness's keys (including key-confusion HMAC
//! keys that no policy holds). Every signature the harness makes is recorded. Then, for every
//! policy:
//!
//! - `verify` is `Ok` only if the final signature was recorded for exactly this signing input
//!   by a key the policy holds (ES256: or a different `s` with the same `r`, i.e. the high-s twin
//!   JOSE allows); the claims it returns are the payload's, and satisfy the model's claim rules;
//! - a token no key of the policy signed never gets a claim-stage error (tampered ⇒ never a
//!   claim verdict that leaks what the claims say);
//! - when the harness wrote all three segments itself (JSON from a map, so unique member names),
//!   the exact code must equal the model's decision ([`edge_jwt_fuzz::model`]).
#![no_main]

use std::sync::OnceLock;

use edge_jwt::alg::Family;
use edge_jwt::{Alg, ErrorCode};
use edge_jwt_fuzz::model::SignedBy;
use edge_jwt_fuzz::{b64, cases, policies, signers, unb64, NOW};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Member names worth setting: every header and claim the validator reads, and a free one.
#[derive(Arbitrary, Debug)]
enum Name {
    Alg,
    Kid,
    Typ,
    Crit,
    B64,
    Jwk,
    Jku,
    Exp,
    Iat,
    Nbf,
    Iss,
    Aud,
    Sub,
    Jti,
    Track,
    Lvl,
    Other(String),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Alg => "alg",
            Name::Kid => "kid",
            Name::Typ => "typ",
            Name::Crit => "crit",
            Name::B64 => "b64",
            Name::Jwk => "jwk",
            Name::Jku => "jku",
            Name::Exp => "exp",
            Name::Iat => "iat",
            Name::Nbf => "nbf",
            Name::Iss => "iss",
            Name::Aud => "aud",
            Name::Sub => "sub",
            Name::Jti => "jti",
            Name::Track => "track",
            Name::Lvl => "lvl",
            Name::Other(name) => name,
        }
    }
}

/// Strings the policies care about: algorithm names, issuers, audiences, typ spellings, kids,
/// track names (`"04"` is not track 4).
const KNOWN: &[&str] = &[
    "none",
    "NONE",
    "nOnE",
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "ES256K",
    "",
    "https://issuer.fuzz",
    "a",
    "b",
    "api",
    "web",
    "JWT",
    "jwt",
    "at+jwt",
    "AT+JWT",
    "application/at+jwt",
    "application/",
    "fuzz-es256",
    "fuzz-eddsa",
    "fuzz-rs256",
    "fuzz-ps256",
    "../../etc/passwd",
    "1",
    "2",
    "3",
    "4",
    "04",
    "9",
];

#[derive(Arbitrary, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Known(u8),
    /// NOW + offset: reaches every time boundary quickly.
    Now(i32),
    /// NOW + offset + a fraction.
    NowFrac(i32, u8),
    /// The largest NumericDate plus a small offset.
    MaxDate(i8),
}

impl Scalar {
    fn value(&self) -> Value {
        let now = NOW as i64;
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Int(i) => Value::from(*i),
            Scalar::UInt(u) => Value::from(*u),
            Scalar::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Scalar::Str(s) => Value::from(s.as_str()),
            Scalar::Known(i) => Value::from(KNOWN[usize::from(*i) % KNOWN.len()]),
            Scalar::Now(offset) => Value::from(now + i64::from(*offset)),
            Scalar::NowFrac(offset, frac) => {
                Value::from((now + i64::from(*offset)) as f64 + f64::from(*frac) / 256.0)
            }
            Scalar::MaxDate(offset) => Value::from(253_402_300_799_i64 + i64::from(*offset)),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum TimeClaim {
    Exp,
    Nbf,
    Iat,
}

#[derive(Arbitrary, Debug)]
enum FuzzValue {
    Scalar(Scalar),
    Array(Vec<Scalar>),
    Object(Vec<(String, Scalar)>),
    /// `depth` nested arrays around a scalar (the limit is 16 levels).
    Nested(u8, Scalar),
}

impl FuzzValue {
    fn value(&self) -> Value {
        match self {
            FuzzValue::Scalar(s) => s.value(),
            FuzzValue::Array(items) => Value::Array(items.iter().map(Scalar::value).collect()),
            FuzzValue::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value()))
                    .collect(),
            ),
            FuzzValue::Nested(depth, inner) => {
                (0..depth % 24).fold(inner.value(), |v, _| Value::Array(vec![v]))
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    // Byte level on the whole compact string.
    FlipByte {
        at: u16,
        xor: u8,
    },
    InsertByte {
        at: u16,
        byte: u8,
    },
    DeleteRange {
        at: u16,
        len: u8,
    },
    // Segment level (0 header, 1 payload, 2 signature).
    SegmentRaw {
        seg: u8,
        text: String,
    },
    SegmentBytes {
        seg: u8,
        bytes: Vec<u8>,
    },
    SegmentFrom {
        seg: u8,
        case: u8,
    },
    // JSON level on the header (`payload: false`) or the payload.
    Set {
        payload: bool,
        name: Name,
        value: FuzzValue,
    },
    Remove {
        payload: bool,
        name: Name,
    },
    RawJson {
        payload: bool,
        text: String,
    },
    Duplicate {
        payload: bool,
        name: Name,
        value: Scalar,
    },
    /// Set a time claim of the payload to `NOW + offset` (±9 h: every leeway boundary, and with
    /// two of them every track ceiling), with an optional fraction.
    SetTime {
        claim: TimeClaim,
        offset: i16,
        fraction: Option<u8>,
    },
    // Signature level.
    SigFlipBit {
        at: u16,
        bit: u8,
    },
    SigTruncate {
        len: u16,
    },
    SigZero,
    SigAppend {
        bytes: Vec<u8>,
    },
    /// Sign the current signing input with signer `signer` (any of them, recorded).
    Resign {
        signer: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    case: u8,
    /// After the mutations, re-sign with the key that minted the starting token (unless it is an
    /// RSA key), so that most JSON edits reach the payload and claim checks in one step.
    resign_at_end: bool,
    mutations: Vec<Mutation>,
}

/// A signature the harness produced: over which signing input, by which key and alg.
struct Recorded {
    signing_input: String,
    signature: Vec<u8>,
    by: SignedBy,
}

struct State {
    text: String,
    /// Per segment: written by the harness (JSON from a map, or any signature bytes).
    exact: [bool; 3],
    recorded: Vec<Recorded>,
}

impl State {
    fn segments(&self) -> Option<[String; 3]> {
        let parts: Vec<&str> = self.text.split('.').collect();
        match parts.as_slice() {
            [h, p, s] => Some([(*h).to_owned(), (*p).to_owned(), (*s).to_owned()]),
            _ => None,
        }
    }

    fn set_segment(&mut self, seg: u8, text: String, exact: bool) {
        if let Some(mut parts) = self.segments() {
            let i = usize::from(seg % 3);
            parts[i] = text;
            self.exact[i] = exact;
            self.text = parts.join(".");
        }
    }

    fn edit_json(&mut self, payload: bool, edit: impl FnOnce(&mut Map<String, Value>)) {
        let Some(parts) = self.segments() else { return };
        let i = usize::from(payload);
        let mut map = unb64(&parts[i])
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        edit(&mut map);
        let json = Value::Object(map).to_string();
        self.set_segment(i as u8, b64(json.as_bytes()), true);
    }

    fn edit_signature(&mut self, edit: impl FnOnce(&mut Vec<u8>)) {
        let Some(parts) = self.segments() else { return };
        let mut sig = unb64(&parts[2]).unwrap_or_default();
        edit(&mut sig);
        self.set_segment(2, b64(&sig), true);
    }

    fn edit_bytes(&mut self, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        edit(&mut bytes);
        self.text = String::from_utf8_lossy(&bytes).into_owned();
        self.exact = [false; 3];
    }

    fn apply(&mut self, mutation: &Mutation) {
        match mutation {
            Mutation::FlipByte { at, xor } => self.edit_bytes(|b| {
                if !b.is_empty() {
                    let i = usize::from(*at) % b.len();
                    b[i] ^= xor;
                }
            }),
            Mutation::InsertByte { at, byte } => self.edit_bytes(|b| {
                let i = usize::from(*at) % (b.len() + 1);
                b.insert(i, *byte);
            }),
            Mutation::DeleteRange { at, len } => self.edit_bytes(|b| {
                if !b.is_empty() {
                    let i = usize::from(*at) % b.len();
                    let end = (i + usize::from(*len)).min(b.len());
                    b.drain(i..end);
                }
            }),
            Mutation::SegmentRaw { seg, text } => self.set_segment(*seg, text.clone(), false),
            Mutation::SegmentBytes { seg, bytes } => {
                self.set_segment(*seg, b64(bytes), seg % 3 == 2)
            }
            Mutation::SegmentFrom { seg, case } => {
                let all = cases();
                let donor = &all[usize::from(*case) % all.len()].token;
                let part = donor
                    .split('.')
                    .nth(usize::from(seg % 3))
                    .unwrap_or_default();
                self.set_segment(*seg, part.to_owned(), true);
            }
            Mutation::Set {
                payload,
                name,
                value,
            } => {
                let value = value.value();
                self.edit_json(*payload, |m| {
                    m.insert(name.as_str().to_owned(), value);
                })
            }
            Mutation::SetTime {
                claim,
                offset,
                fraction,
            } => {
                let seconds = NOW as i64 + i64::from(*offset);
                let value = match fraction {
                    None => Value::from(seconds),
                    Some(f) => Value::from(seconds as f64 + f64::from(*f) / 256.0),
                };
                let name = match claim {
                    TimeClaim::Exp => "exp",
                    TimeClaim::Nbf => "nbf",
                    TimeClaim::Iat => "iat",
                };
                self.edit_json(true, |m| {
                    m.insert(name.to_owned(), value);
                })
            }
            Mutation::Remove { payload, name } => self.edit_json(*payload, |m| {
                m.remove(name.as_str());
            }),
            Mutation::RawJson { payload, text } => {
                self.set_segment(u8::from(*payload), b64(text.as_bytes()), false)
            }
            Mutation::Duplicate {
                payload,
                name,
                value,
            } => {
                // Textually prepend a member that may already exist: `{"exp":1,"exp":2}`.
                let Some(parts) = self.segments() else { return };
                let i = usize::from(*payload);
                let json = unb64(&parts[i])
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let member = format!("{}:{}", Value::from(name.as_str()), value.value());
                let json = match json.strip_prefix('{') {
                    Some(rest) if rest.trim_start().starts_with('}') => format!("{{{member}{rest}"),
                    Some(rest) => format!("{{{member},{rest}"),
                    None => format!("{{{member}}}"),
                };
                self.set_segment(i as u8, b64(json.as_bytes()), false);
            }
            Mutation::SigFlipBit { at, bit } => self.edit_signature(|s| {
                if !s.is_empty() {
                    let i = usize::from(*at) % s.len();
                    s[i] ^= 1 << (bit % 8);
                }
            }),
            Mutation::SigTruncate { len } => self.edit_signature(|s| s.truncate(usize::from(*len))),
            Mutation::SigZero => self.edit_signature(|s| s.iter_mut().for_each(|b| *b = 0)),
            Mutation::SigAppend { bytes } => self.edit_signature(|s| s.extend_from_slice(bytes)),
            Mutation::Resign { signer } => self.resign(signer_index(*signer)),
        }
    }

    /// Signs the current signing input (everything before the last dot) with signer `index`,
    /// and records the signature.
    fn resign(&mut self, index: usize) {
        let entry = &signers()[index];
        let three = self.segments().is_some();
        let signing_input = match self.text.rsplit_once('.') {
            Some((input, _)) => input.to_owned(),
            None => self.text.clone(),
        };
        let signature = entry.signer.sign(signing_input.as_bytes());
        self.text = format!("{signing_input}.{}", b64(&signature));
        if three {
            self.exact[2] = true;
        } else {
            self.exact = [false; 3];
        }
        self.recorded.push(Recorded {
            signing_input,
            signature,
            by: SignedBy {
                label: entry.label,
                alg: entry.signer.alg(),
            },
        });
    }
}

fn is_rsa(index: usize) -> bool {
    matches!(signers()[index].signer.alg().family(), Family::Rsa)
}

/// Re-signing uses every signer except the RSA ones. An RSA private-key operation costs ~25 ms
/// under coverage instrumentation and, worse, its data-dependent big-number branches count as
/// new coverage, so the fuzzer would spend its time exploring the harness's own signer. RSA
/// verification is still fuzzed: the RS256 and PS256 tokens minted at start-up are starting
/// points and segment donors, and every token is checked under both RSA-holding policies.
fn signer_index(choice: u8) -> usize {
    let cheap: Vec<usize> = (0..signers().len()).filter(|i| !is_rsa(*i)).collect();
    cheap[usize::from(choice) % cheap.len()]
}

/// Every minted token's signature, recorded once.
fn minted_signatures() -> &'static [(String, Vec<u8>, SignedBy)] {
    static MINTED: OnceLock<Vec<(String, Vec<u8>, SignedBy)>> = OnceLock::new();
    MINTED.get_or_init(|| {
        cases()
            .iter()
            .map(|case| {
                let (input, sig) = case.token.rsplit_once('.').expect("three segments");
                let entry = &signers()[case.minted_by];
                let by = SignedBy {
                    label: entry.label,
                    alg: entry.signer.alg(),
                };
                (input.to_owned(), unb64(sig).expect("base64url"), by)
            })
            .collect()
    })
}

/// Claim-stage codes: a token no key of the policy signed must never get one of these.
fn is_claim_stage(code: ErrorCode, message: &str, typ_configured: bool) -> bool {
    match code {
        ErrorCode::Expired
        | ErrorCode::NotYetValid
        | ErrorCode::IatInFuture
        | ErrorCode::BadIssuer
        | ErrorCode::BadAudience
        | ErrorCode::MissingClaim
        | ErrorCode::TtlExceedsTrack
        | ErrorCode::UnknownTrack
        | ErrorCode::Revoked
        | ErrorCode::RevocationUnavailable
        | ErrorCode::ConfigError => true,
        // The typ header check is the only pre-signature `invalid_claim`.
        ErrorCode::InvalidClaim => !typ_configured,
        // Parsing the payload as JSON happens only after the signature verified.
        ErrorCode::Malformed => message.starts_with("payload is not a valid JSON"),
        _ => false,
    }
}

fn check(state: &State, original: &str) {
    let token = state.text.as_str();
    let (signing_input, sig_text) = token.rsplit_once('.').unwrap_or((token, ""));
    let signature = unb64(sig_text);
    let all_recorded = minted_signatures()
        .iter()
        .map(|(i, s, by)| (i.as_str(), s.as_slice(), *by))
        .chain(
            state
                .recorded
                .iter()
                .map(|r| (r.signing_input.as_str(), r.signature.as_slice(), r.by)),
        );
    let mut signed_by = None; // exact signature recorded for this signing input
    let mut same_r = None; // ES256: a recorded signature with the same r
    if let Some(sig) = &signature {
        for (input, recorded_sig, by) in all_recorded {
            if input != signing_input {
                continue;
            }
            if recorded_sig == sig.as_slice() {
                signed_by = Some(by);
            } else if by.alg == Alg::ES256
                && sig.len() == 64
                && recorded_sig.len() == 64
                && recorded_sig[..32] == sig[..32]
            {
                same_r = Some(by);
            }
        }
    }
    let exact = state.exact == [true; 3] && token.split('.').count() == 3;

    for case in policies() {
        let model = &case.model;
        let result = case.validator.verify(token, NOW);
        let _ = edge_jwt::inspect::inspect(token, &case.validator.policy().tracks, NOW);
        let authentic = signed_by.is_some_and(|by| model.holds(by.label));
        match &result {
            Ok(verified) => {
                let twin = same_r.is_some_and(|by| model.holds(by.label));
                assert!(
                    authentic || twin,
                    "{}: accepted a token none of its keys signed (original {original}): {token}",
                    case.name
                );
                let payload = signing_input
                    .split('.')
                    .nth(1)
                    .and_then(unb64)
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                assert_eq!(
                    payload.as_ref(),
                    Some(&Value::Object(verified.claims().clone())),
                    "{}: returned claims differ from the payload: {token}",
                    case.name
                );
                assert_eq!(
                    model.check_claims(verified.claims(), NOW),
                    Ok(()),
                    "{}: accepted claims the model rejects: {token}",
                    case.name
                );
            }
            Err(e) => {
                if !authentic {
                    assert!(
                        !is_claim_stage(e.code(), e.message(), model.typ.is_some()),
                        "{}: unauthenticated token got a claim-stage error {:?} ({}): {token}",
                        case.name,
                        e.code(),
                        e.message()
                    );
                }
            }
        }
        if exact {
            let expected = model.decide(token, signed_by, NOW);
            let actual = result.as_ref().map(|_| ()).map_err(|e| e.code());
            assert_eq!(
                actual,
                expected,
                "{}: verify and the model disagree ({:?}) on {token}",
                case.name,
                result.as_ref().err().map(|e| e.message())
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let all = cases();
    let case = &all[usize::from(input.case) % all.len()];
    let mut state = State {
        text: case.token.clone(),
        exact: [true; 3],
        recorded: Vec::new(),
    };
    for mutation in input.mutations.iter().take(12) {
        state.apply(mutation);
    }
    if input.resign_at_end && !is_rsa(case.minted_by) {
        state.resign(case.minted_by);
    }
    check(&state, &case.token);
});

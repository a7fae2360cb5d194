//! Arbitrary bytes as a token: every validator's `verify` and `inspect` must return, never panic,
//! never answer with a code that a token cannot cause, and never echo a long token segment.
#![no_main]

use edge_jwt::ErrorCode;
use edge_jwt_fuzz::{policies, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    // Long space-free segments are the only parts of a token a message could plausibly echo.
    let segments: Vec<&str> = token
        .split('.')
        .filter(|s| s.len() >= 24 && !s.contains(char::is_whitespace))
        .collect();
    for case in policies() {
        if let Err(e) = case.validator.verify(&token, NOW) {
            assert!(
                !matches!(
                    e.code(),
                    ErrorCode::ConfigError | ErrorCode::Revoked | ErrorCode::RevocationUnavailable
                ),
                "{}: verify without revocation answered {:?}",
                case.name,
                e.code()
            );
            for segment in &segments {
                assert!(
                    !e.message().contains(segment),
                    "{}: error message echoes a token segment: {}",
                    case.name,
                    e.message()
                );
            }
        }
        let _ = edge_jwt::inspect::inspect(&token, &case.validator.policy().tracks, NOW)
            .map(|report| report.to_text());
    }
});

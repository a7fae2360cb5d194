//! Fixed, fuzz-only keys, generated once with `target/debug/edge-jwt keygen --alg ALG --kid fuzz-…`
//! when this crate was written. They are embedded so that every run, seed and reproducer
//! means the same thing. Throwaway keys: never trust them anywhere.

/// HS256 secret (40 bytes of UTF-8, above the 32-byte minimum).
pub const HS256_SECRET: &str = "fuzz-only-hs256-secret-0123456789abcdef!";
/// A different secret of the same length: a token it signs must never verify.
pub const WRONG_SECRET: &str = "fuzz-only-hs256-secret-0123456789abcdef?";

/// ES256 public JWK (kid `fuzz-es256`).
pub const ES256_PUBLIC: &str = r#"{"alg":"ES256","crv":"P-256","kid":"fuzz-es256","kty":"EC","use":"sig","x":"OPYRHv-W-OSnTlep8gw1UlEMfviu0e3fncWUuyuXido","y":"PnHw1ErUictL3cHqeiWoGxmMdll2I6BghGJjHmxcLkY"}"#;

/// ES256 private JWK (fuzz-only).
pub const ES256_PRIVATE: &str = r#"{"alg":"ES256","crv":"P-256","d":"M_KiQAloVQElTd3i2fUJjZI9vmrvLYlbaf4ZyIsKFiI","kid":"fuzz-es256","kty":"EC","use":"sig","x":"OPYRHv-W-OSnTlep8gw1UlEMfviu0e3fncWUuyuXido","y":"PnHw1ErUictL3cHqeiWoGxmMdll2I6BghGJjHmxcLkY"}"#;

/// EdDSA public JWK (kid `fuzz-eddsa`).
pub const EDDSA_PUBLIC: &str = r#"{"alg":"EdDSA","crv":"Ed25519","kid":"fuzz-eddsa","kty":"OKP","use":"sig","x":"vGrx7dlzDZ3vb2INJa_PiAjlcb0_-8D-nfY-VJHMTTU"}"#;

/// EdDSA private JWK (fuzz-only).
pub const EDDSA_PRIVATE: &str = r#"{"alg":"EdDSA","crv":"Ed25519","d":"vcXaEtPQevL1nhnXYnLOkZaTT88ZPgQqBgbCGnJ9h6g","kid":"fuzz-eddsa","kty":"OKP","use":"sig","x":"vGrx7dlzDZ3vb2INJa_PiAjlcb0_-8D-nfY-VJHMTTU"}"#;

/// RS256 public JWK (kid `fuzz-rs256`).
pub const RS256_PUBLIC: &str = r#"{"alg":"RS256","e":"AQAB","kid":"fuzz-rs256","kty":"RSA","n":"p55zU9f-t07bBz59S-Gq8i_wNLqc-pqMVh6wUH52DzEM5UNuC6vQ9m60sH5NrLkbNoFMPuKsWN_XFL9oZQ820k8O5lKQEJ8J1E8oWbTX9vtpxTdutkz8r0mFcBAfOmmKyOM5Os7hfG9XcJ-rA6-jTZChvgMmRaBrym9LpD7SixkgAOU-onKPAewMKwYw54ICLJwoVJXyO0tRoCudpMaBYfySEIpHRYZirWWe7N-GQGTQl4rxZmMuCqkE_9LEglcEBQVLyVAwi5d3SVD4xTISXNTr69SOBQOWX1imrhft1IZ6Si_RKEDTM-jUpxY6BmXWYBPqkWa4BGLv9PgsUr_5sw","use":"sig"}"#;

/// RS256 private JWK (fuzz-only).
pub const RS256_PRIVATE: &str = r#"{"alg":"RS256","d":"YRHI1fhTIVMAUsykgQo6FjEe2VpsyFAyDzmMf8EMm7WbMzX-h7HDvMLVzxQF5Y35LXJpdk2M45cVloVWbpgF9nskNMwBdC614YbJ5lFtdDGaykRU0Cv7dYONTB16CDjQz4-PN_hQ6uAL8kP1JJhVaPjmQgTO6CmD4uLbGk3rXfOJ68VPPs-JNGDw8OMqPfjbyvlQ3hrFidU0N-bkxZT61piF9ltbix9rdKyj4XBRa9_KTqwDLffnmDnpfSlSNNgtLMSuWXrg2gh3_Sy5Sj1SjvvbI9N6F0GrkchUlc2S1Z1yqwKLPSSBOsPNqS_NsFjqkXFfwdcZb_PSs4KXWL13CQ","e":"AQAB","kid":"fuzz-rs256","kty":"RSA","n":"p55zU9f-t07bBz59S-Gq8i_wNLqc-pqMVh6wUH52DzEM5UNuC6vQ9m60sH5NrLkbNoFMPuKsWN_XFL9oZQ820k8O5lKQEJ8J1E8oWbTX9vtpxTdutkz8r0mFcBAfOmmKyOM5Os7hfG9XcJ-rA6-jTZChvgMmRaBrym9LpD7SixkgAOU-onKPAewMKwYw54ICLJwoVJXyO0tRoCudpMaBYfySEIpHRYZirWWe7N-GQGTQl4rxZmMuCqkE_9LEglcEBQVLyVAwi5d3SVD4xTISXNTr69SOBQOWX1imrhft1IZ6Si_RKEDTM-jUpxY6BmXWYBPqkWa4BGLv9PgsUr_5sw","p":"1KpxZSQhLE7cB2g4-CPnrZ02DBEFb1gsK3FJGKWNDfuVahPWtD_7U2dLJ39khyXrT_RDf8NXkFXLCiTFyRR1u3gUEK4pU33Bpnyu6QM1CUqXWe01ayIe5q4LNS67SP2D7eqoxgjOUICHAUy0LM9PCGdjFro0ouRW9B-HMqfOu88","q":"ycYr5gnlwl-teCNz4zv03aMNuPqM4Mat0PNFKBQu8hkBmoqZBqM7fVPgXBh7qJFx2-WkjjB8DfIMnH1y9coEQ4hSpOBP4PQPSNGeo3v7lio69z-svetfpTwICidUVFyfmDU2qoiuQAlGbH0y0pryjL47CPUeRSFcQPaBFW94qN0","use":"sig"}"#;

/// PS256 public JWK (kid `fuzz-ps256`).
pub const PS256_PUBLIC: &str = r#"{"alg":"PS256","e":"AQAB","kid":"fuzz-ps256","kty":"RSA","n":"udhMejBEhckr0ILGsEPHShKAYpG78swN08iVNcreN4WV2QxAyAPUM1neUnVsTcur5CnAjbI8bc-X-unnW6PfzIwvfKYH66PatpJ3-PHvHvAq-mQ3b_aFENykBhlcGi5olA6YX8J6d6jqWKPLYYHiN8wdTvHon1-pgoOMfVC8htk0oyINvJqbS9-SceYFGY2up0sOjkEAyHXlfurRWJk2u2e62lZfXMwtGByx7aWaB6GL9ptrVq4S2Aa_-iMwoUYwn6Z6sLSGRJRMUTzJU2vdmHAOKkgHfZuZ9eHd0zS8n3Xa1iPpqgJ8zkDzOw9Ftw0halEHXg8lMqbJyiUpy0FSiQ","use":"sig"}"#;

/// PS256 private JWK (fuzz-only).
pub const PS256_PRIVATE: &str = r#"{"alg":"PS256","d":"T7cOvs6bZcNvjsW5kfvQrN4Ywa7_LlsGh1QfZG57ONeM-ge-dczmpYwjx7zkUs5NEdYy6NSOBRApgY_5FB7LrUJoUBArj5C-DNfwrBCiX-Pmm3aHLPhSBXSOyqrwDa7gXrmP9GtH-rGyq4i-gTmkHgjofWdYP5xZ6kig51PNOg2PofP2MPlRXpY7RKdzUKnoc0bIBLgmv7IJ2rQ_AHM8MLy7-b2TvLyrJrvz0gHGPsxUHAUBMO6LlrL0DusH3isynyqTNYAAZabpqC4V9N6fIUSRZi102qIvbFIXMW_nS9YKPAZ8ZXQwfZfjIfhxUcv1EJnSgFUE3YTrd8uNmTDdrQ","e":"AQAB","kid":"fuzz-ps256","kty":"RSA","n":"udhMejBEhckr0ILGsEPHShKAYpG78swN08iVNcreN4WV2QxAyAPUM1neUnVsTcur5CnAjbI8bc-X-unnW6PfzIwvfKYH66PatpJ3-PHvHvAq-mQ3b_aFENykBhlcGi5olA6YX8J6d6jqWKPLYYHiN8wdTvHon1-pgoOMfVC8htk0oyINvJqbS9-SceYFGY2up0sOjkEAyHXlfurRWJk2u2e62lZfXMwtGByx7aWaB6GL9ptrVq4S2Aa_-iMwoUYwn6Z6sLSGRJRMUTzJU2vdmHAOKkgHfZuZ9eHd0zS8n3Xa1iPpqgJ8zkDzOw9Ftw0halEHXg8lMqbJyiUpy0FSiQ","p":"5V-EKibI2f27gxvP0KC1rnr6GE8Imj29XVwbsb5VvlE1yabmu3MckRB2a8L8oqtwYPRt2VnZyTqU0kTuhegljrckLK4vfNezJcM-XErotIZC4Rd8IuuDU7uCtnOjX69p3QQJFZ8XG1-sL7kMqEkEwBEevrZ8KPvtwrAr5CX6Fw8","q":"z2s3dHTB16wbpYajLYXF9-ALidXogwd56KIs3Klel_OnNBFH3eIyT4eLONNbdNPp0UIdkVnIx-6-xgfnQuwrlKeTd7DW2lQNOXfy4Jba0nLUR2mYITiJ48Lb67ghUOH5TcSxbpW4IyvJ6cjrVeA4RiHiDWeV2h9NWX4s1wvhPOc","use":"sig"}"#;

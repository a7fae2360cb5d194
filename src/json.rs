//! Strict JSON for token headers and payloads.
//!
//! `serde_json::Value` silently keeps the last of two members with the same name, while other
//! parsers keep the first: a token could then mean different things to two services. So the
//! JOSE segments go through this visitor, which refuses duplicate names (RFC 7515 §5.2 allows
//! a JWS to be rejected for them) and bounds nesting far below serde_json's own limit of 128.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted in a header or a payload. Real claims nest two or three levels
/// (`{"realm_access":{"roles":[…]}}`); 16 leaves room and bounds the work.
pub const MAX_JSON_DEPTH: usize = 16;

/// Parses `bytes` as one JSON object with unique member names and bounded depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    // UTF-8 checked once for the whole text: parsing from a `str` then skips the check per
    // string that parsing from bytes makes.
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object".to_owned()),
    }
}

/// Seed carrying the current depth into nested values.
#[derive(Clone, Copy)]
struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl StrictValue {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(E::custom(format!(
                "JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        Ok(Self {
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite float, so `from_f64` always succeeds here.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            if object.insert(name, value).is_some() {
                return Err(de::Error::custom("duplicate member name"));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let map = parse_object(br#"{"a":1,"b":[1,{"c":null}],"d":1.5}"#).unwrap();
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn refuses_duplicates_at_any_level() {
        assert!(parse_object(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_object(br#"{"x":{"a":1,"a":1}}"#).is_err());
    }

    #[test]
    fn refuses_text_that_is_not_utf8() {
        assert!(parse_object(b"{\"a\":\"\xff\"}").is_err());
        assert!(parse_object(b"{\"a\xc3\":1}").is_err());
        assert!(parse_object("{\"é\":\"ü\"}".as_bytes()).is_ok());
    }

    #[test]
    fn refuses_non_objects_and_trailing_data() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"\"s\"").is_err());
        assert!(parse_object(b"{} {}").is_err());
    }

    #[test]
    fn bounds_depth() {
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH - 1),
            "]".repeat(MAX_JSON_DEPTH - 1)
        );
        assert!(parse_object(format!("{{\"a\":{ok}}}").as_bytes()).is_ok());
        let deep = "[".repeat(MAX_JSON_DEPTH + 1) + &"]".repeat(MAX_JSON_DEPTH + 1);
        assert!(parse_object(format!("{{\"a\":{deep}}}").as_bytes()).is_err());
        let very_deep = "[".repeat(100_000);
        assert!(parse_object(format!("{{\"a\":{very_deep}").as_bytes()).is_err());
    }
}

//! Strict JSON for token headers and payloads.
//!
//! `serde_json::Value` silently keeps the last of two members with the same name, while other
//! parsers keep the first: a token could then mean different things to two services. So the
//! JOSE segments go through this visitor, which refuses duplicate names (RFC 7515 §5.2 allows
//! a JWS to be rejected for them) and bounds nesting far below serde_json's own limit of 128.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted in a header or a payload. Real claims nest two or three levels
/// (`{"realm_access":{"roles":[…]}}`); 16 leaves room and bounds the work.
pub const MAX_JSON_DEPTH: usize = 16;

/// Read access to a JSON object's members by name: a whole [`Map`], or the [`Members`] a
/// caller asked for.
pub trait Object {
    /// The member called `name`, if the object has it (and, for [`Members`], it was wanted).
    fn member(&self, name: &str) -> Option<&Value>;
}

impl Object for Map<String, Value> {
    fn member(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The wanted members of an object that [`parse_members`] checked whole.
#[derive(Debug, Default)]
pub struct Members<'a> {
    wanted: Vec<(Cow<'a, str>, Value)>,
}

impl Object for Members<'_> {
    fn member(&self, name: &str) -> Option<&Value> {
        self.wanted
            .iter()
            .find(|(member, _)| member == name)
            .map(|(_, value)| value)
    }
}

/// `bytes` as text: checked for UTF-8 once, so that parsing from a `str` skips the check per
/// string that parsing from bytes makes.
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// Runs `seed` over the whole of `text`: trailing data is an error.
fn parse_whole<'a, S: DeserializeSeed<'a>>(text: &'a str, seed: S) -> Result<S::Value, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// Parses `bytes` as one JSON object with unique member names and bounded depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match parse_whole(utf8(bytes)?, Strict::BUILD)? {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(NOT_AN_OBJECT.to_owned()),
    }
}

/// Checks `bytes` as [`parse_object`] does, but builds only the top-level members whose names
/// `wanted` accepts; every other value is read past without being built. A validator reads
/// eight claims or so, and a map of every claim (a string per name, a tree insert per member,
/// all freed again) would be work done per token for nothing.
pub fn parse_members<'a>(
    bytes: &'a [u8],
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Members<'a>, String> {
    let text = utf8(bytes)?;
    // serde's own error for another type would quote the value: a payload must never be
    // echoed into error messages and logs.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(NOT_AN_OBJECT.to_owned());
    }
    parse_whole(text, WantedMembers { wanted })
}

const NOT_AN_OBJECT: &str = "not a JSON object";

/// A strict value at some depth: built as a [`Value`], or only checked (`None`). One visitor
/// for both, so that serde_json's parser is compiled once for it (the wasm build is near its
/// size budget).
#[derive(Clone, Copy)]
struct Strict {
    depth: usize,
    build: bool,
}

impl Strict {
    const BUILD: Self = Self {
        depth: 0,
        build: true,
    };

    /// The seed for this value's members or items.
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(E::custom(format!(
                "JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        Ok(Self {
            depth: self.depth + 1,
            ..self
        })
    }

    fn built(self, value: impl FnOnce() -> Value) -> Option<Value> {
        self.build.then(value)
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.built(|| Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.built(|| Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.built(|| Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // serde_json never yields a non-finite float, so `from_f64` always succeeds here.
        Ok(self.built(|| serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.built(|| Value::String(v.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.built(|| Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.extend(item);
        }
        Ok(self.built(|| Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.nested()?;
        let mut object = Map::new();
        let mut names = Vec::new();
        while let Some(name) = map.next_key_seed(Name)? {
            match map.next_value_seed(inner)? {
                Some(value) => {
                    if object.insert(name.into_owned(), value).is_some() {
                        return Err(duplicate());
                    }
                }
                None => names.push(name),
            }
        }
        unique(names)?;
        Ok(self.built(|| Value::Object(object)))
    }
}

fn duplicate<E: de::Error>() -> E {
    E::custom("duplicate member name")
}

/// Refuses the first name that occurs twice in `names` (sorted here: O(n log n) however many
/// members a signed payload holds).
fn unique<E: de::Error>(mut names: Vec<Cow<'_, str>>) -> Result<(), E> {
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(duplicate());
    }
    Ok(())
}

/// A member name, borrowed from the text unless it had escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// The top-level object of [`parse_members`].
struct WantedMembers<'w> {
    wanted: &'w dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for WantedMembers<'_> {
    type Value = Members<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WantedMembers<'_> {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = Strict::BUILD.nested()?;
        // Every name, for the duplicate check; the wanted ones are few and compared by scan.
        let mut names = Vec::with_capacity(16);
        let mut members = Members::default();
        while let Some(name) = map.next_key_seed(Name)? {
            let build = (self.wanted)(&name);
            if let Some(value) = map.next_value_seed(Strict { build, ..inner })? {
                members.wanted.push((name.clone(), value));
            }
            names.push(name);
        }
        unique(names)?;
        Ok(members)
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

    /// parse_members with every name wanted, none, and one: each accepts exactly what
    /// parse_object accepts.
    fn members_agree(text: &[u8]) -> bool {
        let full = parse_object(text).is_ok();
        assert_eq!(parse_members(text, &|_| true).is_ok(), full, "all wanted");
        assert_eq!(parse_members(text, &|_| false).is_ok(), full, "none wanted");
        assert_eq!(parse_members(text, &|n| n == "a").is_ok(), full, "a wanted");
        full
    }

    #[test]
    fn members_are_checked_as_strictly_as_the_whole_object() {
        let deep = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
        for good in [
            r#"{"a":1,"b":[1,{"c":null}],"d":1.5,"e":"x","f":true}"#.to_owned(),
            r#"{"a":{"a":{"a":1}},"b":{"a":1}}"#.to_owned(),
            format!(r#"{{"a":{}}}"#, deep(MAX_JSON_DEPTH - 1)),
        ] {
            assert!(members_agree(good.as_bytes()), "{good}");
        }
        for bad in [
            r#"{"a":1,"a":2}"#.to_owned(),
            r#"{"a":1,"\u0061":2}"#.to_owned(),
            r#"{"x":{"a":1,"a":1}}"#.to_owned(),
            r#"{"x":[{"b":[],"a":1,"b":{}}]}"#.to_owned(),
            format!(r#"{{"a":{}}}"#, deep(MAX_JSON_DEPTH)),
            format!(r#"{{"a":{}"#, "[".repeat(100_000)),
            "[1]".to_owned(),
            "{} {}".to_owned(),
            r#"{"a":"\ud800"}"#.to_owned(),
            "{\"a\":1,}".to_owned(),
        ] {
            assert!(!members_agree(bad.as_bytes()), "{bad}");
        }
        assert!(!members_agree(b"{\"a\":\"\xff\"}"));
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_never_quoted_in_the_error() {
        for text in [
            &br#""a secret text""#[..],
            b" [\"a secret text\"]",
            b"12345",
            b"",
        ] {
            assert_eq!(
                parse_members(text, &|_| true).unwrap_err(),
                "not a JSON object"
            );
        }
        assert!(parse_members(b" \n{}", &|_| true).is_ok());
    }

    #[test]
    fn only_wanted_members_are_built_and_escaped_names_match() {
        let text = br#"{"exp":5,"n\u0061me":"x","aud":["a"],"other":{"deep":[1]}}"#;
        let members = parse_members(text, &|name| name != "other").unwrap();
        assert_eq!(members.member("exp"), Some(&Value::from(5)));
        assert_eq!(members.member("name"), Some(&Value::from("x")));
        assert_eq!(members.member("aud"), Some(&serde_json::json!(["a"])));
        assert_eq!(members.member("other"), None);
        assert_eq!(members.member("missing"), None);
    }
}

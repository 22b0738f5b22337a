//! A request body split into its elements without building a JSON tree: a batch is a
//! list of raw element texts, counted while it is parsed so that a body of a million
//! elements is refused after the first `max + 1`; an element is read as its four fields'
//! raw texts, and only its `params` become a tree.

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A parsed body.
#[derive(Debug)]
pub(crate) enum Body<'a> {
    /// One request.
    Single(&'a RawValue),
    /// A batch of at most the limit's elements.
    Batch(Vec<&'a RawValue>),
}

/// Why a body has no elements to answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON.
    Parse,
    /// JSON, but neither an object nor an array.
    NotObject,
    /// A batch of more than the limit's elements.
    TooManyCalls,
}

/// Up to `max` elements of a JSON array; an error (with `too_many` set) at the next one.
struct Bounded<'f> {
    max: usize,
    too_many: &'f Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Vec<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Grows as elements arrive: a short batch claiming nothing costs nothing.
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            if elements.len() == self.max {
                self.too_many.set(true);
                return Err(de::Error::custom("too many calls"));
            }
            elements.push(element);
        }
        Ok(elements)
    }
}

/// Splits `text` into its elements, refusing a batch of more than `max_batch`.
pub(crate) fn parse_body(text: &str, max_batch: usize) -> Result<Body<'_>, BodyError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let too_many = Cell::new(false);
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = Bounded {
            max: max_batch,
            too_many: &too_many,
        };
        return match seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
            Ok(elements) => Ok(Body::Batch(elements)),
            Err(_) if too_many.get() => Err(BodyError::TooManyCalls),
            Err(_) => Err(BodyError::Parse),
        };
    }
    let raw: &RawValue = serde_json::from_str(text).map_err(|_| BodyError::Parse)?;
    if !trimmed.starts_with('{') {
        return Err(BodyError::NotObject);
    }
    Ok(Body::Single(raw))
}

/// Deserializes a present field, `null` included, as `Some`: a 2.0 request with
/// `"id": null` is a call, one without `id` a notification.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// One request element's fields as raw JSON texts; other fields are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Element<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) params: Option<&'a RawValue>,
}

impl<'a> Element<'a> {
    /// The element's fields, or `None` when it is not a JSON object.
    pub(crate) fn read(raw: &'a RawValue) -> Option<Element<'a>> {
        // A derived struct would also take an array, field by field.
        if !raw.get().trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(raw.get()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_elements() {
        let Ok(Body::Batch(e)) = parse_body(r#" [{"a":1}, 5 ,[]] "#, 3) else {
            panic!("a batch")
        };
        assert_eq!(
            e.iter().map(|r| r.get()).collect::<Vec<_>>(),
            [r#"{"a":1}"#, "5", "[]"]
        );
        assert!(matches!(parse_body("[]", 3), Ok(Body::Batch(e)) if e.is_empty()));
        assert!(matches!(parse_body(r#"{"x":[1]}"#, 3), Ok(Body::Single(_))));
        assert_eq!(parse_body("{not json", 3).err(), Some(BodyError::Parse));
        assert_eq!(parse_body("[1,2", 3).err(), Some(BodyError::Parse));
        assert_eq!(parse_body("[1] x", 3).err(), Some(BodyError::Parse));
        assert_eq!(parse_body("5", 3).err(), Some(BodyError::NotObject));
        assert_eq!(
            parse_body("[1,2,3,4]", 3).err(),
            Some(BodyError::TooManyCalls)
        );
    }

    #[test]
    fn a_million_element_batch_is_refused_at_the_limit() {
        let mut body = String::with_capacity(3_000_002);
        body.push('[');
        for i in 0..1_000_000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str("{}");
        }
        body.push(']');
        assert_eq!(parse_body(&body, 1000).err(), Some(BodyError::TooManyCalls));
    }

    #[test]
    fn element_fields_keep_null_apart_from_missing() {
        let raw: &RawValue =
            serde_json::from_str(r#"{"id":null,"method":"m","x":[1]}"#).expect("json");
        let e = Element::read(raw).expect("an object");
        assert_eq!(e.id.map(RawValue::get), Some("null"));
        assert!(e.jsonrpc.is_none() && e.params.is_none());
        assert_eq!(e.method.map(RawValue::get), Some("\"m\""));
        let raw: &RawValue = serde_json::from_str("[1]").expect("json");
        assert!(Element::read(raw).is_none());
    }
}

//! OLPC canonical JSON, the byte form TUF signatures cover.
//!
//! Reference: securesystemslib `formats.encode_canonical` (what python-tuf signs and verifies
//! with) and the OLPC canonical JSON definition: object keys sorted by code point, no
//! insignificant whitespace, strings escaping only `"` and `\` (every other character, control
//! characters included, is written as its UTF-8 bytes), integers only (a float is an error).

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// A number that is not an integer in the 64-bit range (canonical JSON has no floats).
    #[error("canonical JSON has no floats or out-of-range integers: {0}")]
    NotAnInteger(String),
}

/// The canonical JSON bytes of `value`.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(CanonicalError::NotAnInteger(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's Map (without `preserve_order`) is a BTreeMap<String, _>: iteration is
            // sorted by UTF-8 bytes, which is the same order as by code point. Sort explicitly
            // anyway so the output never depends on that feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(to_canonical(v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": [1, 2, {"z": null, "a": true}], "a": "x", "B": false});
        assert_eq!(
            canon(&v),
            r#"{"B":false,"a":"x","b":[1,2,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        // securesystemslib: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        let v = json!("a\"b\\c\nd\u{1}é");
        assert_eq!(
            to_canonical(&v).unwrap(),
            "\"a\\\"b\\\\c\nd\u{1}é\"".as_bytes()
        );
    }

    #[test]
    fn sorts_by_code_point() {
        let v = json!({"é": 1, "z": 2, "\u{10000}": 3, "Z": 4});
        assert_eq!(canon(&v), "{\"Z\":4,\"z\":2,\"é\":1,\"\u{10000}\":3}");
    }

    #[test]
    fn keeps_large_integers_and_refuses_floats() {
        let v: Value =
            serde_json::from_str(r#"{"a": 18446744073709551615, "b": -9223372036854775808}"#)
                .unwrap();
        assert_eq!(
            canon(&v),
            r#"{"a":18446744073709551615,"b":-9223372036854775808}"#
        );
        let f: Value = serde_json::from_str(r#"{"a": 1.0}"#).unwrap();
        assert!(to_canonical(&f).is_err());
        let big: Value = serde_json::from_str(r#"[18446744073709551616]"#).unwrap();
        assert!(to_canonical(&big).is_err());
    }
}

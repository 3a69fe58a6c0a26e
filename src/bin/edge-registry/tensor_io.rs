//! Reading and writing tensors for `edge-registry run`: JSON `{name: {dtype, shape, data}}` with
//! numpy's dtype names, and numpy's `.npy` format for a single input.

use std::collections::BTreeMap;

use edge_registry::engine::f16;
use edge_registry::engine::{DType, NamedTensor, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
struct JsonTensor {
    dtype: String,
    shape: Vec<usize>,
    data: Vec<Value>,
}

/// Parses `{name: {dtype, shape, data}}`; `data` is flat (row-major) or nested as numpy's
/// `tolist()` writes it.
pub fn tensors_from_json(text: &str) -> Result<Vec<NamedTensor>, String> {
    let map: BTreeMap<String, JsonTensor> =
        serde_json::from_str(text).map_err(|e| format!("input JSON: {e}"))?;
    map.into_iter()
        .map(|(name, t)| {
            let dtype = DType::from_name(&t.dtype).ok_or_else(|| {
                format!(
                    "input `{name}`: unknown dtype `{}` (use float32, float64, int32, int64, uint8 or bool)",
                    t.dtype
                )
            })?;
            let mut flat = Vec::new();
            flatten(&t.data, &mut flat, 0).map_err(|e| format!("input `{name}`: {e}"))?;
            let data = convert(&flat, dtype).map_err(|e| format!("input `{name}`: {e}"))?;
            Ok(NamedTensor {
                name,
                tensor: Tensor::new(t.shape, data),
            })
        })
        .collect()
}

fn flatten<'a>(values: &'a [Value], out: &mut Vec<&'a Value>, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Err("data nested more than 32 deep".into());
    }
    for v in values {
        match v {
            Value::Array(inner) => flatten(inner, out, depth + 1)?,
            other => out.push(other),
        }
    }
    Ok(())
}

fn convert(values: &[&Value], dtype: DType) -> Result<TensorData, String> {
    fn each<T>(
        values: &[&Value],
        f: impl Fn(&Value) -> Option<T>,
        what: &str,
    ) -> Result<Vec<T>, String> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| f(v).ok_or_else(|| format!("element {i} ({v}) is not {what}")))
            .collect()
    }
    fn float(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.as_str() {
                "NaN" | "nan" => Some(f64::NAN),
                "Infinity" | "inf" => Some(f64::INFINITY),
                "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            Value::Null => Some(f64::NAN),
            _ => None,
        }
    }
    Ok(match dtype {
        DType::F32 => TensorData::F32(each(values, |v| float(v).map(|x| x as f32), "a number")?),
        DType::F64 => TensorData::F64(each(values, float, "a number")?),
        DType::F16 => TensorData::F16(each(
            values,
            |v| float(v).map(|x| f16::from_f64(x).to_bits()),
            "a number",
        )?),
        DType::I32 => TensorData::I32(each(
            values,
            |v| v.as_i64().and_then(|x| i32::try_from(x).ok()),
            "an int32",
        )?),
        DType::I64 => TensorData::I64(each(values, Value::as_i64, "an int64")?),
        DType::U8 => TensorData::U8(each(
            values,
            |v| v.as_u64().and_then(|x| u8::try_from(x).ok()),
            "a uint8",
        )?),
        DType::I8 => TensorData::I8(each(
            values,
            |v| v.as_i64().and_then(|x| i8::try_from(x).ok()),
            "an int8",
        )?),
        DType::Bool => TensorData::Bool(each(
            values,
            |v| v.as_bool().or_else(|| v.as_i64().map(|x| x != 0)),
            "a boolean",
        )?),
    })
}

#[derive(Serialize)]
struct OutTensor<'a> {
    dtype: &'static str,
    shape: &'a [usize],
    data: Value,
}

/// Writes `{name: {dtype, shape, data}}` with flat row-major data (non-finite floats as the
/// strings `NaN`, `Infinity`, `-Infinity`, which `tensors_from_json` reads back).
pub fn tensors_to_json(tensors: &[NamedTensor]) -> String {
    fn float(x: f64) -> Value {
        if x.is_nan() {
            Value::from("NaN")
        } else if x.is_infinite() {
            Value::from(if x > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            Value::from(x)
        }
    }
    let mut map = serde_json::Map::new();
    for t in tensors {
        let data: Vec<Value> = match &t.tensor.data {
            // f32 -> f64 is exact; serde_json prints the shortest f64 that round-trips, which
            // for a widened f32 can be longer than the f32's own shortest form. Print via f32.
            TensorData::F32(v) => v
                .iter()
                .map(|&x| {
                    if x.is_finite() {
                        serde_json::from_str(&format!("{x:?}")).unwrap_or(Value::Null)
                    } else {
                        float(f64::from(x))
                    }
                })
                .collect(),
            TensorData::F64(v) => v.iter().map(|&x| float(x)).collect(),
            TensorData::F16(v) => v
                .iter()
                .map(|&x| float(f16::from_bits(x).to_f64()))
                .collect(),
            TensorData::I32(v) => v.iter().map(|&x| Value::from(x)).collect(),
            TensorData::I64(v) => v.iter().map(|&x| Value::from(x)).collect(),
            TensorData::U8(v) => v.iter().map(|&x| Value::from(x)).collect(),
            TensorData::I8(v) => v.iter().map(|&x| Value::from(x)).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| Value::from(x)).collect(),
        };
        let out = OutTensor {
            dtype: t.tensor.dtype().name(),
            shape: &t.tensor.shape,
            data: Value::Array(data),
        };
        map.insert(
            t.name.clone(),
            serde_json::to_value(out).unwrap_or(Value::Null),
        );
    }
    serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default()
}

/// Reads a `.npy` file (format versions 1 to 3, C order, little-endian or byte-sized types
/// among float32, float64, float16, int32, int64, uint8, int8 and bool).
pub fn tensor_from_npy(bytes: &[u8]) -> Result<Tensor, String> {
    let err = |m: &str| format!(".npy: {m}");
    let (header, data_start) = npy_header(bytes)?;
    let descr = dict_value(header, "descr").ok_or_else(|| err("header lacks descr"))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let fortran =
        dict_value(header, "fortran_order").ok_or_else(|| err("header lacks fortran_order"))?;
    if fortran.trim() != "False" {
        return Err(err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape_text = dict_value(header, "shape").ok_or_else(|| err("header lacks shape"))?;
    let shape: Vec<usize> = shape_text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| err(&format!("bad shape entry `{s}`")))
        })
        .collect::<Result<_, _>>()?;
    let dtype = match descr {
        "<f4" => DType::F32,
        "<f8" => DType::F64,
        "<f2" => DType::F16,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" | "<u1" => DType::U8,
        "|i1" | "<i1" => DType::I8,
        "|b1" | "<b1" => DType::Bool,
        other => return Err(err(&format!("unsupported dtype `{other}`"))),
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("shape overflows"))?;
    let body = bytes.get(data_start..).unwrap_or_default();
    let need = count
        .checked_mul(dtype.size())
        .ok_or_else(|| err("shape overflows"))?;
    if body.len() != need {
        return Err(err(&format!(
            "data is {} bytes, the shape needs {need}",
            body.len()
        )));
    }
    Ok(Tensor::new(shape, npy_data(dtype, body)))
}

/// The little-endian body of a `.npy` file as tensor data of `dtype` (its length checked).
fn npy_data(dtype: DType, body: &[u8]) -> TensorData {
    match dtype {
        DType::F32 => TensorData::F32(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                .collect(),
        ),
        DType::F64 => TensorData::F64(
            body.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        DType::I32 => TensorData::I32(
            body.chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                .collect(),
        ),
        DType::I64 => TensorData::I64(
            body.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        DType::F16 => TensorData::F16(
            body.chunks_exact(2)
                .map(|c| u16::from_le_bytes(c.try_into().unwrap_or([0; 2])))
                .collect(),
        ),
        DType::U8 => TensorData::U8(body.to_vec()),
        DType::I8 => TensorData::I8(body.iter().map(|&b| i8::from_le_bytes([b])).collect()),
        DType::Bool => TensorData::Bool(body.iter().map(|&b| b != 0).collect()),
    }
}

/// The header dict of a `.npy` file (format versions 1 to 3) and where the data starts.
fn npy_header(bytes: &[u8]) -> Result<(&str, usize), String> {
    let err = |m: &str| format!(".npy: {m}");
    let magic = bytes.get(..6).ok_or_else(|| err("file too short"))?;
    if magic != b"\x93NUMPY" {
        return Err(err("not a .npy file (bad magic)"));
    }
    let major = *bytes.get(6).ok_or_else(|| err("file too short"))?;
    let (header_len, start): (usize, usize) = match major {
        1 => {
            let &[b0, b1] = bytes.get(8..10).ok_or_else(|| err("file too short"))? else {
                return Err(err("file too short"));
            };
            (usize::from(u16::from_le_bytes([b0, b1])), 10)
        }
        2 | 3 => {
            let &[b0, b1, b2, b3] = bytes.get(8..12).ok_or_else(|| err("file too short"))? else {
                return Err(err("file too short"));
            };
            (u32::from_le_bytes([b0, b1, b2, b3]) as usize, 12)
        }
        v => return Err(err(&format!("unsupported format version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| err("header runs past the end of the file"))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text"))?;
    Ok((header, start + header_len))
}

/// The text after `'key':` in a numpy header dict, up to the next top-level comma.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn reads_npy() {
        let body: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let t = tensor_from_npy(&npy("<f4", "(1, 2)", &body)).unwrap();
        assert_eq!(t.shape, vec![1, 2]);
        assert_eq!(t.data, TensorData::F32(vec![1.5, -2.0]));
        let t = tensor_from_npy(&npy("|b1", "(3,)", &[1, 0, 1])).unwrap();
        assert_eq!(t.data, TensorData::Bool(vec![true, false, true]));
        let t = tensor_from_npy(&npy("<i8", "()", &7i64.to_le_bytes())).unwrap();
        assert_eq!((t.shape.len(), t.data), (0, TensorData::I64(vec![7])));
        // float16 as its bits (1.5, -0.25), int8 as signed bytes.
        let t = tensor_from_npy(&npy("<f2", "(2,)", &[0x00, 0x3e, 0x00, 0xb4])).unwrap();
        assert_eq!(t.data, TensorData::F16(vec![15872, 46080]));
        let t = tensor_from_npy(&npy("|i1", "(2,)", &[0x9c, 0x7f])).unwrap();
        assert_eq!(t.data, TensorData::I8(vec![-100, 127]));
        assert!(tensor_from_npy(&npy("<f2", "(2,)", &[0; 3])).is_err());
    }

    #[test]
    fn refuses_bad_npy() {
        assert!(tensor_from_npy(b"").is_err());
        assert!(tensor_from_npy(b"\x93NUMPY\x01\x00\xff\xff").is_err());
        assert!(tensor_from_npy(&npy("<f4", "(2, 2)", &[0; 4]))
            .unwrap_err()
            .contains("needs 16"));
        assert!(tensor_from_npy(&npy(">f4", "(1,)", &[0; 4])).is_err());
        assert!(tensor_from_npy(&npy("<f4", "(99999999999999999999,)", &[])).is_err());
        assert!(tensor_from_npy(&npy("<f4", "(4294967296, 4294967296, 4294967296)", &[])).is_err());
    }

    #[test]
    fn json_round_trip() {
        let text = r#"{"x": {"dtype": "float32", "shape": [1, 3], "data": [[0.1, "NaN", 2]]},
                       "m": {"dtype": "bool", "shape": [2], "data": [true, 0]}}"#;
        let t = tensors_from_json(text).unwrap();
        assert_eq!(t[0].name, "m");
        assert_eq!(t[0].tensor.data, TensorData::Bool(vec![true, false]));
        let back = tensors_to_json(&t);
        assert!(back.contains("0.1") && back.contains("\"NaN\""), "{back}");
        let again = tensors_from_json(&back).unwrap();
        assert_eq!(again[0].tensor, t[0].tensor);
        assert!(
            tensors_from_json(r#"{"x": {"dtype": "int16", "shape": [1], "data": [1]}}"#).is_err()
        );
        assert!(
            tensors_from_json(r#"{"x": {"dtype": "uint8", "shape": [1], "data": [256]}}"#).is_err()
        );
    }
}

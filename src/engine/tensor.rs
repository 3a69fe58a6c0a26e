//! Typed tensors that cross the engine boundary: a shape and a flat, row-major buffer of one
//! element type. Buffers move in and out of tract without copying where tract allows it.

use super::schema::DType;
use tract_onnx::prelude::f16;

/// A flat, row-major buffer of one element type.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// `float32`
    F32(Vec<f32>),
    /// `float64`
    F64(Vec<f64>),
    /// `float16`, as IEEE 754 half-precision bits (what JavaScript's `Uint16Array` view of a
    /// `Float16Array` holds).
    F16(Vec<u16>),
    /// `int32`
    I32(Vec<i32>),
    /// `int64`
    I64(Vec<i64>),
    /// `uint8`
    U8(Vec<u8>),
    /// `int8`
    I8(Vec<i8>),
    /// `bool`
    Bool(Vec<bool>),
}

impl TensorData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::F16(_) => DType::F16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::I8(_) => DType::I8,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::Bool(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element as f64 (integers and booleans converted), for metrics and printing.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            TensorData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|&x| f16::from_bits(x).to_f64()).collect(),
            TensorData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            // Values beyond 2^53 lose precision; labels and counts never get there.
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }
}

/// A tensor: shape and data. `data.len()` equals the product of `shape` for every tensor the
/// engine returns; tensors from callers are checked before use.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major elements.
    pub data: TensorData,
}

impl Tensor {
    /// A tensor from a shape and data (not checked here; the engine checks on use).
    pub fn new(shape: Vec<usize>, data: TensorData) -> Self {
        Tensor { shape, data }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
}

/// A tensor with the graph's name for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Input or output name.
    pub name: String,
    /// The tensor.
    pub tensor: Tensor,
}

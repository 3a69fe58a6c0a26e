//! ONNX model loading through the engine (the protobuf pre-scan, then tract: parsing, type
//! analysis, optimisation, planning), the schema it reports (which must match itself as a
//! declared card schema), and one run on zero inputs of the declared shapes (symbols bound to
//! 1 or 2) when those are small, through `Model::run` and the evaluation predictor.
//!
//! libfuzzer-sys aborts on any panic, even one the engine's native `catch_unwind` would turn
//! into `INTERNAL_PANIC`: in wasm a panic kills the module, so every one is a finding.
#![no_main]

use edge_registry::engine::{
    read_schema, DType, Dim, EngineLimits, Model, ModelPredictor, NamedTensor, Tensor, TensorData,
};
use edge_registry::error::ErrorCode;
use edge_registry::eval::{Predictor, TaskKind};
use libfuzzer_sys::fuzz_target;

fn zeros(dtype: DType, n: usize) -> TensorData {
    match dtype {
        DType::F32 => TensorData::F32(vec![0.0; n]),
        DType::F64 => TensorData::F64(vec![0.0; n]),
        DType::F16 => TensorData::F16(vec![0; n]),
        DType::I8 => TensorData::I8(vec![0; n]),
        DType::I32 => TensorData::I32(vec![0; n]),
        DType::I64 => TensorData::I64(vec![0; n]),
        DType::U8 => TensorData::U8(vec![0; n]),
        DType::Bool => TensorData::Bool(vec![false; n]),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = EngineLimits {
        max_model_bytes: 1 << 20,
        max_tensor_elements: 1 << 16,
        max_plans: 2,
        max_plan_bytes: 1 << 26,
    };
    let model = match Model::load_with_limits(data, None, limits) {
        Ok(m) => m,
        Err(e) => {
            assert_ne!(e.code(), "INTERNAL_PANIC", "{e}");
            return;
        }
    };
    let schema = model.schema().clone();
    assert_eq!(schema.check_declared(&schema), Ok(()));
    if let Ok(s) = read_schema(data) {
        assert_eq!(
            s.check_declared(&schema),
            Ok(()),
            "read_schema disagrees with load"
        );
    }

    let batch = 1 + data.len() % 2;
    let mut inputs = Vec::new();
    for spec in &schema.inputs {
        let shape: Vec<usize> = spec
            .shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                Dim::Symbol(_) => batch,
            })
            .collect();
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        if n > 1 << 16 {
            return;
        }
        inputs.push(NamedTensor {
            name: spec.name.clone(),
            tensor: Tensor::new(shape, zeros(spec.dtype, n)),
        });
    }
    match model.run(inputs) {
        Ok(outputs) => {
            for o in outputs {
                let n: usize = o.tensor.shape.iter().product();
                assert_eq!(
                    n,
                    o.tensor.data.len(),
                    "output {} has a wrong length",
                    o.name
                );
            }
        }
        Err(e) => assert_ne!(e.code(), "INTERNAL_PANIC", "{e}"),
    }
    for task in [TaskKind::Classification, TaskKind::Regression] {
        if let Ok(mut p) = ModelPredictor::new(&model, task) {
            let nf = p.n_features();
            if nf <= 4096 {
                if let Err(e) = p.predict(&vec![0.5; nf * batch], batch) {
                    assert_ne!(e.code, "INTERNAL_PANIC", "{}", e.message);
                }
            }
        }
    }
});

//! tract's optimiser with the engine's own passes between its two halves (decluttering, then
//! code generation), on the typed graph where shapes and axes are known.
//!
//! - A softmax over an axis other than the last runs as a softmax over the last axis between two
//!   transposes. tract's kernel covers contiguous rows only; any other axis takes a path that
//!   computes each lane element by element through strided views (YOLOv8's distribution head,
//!   a softmax over 16 values along axis 1 of `[1, 16, 4, 8400]`: 17% of a detector's run).
//!   Inserted after decluttering, so tract's axis-change pass does not push them back through.

use tract_onnx::prelude::{TractResult, TypedModel, TypedModelPatch};
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::nn::Softmax;
use tract_onnx::tract_hir::internal::DatumType;

/// Declutters, applies the engine's passes, then generates code: what tract's `into_optimized`
/// does, plus the passes.
pub(super) fn optimised(model: TypedModel) -> TractResult<TypedModel> {
    let mut model = model.into_decluttered()?;
    trailing_softmaxes(&mut model)?;
    model.optimize()?;
    Ok(model)
}

/// Moves each f32 softmax's single non-trailing axis last (see the module comment).
fn trailing_softmaxes(model: &mut TypedModel) -> TractResult<()> {
    let candidates: Vec<usize> = model
        .nodes
        .iter()
        .filter(|n| {
            n.op_as::<Softmax>()
                .is_some_and(|s| s.axes.len() == 1 && s.quant_output_dt.is_none())
        })
        .map(|n| n.id)
        .collect();
    for id in candidates {
        let Some(node) = model.nodes.get(id) else {
            continue;
        };
        let (Some(softmax), Some(&input)) = (node.op_as::<Softmax>(), node.inputs.first()) else {
            continue;
        };
        let fact = model.outlet_fact(input)?;
        let (rank, Some(&axis)) = (fact.rank(), softmax.axes.first()) else {
            continue;
        };
        if fact.datum_type != DatumType::F32 || rank < 2 || axis + 1 >= rank {
            continue;
        }
        let last = rank - 1;
        let op = Softmax {
            axes: [last].into_iter().collect(),
            ..softmax.clone()
        };
        let name = node.name.clone();
        let mut patch = TypedModelPatch::default();
        let x = patch.tap_model(model, input)?;
        let moved = patch.wire_node(format!("{name}.to_last"), AxisOp::Move(axis, last), &[x])?;
        let y = patch.wire_node(format!("{name}.last_axis"), op, &moved)?;
        let back = patch.wire_node(format!("{name}.from_last"), AxisOp::Move(last, axis), &y)?;
        if let Some(&out) = back.first() {
            patch.shunt_outside(model, id.into(), out)?;
            patch.apply(model)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::*;

    /// `Softmax` (and `LogSoftmax`) over `axis` of a `[2, 5, 3, 4]` input, as tract types it.
    fn softmax_model(axis: usize, log: bool) -> TypedModel {
        use tract_onnx::tract_core::ops::nn::SoftmaxKind;
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([2, 5, 3, 4])).unwrap();
        let op = Softmax {
            axes: tvec!(axis),
            quant_output_dt: None,
            kind: if log {
                SoftmaxKind::LogSoftmax
            } else {
                SoftmaxKind::Softmax
            },
        };
        let y = model.wire_node("softmax", op, &[x]).unwrap();
        model.select_output_outlets(&y).unwrap();
        model
    }

    fn run(model: TypedModel) -> Vec<f32> {
        let x: Vec<f32> = (0..120)
            .map(|i| ((i * 37) % 23) as f32 * 0.31 - 3.0)
            .collect();
        let x = tract_ndarray::ArrayD::from_shape_vec(vec![2, 5, 3, 4], x).unwrap();
        let plan = model.into_runnable().unwrap();
        let out = plan.run(tvec!(Tensor::from(x).into())).unwrap();
        out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn a_softmax_over_an_inner_axis_runs_over_the_last_axis_with_the_same_outputs() {
        for axis in 0..4 {
            for log in [false, true] {
                let mut moved = softmax_model(axis, log).into_decluttered().unwrap();
                trailing_softmaxes(&mut moved).unwrap();
                let softmax_axes: Vec<TVec<usize>> = moved
                    .nodes
                    .iter()
                    .filter_map(|n| n.op_as::<Softmax>().map(|s| s.axes.clone()))
                    .collect();
                assert_eq!(softmax_axes, [tvec!(3)], "axis {axis}");
                let transposes = moved.nodes.iter().filter(|n| n.op_is::<AxisOp>()).count();
                assert_eq!(transposes, if axis == 3 { 0 } else { 2 }, "axis {axis}");
                let want = run(softmax_model(axis, log).into_optimized().unwrap());
                let got = run(optimised(softmax_model(axis, log)).unwrap());
                assert_eq!(want.len(), 120);
                let worst = want
                    .iter()
                    .zip(&got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "axis {axis} log {log}: {worst}");
            }
        }
    }
}

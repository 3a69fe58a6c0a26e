//! `DequantizeLinear(QuantizeLinear(x, s, z), s, z)` as one element-wise operator.
//!
//! Models quantised in the QDQ format (onnxruntime's quantiser) put a quantise-dequantise pair
//! after every activation. tract runs each pair as two operators, the first with a scalar loop
//! and a rounding call per element; on a speech transformer the pairs took a quarter of the run.
//! [`fuse`](super::fuse) replaces each pair whose two halves share a scalar scale and zero point
//! with [`OP_TYPE`], which this module builds: one pass that computes
//! `(saturate(round(x / s) + z) − z) · s` as `round(clamp(x / s, q_min − z, q_max − z)) · s`
//! (`x / s` as tract's quantiser computes it, `x · (1 / s)`)
//! (equal: the bounds are integers, rounding is monotonic, and every value is an integer of at
//! most 9 bits before the last product), in a loop the compiler vectorises.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::{DatumType, OutletId, TVec, Tensor, TractResult};
use tract_onnx::tract_core::ops::element_wise::{ElementWiseMiniOp, ElementWiseOp};
use tract_onnx::tract_hir::internal::{
    bail, check_input_arity, check_output_arity, ensure, InferenceOp, Solver, SpecialOps as _,
    StaticName, TensorProxy, TypedModel,
};
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

/// The operator type the fusion writes (a name no ONNX domain uses).
pub(super) const OP_TYPE: &str = "EdgeRegistryQuantizeDequantize";

pub(super) fn build(
    _ctx: &ParsingContext,
    _node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(QuantizeDequantize), vec![]))
}

/// The graph-level operator: inputs `x`, the scale (a float32 constant) and the zero point (a
/// uint8 or int8 constant), each scalar.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct QuantizeDequantize;

impl Expansion for QuantizeDequantize {
    fn name(&self) -> StaticName {
        OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> TractResult<()> {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        let (Some(x), Some(scale), Some(y)) = (inputs.first(), inputs.get(1), outputs.first())
        else {
            bail!("{OP_TYPE}: three inputs and one output");
        };
        s.equals(&scale.datum_type, DatumType::F32)?;
        s.equals(&y.datum_type, DatumType::F32)?;
        s.equals(&x.shape, &y.shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let &[x, scale, zero] = inputs else {
            bail!("{OP_TYPE} `{prefix}` needs three inputs");
        };
        let konst = |o: OutletId, what: &str| -> TractResult<std::sync::Arc<Tensor>> {
            let fact = target.outlet_fact(o)?;
            match &fact.konst {
                Some(k) if k.len() == 1 => Ok(k.clone()),
                _ => bail!("{OP_TYPE} `{prefix}`: the {what} must be a one-value constant"),
            }
        };
        let (scale, zero) = (konst(scale, "scale")?, konst(zero, "zero point")?);
        let scale = scale.cast_to_scalar::<f32>()?;
        ensure!(
            scale.is_finite() && scale > 0.0,
            "{OP_TYPE} `{prefix}`: scale {scale}"
        );
        let (q_min, q_max) = match zero.datum_type() {
            DatumType::U8 => (0, 255),
            DatumType::I8 => (-128, 127),
            dt => bail!("{OP_TYPE} `{prefix}`: zero point of type {dt:?}"),
        };
        let zero = zero.cast_to_scalar::<i32>()?;
        let mut x = x;
        if target.outlet_fact(x)?.datum_type != DatumType::F32 {
            let cast = tract_onnx::tract_core::ops::cast::cast(DatumType::F32);
            x = *target
                .wire_node(format!("{prefix}.cast"), cast, &[x])?
                .first()
                .ok_or_else(|| {
                    tract_onnx::tract_hir::internal::format_err!("{OP_TYPE}: no cast output")
                })?;
        }
        let op = FakeQuantize {
            scale: scale.to_bits(),
            lo: q_min - zero,
            hi: q_max - zero,
        };
        target.wire_node(prefix, ElementWiseOp(Box::new(op), None), &[x])
    }
}

/// The element-wise kernel: `round(clamp(x · (1 / scale), lo, hi)) · scale`, NaN to 0 (as the
/// pair gives: the quantisers map NaN to the zero point). The product by the reciprocal is
/// tract's `QuantizeLinear`'s (a quotient rounds differently only within an ulp of a tie), and
/// a division per element would take most of this operator's time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeQuantize {
    /// The scale's bits (the trait objects compare with `Eq`).
    scale: u32,
    lo: i32,
    hi: i32,
}

/// Rounds half to even for |v| < 2²²: adding 1.5 · 2²³ leaves no fraction bits, so the
/// addition itself rounds (to nearest, ties to even, the default mode).
#[inline(always)]
fn round_small(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

impl FakeQuantize {
    fn apply(&self, xs: &mut [f32]) {
        let scale = f32::from_bits(self.scale);
        let inverse = scale.recip();
        let (lo, hi) = (self.lo as f32, self.hi as f32);
        for x in xs {
            let v = *x * inverse;
            let r = round_small(v.max(lo).min(hi)) * scale;
            *x = if v.is_nan() { 0.0 } else { r };
        }
    }
}

impl ElementWiseMiniOp for FakeQuantize {
    fn name(&self) -> String {
        OP_TYPE.into()
    }

    fn eval_in_place(&self, t: &mut Tensor, _out_dt: Option<DatumType>) -> TractResult<()> {
        if t.datum_type() != DatumType::F32 {
            bail!("{OP_TYPE} on {:?}", t.datum_type());
        }
        self.apply(t.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?);
        Ok(())
    }

    fn eval_out_of_place(&self, t: &Tensor, out_dt: Option<DatumType>) -> TractResult<Tensor> {
        let mut t = t.clone();
        self.eval_in_place(&mut t, out_dt)?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two operators, as tract computes them (the specification's `x / scale` as a product
    /// by the reciprocal).
    fn reference(x: f32, scale: f32, zero: i32, q_min: i32, q_max: i32) -> f32 {
        let q = if x.is_nan() {
            zero
        } else {
            ((x * scale.recip()).round_ties_even() as i64)
                .saturating_add(i64::from(zero))
                .clamp(q_min.into(), q_max.into()) as i32
        };
        (q - zero) as f32 * scale
    }

    #[test]
    fn the_fused_kernel_equals_quantise_then_dequantise_on_every_kind_of_value() {
        let mut xs: Vec<f32> = (-3000..3000).map(|i| i as f32 * 0.0173).collect();
        // Ties at both signs, values beyond both bounds, infinities, NaN, signed zeros.
        xs.extend([
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            1e9,
            -1e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            3.4e38,
        ]);
        for (scale, zero, q_min, q_max) in [
            (0.05f32, 128, 0, 255),
            (0.02, 0, 0, 255),
            (1.0, 3, 0, 255),
            (0.1, 0, -128, 127),
            (0.3, -7, -128, 127),
        ] {
            let op = FakeQuantize {
                scale: scale.to_bits(),
                lo: q_min - zero,
                hi: q_max - zero,
            };
            let mut got = xs.clone();
            op.apply(&mut got);
            for (x, g) in xs.iter().zip(&got) {
                let want = reference(*x, scale, zero, q_min, q_max);
                assert!(
                    want == *g,
                    "x {x} scale {scale} zero {zero}: {g}, expected {want}"
                );
            }
        }
    }
}

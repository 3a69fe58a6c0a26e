//! Numerical helpers shared by the metrics: compensated sums, numpy-compatible quantiles, an
//! order-preserving key for `f64`, and the seeded PRNG of the bootstrap.
//!
//! Transcendental functions come from the `libm` crate rather than `std`: `std` calls the
//! platform's C library natively and a different implementation in wasm, and the last bit of a
//! logarithm may differ between them. Reports must be identical on every runtime, so every
//! `ln`/`exp` in `eval` goes through `libm`.

/// A number as signed JSON carries it: a JSON number, or a string holding one (TUF's canonical
/// JSON has no floats, so signed cards write non-integers as decimal strings).
pub fn number_or_numeric_string(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Deserializes an optional number that may be written as a numeric string (gate thresholds).
pub(crate) fn opt_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    use serde::Deserialize;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => number_or_numeric_string(&v).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("{v} is not a number or a numeric string"))
        }),
    }
}

/// Neumaier's compensated summation (an improved Kahan sum). Its error is bounded independently
/// of the number of terms, so sums over millions of rows agree with numpy's pairwise summation
/// to far better than 1e-9 relative.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeumaierSum {
    sum: f64,
    comp: f64,
}

impl NeumaierSum {
    /// A zero sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if !t.is_finite() {
            // Infinities and NaN propagate; the compensation would turn them into NaN.
            self.sum = t;
            self.comp = 0.0;
            return;
        }
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated total.
    #[inline]
    pub fn total(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Compensated sum of a slice.
pub fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = NeumaierSum::new();
    for v in values {
        s.add(v);
    }
    s.total()
}

/// Natural logarithm (libm; identical bits on every target).
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `e^x` (libm; identical bits on every target).
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `sqrt` (correctly rounded everywhere, via libm for symmetry).
#[inline]
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}

/// A `u64` whose unsigned order is the total order of `f64` (negative values below positive;
/// `-0.0` just below `+0.0`). Used to sort scores with integer sorts.
#[inline]
pub fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Inverse of [`order_key`].
#[inline]
pub fn from_order_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// The `q`-quantile of **sorted** values by numpy's default (`np.quantile(..., method="linear")`,
/// i.e. Hyndman & Fan type 7): position `q·(n−1)`, linear interpolation between neighbours.
/// Returns `None` for an empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let pos = q * (n - 1) as f64;
    let lo = pos.floor();
    let frac = pos - lo;
    let i = (lo as usize).min(n - 1);
    let a = *sorted.get(i)?;
    if i + 1 >= n {
        return Some(a);
    }
    let b = *sorted.get(i + 1)?;
    Some(lerp(a, b, frac))
}

/// A sorted list given as `(value, count)` pairs, ascending by value: the list in which each
/// value stands `count` times, read by position without being written out (a merged summary's
/// counts are untrusted and may be larger than any memory). Its quantiles and median are those
/// of [`quantile_sorted`] and [`median_sorted`] on the written-out list, bit for bit.
pub struct Counted<'a> {
    values: &'a [(f64, u64)],
    ends: Vec<u64>,
}

impl<'a> Counted<'a> {
    /// The list of `values` (ascending by value).
    pub fn new(values: &'a [(f64, u64)]) -> Self {
        let mut total = 0u64;
        let ends = values
            .iter()
            .map(|&(_, c)| {
                total = total.saturating_add(c);
                total
            })
            .collect();
        Counted { values, ends }
    }

    /// How many values the list has.
    pub fn len(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at position `k`.
    pub fn get(&self, k: u64) -> Option<f64> {
        let j = self.ends.partition_point(|&end| end <= k);
        self.values.get(j).map(|&(v, _)| v)
    }

    /// The last (largest) value.
    pub fn last(&self) -> Option<f64> {
        self.len().checked_sub(1).and_then(|k| self.get(k))
    }

    /// [`quantile_sorted`] of the list.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let pos = q * (n - 1) as f64;
        let lo = pos.floor();
        let frac = pos - lo;
        let i = (lo as u64).min(n - 1);
        let a = self.get(i)?;
        if i + 1 >= n {
            return Some(a);
        }
        Some(lerp(a, self.get(i + 1)?, frac))
    }

    /// [`median_sorted`] of the list.
    pub fn median(&self) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        if n % 2 == 1 {
            self.get(n / 2)
        } else {
            Some((self.get(n / 2 - 1)? + self.get(n / 2)?) / 2.0)
        }
    }
}

/// numpy's `_lerp`: a + (b - a) * t, computed from the nearer end for t >= 0.5.
fn lerp(a: f64, b: f64, frac: f64) -> f64 {
    let diff = b - a;
    if !diff.is_finite() && a.is_finite() && b.is_finite() {
        // b - a overflowed (values near ±f64::MAX): the convex combination stays finite.
        return a * (1.0 - frac) + b * frac;
    }
    if frac >= 0.5 {
        b - diff * (1.0 - frac)
    } else {
        a + diff * frac
    }
}

/// Median of sorted values as `np.median` (mean of the two middle values for even `n`).
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied()
    } else {
        let a = *sorted.get(n / 2 - 1)?;
        let b = *sorted.get(n / 2)?;
        Some((a + b) / 2.0)
    }
}

/// Sorts `f64` values by their total order (NaN never reaches here: callers filter it).
pub fn sort_f64(values: &mut [f64]) {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
}

/// xoshiro256** 1.0 (Blackman & Vigna, <https://prng.di.unimi.it/xoshiro256starstar.c>), seeded
/// through SplitMix64 from one `u64` as the authors recommend. The bootstrap draws row indices
/// with [`Xoshiro256::below`]; the sequence is the same on every platform, and
/// `scripts/gen_eval_reference.py` reimplements it to check the confidence intervals.
#[derive(Debug, Clone)]
pub struct Xoshiro256 {
    s: [u64; 4],
}

impl Xoshiro256 {
    /// Seeds the state with four outputs of SplitMix64 started at `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Xoshiro256 {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A draw in `0..n` by Lemire's multiply-shift, `(next_u64() · n) >> 64` (bias below
    /// `n / 2^64`, irrelevant for row counts). `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_lists_read_like_the_written_out_list_and_are_never_written_out() {
        let mut rng = Xoshiro256::new(7);
        for case in 0..200u64 {
            let pairs: Vec<(f64, u64)> = (0..1 + case % 9)
                .map(|i| (i as f64 * 0.37 - 1.0, rng.below(5)))
                .collect();
            let mut expanded = Vec::new();
            for &(v, c) in &pairs {
                expanded.extend(std::iter::repeat_n(v, c as usize));
            }
            for q in [0.0, 0.1, 0.25, 0.5, 0.77, 0.9, 1.0] {
                let want = quantile_sorted(&expanded, q).map(f64::to_bits);
                let got = Counted::new(&pairs).quantile(q).map(f64::to_bits);
                assert_eq!(got, want, "{pairs:?} {q}");
            }
            let counted = Counted::new(&pairs);
            assert_eq!(
                counted.median().map(f64::to_bits),
                median_sorted(&expanded).map(f64::to_bits)
            );
            assert_eq!(counted.len(), expanded.len() as u64);
            assert_eq!(counted.last(), expanded.last().copied());
        }
        // Counts no memory could hold: answered from the counts.
        let huge = [(1.0, u64::MAX / 4), (2.0, u64::MAX / 4)];
        let counted = Counted::new(&huge);
        assert_eq!(
            (counted.quantile(0.0), counted.quantile(1.0)),
            (Some(1.0), Some(2.0))
        );
        assert_eq!(counted.median(), Some(1.5));
    }

    #[test]
    fn order_key_sorts_like_total_cmp() {
        let mut v = vec![
            3.5,
            -0.0,
            0.0,
            -2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
            -1e-300,
        ];
        let mut k: Vec<u64> = v.iter().map(|&x| order_key(x)).collect();
        k.sort_unstable();
        sort_f64(&mut v);
        let back: Vec<f64> = k.iter().map(|&x| from_order_key(x)).collect();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn quantiles_match_numpy() {
        // np.quantile([1, 2, 4, 8], [0, .1, .5, .9, 1]) == [1, 1.3, 3, 6.8, 8]
        let s = [1.0, 2.0, 4.0, 8.0];
        let got: Vec<f64> = [0.0, 0.1, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_sorted(&s, q).unwrap())
            .collect();
        let want = [1.0, 1.3, 3.0, 6.8, 8.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        assert_eq!(median_sorted(&s), Some(3.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn neumaier_beats_naive() {
        let mut s = NeumaierSum::new();
        for x in [1.0, 1e100, 1.0, -1e100] {
            s.add(x);
        }
        assert_eq!(s.total(), 2.0);
    }

    #[test]
    fn xoshiro_reference_output() {
        // First outputs for seed 0 (SplitMix64 seeding), checked against the Python port in
        // scripts/gen_eval_reference.py.
        let mut r = Xoshiro256::new(0);
        let a = r.next_u64();
        let b = r.next_u64();
        assert_ne!(a, b);
        let mut r2 = Xoshiro256::new(0);
        assert_eq!(r2.next_u64(), a);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
        }
    }
}

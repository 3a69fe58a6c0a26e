//! Statistical tests and distances with scipy's (1.17) and statsmodels' (0.15) definitions:
//! the two-sample Kolmogorov-Smirnov test, the chi-square goodness-of-fit test, the
//! 1-Wasserstein distance, the Jensen-Shannon distance, the two-proportion z-test and McNemar's
//! exact test. Inputs are plain numbers; no allocation is sized by anything but the inputs.

use super::num::{self, NeumaierSum};

/// Which p-value method the KS test used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// scipy's exact two-sided distribution (`method="exact"`, which `"auto"` picks when both
    /// samples have at most 10,000 values).
    Exact,
    /// The limiting Kolmogorov distribution `kstwobign.sf(√(n₁n₂/(n₁+n₂))·D)`. scipy's
    /// `method="asymp"` uses the finite-n `kstwo.sf(D, round(n₁n₂/(n₁+n₂)))` instead; the two
    /// agree to O(1/√n). Used when a sample exceeds 10,000 values or the exact computation
    /// fails (as scipy falls back).
    Asymptotic,
}

/// Result of [`ks_2samp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// `D = sup |F₁ − F₂|`.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
}

/// `scipy.stats.ks_2samp(a, b, alternative="two-sided", method="auto")` on **sorted, non-empty**
/// samples (see [`KsMethod`] for the one deviation, samples over 10,000 values). Returns `None`
/// when a sample is empty.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // D = max over all data points of |searchsorted(a, x, right)/n1 − searchsorted(b, x,
    // right)/n2|: walk the merged values, moving past every element ≤ x on each side.
    let (mut i, mut j) = (0usize, 0usize);
    let mut d = 0.0f64;
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&u| u <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        let diff = (i as f64 / n1 as f64 - j as f64 / n2 as f64).abs();
        if diff > d {
            d = diff;
        }
    }
    let d = d.clamp(0.0, 1.0);
    if n1.max(n2) <= 10_000 {
        if let Some((d_exact, p)) = ks_exact(n1 as u64, n2 as u64, d) {
            return Some(KsResult {
                statistic: d_exact,
                p_value: p.clamp(0.0, 1.0),
                method: KsMethod::Exact,
            });
        }
    }
    let en = (n1 as f64 * n2 as f64) / (n1 as f64 + n2 as f64);
    Some(KsResult {
        statistic: d,
        p_value: kolmogorov_sf(num::sqrt(en) * d).clamp(0.0, 1.0),
        method: KsMethod::Asymptotic,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` (two-sided): rounds D to a lattice multiple `h/lcm` and
/// computes the exact probability; `None` where scipy would fall back to the asymptotic method.
fn ks_exact(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)?
    };
    if !(0.0..=1.0).contains(&p) || !p.is_finite() {
        return None;
    }
    Some((d, p))
}

/// scipy's `_compute_prob_outside_square(n, h)`: proportion of lattice paths that leave the band
/// `|x − y| < h` (equal sample sizes).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0f64;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let ku = k as u64;
        let mut p1 = 1.0f64;
        for j in 0..h {
            let num = n as f64 - (ku * h) as f64 - j as f64;
            let den = (n + ku * h + j + 1) as f64;
            p1 = num * p1 / den;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy's `_compute_outer_prob_inside_method(m, n, g, h)` (Hodges' inside method with
/// Viehmann's `1 − p` recursion): the proportion of paths that do not stay strictly inside
/// `|x/m − y/n| < h/lcm(m, n)`.
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (m, n, h) = (m as i64, n as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).ceil() as i64 };
    let floor_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).floor() as i64 };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1).max(1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj.max(0) as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0);
        minj = minj.min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let idx = (jj + minj - lastminj) as usize;
            let prev = *a.get(idx)?;
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            *a.get_mut(jj as usize)? = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            for k in (maxj - minj)..(maxj - minj + (lastlen - curlen)) {
                if let Some(v) = a.get_mut(k as usize) {
                    *v = 1.0;
                }
            }
        }
    }
    a.get((maxj - minj - 1) as usize).copied()
}

/// Survival function of the Kolmogorov distribution (`scipy.special.kolmogorov(x)` =
/// `kstwobign.sf(x)`): `2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}`, with the Jacobi-theta form
/// `1 − √(2π)/x Σ_{k≥1} e^{−(2k−1)²π²/(8x²)}` for small `x`.
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x < 1.0 {
        let pi = std::f64::consts::PI;
        let w = pi * pi / (8.0 * x * x);
        let mut s = 0.0;
        for k in 1..=20u32 {
            let t = f64::from(2 * k - 1);
            let term = num::exp(-t * t * w);
            s += term;
            if term < 1e-300 {
                break;
            }
        }
        1.0 - num::sqrt(2.0 * pi) / x * s
    } else {
        let mut s = 0.0;
        let mut sign = 1.0;
        for k in 1..=100u32 {
            let kf = f64::from(k);
            let term = num::exp(-2.0 * kf * kf * x * x);
            s += sign * term;
            sign = -sign;
            if term < 1e-300 {
                break;
            }
        }
        (2.0 * s).clamp(0.0, 1.0)
    }
}

/// Result of a chi-square test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    /// `Σ (o − e)² / e` (infinite when a category has `e = 0 < o`).
    pub statistic: f64,
    /// `chi2.sf(statistic, k − 1)`; `None` when `k < 2` (scipy gives nan).
    pub p_value: Option<f64>,
}

/// `scipy.stats.chisquare(observed, expected)` (`ddof=0`). The caller scales `expected` to the
/// observed total, as Evidently does.
pub fn chisquare(observed: &[f64], expected: &[f64]) -> ChiSquare {
    let mut s = NeumaierSum::new();
    for (&o, &e) in observed.iter().zip(expected) {
        if e == 0.0 {
            if o != 0.0 {
                s.add(f64::INFINITY);
            }
            continue;
        }
        s.add((o - e) * (o - e) / e);
    }
    let stat = s.total();
    let df = observed.len().saturating_sub(1);
    let p = (df > 0).then(|| {
        if stat.is_infinite() {
            0.0
        } else {
            gamma_q(df as f64 / 2.0, stat / 2.0)
        }
    });
    ChiSquare {
        statistic: stat,
        p_value: p,
    }
}

/// Regularised upper incomplete gamma `Q(a, x)` (`scipy.special.gammaincc`): series for
/// `x < a + 1`, Lentz's continued fraction otherwise.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if !x.is_finite() {
        return 0.0;
    }
    let log_pref = -x + a * num::ln(x) - libm::lgamma(a);
    if x < a + 1.0 {
        // P(a, x) by series.
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * num::exp(log_pref)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-17 {
                break;
            }
        }
        num::exp(log_pref) * h
    }
}

/// `scipy.stats.wasserstein_distance(u, v)` (equal weights) on **sorted** samples:
/// `∫ |F_u − F_v| dx`. `None` when a sample is empty.
pub fn wasserstein_sorted(u: &[f64], v: &[f64]) -> Option<f64> {
    let (nu, nv) = (u.len(), v.len());
    if nu == 0 || nv == 0 {
        return None;
    }
    // Walk the merged sorted values; between consecutive merged values x_k < x_{k+1} the CDFs
    // are searchsorted(right) at x_k.
    let (mut i, mut j) = (0usize, 0usize);
    let mut s = NeumaierSum::new();
    let mut prev: Option<f64> = None;
    while i < nu || j < nv {
        let x = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        if let Some(p) = prev {
            let fu = i as f64 / nu as f64;
            let fv = j as f64 / nv as f64;
            s.add((fu - fv).abs() * (x - p));
        }
        while u.get(i).is_some_and(|&a| a <= x) {
            i += 1;
        }
        while v.get(j).is_some_and(|&b| b <= x) {
            j += 1;
        }
        prev = Some(x);
    }
    Some(s.total())
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural log): each vector is normalised to sum
/// 1, then `√((KL(p‖m) + KL(q‖m))/2)` with `m = (p+q)/2`. `None` when either sums to 0.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Option<f64> {
    let sp = num::sum(p.iter().copied());
    let sq = num::sum(q.iter().copied());
    if sp <= 0.0 || sq <= 0.0 {
        return None;
    }
    let rel = |x: f64, y: f64| {
        if x > 0.0 && y > 0.0 {
            x * num::ln(x / y)
        } else if x == 0.0 && y >= 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let (mut l, mut r) = (NeumaierSum::new(), NeumaierSum::new());
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        l.add(rel(a, m));
        r.add(rel(b, m));
    }
    let js = (l.total() + r.total()) / 2.0;
    Some(num::sqrt(js.max(0.0)))
}

/// Population Stability Index as Evidently computes it (`evidently` `psi_stat_test`): shares of
/// each bin, zeros replaced by 0.0001, then `Σ (r − c)·ln(r/c)`.
pub fn psi(reference_counts: &[f64], current_counts: &[f64]) -> Option<f64> {
    let sr = num::sum(reference_counts.iter().copied());
    let sc = num::sum(current_counts.iter().copied());
    if sr <= 0.0 || sc <= 0.0 {
        return None;
    }
    let mut s = NeumaierSum::new();
    for (&r, &c) in reference_counts.iter().zip(current_counts) {
        let mut r = r / sr;
        let mut c = c / sc;
        if r == 0.0 {
            r = 0.0001;
        }
        if c == 0.0 {
            c = 0.0001;
        }
        s.add((r - c) * num::ln(r / c));
    }
    Some(s.total())
}

/// Evidently's two-proportion z-test (`proportions_diff_z_stat_ind` + `proportions_diff_z_test`):
/// `z = (p₁ − p₂)/√(P(1−P)(1/n₁ + 1/n₂))` with pooled `P`, p-value `2·(1 − Φ(|z|))`. `hits` are
/// the counts of one category in each sample. A zero denominator gives nan in numpy; `None`.
pub fn proportions_z_test(hits1: f64, n1: f64, hits2: f64, n2: f64) -> Option<f64> {
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let (p1, p2) = (hits1 / n1, hits2 / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let den = num::sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2));
    if den == 0.0 || !den.is_finite() {
        return None;
    }
    let z = (p1 - p2) / den;
    Some(2.0 * (1.0 - normal_cdf(z.abs())))
}

/// Standard normal CDF `Φ(z) = erfc(−z/√2)/2`.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// McNemar's exact test as `statsmodels.stats.contingency_tables.mcnemar(table, exact=True)`:
/// statistic `min(b, c)` and p-value `min(1, 2·BinomCDF(min(b, c); b + c, ½))`, where `b` and
/// `c` are the discordant counts.
pub fn mcnemar_exact(b: u64, c: u64) -> TestStatistic {
    let k = b.min(c);
    let n = b.saturating_add(c);
    let p = (2.0 * binom_cdf_half(k, n)).min(1.0);
    TestStatistic {
        statistic: k as f64,
        p_value: p,
    }
}

/// A test's statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestStatistic {
    /// The statistic.
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
}

/// `P(X ≤ k)` for `X ~ Binomial(n, ½)` (`scipy.stats.binom.cdf(k, n, 0.5)`), for `k ≤ n/2`
/// summed downwards from the `k`-th term, each term from the previous by exact ratios; the
/// first from `ln C(n, k) = Σ_{i=1..k} ln((n−k+i)/i)`.
pub fn binom_cdf_half(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if 2 * k > n {
        // Symmetry: P(X ≤ k) = 1 − P(X ≤ n − k − 1).
        return 1.0 - binom_cdf_half(n - k - 1, n);
    }
    let mut ln_c = NeumaierSum::new();
    for i in 1..=k {
        ln_c.add(num::ln((n - k + i) as f64 / i as f64));
    }
    let ln_term = ln_c.total() - n as f64 * std::f64::consts::LN_2;
    let mut term = num::exp(ln_term);
    let mut s = NeumaierSum::new();
    s.add(term);
    let mut i = k;
    while i > 0 {
        // pmf(i−1) = pmf(i) · i / (n − i + 1)
        term *= i as f64 / (n - i + 1) as f64;
        s.add(term);
        if term < s.total() * 1e-18 {
            break;
        }
        i -= 1;
    }
    s.total().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binom_small_cases() {
        // n = 4: pmf 1,4,6,4,1 / 16
        assert!((binom_cdf_half(0, 4) - 1.0 / 16.0).abs() < 1e-16);
        assert!((binom_cdf_half(1, 4) - 5.0 / 16.0).abs() < 1e-16);
        assert!((binom_cdf_half(2, 4) - 11.0 / 16.0).abs() < 1e-15);
        assert_eq!(binom_cdf_half(0, 0), 1.0);
        let t = mcnemar_exact(0, 0);
        assert_eq!((t.statistic, t.p_value), (0.0, 1.0));
    }

    #[test]
    fn wasserstein_simple() {
        // scipy: wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
        assert!(
            (wasserstein_sorted(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap() - 5.0).abs() < 1e-12
        );
        assert_eq!(wasserstein_sorted(&[], &[1.0]), None);
    }

    #[test]
    fn chisquare_degenerate() {
        let r = chisquare(&[3.0], &[3.0]);
        assert_eq!(r.p_value, None);
        let r = chisquare(&[1.0, 2.0], &[0.0, 3.0]);
        assert!(r.statistic.is_infinite());
        assert_eq!(r.p_value, Some(0.0));
        // chi2.sf(2, 2) = e^-1
        assert!((gamma_q(1.0, 1.0) - (-1.0f64).exp()).abs() < 1e-15);
    }
}

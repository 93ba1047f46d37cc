//! Structural zeros: parameters some of whose entries are fixed at exactly 0.
//!
//! - Masked simplexes: a row with `f` free entries has `f − 1` unconstrained coordinates,
//!   mapped by the parameter's simplex transform ([`Transform::Simplex`] or
//!   [`Transform::StickBreaking`]) onto the free entries, which form a simplex of their own
//!   size; a row with one free entry is the constant 1 (no coordinate). E.g. a left-to-right
//!   HMM's transition matrix.
//! - Unconstrained parameters ([`Transform::Identity`]) with fixed zeros: each free entry is
//!   one coordinate. E.g. the diagonal of covariate transition coefficients.
//!
//! The constrained parameter keeps its full shape, so element names and CSV columns do not
//! change with the mask. Declared with
//! [`ParamLayout::declare_masked`](crate::ParamLayout::declare_masked).
//!
//! ```
//! use trellis_models::{masked::ZeroMask, Transform};
//! // A 3 × 3 left-to-right transition matrix.
//! let mask = ZeroMask::new(
//!     vec![true, true, false, false, true, true, false, false, true], 3, Transform::Simplex)?;
//! assert_eq!(mask.unconstrained_len(), 2);
//! let (mut p, mut log_p) = (vec![0.0; 9], vec![0.0; 9]);
//! mask.constrain(Transform::Simplex, &[0.0, 0.0], &mut p, &mut log_p);
//! assert_eq!(p, [0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 1.0]);
//! assert_eq!(log_p[2], f64::NEG_INFINITY);
//! # Ok::<(), String>(())
//! ```

use trellis_ad::{scratch, Scalar};

use crate::distributions as d;
use crate::transforms::Transform;

/// Which entries of a parameter are free (`true`) and which are fixed at exactly 0
/// (`false`), row-major, for a simplex transform (per row) or the identity (per entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroMask {
    free: Vec<bool>,
    k: usize,
    simplex: bool,
}

impl ZeroMask {
    /// A mask over rows of `k` entries (`free.len()` a multiple of `k`) for `transform`.
    ///
    /// # Errors
    /// `k = 0`, a length that is not a whole number of rows, a transform other than a
    /// simplex or the identity, or (simplex) a row with no free entry (named by its index).
    pub fn new(free: Vec<bool>, k: usize, transform: Transform) -> Result<Self, String> {
        if k == 0 || free.is_empty() || free.len() % k != 0 {
            return Err(format!(
                "a mask of {} entries is not a whole number of rows of {k}",
                free.len()
            ));
        }
        let simplex = transform.is_simplex();
        if !simplex && transform != Transform::Identity {
            return Err(format!(
                "fixed zeros need a simplex transform or the identity, not {transform:?}"
            ));
        }
        if simplex {
            if let Some(r) = free.chunks(k).position(|row| !row.contains(&true)) {
                return Err(format!(
                    "row {r} of the mask has no free entry (a probability row needs at least one)"
                ));
            }
        }
        Ok(Self { free, k, simplex })
    }

    /// Unconstrained coordinates of a row with `n` free entries.
    fn coordinates(&self, n: usize) -> usize {
        if self.simplex {
            n - 1
        } else {
            n
        }
    }

    /// The flags, row-major (`true` = free).
    pub fn free(&self) -> &[bool] {
        &self.free
    }

    /// Length of a row.
    pub fn row_len(&self) -> usize {
        self.k
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.free.len() / self.k
    }

    /// Number of unconstrained coordinates: `Σ_rows (free entries − 1)` for a simplex, the
    /// number of free entries otherwise.
    pub fn unconstrained_len(&self) -> usize {
        self.free
            .chunks(self.k)
            .map(|row| self.coordinates(row.iter().filter(|&&f| f).count()))
            .sum()
    }

    /// `(row, index within the row's coordinates)` of each unconstrained coordinate, for
    /// names such as `p_transition_simplex__[0,1]`.
    pub fn unconstrained_index(&self) -> Vec<[usize; 2]> {
        let mut out = Vec::with_capacity(self.unconstrained_len());
        for (r, row) in self.free.chunks(self.k).enumerate() {
            let n = self.coordinates(row.iter().filter(|&&f| f).count());
            out.extend((0..n).map(|i| [r, i]));
        }
        out
    }

    /// Maps `u` (length [`ZeroMask::unconstrained_len`]) onto `values` (the full rows,
    /// masked entries 0) and, for a simplex, their exact logs (`-inf` at masked entries),
    /// with `transform` on each row's free entries; returns `log|J|`.
    pub fn constrain<T: Scalar>(
        &self,
        transform: Transform,
        u: &[T],
        values: &mut [T],
        logs: &mut [T],
    ) -> T {
        let mut lj = T::constant(0.0);
        let mut used = 0;
        scratch::with_vec(|sub_values: &mut Vec<T>| {
            scratch::with_vec(|sub_logs: &mut Vec<T>| {
                for ((row, vs), ls) in self
                    .free
                    .chunks(self.k)
                    .zip(values.chunks_mut(self.k))
                    .zip(logs.chunks_mut(self.k))
                {
                    let n = row.iter().filter(|&&f| f).count();
                    let m = self.coordinates(n);
                    sub_values.clear();
                    sub_values.resize(n, T::constant(1.0));
                    sub_logs.clear();
                    sub_logs.resize(n, T::constant(0.0));
                    if !self.simplex {
                        sub_values.copy_from_slice(&u[used..used + m]);
                    } else if n > 1 {
                        lj += transform.constrain(&u[used..used + m], n, sub_values, sub_logs);
                    }
                    used += m;
                    let mut next = 0;
                    for ((&f, v), l) in row.iter().zip(vs.iter_mut()).zip(ls.iter_mut()) {
                        if f {
                            (*v, *l) = (sub_values[next], sub_logs[next]);
                            next += 1;
                        } else {
                            (*v, *l) = (T::constant(0.0), T::constant(f64::NEG_INFINITY));
                        }
                    }
                }
            })
        });
        lj
    }

    /// The inverse of [`SimplexMask::constrain`]: masked entries must be exactly 0, free
    /// entries positive, and each row must sum to 1 within `1e-8`. On failure, the index of
    /// the offending element in the block and why.
    pub fn unconstrain(
        &self,
        transform: Transform,
        x: &[f64],
    ) -> Result<Vec<f64>, (usize, String)> {
        let mut u = Vec::with_capacity(self.unconstrained_len());
        for (r, (row, xs)) in self.free.chunks(self.k).zip(x.chunks(self.k)).enumerate() {
            let mut sub = Vec::with_capacity(self.k);
            let mut first_free = 0;
            for (i, (&f, &v)) in row.iter().zip(xs).enumerate() {
                if !v.is_finite() {
                    return Err((r * self.k + i, "not finite".into()));
                }
                if f {
                    if sub.is_empty() {
                        first_free = i;
                    }
                    sub.push(v);
                } else if v != 0.0 {
                    return Err((
                        r * self.k + i,
                        "the mask fixes this entry at 0 (structural zero)".into(),
                    ));
                }
            }
            if !self.simplex {
                u.extend(sub);
                continue;
            }
            if sub.len() == 1 {
                if (sub[0] - 1.0).abs() > 1e-8 {
                    return Err((
                        r * self.k + first_free,
                        "the only free entry of its row must be 1".into(),
                    ));
                }
                continue;
            }
            let part = transform.unconstrain(&sub, sub.len()).map_err(|(i, why)| {
                // Index `i` of the free entries → index in the block.
                let col = row
                    .iter()
                    .enumerate()
                    .filter(|(_, &f)| f)
                    .nth(i)
                    .map_or(0, |(c, _)| c);
                (r * self.k + col, why)
            })?;
            u.extend(part);
        }
        Ok(u)
    }

    /// `Σ_rows ln Dirichlet(p_free; α_free)` from exact logs `logs` (full rows) and `alpha`
    /// (`K` shared by every row, or one `K`-vector per row); masked concentrations are unused.
    pub fn dirichlet_log_density<T: Scalar>(&self, alpha: &[f64], logs: &[T]) -> T {
        let mut lp = T::constant(0.0);
        scratch::with_vec(|sub_logs: &mut Vec<T>| {
            let mut sub_alpha = Vec::with_capacity(self.k);
            for (r, (row, ls)) in self
                .free
                .chunks(self.k)
                .zip(logs.chunks(self.k))
                .enumerate()
            {
                let a = if alpha.len() == self.k {
                    alpha
                } else {
                    &alpha[r * self.k..(r + 1) * self.k]
                };
                sub_logs.clear();
                sub_alpha.clear();
                for ((&f, &l), &ai) in row.iter().zip(ls).zip(a) {
                    if f {
                        sub_logs.push(l);
                        sub_alpha.push(ai);
                    }
                }
                lp += d::dirichlet_lpdf_log(sub_logs, &sub_alpha);
            }
        });
        lp
    }
}

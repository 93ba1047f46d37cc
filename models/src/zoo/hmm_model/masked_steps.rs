//! Covariate-driven transitions with structural zeros: a masked entry of `Γₜ` is exactly 0
//! at every step. Its `ηₜ[i][j]` is `−∞` — left out of the row's softmax — so the free
//! entries of each row are a softmax over the free `η` alone:
//! `ln Γₜ[i][j] = ηₜ[i][j] − lse_{j' free}(ηₜ[i][j'])`. The masked entries' coefficients are
//! fixed at 0 in the layout (like the reference category's), so they get no gradient.

use trellis_ad::{scratch, Scalar};

use crate::emission::Emission;
use crate::hmm::{self, HmmError, Transitions};

/// `ln Γₜ` for every step of one sequence from the coefficients (`K × K × C`) and its design
/// vectors (`Tₛ × C`), with the masked entries (`free` `false`, `K × K` row-major) at `−∞`
/// and each row renormalised over its free entries. `free: None` is the unmasked model.
pub(super) fn log_transitions<T: Scalar>(
    coef: &[T],
    k: usize,
    c: usize,
    design: &[f64],
    free: Option<&[bool]>,
    out: &mut [T],
) -> Result<(), HmmError> {
    hmm::covariate_log_transitions(coef, k, c, design, out)?;
    let Some(free) = free else {
        return Ok(());
    };
    scratch::with_vec(|kept: &mut Vec<T>| {
        for (r, row) in out.chunks_exact_mut(k).enumerate() {
            let flags = &free[(r % k) * k..(r % k + 1) * k];
            kept.clear();
            kept.extend(row.iter().zip(flags).filter(|(_, &f)| f).map(|(&l, _)| l));
            // Renormalising the full row's log-softmax over the free entries is the softmax
            // of the free η (the full row's normaliser cancels).
            let lse = T::log_sum_exp(kept);
            for (l, &f) in row.iter_mut().zip(flags) {
                *l = if f {
                    *l - lse
                } else {
                    T::constant(f64::NEG_INFINITY)
                };
            }
        }
    });
    Ok(())
}

/// One sequence of a masked covariate model through the generic recursion (forward mode,
/// and reverse mode recorded node by node): `ln Γₜ` with the mask, the emission rows, then
/// the forward algorithm with per-step transitions.
pub(super) fn sequence_log_likelihood<T: Scalar, E: Emission<T> + ?Sized>(
    li: &[T],
    coef: &[T],
    (design, c): (&[f64], usize),
    free: &[bool],
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = li.len();
    let n = seq.len();
    let mut lt = vec![T::constant(0.0); n.saturating_sub(1) * k * k];
    log_transitions(coef, k, c, design, Some(free), &mut lt)?;
    let mut le = vec![T::constant(0.0); n * k];
    for t in 0..n {
        emission.log_densities(seq, t, &mut le[t * k..(t + 1) * k]);
    }
    hmm::forward_log_likelihood_with(li, Transitions::PerStep(&lt), &le, k)
}

//! The yardstick the benchmarks compare against: the reference model's log-likelihood and its
//! gradient by a hand-written scaled forward–backward pass in `f64` (no AD at all), and the
//! whole reference posterior on the unconstrained space with the chain rule through the
//! transforms written out by hand — what a careful user of a plain NUTS crate would write.

use trellis_models::hmm::Sequences;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Largest number of states the fixed-size buffers hold.
pub const MAX_STATES: usize = 32;

/// Value and gradient of the reference log-likelihood (shared-signal Gaussian emissions
/// `N((k + 1)·signal, noise)`) as a function of `(signal, noise, log p_init (K), log p_trans
/// (K × K))`, by a scaled forward–backward pass with preallocated buffers.
///
/// `K > 0`: the number of states is a compile-time constant (loops unroll); `K = 0`: it is
/// given at run time.
#[derive(Debug, Clone)]
pub struct HandWrittenHmm<const K: usize> {
    data: Sequences<f64>,
    k: usize,
    z: Vec<f64>,
    e: Vec<f64>,
    a: Vec<f64>,
    inv_c: Vec<f64>,
}

impl<const K: usize> HandWrittenHmm<K> {
    /// Buffers for `data` with `k` states (`k == K` when `K > 0`; at most [`MAX_STATES`]).
    pub fn new(data: Sequences<f64>, k: usize) -> Self {
        assert!(K == 0 || K == k, "K = {K} but k = {k}");
        assert!((1..=MAX_STATES).contains(&k), "1 ≤ k ≤ {MAX_STATES}");
        let n = data.max_len();
        Self {
            data,
            k,
            z: vec![0.0; n * k],
            e: vec![0.0; n * k],
            a: vec![0.0; n * k],
            inv_c: vec![0.0; n],
        }
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.k
    }

    /// The log-likelihood at `x = (signal, noise, log p_init, log p_trans)`; its gradient
    /// with respect to `x` goes to `grad`.
    pub fn value_and_gradient(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let k = if K > 0 { K } else { self.k };
        let (signal, noise) = (x[0], x[1]);
        let inv_sd = 1.0 / noise;
        let ln_sd = noise.ln();
        let mut pi = [0.0; MAX_STATES];
        let mut p = [0.0; MAX_STATES * MAX_STATES];
        for i in 0..k {
            pi[i] = x[2 + i].exp();
        }
        for i in 0..k * k {
            p[i] = x[2 + k + i].exp();
        }
        grad.fill(0.0);
        let mut total = 0.0;
        let (mut b, mut b_next, mut w) = ([0.0; MAX_STATES], [0.0; MAX_STATES], [0.0; MAX_STATES]);
        for seq in &self.data {
            let n = seq.len();
            let mut log_acc = 0.0;
            let mut prod = 1.0;
            for (t, &y) in seq.iter().enumerate() {
                let zt = &mut self.z[t * k..(t + 1) * k];
                let et = &mut self.e[t * k..(t + 1) * k];
                let mut m = f64::NEG_INFINITY;
                for j in 0..k {
                    zt[j] = (y - (j + 1) as f64 * signal) * inv_sd;
                    let l = -0.5 * zt[j] * zt[j];
                    et[j] = l;
                    m = m.max(l);
                }
                let mut c = 0.0;
                for j in 0..k {
                    let pred = if t == 0 {
                        pi[j]
                    } else {
                        let prev = &self.a[(t - 1) * k..t * k];
                        (0..k).map(|i| prev[i] * p[i * k + j]).sum()
                    };
                    et[j] = (et[j] - m).exp();
                    let v = pred * et[j];
                    self.a[t * k + j] = v;
                    c += v;
                }
                let inv = 1.0 / c;
                for v in &mut self.a[t * k..(t + 1) * k] {
                    *v *= inv;
                }
                self.inv_c[t] = inv;
                log_acc += m;
                prod *= c;
                if !(1e-100..=1e100).contains(&prod) {
                    log_acc += prod.ln();
                    prod = 1.0;
                }
            }
            total += log_acc + prod.ln() + n as f64 * (-ln_sd - HALF_LN_2PI);
            // Backward: γ = α̂ β̂; the emission partials through γ.
            let mut d_signal = 0.0;
            let mut d_noise = 0.0;
            b[..k].fill(1.0);
            for t in (0..n).rev() {
                let at = &self.a[t * k..(t + 1) * k];
                let zt = &self.z[t * k..(t + 1) * k];
                for j in 0..k {
                    let g = at[j] * b[j];
                    d_signal += g * zt[j] * (j + 1) as f64;
                    d_noise += g * zt[j] * zt[j];
                }
                if t == 0 {
                    for j in 0..k {
                        grad[2 + j] += at[j] * b[j];
                    }
                    break;
                }
                let et = &self.e[t * k..(t + 1) * k];
                for j in 0..k {
                    w[j] = et[j] * b[j] * self.inv_c[t];
                }
                let prev = &self.a[(t - 1) * k..t * k];
                for i in 0..k {
                    let mut s = 0.0;
                    for j in 0..k {
                        let pw = p[i * k + j] * w[j];
                        s += pw;
                        grad[2 + k + i * k + j] += prev[i] * pw;
                    }
                    b_next[i] = s;
                }
                b[..k].copy_from_slice(&b_next[..k]);
            }
            grad[0] += d_signal * inv_sd;
            grad[1] += (d_noise - n as f64) * inv_sd;
        }
        total
    }
}

/// The reference posterior on the unconstrained space, by hand: `emission_signal ~ N(0, 1)`
/// (identity), `emission_noise ~ HalfNormal(1)` (log transform), `p_initial_state` and the
/// rows of `p_transition` `~ Dirichlet(1)` through PyMC's zero-sum simplex transform (`K − 1`
/// free coordinates `u`, `z = (u, −Σu)`, `log p = z − lse(z)`, log-Jacobian `ln K − K·lse(z)`),
/// plus the log-likelihood of [`HandWrittenHmm`]. It is the density `trellis fit` samples, up
/// to an additive constant, and its gradient is the chain rule written out.
#[derive(Debug, Clone)]
pub struct HandWrittenPosterior<const K: usize> {
    hmm: HandWrittenHmm<K>,
    constrained: Vec<f64>,
    constrained_grad: Vec<f64>,
}

impl<const K: usize> HandWrittenPosterior<K> {
    /// The posterior of the reference model with `K` states given `data`.
    pub fn new(data: Sequences<f64>) -> Self {
        assert!(K >= 2, "the simplex transform needs K ≥ 2");
        let len = 2 + K + K * K;
        Self {
            hmm: HandWrittenHmm::new(data, K),
            constrained: vec![0.0; len],
            constrained_grad: vec![0.0; len],
        }
    }

    /// Number of unconstrained coordinates: `2 + (K − 1) + K (K − 1)`.
    pub const fn dim() -> usize {
        2 + (K - 1) + K * (K - 1)
    }

    /// The constrained values `(signal, noise, p_init (K), p_trans (K × K))` at `u`, in the
    /// order `trellis fit` reports them.
    pub fn constrain(u: &[f64]) -> Vec<f64> {
        let mut out = vec![u[0], u[1].exp()];
        for block in u[2..].chunks_exact(K - 1) {
            let mut logs = [0.0; MAX_STATES];
            log_simplex(block, &mut logs[..K]);
            out.extend(logs[..K].iter().map(|l| l.exp()));
        }
        out
    }

    /// Log-density (up to a constant) and gradient at the unconstrained point `u`.
    pub fn logp_and_grad(&mut self, u: &[f64], grad: &mut [f64]) -> f64 {
        let (signal, log_noise) = (u[0], u[1]);
        let noise = log_noise.exp();
        self.constrained[0] = signal;
        self.constrained[1] = noise;
        // Each simplex block: log p into the likelihood's input, remember the lse.
        let mut lse = [0.0; MAX_STATES + 1];
        for (r, block) in u[2..].chunks_exact(K - 1).enumerate() {
            let logs = &mut self.constrained[2 + r * K..2 + (r + 1) * K];
            lse[r] = log_simplex(block, logs);
        }
        let loglik = self
            .hmm
            .value_and_gradient(&self.constrained, &mut self.constrained_grad);
        let g = &self.constrained_grad;
        // Priors N(0, 1) and HalfNormal(1) (constants dropped), log-Jacobian of exp: log_noise.
        let mut logp = loglik - 0.5 * signal * signal - 0.5 * noise * noise + log_noise;
        grad[0] = g[0] - signal;
        grad[1] = (g[1] - noise) * noise + 1.0;
        for r in 0..=K {
            let logs = &self.constrained[2 + r * K..2 + (r + 1) * K];
            let gl = &g[2 + r * K..2 + (r + 1) * K];
            // f = L(log p(z)) + ln K − K·lse(z):  ∂f/∂z_m = g_m − p_m (Σ g + K).
            let total: f64 = gl.iter().sum::<f64>() + K as f64;
            let dz = |m: usize| gl[m] - logs[m].exp() * total;
            let last = dz(K - 1);
            for m in 0..K - 1 {
                grad[2 + r * (K - 1) + m] = dz(m) - last;
            }
            logp += (K as f64).ln() - K as f64 * lse[r];
        }
        logp
    }
}

/// Writes `log p = z − lse(z)` with `z = (u, −Σu)` into `logs` (length `u.len() + 1`) and
/// returns `lse(z)`.
fn log_simplex(u: &[f64], logs: &mut [f64]) -> f64 {
    let m = u.len();
    logs[..m].copy_from_slice(u);
    logs[m] = -u.iter().sum::<f64>();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + logs.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    for l in logs.iter_mut() {
        *l -= lse;
    }
    lse
}

//! HMM log-likelihood and gradient (trellis-models).
//!
//! Reference data: the seed data set (70 sequences × 51 steps, K = 3) with the shared-signal
//! Gaussian emission `ℓ[t][k] = ln N(y_t; (k + 1) · signal, noise)`; the function is the
//! log-likelihood of `(signal, noise, log p_init (3), log p_trans (9))`. Benchmarks:
//!
//! - `hmm/reference/*`, single thread: the value; value + gradient by generic reverse mode
//!   (the library's path: one fused node per sequence, the emission's Jacobian folded in
//!   through `Emission::fused`), by forward mode (`DualVec<f64, 8>`, two
//!   passes), and by a hand-written scaled forward–backward gradient (the yardstick, written
//!   here for the benchmark only, with K fixed at compile time and at run time); and, for
//!   comparison, reverse mode with one tape node per emission density, with emission
//!   densities recorded operation by operation, and through the generic recursion (no fused
//!   HMM node).
//! - `hmm/scaling/*`: value and reverse-mode value + gradient on simulated data, varying one
//!   of T ∈ {50, 500, 5 000, 50 000} (1 sequence, K = 3), K ∈ {2, 3, 10, 30} (70 × 51) and
//!   the number of sequences ∈ {1, 70, 700} (51 steps, K = 3), each on 1 and 2 threads.
//!
//! "1 thread" runs on the calling thread with rayon's global pool built with one thread, so
//! the library takes its serial path; "2 threads" runs each evaluation through
//! `ThreadPool::install` on a 2-thread pool (the figure includes that hand-over).
//!
//! Run: `cargo bench -p trellis-benches --bench hmm`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use trellis_ad::{forward, reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::{Emission, FusedEmission};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// How the emission records itself under reverse mode.
const FUSED: u8 = 0; // the fused fast path (`Emission::fused`): no per-density nodes
const NODES: u8 = 1; // one `T::custom` node per log-density (value and partials in f64)
const OPS: u8 = 2; // generic arithmetic, one node per operation

/// `ln N(y_t; (k + 1) · signal, noise)` for `k < K`, recorded as `MODE` says.
struct SharedSignal<T, const MODE: u8> {
    signal: T,
    noise: T,
    k: usize,
    log_noise: T,
    inv_noise: T,
    ln_sd: f64,
    inv_sd: f64,
}

impl<T: Scalar, const MODE: u8> SharedSignal<T, MODE> {
    fn new(signal: T, noise: T, k: usize) -> Self {
        let plain = MODE != OPS && T::PREFERS_CUSTOM;
        let (log_noise, inv_noise) = if plain {
            (T::cst(0.0), T::cst(0.0))
        } else {
            (noise.ln(), T::cst(1.0) / noise)
        };
        Self {
            signal,
            noise,
            k,
            log_noise,
            inv_noise,
            ln_sd: noise.value().ln(),
            inv_sd: 1.0 / noise.value(),
        }
    }

    #[inline]
    fn plain(&self, y: f64, k: usize) -> (f64, f64) {
        let z = (y - self.signal.value() * ((k + 1) as f64)) * self.inv_sd;
        (z, -(z * z) * 0.5 - self.ln_sd - HALF_LN_2PI)
    }
}

impl<T: Scalar, const MODE: u8> Emission<T> for SharedSignal<T, MODE> {
    type Obs = f64;
    fn n_states(&self) -> usize {
        self.k
    }
    #[inline]
    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        if MODE != OPS && T::PREFERS_CUSTOM {
            let inv = self.inv_sd;
            let inputs = [self.signal, self.noise];
            for (k, o) in out.iter_mut().enumerate() {
                let (z, value) = self.plain(y, k);
                let w = (k + 1) as f64;
                *o = T::custom(&inputs, value, &[z * inv * w, (z * z - 1.0) * inv]);
            }
        } else {
            for (k, o) in out.iter_mut().enumerate() {
                let z = (T::cst(y) - self.signal * ((k + 1) as f64)) * self.inv_noise;
                *o = -(z * z) * 0.5 - self.log_noise - HALF_LN_2PI;
            }
        }
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> {
        if MODE == FUSED {
            Some(self)
        } else {
            None
        }
    }
}

impl<T: Scalar, const MODE: u8> FusedEmission<T> for SharedSignal<T, MODE> {
    fn parameters(&self, out: &mut Vec<T>) {
        out.extend([self.signal, self.noise]);
    }
    #[inline]
    fn log_densities_with_jacobian(
        &self,
        seq: &[f64],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        let inv = self.inv_sd;
        for k in 0..self.k {
            let (z, value) = self.plain(seq[t], k);
            values[k] = value;
            jacobian[2 * k] = z * inv * ((k + 1) as f64);
            jacobian[2 * k + 1] = (z * z - 1.0) * inv;
        }
    }
}

/// The log-likelihood of `(signal, noise, log p_init (K), log p_trans (K²))`.
struct Model<const MODE: u8> {
    data: Sequences<f64>,
    k: usize,
}

impl<const MODE: u8> ScalarFn for Model<MODE> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        let emission = SharedSignal::<T, MODE>::new(x[0], x[1], k);
        hmm::batch_log_likelihood(
            &x[2..2 + k],
            &x[2 + k..2 + k + k * k],
            &emission,
            &self.data,
        )
        .unwrap()
    }
}

/// The same function through `forward_log_likelihood_generic` (no fused HMM node).
struct GenericModel {
    data: Sequences<f64>,
}

impl ScalarFn for GenericModel {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let emission = SharedSignal::<T, NODES>::new(x[0], x[1], 3);
        let mut total = T::cst(0.0);
        let mut le = Vec::new();
        for seq in &self.data {
            le.clear();
            le.resize(seq.len() * 3, T::cst(0.0));
            for t in 0..seq.len() {
                emission.log_densities(seq, t, &mut le[t * 3..t * 3 + 3]);
            }
            total += hmm::forward_log_likelihood_generic(&x[2..5], &x[5..14], &le, 3).unwrap();
        }
        total
    }
}

/// The yardstick: value and gradient of the reference model by a hand-written scaled
/// forward–backward pass in `f64`, buffers preallocated, no AD at all. `K > 0`: the number
/// of states is a compile-time constant (loops unroll); `K = 0`: it is `k`, at run time.
struct HandWritten<const K: usize> {
    data: Sequences<f64>,
    k: usize,
    z: Vec<f64>,
    e: Vec<f64>,
    a: Vec<f64>,
    inv_c: Vec<f64>,
}

impl<const K: usize> HandWritten<K> {
    fn new(data: Sequences<f64>, k: usize) -> Self {
        assert!(K == 0 || K == k);
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

    fn value_and_gradient(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let k = if K > 0 { K } else { self.k };
        let (signal, noise) = (x[0], x[1]);
        let inv_sd = 1.0 / noise;
        let ln_sd = noise.ln();
        let mut pi = [0.0; 32];
        let mut p = [0.0; 32 * 32];
        for i in 0..k {
            pi[i] = x[2 + i].exp();
        }
        for i in 0..k * k {
            p[i] = x[2 + k + i].exp();
        }
        grad.fill(0.0);
        let mut total = 0.0;
        let (mut b, mut b_next, mut w) = ([0.0; 32], [0.0; 32], [0.0; 32]);
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

fn reference_point() -> (Sequences<f64>, Vec<f64>) {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    (seed.sequences, x)
}

/// Builds rayon's global pool with one thread (once), so that calls from this thread take
/// the library's serial path.
fn single_thread_global_pool() {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    assert_eq!(rayon::current_num_threads(), 1);
}

fn reference(c: &mut Criterion) {
    single_thread_global_pool();
    let (data, x) = reference_point();
    let model = Model::<FUSED> {
        data: data.clone(),
        k: 3,
    };
    let model_nodes = Model::<NODES> {
        data: data.clone(),
        k: 3,
    };
    let model_ops = Model::<OPS> {
        data: data.clone(),
        k: 3,
    };
    let generic = GenericModel { data: data.clone() };
    let mut hand = HandWritten::<3>::new(data.clone(), 3);
    let mut hand_dyn = HandWritten::<0>::new(data, 3);
    let mut grad = vec![0.0; x.len()];

    // Cross-check before timing: every route computes the same value and gradient.
    let (v_rev, g_rev) = reverse::value_and_gradient(&model, &x);
    let check = |name: &str, v: f64, g: &[f64]| {
        assert!(
            (v - v_rev).abs() < 1e-9 * v_rev.abs(),
            "{name}: {v} vs {v_rev}"
        );
        for (a, b) in g.iter().zip(&g_rev) {
            assert!((a - b).abs() < 1e-8 * (1.0 + b.abs()), "{name}: {a} vs {b}");
        }
    };
    let mut g = vec![0.0; x.len()];
    let v = hand.value_and_gradient(&x, &mut g);
    check("hand-written", v, &g);
    let v = hand_dyn.value_and_gradient(&x, &mut g);
    check("hand-written, K at run time", v, &g);
    for (name, (v, g)) in [
        ("nodes", reverse::value_and_gradient(&model_nodes, &x)),
        ("ops", reverse::value_and_gradient(&model_ops, &x)),
        ("generic", reverse::value_and_gradient(&generic, &x)),
        ("forward", forward::value_and_gradient(&model, &x)),
    ] {
        check(name, v, &g);
    }

    let mut group = c.benchmark_group("hmm/reference");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("value", |b| b.iter(|| model.eval(black_box(&x))));
    group.bench_function("value+grad/reverse", |b| {
        b.iter(|| reverse::value_and_gradient_into(&model, black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/hand-written", |b| {
        b.iter(|| hand.value_and_gradient(black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/hand-written, K at run time", |b| {
        b.iter(|| hand_dyn.value_and_gradient(black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/forward", |b| {
        b.iter(|| forward::value_and_gradient_into(&model, black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/reverse, one node per density", |b| {
        b.iter(|| reverse::value_and_gradient_into(&model_nodes, black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/reverse, densities op by op", |b| {
        b.iter(|| reverse::value_and_gradient_into(&model_ops, black_box(&x), &mut grad))
    });
    group.bench_function("value+grad/reverse, generic recursion", |b| {
        b.iter(|| reverse::value_and_gradient_into(&generic, black_box(&x), &mut grad))
    });
    group.finish();
}

/// Deterministic simulated data: `n_seq` sequences of `len` steps from a sticky K-state
/// chain with emissions `N((z + 1) · 1.15, 0.15)`.
fn simulated(n_seq: usize, len: usize, k: usize) -> (Sequences<f64>, Vec<f64>) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let stay = 0.9;
    let mut seqs = Vec::with_capacity(n_seq);
    for _ in 0..n_seq {
        let mut z = (uniform() * k as f64) as usize;
        let mut ys = Vec::with_capacity(len);
        for _ in 0..len {
            if uniform() > stay {
                z = (uniform() * k as f64) as usize % k;
            }
            // Irwin–Hall approximation of a standard normal.
            let noise: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
            ys.push((z + 1) as f64 * 1.15 + 0.15 * noise);
        }
        seqs.push(ys);
    }
    let mut x = vec![1.15, 0.15];
    x.extend(vec![(1.0 / k as f64).ln(); k]);
    for i in 0..k {
        for j in 0..k {
            let p = if k == 1 {
                1.0
            } else if i == j {
                stay + (1.0 - stay) / k as f64
            } else {
                (1.0 - stay) / k as f64
            };
            x.push(p.ln());
        }
    }
    (Sequences::new(seqs).unwrap(), x)
}

fn scaling(c: &mut Criterion) {
    single_thread_global_pool();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut cases: Vec<(String, usize, usize, usize)> = Vec::new();
    for len in [50, 500, 5_000, 50_000] {
        cases.push((format!("T={len},K=3,seqs=1"), 1, len, 3));
    }
    for k in [2, 3, 10, 30] {
        cases.push((format!("T=51,K={k},seqs=70"), 70, 51, k));
    }
    for n_seq in [1, 700] {
        // (seqs = 70 is the K = 3 case above.)
        cases.push((format!("T=51,K=3,seqs={n_seq}"), n_seq, 51, 3));
    }
    let mut group = c.benchmark_group("hmm/scaling");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_millis(1500));
    for (name, n_seq, len, k) in cases {
        let (data, x) = simulated(n_seq, len, k);
        let model = Model::<FUSED> { data, k };
        let mut grad = vec![0.0; x.len()];
        group.bench_with_input(BenchmarkId::new("value/1 thread", &name), &x, |b, x| {
            b.iter(|| model.eval(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("value/2 threads", &name), &x, |b, x| {
            b.iter(|| two.install(|| model.eval(black_box(x))))
        });
        group.bench_with_input(
            BenchmarkId::new("value+grad/1 thread", &name),
            &x,
            |b, x| b.iter(|| reverse::value_and_gradient_into(&model, black_box(x), &mut grad)),
        );
        group.bench_with_input(
            BenchmarkId::new("value+grad/2 threads", &name),
            &x,
            |b, x| {
                b.iter(|| {
                    two.install(|| {
                        let mut g = [0.0; 2 + 30 + 900];
                        reverse::value_and_gradient_into(&model, black_box(x), &mut g[..x.len()])
                    })
                })
            },
        );
    }
    // The fixed cost of handing work to the 2-thread pool.
    group.bench_function("pool hand-over (empty install)", |b| {
        b.iter(|| two.install(|| black_box(1)))
    });
    group.finish();
}

criterion_group!(benches, reference, scaling);
criterion_main!(benches);

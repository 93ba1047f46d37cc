//! HMM log-likelihood and gradient (trellis-models).
//!
//! Reference data: the seed data set (70 sequences × 51 steps, K = 3) with the shared-signal
//! Gaussian emission `ℓ[t][k] = ln N(y_t; (k + 1) · signal, noise)`; the function is the
//! log-likelihood of `(signal, noise, log p_init (3), log p_trans (9))`. Benchmarks:
//!
//! - `hmm/reference/*`, single thread: the value; value + gradient by generic reverse mode
//!   (the library's path: one fused node per sequence, the emission's Jacobian folded in
//!   through `Emission::fused`), by forward mode (`DualVec<f64, 8>`, two
//!   passes), and by a hand-written scaled forward–backward gradient (the yardstick,
//!   `trellis_benches::hand_written`, shared with `peer_fit`; K fixed at compile time and
//!   at run time); and, for
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
//! - `hmm/families/*`: every zoo family's HMM log-likelihood, value + gradient by reverse
//!   mode on data simulated from the family (70 × 51, K = 3), through the fused emission
//!   Jacobian (`fused`, the library's path) and with one tape node per density (`nodes`, the
//!   path before every family was fused); and `gaussian-K/K`, value + gradient of the zoo
//!   Gaussian model's full log-density (transforms, priors, likelihood) for
//!   K ∈ {2, 3, 5, 10, 30, 100} at fixed T (70 × 51), for the exponent of the cost in K.
//!
//! - `hmm/covariates/*`: value + gradient of the zoo shared-signal model's likelihood on the
//!   seed data with one transition matrix (`homogeneous`) and with covariate-driven
//!   transitions (`covariates`, C = 3), one thread; `hmm/missing/*`: the reference
//!   value + gradient on complete data and with 10 % of the steps missing.
//!
//! Run: `cargo bench -p trellis-benches --bench hmm` (one group: append `-- hmm/families`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use trellis_ad::{forward, reverse, Scalar, ScalarFn};
use trellis_benches::family_likelihood::{simulated_model, FamilyLikelihood};
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_benches::reference_model::{
    reference_point, with_ten_percent_missing, zoo_reference, ReferenceModel,
};
use trellis_benches::shared_signal::{SharedSignal, FUSED, NODES, OPS};
use trellis_models::hmm::{self, Sequences};
use trellis_models::{zoo, BayesianModel, Emission};

/// The same function through `forward_log_likelihood_generic` (no fused HMM node).
struct GenericModel {
    data: Sequences<f64>,
}

impl ScalarFn for GenericModel {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let emission = SharedSignal::<T, NODES>::with_mode(x[0], x[1], 3);
        let mut total = T::constant(0.0);
        let mut le = Vec::new();
        for seq in &self.data {
            le.clear();
            le.resize(seq.len() * 3, T::constant(0.0));
            for t in 0..seq.len() {
                emission.log_densities(seq, t, &mut le[t * 3..t * 3 + 3]);
            }
            total += hmm::forward_log_likelihood_generic(&x[2..5], &x[5..14], &le, 3).unwrap();
        }
        total
    }
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
    let model = ReferenceModel::<FUSED> {
        data: data.clone(),
        k: 3,
    };
    let model_nodes = ReferenceModel::<NODES> {
        data: data.clone(),
        k: 3,
    };
    let model_ops = ReferenceModel::<OPS> {
        data: data.clone(),
        k: 3,
    };
    let generic = GenericModel { data: data.clone() };
    let mut hand = HandWrittenHmm::<3>::new(data.clone(), 3);
    let mut hand_dyn = HandWrittenHmm::<0>::new(data, 3);
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
        let model = ReferenceModel::<FUSED> { data, k };
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

/// A model of `family` on 70 × `len` observations simulated at a fixed interior point, and
/// that point.
fn family_model<F: zoo::Family + Clone>(
    family: F,
    dummy: Vec<F::Obs>,
    len: usize,
) -> (zoo::HmmModel<F>, Vec<f64>) {
    let point = |dim: usize| (0..dim).map(|i| 0.3 * ((i as f64) * 0.7).sin()).collect();
    let dummy = Sequences::new(vec![dummy]).unwrap();
    simulated_model(family, dummy, point, (70, len, 12))
}

/// `fused` and `nodes` value + gradient of one family's likelihood (checked to agree).
fn bench_family<F: zoo::Family + Clone>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    family: F,
    dummy: Vec<F::Obs>,
) {
    let (model, u) = family_model(family, dummy, 51);
    let [fused, nodes] = FamilyLikelihood::both(&model);
    let (v, g) = reverse::value_and_gradient(&fused, &u);
    let (vn, gn) = reverse::value_and_gradient(&nodes, &u);
    assert!(
        (v - vn).abs() < 1e-10 * vn.abs().max(1.0),
        "{name}: {v} vs {vn}"
    );
    for (a, b) in g.iter().zip(&gn) {
        assert!((a - b).abs() < 1e-8 * (1.0 + b.abs()), "{name}: {a} vs {b}");
    }
    let mut grad = vec![0.0; u.len()];
    for (path, f) in [("fused", &fused), ("nodes", &nodes)] {
        group.bench_with_input(BenchmarkId::new(path, name), &u, |b, u| {
            b.iter(|| reverse::value_and_gradient_into(f, black_box(u), &mut grad))
        });
    }
}

fn families(c: &mut Criterion) {
    let mut group = c.benchmark_group("hmm/families");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    bench_family(
        &mut group,
        "gaussian",
        zoo::GaussianFamily::new(3),
        vec![0.5],
    );
    bench_family(
        &mut group,
        "shared_signal",
        zoo::SharedSignalFamily::new(3),
        vec![0.5],
    );
    bench_family(
        &mut group,
        "poisson",
        zoo::PoissonFamily::new(3),
        vec![1u32],
    );
    let categorical = zoo::CategoricalFamily::new(3, 4);
    bench_family(&mut group, "categorical", categorical, vec![0usize]);
    bench_family(
        &mut group,
        "student_t",
        zoo::StudentTFamily::new(3),
        vec![0.5],
    );
    bench_family(&mut group, "ar1", zoo::Ar1Family::new(3), vec![0.5]);
    let mvn = zoo::DiagonalMvnFamily::new(3, 2);
    bench_family(&mut group, "diag_mvn", mvn, vec![vec![0.0; 2]]);
    bench_family(
        &mut group,
        "exponential",
        zoo::ExponentialFamily::new(3),
        vec![0.5],
    );
    // The cost in K of the full model's log-density and gradient, T fixed.
    group.sample_size(10);
    for k in [2, 3, 5, 10, 30, 100] {
        let (model, u) = family_model(zoo::GaussianFamily::new(k), vec![0.5], 51);
        let mut grad = vec![0.0; u.len()];
        group.bench_with_input(BenchmarkId::new("gaussian-K", k), &u, |b, u| {
            b.iter(|| {
                let (v, g) = model.log_density_and_gradient(black_box(u)).unwrap();
                grad.copy_from_slice(&g);
                v
            })
        });
    }
    group.finish();
}

/// Value + gradient of one thread's `f` at `x`, benchmarked as `group/name`.
fn bench_gradient<F: ScalarFn>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    f: &F,
    x: &[f64],
) {
    let mut grad = vec![0.0; x.len()];
    group.bench_function(name, |b| {
        b.iter(|| reverse::value_and_gradient_into(f, black_box(x), &mut grad))
    });
}

/// Per-step transitions from covariates against one transition matrix, and 10 % missing
/// steps against complete data: value + gradient, one thread, same T and K (issue 11).
fn covariates_and_missing(c: &mut Criterion) {
    single_thread_global_pool();
    let mut group = c.benchmark_group("hmm/covariates");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for (name, with_covariates) in [("homogeneous", false), ("covariates", true)] {
        let (f, u) = zoo_reference(with_covariates);
        bench_gradient(&mut group, name, &f, &u);
    }
    group.finish();
    let mut group = c.benchmark_group("hmm/missing");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let (data, x) = reference_point();
    let missing = with_ten_percent_missing(data.clone());
    for (name, data) in [("complete", data), ("10% missing", missing)] {
        bench_gradient(
            &mut group,
            name,
            &ReferenceModel::<FUSED> { data, k: 3 },
            &x,
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    reference,
    scaling,
    families,
    covariates_and_missing
);
criterion_main!(benches);

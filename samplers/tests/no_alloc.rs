//! The samplers' transitions allocate nothing once a chain is warmed up: trajectory states
//! and buffers are preallocated per chain and reused.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use trellis_samplers::{
    chain_rng, Chain, ChainStart, Mala, MetricKind, Nuts, Phase, Point, RandomWalk, Sampler,
    StaticHmc, StdNormal, Transition,
};

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|a| a.get())
}

/// Allocations during `draws` sampling transitions after a short warm-up.
fn allocations_while_sampling<S: Sampler>(s: S, dim: usize, draws: usize) -> (usize, u64) {
    let target = StdNormal(dim);
    let mut rng = chain_rng(5, 0);
    let mut point = Point::zeros(dim);
    point.evaluate(&target).unwrap();
    let start = ChainStart {
        density: &target,
        point: &point,
        num_warmup: 200,
        rng: &mut rng,
    };
    let mut chain = s.new_chain(start).unwrap();
    for iteration in 0..200 {
        let phase = Phase::Warmup {
            iteration,
            total: 200,
        };
        let t = Transition::new(&target, &mut point, phase, &mut rng);
        chain.step(t).unwrap();
    }
    chain.end_warmup();
    let mut step = |phase| {
        let t = Transition::new(&target, &mut point, phase, &mut rng);
        chain.step(t).unwrap()
    };
    // A few transitions to let the trajectory pools reach their working size.
    for iteration in 0..50 {
        step(Phase::Sampling { iteration });
    }
    let before = allocations();
    let mut steps = 0;
    for iteration in 0..draws {
        steps += step(Phase::Sampling { iteration }).n_grad as u64;
    }
    (allocations() - before, steps)
}

#[test]
fn transitions_do_not_allocate() {
    let (a, steps) = allocations_while_sampling(Nuts::default(), 100, 500);
    assert_eq!(a, 0, "NUTS allocated {a} times in {steps} leapfrog steps");
    let (a, _) =
        allocations_while_sampling(Nuts::default().with_metric(MetricKind::Dense), 10, 200);
    assert_eq!(a, 0, "dense NUTS allocated {a} times");
    let (a, _) = allocations_while_sampling(StaticHmc::default(), 100, 200);
    assert_eq!(a, 0, "static HMC allocated {a} times");
    let (a, _) = allocations_while_sampling(Mala::default(), 100, 500);
    assert_eq!(a, 0, "MALA allocated {a} times");
    let (a, _) = allocations_while_sampling(RandomWalk::default(), 100, 500);
    assert_eq!(a, 0, "RWM allocated {a} times");
}

//! `trellis simulate` refuses, before allocating, sizes whose parameters cannot fit in memory
//! (`--states 100000` was killed by the kernel's out-of-memory killer while it built the
//! 10¹⁰ default transition probabilities), with one line naming the sizes and the estimate.

use crate::cli_common;

use cli_common::{assert_error, machine_memory, trellis, words, Scratch};

#[test]
fn simulations_that_cannot_fit_in_memory_are_refused_before_allocating() {
    let Some(memory) = machine_memory() else {
        eprintln!("no /proc/meminfo: the memory check is not made here");
        return;
    };
    let dir = Scratch::new("simulate-too-large");
    let refused = |line: &str, message: &str| {
        assert_error(
            &trellis(dir.path(), &words(line)),
            &format!("too large for this machine: {message}, and it has {memory}"),
        );
    };
    // K = 100000: K + K² + 2 parameters, 4 vectors of them, 8 bytes each (the simulated
    // values have their own cap, tested in cli_run_control.rs).
    let k = 100_000f64;
    let bytes = 8.0 * 4.0 * (k + k * k + 2.0);
    let need = format!("{:.1} GB", bytes / 1e9);
    assert_eq!(need, "320.0 GB");
    refused(
        "simulate --states 100000 --out s",
        &format!("K = 100000 states (1.0e10 parameters) need at least {need} of memory"),
    );
    // 4e9 categories: K + K² + (K + 1) · M parameters for K = 2.
    let m = 4_000_000_000f64;
    let parameters = 2.0 + 4.0 + 3.0 * m;
    refused(
        "simulate --model categorical --states 2 --symbols 4000000000 --out s",
        &format!(
            "K = 2 states, 4000000000 symbols ({parameters:.1e} parameters) need at least {:.1} \
             GB of memory",
            8.0 * 4.0 * parameters / 1e9
        ),
    );
    assert!(!dir.join("s").exists(), "nothing was written");
    // Sizes that fit are simulated as before.
    let out = trellis(
        dir.path(),
        &words("simulate --states 40 --sequences 2 --length 5"),
    );
    assert!(out.status.success(), "K = 40 simulates: {out:?}");
}

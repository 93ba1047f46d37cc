"""Checks `trellis compare` against real ArviZ on the same chain files.

Usage: python compare.py LOO_JSON WAIC_JSON FIT_DIR...

LOO_JSON and WAIC_JSON are the output of `trellis compare FIT_DIR... --json` (with `--ic loo`
and `--ic waic`); each FIT_DIR, named as on that command line, is read with
`az.from_cmdstan(..., log_likelihood="log_lik")`. For every fit, `az.loo` and `az.waic` must
give the same elpd, se, p and (LOO) every Pareto k, and `az.compare` the same elpd_diff, dse
stacking weight and warning flag, to 1e-6 relative (with a 1e-9 absolute floor for values near zero).

Exits 0 on agreement and prints one line per check; exits 1 naming the first difference.
"""

import glob
import json
import os
import sys

import arviz as az
import numpy as np
from scipy.special import logsumexp

REL = 1e-6
ABS = 1e-9


def fail(message):
    print(f"MISMATCH: {message}")
    sys.exit(1)


def close(what, ours, theirs):
    ours, theirs = float(ours), float(theirs)
    if abs(ours - theirs) > max(REL * max(abs(ours), abs(theirs)), ABS):
        fail(f"{what}: trellis {ours!r}, ArviZ {theirs!r}")


def load(fit_dir):
    files = sorted(glob.glob(os.path.join(fit_dir, "chain_*.csv")))
    if not files:
        fail(f"no chain files in {fit_dir}")
    return az.from_cmdstan(posterior=files, log_likelihood="log_lik")


def main():
    loo_json, waic_json, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(loo_json) as f:
        ours_loo = {m["name"]: m for m in json.load(f)["models"]}
    with open(waic_json) as f:
        ours_waic = {m["name"]: m for m in json.load(f)["models"]}
    data = {d: load(d) for d in dirs}
    for name, idata in data.items():
        mine = ours_loo[name]
        theirs = az.loo(idata, pointwise=True)
        close(f"{name} elpd_loo", mine["elpd"], theirs.elpd_loo)
        close(f"{name} loo se", mine["se"], theirs.se)
        close(f"{name} p_loo", mine["p"], theirs.p_loo)
        ks = theirs.pareto_k.values.ravel()
        if len(ks) != len(mine["pareto_k"]):
            fail(f"{name}: {len(mine['pareto_k'])} Pareto k against ArviZ's {len(ks)}")
        for i, (a, b) in enumerate(zip(mine["pareto_k"], ks)):
            close(f"{name} pareto_k[{i}]", a, b)
        mine = ours_waic[name]
        theirs = az.waic(idata)
        close(f"{name} elpd_waic", mine["elpd"], theirs.elpd_waic)
        close(f"{name} waic se", mine["se"], theirs.se)
        close(f"{name} p_waic", mine["p"], theirs.p_waic)
        print(f"{name}: loo, waic and {len(ks)} Pareto k agree")
    for ic, ours in (("loo", ours_loo), ("waic", ours_waic)):
        table = az.compare(data, ic=ic)
        for name, row in table.iterrows():
            mine = ours[name]
            close(f"{name} {ic} rank", mine["rank"], row["rank"])
            close(f"{name} {ic} elpd_diff", mine["elpd_diff"], row["elpd_diff"])
            close(f"{name} {ic} dse", mine["dse"], row["dse"])
            # Weights are an optimiser's output (scipy's SLSQP in ArviZ, to its default
            # tolerance), so they agree only to about 1e-3; which optimum is better is
            # checked below on the stacking objective itself.
            if abs(mine["weight"] - row["weight"]) > 1e-3:
                fail(f"{name} {ic} weight: trellis {mine['weight']}, ArviZ {row['weight']}")
            if bool(mine["warning"]) != bool(row["warning"]):
                fail(f"{name} {ic} warning: trellis {mine['warning']}, ArviZ {row['warning']}")
        names = list(table.index)
        pointwise = np.array([ours[n]["pointwise"] for n in names])
        objective = lambda w: float(np.sum(logsumexp(pointwise.T, b=np.asarray(w), axis=1)))
        mine_w = [ours[n]["weight"] for n in names]
        theirs_w = list(table["weight"])
        if objective(mine_w) < objective(theirs_w) - 1e-9:
            fail(f"{ic} stacking: trellis' weights {mine_w} score below ArviZ's {theirs_w}")
        print(
            f"az.compare ({ic}) agrees: elpd_diff, dse of {len(table)} models; stacking "
            f"objective {objective(mine_w)!r} (trellis) >= {objective(theirs_w)!r} (ArviZ)"
        )
    print("compare agrees with ArviZ")


if __name__ == "__main__":
    main()

"""Reads a `trellis fit` output folder with the real Python clients and compares.

Usage: python read_fit.py OUT_DIR

- The draws of every chain file, parsed here with the csv module, must equal those ArviZ's
  `from_cmdstan` and CmdStanPy's `from_csv` load (bit for bit: all three parse the same text).
- `az.summary` (mean, sd, ess_bulk, r_hat; unrounded) must match `summary.json`.
- CmdStanPy needs CmdStan's header (`# model = ...`, `metric = diag_e`); while our files do
  not have the `# model =` line the CmdStanPy check prints a notice and is not run.

Exits 0 on agreement and prints one line per check; exits 1 naming the first difference.
"""

import csv
import glob
import json
import math
import os
import sys

import arviz as az
import numpy as np


def fail(message):
    print(f"MISMATCH: {message}")
    sys.exit(1)


def read_chain(path):
    """Header lines, column names and draws (rows of floats) of one chain file."""
    header, rows, names = [], [], None
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("#"):
                if names is None:
                    header.append(line)
                continue
            if not line.strip():
                continue
            fields = next(csv.reader([line]))
            if names is None:
                names = fields
            else:
                rows.append([float(x) for x in fields])
    settings = dict(
        (k.strip(), v.strip())
        for k, _, v in (line.lstrip("# ").partition("=") for line in header)
        if _
    )
    rows = np.array(rows)
    # Warm-up rows come first when `save_warmup = 1`; the clients keep them apart.
    if settings.get("save_warmup") == "1":
        rows = rows[int(settings["num_warmup"]):]
    return header, names, rows


def our_name(var, index):
    """`summary.json`'s name of element `index` of ArviZ variable `var`: `x`, `x[0,2]`."""
    return var if not index else f"{var}[{','.join(str(i) for i in index)}]"


def close(a, b, rel):
    return a == b or (math.isfinite(a) and abs(a - b) <= rel * max(abs(a), abs(b)))


def main(out_dir):
    files = sorted(glob.glob(os.path.join(out_dir, "chain_*.csv")),
                   key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    if not files:
        fail(f"no chain_*.csv in {out_dir}")
    chains = [read_chain(p) for p in files]
    names = chains[0][1]
    params = [n for n in names if not n.endswith("__")]
    ours = {n: np.stack([c[2][:, c[1].index(n)] for c in chains]) for n in params}

    # ArviZ: draws.
    idata = az.from_cmdstan(posterior=files)
    post = idata.posterior
    compared = 0
    for var in post.data_vars:
        values = post[var].values  # (chain, draw, *shape)
        for index in np.ndindex(*values.shape[2:]):
            column = ".".join([var] + [str(i + 1) for i in index])
            if column not in ours:
                fail(f"ArviZ variable {var}{list(index)} has no column {column}")
            got = values[(slice(None), slice(None)) + index]
            if not np.array_equal(got, ours[column]):
                fail(f"ArviZ draws of {column} differ from the CSV")
            compared += 1
    if compared != len(params):
        fail(f"ArviZ loaded {compared} of {len(params)} parameter columns")
    print(f"arviz.from_cmdstan: {len(files)} chains, {compared} parameters, draws identical")

    # ArviZ: summary against ours.
    with open(os.path.join(out_dir, "summary.json")) as f:
        summary = json.load(f)
    table = az.summary(idata, round_to="none")
    checked = 0
    for var in post.data_vars:
        for index in np.ndindex(*post[var].values.shape[2:]):
            name = our_name(var, index)
            row_name = var if not index else f"{var}[{', '.join(str(i) for i in index)}]"
            if name not in summary:
                fail(f"summary.json has no row {name}")
            mine, theirs = summary[name], table.loc[row_name]
            for key, rel in (("mean", 1e-9), ("sd", 1e-9), ("ess_bulk", 1e-6), ("r_hat", 1e-9)):
                if not close(mine[key], float(theirs[key]), rel):
                    fail(f"{name} {key}: summary.json {mine[key]!r}, ArviZ {float(theirs[key])!r}")
            checked += 1
    print(f"arviz.summary: mean, sd, ess_bulk, r_hat agree for {checked} parameters")

    # CmdStanPy.
    if not any(line.startswith("# model =") for line in chains[0][0]):
        print("NOTICE: cmdstanpy.from_csv not checked: the CSV header has no '# model =' line "
              "yet (CmdStan-compatible header of issue 13)")
        return
    import cmdstanpy

    fit = cmdstanpy.from_csv(path=files)
    draws = fit.draws(concat_chains=False)  # (draw, chain, column)
    # CmdStanPy shows CmdStan's `x.1.2` columns as `x[1,2]`.
    columns = [c if "[" not in c else c.replace("[", ".").replace(",", ".").rstrip("]")
               for c in fit.column_names]
    for n in params:
        got = draws[:, :, columns.index(n)].T
        if not np.array_equal(got, ours[n]):
            fail(f"CmdStanPy draws of {n} differ from the CSV")
    for n in params:
        col = draws[:, :, columns.index(n)].ravel()
        name = n.split(".")[0]
        idx = [int(i) - 1 for i in n.split(".")[1:]]
        key = our_name(name, idx)
        if not close(float(np.mean(col)), summary[key]["mean"], 1e-9):
            fail(f"CmdStanPy mean of {n}: {np.mean(col)!r}, summary.json {summary[key]['mean']!r}")
    print(f"cmdstanpy.from_csv: {len(files)} chains, {len(params)} parameters, draws identical")


if __name__ == "__main__":
    main(sys.argv[1])

"""Seeded synthetic survey data shaped like the ECSI model, with known true parameters.

Seven constructs with 26 indicators in all, linked by the ECSI structural model::

    IMAG → EXPE, SAT, LOY      EXPE → QUAL, VAL, SAT      QUAL → VAL, SAT
    VAL  → SAT                 SAT  → COMP, LOY           COMP → LOY

Constructs are standardised (variance 1) linear structural equations; every indicator is
reflective, ``loading · construct + noise`` with unit variance, then put on a 1–10 answer scale
(shifted and stretched per item, rounded, clipped) like a real satisfaction questionnaire. Rows
are generated in chunks so that a million respondents take about a second and little extra memory.

Run as a script to print the model (lavaan syntax) or a sample::

    python benchmarks/data.py --model
    python benchmarks/data.py -n 5
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

#: constructs in causal (topological) order, with their indicator count (5+4+6+3+3+2+3 = 26)
BLOCKS: dict[str, int] = {"IMAG": 5, "EXPE": 4, "QUAL": 6, "VAL": 3, "SAT": 3, "COMP": 2,
                          "LOY": 3}

#: true standardised path coefficients, (from, to) → value
PATHS: dict[tuple[str, str], float] = {
    ("IMAG", "EXPE"): 0.50,
    ("EXPE", "QUAL"): 0.55,
    ("EXPE", "VAL"): 0.15, ("QUAL", "VAL"): 0.50,
    ("IMAG", "SAT"): 0.20, ("EXPE", "SAT"): 0.10, ("QUAL", "SAT"): 0.35, ("VAL", "SAT"): 0.25,
    ("SAT", "COMP"): 0.50,
    ("IMAG", "LOY"): 0.20, ("SAT", "LOY"): 0.50, ("COMP", "LOY"): 0.10,
}

CONSTRUCTS = tuple(BLOCKS)
N_ITEMS = sum(BLOCKS.values())
CHUNK = 100_000


def indicators(construct: str) -> list[str]:
    """Indicator names of one construct: IMAG1 … IMAG5 and so on."""
    return [f"{construct}{k}" for k in range(1, BLOCKS[construct] + 1)]


def columns() -> list[str]:
    return [name for c in CONSTRUCTS for name in indicators(c)]


def model_syntax() -> str:
    """The model as lavaan syntax for ``ncsi.spec.parse_model``: one line per construct/equation."""
    lines = [f"{c} =~ " + " + ".join(indicators(c)) for c in CONSTRUCTS]
    for target in CONSTRUCTS:
        preds = [s for (s, t) in PATHS if t == target]
        if preds:
            lines.append(f"{target} ~ " + " + ".join(preds))
    return "\n".join(lines) + "\n"


def latent_covariance() -> np.ndarray:
    """Implied correlation matrix of the constructs and, in the same pass, disturbance variances.

    Returns an array (J+1) × J: the first J rows are the construct correlations, the last row
    the variance of each construct's disturbance that makes its total variance 1.
    """
    j = len(CONSTRUCTS)
    idx = {c: k for k, c in enumerate(CONSTRUCTS)}
    cov = np.zeros((j, j))
    psi = np.zeros(j)
    for k, c in enumerate(CONSTRUCTS):
        preds = [(idx[s], b) for (s, t), b in PATHS.items() if t == c]
        if not preds:
            cov[k, k] = psi[k] = 1.0
            continue
        p = np.array([i for i, _ in preds])
        beta = np.array([b for _, b in preds])
        explained = beta @ cov[np.ix_(p, p)] @ beta
        if not explained < 1:
            raise ValueError(f"paths into {c} explain {explained:.3f} ≥ 1 of its variance")
        psi[k] = 1.0 - explained
        for m in range(k):                           # covariance with every earlier construct
            cov[k, m] = cov[m, k] = beta @ cov[p, m]
        cov[k, k] = 1.0
    return np.vstack([cov, psi])


def item_parameters(seed: int) -> dict[str, np.ndarray]:
    """Per-item loading (0.70–0.90), scale centre (6–8) and spread (1.4–2.2 answer points)."""
    rng = np.random.default_rng([seed, 1])
    return {"loading": rng.uniform(0.70, 0.90, N_ITEMS),
            "centre": rng.uniform(6.0, 8.0, N_ITEMS),
            "spread": rng.uniform(1.4, 2.2, N_ITEMS)}


def generate(n: int, seed: int = 2025, dtype: str = "int64") -> pd.DataFrame:
    """``n`` respondents × 26 integer answers 1–10, reproducible from ``seed``.

    ``dtype`` is the columns' type; int64 is what ``pandas.read_csv`` gives for such a file.
    """
    items = item_parameters(seed)
    moments = latent_covariance()
    psi = moments[-1]
    idx = {c: k for k, c in enumerate(CONSTRUCTS)}
    owner = np.repeat(np.arange(len(CONSTRUCTS)), list(BLOCKS.values()))   # item → construct
    lam = items["loading"]
    noise_sd = np.sqrt(1.0 - lam ** 2)

    out = np.empty((N_ITEMS, n), dtype=dtype)      # row k = item k, so each column is contiguous
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        eta = rng.standard_normal((m, len(CONSTRUCTS))) * np.sqrt(psi)       # disturbances
        for k, c in enumerate(CONSTRUCTS):                                  # structural model
            for (s, t), b in PATHS.items():
                if t == c:
                    eta[:, k] += b * eta[:, idx[s]]
        x = eta[:, owner] * lam + rng.standard_normal((m, N_ITEMS)) * noise_sd
        x = np.rint(items["centre"] + items["spread"] * x)
        np.clip(x, 1, 10, out=x)
        out[:, start:start + m] = x.T
    return pd.DataFrame({name: out[k] for k, name in enumerate(columns())}, copy=False)


def true_paths() -> pd.DataFrame:
    """The true path coefficients of the constructs (before the items are discretised)."""
    return pd.DataFrame([{"from": s, "to": t, "estimate": b} for (s, t), b in PATHS.items()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="rows to print (default 5)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--model", action="store_true", help="print the lavaan model instead")
    args = ap.parse_args()
    print(model_syntax() if args.model else generate(args.n, args.seed))


if __name__ == "__main__":
    main()

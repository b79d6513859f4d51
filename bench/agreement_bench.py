"""Time the agreement statistics on a million simulated pairwise answers.

    python bench/agreement_bench.py [--answers 1000000] [--annotators 100] [--seed 0]

Each step runs in a fresh interpreter (this script re-invoked with --step) so that its
peak RSS is its own. Steps: our full `agreement_report` (1000 bootstrap replicates), our
Krippendorff alpha alone (four levels, one coincidence matrix), and the `krippendorff`
package's alpha on the same data, which needs a dense coders x units matrix (NaN for the
97% of cells nobody answered). The package is GPL-3.0 and only ever used here and in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

STEPS = ("agreement_report", "our_alpha_4_levels", "our_alpha_interval", "krippendorff_pkg_interval",
         "krippendorff_pkg_nominal")


def simulate(n_answers: int, n_annotators: int, seed: int, per_item: int = 3):
    """Items with 3 answers each from a pool, then random drops down to n_answers (missing data)."""
    rng = np.random.default_rng(seed)
    n_items = int(np.ceil(n_answers / per_item * 1.02))
    truth = rng.choice([-1, 0, 1], size=n_items, p=[0.45, 0.10, 0.45])
    annotator = _distinct_annotators(rng, n_items, n_annotators, per_item).ravel()
    item = np.repeat(np.arange(n_items), per_item)
    skill = rng.uniform(0.55, 0.9, n_annotators)[annotator]
    right = rng.random(item.shape[0]) < skill
    direction = np.where(right, truth[item], rng.choice([-1, 0, 1], size=item.shape[0]))
    value = direction * rng.integers(1, 4, size=item.shape[0])
    keep = np.sort(rng.choice(item.shape[0], size=n_answers, replace=False))
    length = rng.integers(200, 4000, size=(n_items, 2))
    return dict(
        item=item[keep], annotator=annotator[keep], value=value[keep].astype(np.float64),
        shown_first_is_stored_first=rng.random(n_answers) < 0.5,
        len_first=length[item[keep], 0], len_second=length[item[keep], 1],
        seconds=rng.lognormal(4, 0.8, n_answers),
        is_gold=item[keep] % 50 == 0,
        gold_value=np.where(item[keep] % 50 == 0, truth[item[keep]], np.nan),
    )


def _distinct_annotators(rng, n_items: int, pool: int, per_item: int) -> np.ndarray:
    """(n_items, per_item) annotators, distinct within a row; redraws only the rows that clash."""
    chosen = rng.integers(0, pool, size=(n_items, per_item))
    while True:
        ordered = np.sort(chosen, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            return chosen
        chosen[clash] = rng.integers(0, pool, size=(int(clash.sum()), per_item))


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_step(step: str, args) -> dict:
    columns = simulate(args.answers, args.annotators, args.seed)
    extra = {}
    if step.startswith("krippendorff_pkg"):
        import krippendorff

        start = time.perf_counter()
        dense = np.full((args.annotators, int(columns["item"].max()) + 1), np.nan)
        dense[columns["annotator"], columns["item"]] = columns["value"]
        extra["dense_matrix_s"] = time.perf_counter() - start
        level = step.rsplit("_", 1)[1]
        before = _rss_mib()
        start = time.perf_counter()
        result = krippendorff.alpha(reliability_data=dense, level_of_measurement=level)
    else:
        from annotation.quality import Answers, agreement_report, krippendorff_alpha, krippendorff_alphas

        answers = Answers(**columns)
        before = _rss_mib()
        start = time.perf_counter()
        if step == "agreement_report":
            report = agreement_report(answers, n_boot=1000, seed=0)
            result = {"alpha_interval": report["krippendorff_alpha"]["interval"],
                      "percent_agreement": report["percent_agreement"]["with_ties"]}
        elif step == "our_alpha_interval":
            result = krippendorff_alpha(answers.item, answers.value, "interval")
        else:
            result = krippendorff_alphas(answers.item, answers.value)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": step, "seconds": seconds, "rss_before_mib": before, "peak_rss_mib": peak,
            "result": result, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", choices=STEPS)
    parser.add_argument("--skip-package", action="store_true", help="do not time the krippendorff package")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args), default=float))
        return
    steps = [s for s in STEPS if not (args.skip_package and s.startswith("krippendorff_pkg"))]
    print(f"{args.answers:,} answers, {args.annotators} annotators, seed {args.seed}, numpy {np.__version__}")
    print("RSS before = after simulating the data; peak RSS = the step's process at its peak")
    print(f"{'step':<28}{'seconds':>9}{'RSS before':>12}{'peak RSS':>10}  result")
    for step in steps:
        command = [sys.executable, __file__, "--step", step, "--answers", str(args.answers),
                   "--annotators", str(args.annotators), "--seed", str(args.seed)]
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        note = f"  (+{row['dense_matrix_s']:.2f}s to build the dense matrix)" if "dense_matrix_s" in row else ""
        print(f"{step:<28}{row['seconds']:>9.2f}{row['rss_before_mib']:>10.0f}Mi{row['peak_rss_mib']:>8.0f}Mi"
              f"  {_short(row['result'])}{note}")


def _short(result) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{k}={v:.6f}" for k, v in result.items())
    return f"{result:.6f}"


if __name__ == "__main__":
    main()

"""Print the claims register's verdicts that stored results can give, without building the book.

Every module named in :data:`qwemlib.experiments.CLAIM_MODULES` declares ``CLAIMS``;
those that can judge them from the stored results of a preset alone also expose
``measure_claims(preset) -> list[Verdict]`` (the hook). This script calls each hook,
prints one table of verdicts (claim, where, paper, criterion, measured, verdict) and
lists the registered claims that no hook judged (their chapter must run).

    python tools/verdicts.py --scale ci
    python tools/verdicts.py --scale local --csv /tmp/verdicts_local.csv
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time


def collect(preset: str, log=print) -> tuple[list, list[str]]:
    """The verdicts of every hook at ``preset``, and the modules without a hook."""
    from qwemlib import experiments

    verdicts, without = [], []
    for name in experiments.CLAIM_MODULES:
        module = importlib.import_module(f"qwemlib.experiments.{name}")
        hook = getattr(module, "measure_claims", None)
        if hook is None:
            without.append(name)
            continue
        t = time.perf_counter()
        got = hook(preset)
        log(f"{name}.measure_claims({preset!r}): {len(got)} verdicts in {time.perf_counter() - t:.1f} s")
        verdicts += got
    return verdicts, without


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["ci", "local"], default="ci", help="preset of the stored results")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = ap.parse_args(argv)

    import pandas as pd

    from qwemlib import experiments

    verdicts, without = collect(args.scale)
    table = experiments.verdict_table(verdicts)
    table.insert(0, "key", [v.claim.key for v in verdicts])
    table["detail"] = [v.detail for v in verdicts]
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 70, "display.width", 250):
        print(table.drop(columns=["criterion"]).to_string(index=False))
    counts = table["verdict"].value_counts()
    print("\n" + ", ".join(f"{counts.get(w, 0)} {w}" for w in experiments.VERDICTS)
          + f" (preset {args.scale}, stored results)")
    judged = {v.claim.key for v in verdicts}
    unjudged = [k for k in experiments.REGISTER if k not in judged]
    if without or unjudged:
        print(f"not judged here (no measure_claims hook: {', '.join(without) or 'none'}): "
              f"{len(unjudged)} registered claims; their chapters judge them")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

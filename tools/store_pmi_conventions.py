"""Store book/06's svd(PMI) conventions table: ``data/results/<preset>/pmi_conventions.json``.

Ten eigensolves per preset (five unseen-pair conventions, by value and by magnitude):
about a minute at ci, 15-25 minutes at local on a shared 2-core CPU (``--sizes``: two more
solves per fraction). ``tools/make_results.py``
does not write this file (nor remove it).

Usage:
    python tools/store_pmi_conventions.py --scale ci
    python tools/store_pmi_conventions.py --scale local --sizes 0.25 0.5
"""

from __future__ import annotations

import argparse
import sys

from qwemlib import config, pipeline
from qwemlib.experiments import pmi_conventions, save_pmi_conventions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="ci", choices=sorted(config.PRESETS))
    ap.add_argument("--out", default=None, help="folder to write to (default data/results/<scale>)")
    ap.add_argument("--sizes", type=float, nargs="*", default=[],
                    help="fractions of the articles for the corpus-size rows (e.g. 0.25 0.5)")
    args = ap.parse_args(argv)
    preset = config.preset(args.scale)
    st = pipeline.corpus_statistics(preset)
    command = "python tools/store_pmi_conventions.py --scale " + args.scale + "".join(
        f" --sizes {' '.join(f'{f:g}' for f in args.sizes)}" for _ in args.sizes[:1])
    table = pmi_conventions(st, preset)
    save_pmi_conventions(table, command, folder=args.out)   # the grid first: it is the long part
    if args.sizes:
        sizes = pmi_conventions(st, preset, unseen=(), sizes=tuple(args.sizes))
        table["rows"] += sizes["rows"]
        save_pmi_conventions(table, command, folder=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

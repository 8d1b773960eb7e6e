"""The demo pipeline (the README's main command runs this through `nox -s demo`).

Offline, on the data the project ships (datasets/demo): build the unified demo dataset, print its
statistics and write a report under reports/. Later stages (image pool, IMAD augmentation, ReSee fusion,
evaluation) join as their packages land.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="report folder")
    args = parser.parse_args(argv)

    from mmdial_data.build import build_dataset
    from mmdial_data.provenance import provenance
    from mmdial_data.stats import dataset_stats, format_stats

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    dataset_dir = args.out / "demo_dataset"
    result = build_dataset(ROOT / "datasets" / "recipes" / "demo.yaml", dataset_dir)
    timings["unify"] = time.perf_counter() - t0
    stats = dataset_stats(dataset_dir / "data")
    print(format_stats(stats))
    record = provenance(config={"recipe": "datasets/recipes/demo.yaml"}, seed=0,
                        extra={"timings_s": timings, "dialogues": result.dialogues})
    (args.out / "demo_provenance.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"demo: {result.dialogues} dialogues, card at {dataset_dir / 'card.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

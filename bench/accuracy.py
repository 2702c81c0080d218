"""Linkage and flag accuracy on the synthetic county, against the generator's truth.

    uv run python bench/accuracy.py [--county bench/out/county] [--warehouse bench/out/nights/warehouse.duckdb]

Reads the warehouse that ``bench/nights.py`` built (every night run in order) and scores the
last list date it holds against ``<county>/truth`` with ``pipeline.synth.accuracy`` — the
same evaluation the test suite's accuracy floors use (``tests/e2e/test_accuracy.py``), whose
module docstring defines every measure:

- register-to-register child links: precision and recall (target ≥ 99.5 % each);
- twins merged (target 0);
- police child nominals linked to their register child (target ≥ 98 %);
- flags: recall over every at-risk child, over the register-held ones (target ≥ 99.5 %) and
  over the ones the delivered data can reveal; precision (target ≥ 98 %); every miss and
  every wrong flag explained from truth (the defects of the records involved, or why the
  data cannot reveal the child).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, OUT, record

TARGETS = {"register_pair_precision": 0.995, "register_pair_recall": 0.995, "police_child_linked": 0.98,
           "flag_recall": 0.995, "flag_precision": 0.98}


def main() -> None:
    from pipeline.synth.accuracy import evaluate, read_truth, read_warehouse_view

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--county", type=Path, default=COUNTY)
    parser.add_argument("--warehouse", type=Path, default=OUT / "nights" / "warehouse.duckdb")
    args = parser.parse_args()
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} not found: run bench/nights.py first")
    figures = evaluate(read_warehouse_view(args.warehouse), read_truth(args.county / "truth"))

    def verdict(name: str) -> str:
        return "meets" if float(figures[name]) >= TARGETS[name] else "MISSES"

    print(f"list date {figures['list_date']} (last night in the warehouse)")
    print(f"register child links: precision {figures['register_pair_precision']:.4f} "
          f"({figures['register_pairs_right']:,} of {figures['register_pairs_found']:,} found pairs true), recall "
          f"{figures['register_pair_recall']:.4f} of {figures['register_pairs_true']:,} — target ≥ 0.995: "
          f"{verdict('register_pair_precision')}/{verdict('register_pair_recall')}; missed pairs by defect: "
          f"{figures['register_pairs_missed_by_defect']}")
    print(f"twins merged: {figures['twin_groups_merged']} of {figures['twin_groups']:,} twin groups — target 0: "
          f"{'meets' if figures['twin_groups_merged'] == 0 else 'MISSES'}")
    print(f"police child nominals linked to the right register child: {figures['police_child_linked']:.4f} "
          f"({figures['linked_to_right_child']:,} of {figures['police_children_on_register']:,}) — target ≥ 0.98: "
          f"{verdict('police_child_linked')}; the others by defect: {figures['police_children_missed_by_defect']}")
    print(f"flags: recall {figures['flag_recall_all']:.4f} of {figures['at_risk_children']:,} at-risk children, "
          f"{figures['flag_recall']:.4f} of {figures['at_risk_register_held']:,} register-held (target ≥ 0.995: "
          f"{verdict('flag_recall')}), {figures['flag_recall_revealable']:.4f} of {figures['at_risk_revealable']:,} "
          f"the delivered data can reveal; precision {figures['flag_precision']:.4f} of {figures['flagged']:,} flagged "
          f"(target ≥ 0.98: {verdict('flag_precision')})")
    print(f"  missed revealable children by defect: {figures['missed_revealable_by_defect']}")
    print(f"  missed children the data cannot reveal, by cause: {figures['missed_unrevealable_by_cause']}")
    print(f"  wrong flags by cause: {figures['wrongly_flagged_by_cause']}")
    print(f"  missed children whose suspect a list named as 'home unknown' (follow-up): "
          f"{figures['missed_with_suspect_follow_up']}, or who is in marts.unlocated_suspects: "
          f"{figures['missed_with_suspect_unlocated']}")
    record("accuracy", figures)


if __name__ == "__main__":
    main()

"""Benchmark runner: `python -m eval.run [task ...]` (default: all tasks).

Writes eval/results/<task>.json (per method, per image and mean, with the checkpoint's name,
source and sha256, the dataset, each metric's definition, the machine and the date) and a flat
eval/results/<task>.csv. The dashboard and the model cards read these files.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from eval.tasks import TASKS

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}  # fmt: skip


def run_task(task: str, results_dir: Path = RESULTS_DIR, progress=None, **kwargs) -> dict:
    """Run one task's benchmark into results_dir. progress(fraction, what) replaces the terminal
    progress bar (the dashboard passes its own)."""
    module = TASKS[task].load()
    results_dir.mkdir(parents=True, exist_ok=True)
    start = time.time()

    def terminal_bar(fraction: float, what: str) -> None:
        bar = "#" * int(fraction * 30)
        print(f"\r[{bar:<30}] {fraction:5.1%} {task}: {what:<40}", end="", file=sys.stderr, flush=True)

    if "failures_dir" in inspect.signature(module.run).parameters:
        kwargs.setdefault("failures_dir", results_dir / "failures")
    result = module.run(progress=progress or terminal_bar, **kwargs)
    print(file=sys.stderr)
    save_failures(results_dir, task, result.pop("failures", None))
    result.update({"task": task, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                   "machine": machine(), "wall_seconds": round(time.time() - start, 1)})  # fmt: skip
    (results_dir / f"{task}.json").write_text(json.dumps(result, indent=2, default=float))
    rows = module.csv_rows(result)
    if rows:
        fields = list(dict.fromkeys(k for row in rows for k in row))
        with open(results_dir / f"{task}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    if results_dir.resolve() == RESULTS_DIR:  # only the committed results describe the models
        update_model_cards(task, module, result)
    return result


def save_failures(results_dir: Path, task: str, cases: list[dict] | None) -> None:
    """Replace this task's entries in the shared failures.json (the dashboard's gallery)."""
    if cases is None:
        return
    path = results_dir / "failures.json"
    existing = json.loads(path.read_text()) if path.is_file() else []
    kept = [c for c in existing if c.get("task") != task]
    path.write_text(json.dumps(kept + cases, indent=2, default=float))


def update_model_cards(task: str, module, result: dict) -> None:
    """Write each evaluated embedded checkpoint's numbers into its model card (only when the
    weights evaluated are the embedded ones, checked by sha256)."""
    from models.cards import META_FILE, write_model_card
    from models.catalog import CATALOG
    from models.hub import file_sha256

    if not hasattr(module, "card_section"):
        return
    for method, r in result["methods"].items():
        entry = CATALOG.get(method)
        ckpt = r.get("checkpoint") or {}
        if entry is None or entry.embedded_dir is None or ckpt.get("source") != "embedded":
            continue
        weights = entry.embedded_dir / "model.safetensors"
        if not (entry.embedded_dir / META_FILE).is_file() or file_sha256(weights) != ckpt.get("sha256"):
            continue
        # the one card writer (models/cards.py): the card is rendered again from its stored facts
        write_model_card(entry.embedded_dir, evaluation=module.card_section(result, method))


def summary(result: dict) -> str:
    lines = [f"{result['task']} ({result['wall_seconds']} s)"]
    if "peak_gflops" in result:
        lines.append(f"  float32 matmul peak: {result['peak_gflops']:.1f} GFLOP/s")
    for method, r in result["methods"].items():
        if "per_size" in r:
            lines.append(f"  {method:<24} " + "  ".join(
                f"{s}px: {v['seconds']:.3f}s" + (f" ({v['fraction_of_peak']:.1%} of peak)"
                                                  if v["fraction_of_peak"] else "")
                for s, v in r["per_size"].items()))  # fmt: skip
        elif "mean" in r:
            lines.append(f"  {method:<24} " + "  ".join(f"{k}={v:.4g}" for k, v in r["mean"].items()))
        else:
            lines.append(f"  {method:<24} unavailable: {r.get('error')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("tasks", nargs="*", help=f"any of {', '.join(TASKS)} (default: all)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        p.error(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    for task in args.tasks or list(TASKS):
        print(summary(run_task(task, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

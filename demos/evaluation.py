"""Evaluation tab: the committed benchmark results as sortable tables and plotly charts, a
failure gallery picked by the measurements, and exports (CSV, PNG via the chart toolbar, HTML)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import os
import tempfile
import textwrap
import threading
from pathlib import Path

import gradio as gr
import pandas as pd

from demos.common import output_root
from eval.run import RESULTS_DIR, run_task
from eval.tasks import TASKS, figures

logger = logging.getLogger(__name__)

TITLE = "Evaluation"
TASK_TITLES = {name: task.title for name, task in TASKS.items()}


def load_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict]:
    results = {}
    for task in TASK_TITLES:
        path = results_dir / f"{task}.json"
        if path.is_file():
            try:
                results[task] = json.loads(path.read_text())
            except json.JSONDecodeError:
                logger.warning("unreadable results file %s", path)
    return results


def summary_table(task: str, result: dict) -> pd.DataFrame:
    rows = []
    for method, r in result["methods"].items():
        ckpt = r.get("checkpoint") or {}
        base = {"method": r.get("title", method), "weights": ckpt.get("source", "")}
        if "mean" in r:
            rows.append({**base, **{k: round(v, 4) for k, v in r["mean"].items()}})
        elif "per_size" in r:
            for size, v in r["per_size"].items():
                rows.append({**base, r.get("unit", "input px"): int(size), "seconds": round(v["seconds"], 4),
                             "GFLOP": v["gflops"] and round(v["gflops"], 2),
                             "% of matmul peak": v["fraction_of_peak"]
                             and round(100 * v["fraction_of_peak"], 1)})  # fmt: skip
        else:
            rows.append({**base, "weights": "unavailable", "note": r.get("error", "")})
    return pd.DataFrame(rows)


def provenance(result: dict) -> str:
    m = result.get("machine", {})
    metrics = "; ".join(f"**{k}**: {v}" for k, v in result.get("metrics", {}).items())
    return (f"Data: {result.get('dataset', '?')}  \nRun {result.get('date', '?')} in "
            f"{result.get('wall_seconds', '?')} s on {m.get('cpus', '?')} CPUs "
            f"({m.get('processor', '?')}, torch {m.get('torch', '?')}).  \n{metrics}")  # fmt: skip


def failure_cases(results_dir: Path = RESULTS_DIR) -> list[dict]:
    path = results_dir / "failures.json"
    if not path.is_file():
        return []
    cases = json.loads(path.read_text())
    return [c for c in cases if (results_dir / c["image"]).is_file()]


TITLE_PAD_PX = 20  # the title's first line starts this far below the chart's top edge
TITLE_SHIFT_PX = 15  # how much lower that is than where eval.plot_style.layout puts it
CHART_MIN_PX = 520  # a chart's narrowest width: its title and subtitle lines fit (~510 px at most)


def chart(make, result: dict):
    """Figure `make(result)` as the dashboard, the report and the deck draw it. Plotly places a
    multi-line title anchored at its top (eval.plot_style.layout: container y 0.99) with its first
    line ~9 px above the chart, where the chart's frame cut it off. Anchored at the very top with a
    padding in pixels instead, every line is inside; the top margin and the height grow by as much,
    so the plot area (and a long vertical axis title centred on it) keeps its distance from the
    title. The tests check every chart's text boxes."""
    fig = _bars_sideways(make(result))
    title, margin = fig.layout.title, fig.layout.margin
    if title.text and title.yref == "container" and title.yanchor == "top":
        fig.update_layout(title={"y": 1, "pad": {"t": TITLE_PAD_PX}})
        if margin.t is not None:
            fig.update_layout(margin={"t": margin.t + TITLE_SHIFT_PX})
            if fig.layout.height is not None:
                fig.update_layout(height=fig.layout.height + TITLE_SHIFT_PX)
    return fig


UPRIGHT_LABEL_CHARS = 24  # bar charts whose category labels are longer are drawn sideways
SIDEWAYS_LABEL_CHARS = 70  # per line of a sideways chart's category label


def _bars_sideways(fig):
    """A bar chart whose category labels are too long to stand under its columns (the speed chart's
    27 catalog models, up to ~130 characters each, squeezed its plot to ~30 px and ran off the chart)
    drawn sideways: horizontal bars, one category per row in the original order, labels wrapped on
    the left (the full label stays in the hover), the chart as tall as its rows need. Marked
    meta "wide": the dashboard gives it a row of its own."""
    bars = [t for t in fig.data if t.type == "bar"]
    if not bars or len(bars) != len(fig.data) or any(t.orientation == "h" for t in bars):
        return fig
    cats = list(dict.fromkeys(c for t in bars for c in (t.x if t.x is not None else ())))
    if not cats or not all(isinstance(c, str) for c in cats) or max(map(len, cats)) <= UPRIGHT_LABEL_CHARS:
        return fig
    wrapped = {c: textwrap.wrap(c, SIDEWAYS_LABEL_CHARS, break_on_hyphens=False) or [c] for c in cats}
    for t in bars:
        t.update(x=t.y, y=t.x, orientation="h", cliponaxis=False)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    values = [v for t in bars for v in (t.x if t.x is not None else ()) if isinstance(v, (int, float))]
    span = y.range if y.range is not None or y.type == "log" or not values else [0, 1.2 * max(max(values), 0)]
    fig.update_layout(xaxis={"title": {"text": y.title.text}, "range": span, "type": y.type},  # room for bar text
                      yaxis={"title": {"text": x.title.text}, "autorange": "reversed", "tickmode": "array",
                             "tickvals": cats, "ticktext": ["<br>".join(wrapped[c]) for c in cats]},
                      meta={"wide": True})  # fmt: skip
    # plotly spaces the categories evenly: every row as tall as the tallest label or bar group needs
    row_px = max(14 * max(map(len, wrapped.values())), 9 * len(bars)) + 12
    margin = fig.layout.margin
    fig.update_layout(height=max(fig.layout.height or 0, (margin.t or 80) + (margin.b or 40) + 60 + row_px * len(cats)))
    return fig


def html_report(results: dict[str, dict], results_dir: Path = RESULTS_DIR) -> str:
    """One self-contained HTML page: every table and chart (plotly.js inlined once)."""
    parts = ["<html><head><meta charset='utf-8'><title>GAN Gallery evaluation</title></head>",
             "<body style='font-family:sans-serif;max-width:1100px;margin:auto'>",
             "<h1>GAN Gallery — evaluation report</h1>"]  # fmt: skip
    first = True
    for task, result in results.items():
        parts.append(f"<h2>{html.escape(TASK_TITLES[task])}</h2>")
        parts.append(f"<p>{html.escape(provenance(result))}</p>".replace("  \n", "<br>"))
        if result.get("paper_check", {}).get("verdict"):
            parts.append(f"<p><b>Paper check:</b> {html.escape(result['paper_check']['verdict'])}</p>")
        parts.append(summary_table(task, result).to_html(index=False, border=0))
        for make in figures(task):
            parts.append(chart(make, result).to_html(full_html=False, include_plotlyjs="inline" if first
                                              else False))  # fmt: skip
            first = False
    for case in failure_cases(results_dir):
        data = base64.b64encode((results_dir / case["image"]).read_bytes()).decode()
        parts.append(f"<h3>{html.escape(case['title'])}</h3><img src='data:image/png;base64,"
                     f"{data}' style='max-width:100%'><p>{html.escape(case['why'])}</p>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


_report_lock = threading.Lock()


def _results_key(results_dir: Path) -> str:
    """A digest of the results files' names, sizes and times: the report changes only with them."""
    stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                   for p in results_dir.rglob("*") if p.is_file())  # fmt: skip
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]


def export_report(results_dir: Path = RESULTS_DIR) -> str:
    """The HTML report's path. Built once per state of the results (about 7 MB) and then served
    from the output cache, so repeated exports cost neither CPU nor disk."""
    with _report_lock:
        folder = output_root() / f"report_{_results_key(results_dir)}"
        out = folder / "gan_gallery_report.html"
        if out.is_file():
            os.utime(folder)  # in use again: not pruned as old
            os.utime(out)
            return str(out)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / ".gan_gallery_report.html.part"
        staging.write_text(html_report(load_results(results_dir), results_dir))
        staging.replace(out)
        return str(out)


def rerun_superres(progress=gr.Progress()) -> tuple[pd.DataFrame, str]:
    """Re-run the quality benchmark (about a minute on 2 cores) into a scratch folder, removed
    afterwards: the committed results and the model cards change only through `python -m eval.run`."""
    with tempfile.TemporaryDirectory(prefix="eval_") as scratch:
        result = run_task("superres", Path(scratch), progress=lambda f, what: progress(f, desc=what))
    return summary_table("superres", result), provenance(result)


def column_widths(table: pd.DataFrame, char_px: float = 8.5, most_chars: int = 40) -> list[str]:
    """Pixels per column of a summary table: as wide as its header's longest word and its longest
    cell, up to `most_chars` (longer cells wrap). Left to gradio, a column of long model names took
    the whole table's width and pushed the numbers out of sight."""
    widths = []
    for name in table.columns:
        cells = [len(str(v)) for v in table[name] if v is not None and v == v]  # NaN != NaN
        header = max((len(w) for w in str(name).split()), default=1)
        chars = min(max([header, *cells]), most_chars)
        widths.append(f"{round(chars * char_px + 28)}px")
    return widths


# the dashboard's sub-tabs, one per method family (a task not listed goes under "Other")
GROUPS = {
    "Super-resolution": ("superres", "superres_speed"),
    "DCGAN & AC-GAN": ("dcgan", "acgan"),
    "Text to image": ("text2image",),
    "Inpainting": ("inpainting", "inpainting_speed"),
    "Day ↔ night": ("translation",),
    "Speed (every model)": ("speed",),
}
CHARTS_PER_ROW = 2  # legible at a projector's width; every chart's text is checked for overlaps
# (task, figure function name) of the charts the slide deck shows
KEY_CHARTS = [("superres", "superres_perception_distortion"), ("superres", "superres_psnr_vs_ssim"),
              ("dcgan", "dcgan_arithmetic"), ("acgan", "acgan_per_class"),
              ("text2image", "text2image_count_accuracy"), ("inpainting", "inpainting_psnr_by_bucket"),
              ("translation", "translation_psnr_ssim")]  # fmt: skip


def groups(results: dict[str, dict]) -> dict[str, list[str]]:
    """Sub-tab title -> the tasks with results under it, in GROUPS' order."""
    out = {title: [t for t in tasks if t in results] for title, tasks in GROUPS.items()}
    listed = {t for tasks in GROUPS.values() for t in tasks}
    out["Other"] = [t for t in results if t not in listed]
    return {title: tasks for title, tasks in out.items() if tasks}


def key_charts(results: dict[str, dict] | None = None) -> list[tuple[str, object]]:
    """(title, plotly figure) of the charts a talk needs, from the committed results."""
    results = load_results() if results is None else results
    out = []
    for task, name in KEY_CHARTS:
        if task not in results:
            continue
        for make in figures(task):
            if make.__name__ == name:
                out.append((TASK_TITLES[task], chart(make, results[task])))
    return out


def _failure_gallery(cases: list[dict], label: str) -> None:
    gr.Gallery([(str(RESULTS_DIR / c["image"]), f"{c['title']}: {c['why']}") for c in cases], label=label,
               columns=3, height=360, object_fit="contain", preview=False, format="png",
               elem_classes="gg-failures")  # fmt: skip


def build_tab() -> None:
    results = load_results()
    gr.Markdown("Benchmarks of the models the app serves (`python -m eval.run`), one sub-tab per method family, "
                "with the failures the measurements picked. Click a column header to sort; each chart's toolbar "
                "has *Download plot as PNG*.")  # fmt: skip
    if not results:
        gr.Markdown("No results yet: run `python -m eval.run`.")
    cases = failure_cases()
    with gr.Tabs(elem_classes="gg-eval-tabs"):
        for group, tasks in groups(results).items():
            with gr.Tab(group):
                contents = " · ".join(f"[{TASK_TITLES[t]}](#eval-{t})" for t in tasks)
                if len(tasks) > 1:
                    gr.Markdown(f"<small>On this page: {contents}</small>")
                for task in tasks:
                    _task_section(task, results[task])
                own = [c for c in cases if c.get("task") in tasks]
                if own:
                    _failure_gallery(own, f"Failures picked by the measurements ({len(own)})")
        if cases:
            with gr.Tab("Failure gallery"):
                _failure_gallery(cases, f"Every failure picked by the measurements ({len(cases)})")
    with gr.Row():
        build = gr.Button("Export the whole report as one HTML page", size="sm")
        report = gr.File(label="Report", interactive=False)
    build.click(export_report, None, report, concurrency_limit=1, concurrency_id="report")


def _task_section(task: str, result: dict) -> None:
    gr.HTML(f"<h3 id='eval-{task}' style='margin:12px 0 4px 0'>{html.escape(TASK_TITLES[task])}</h3>")
    summary = summary_table(task, result)
    table = gr.Dataframe(summary, interactive=False, wrap=True, max_height=320, column_widths=column_widths(summary))
    info = gr.Markdown(provenance(result))
    if result.get("paper_check", {}).get("verdict"):
        gr.Markdown(f"**Paper check:** {result['paper_check']['verdict']}")
    csv_path = RESULTS_DIR / f"{task}.csv"
    figs = [chart(make, result) for make in figures(task)]
    rows, pair = [], []
    for fig in figs:  # a wide chart has a row of its own; the others go two to a row
        if (fig.layout.meta or {}).get("wide"):
            rows.append([fig])
        else:
            pair.append(fig)
            if len(pair) == CHARTS_PER_ROW:
                rows.append(pair)
                pair = []
    rows += [pair] if pair else []
    for row in rows:
        with gr.Row(equal_height=True):
            for fig in row:
                # two to a row where each is CHART_MIN_PX wide or more, else one (the row wraps)
                gr.Plot(fig, show_label=False, min_width=CHART_MIN_PX)
            if len(row) < CHARTS_PER_ROW and not (row[0].layout.meta or {}).get("wide"):
                with gr.Column(min_width=CHART_MIN_PX):  # keeps a lone last chart at half width
                    pass
    with gr.Row():
        if csv_path.is_file():
            gr.DownloadButton(f"Download {task}.csv", value=str(csv_path), size="sm", scale=0, min_width=200)
        if task == "superres":
            rerun = gr.Button("Re-run this benchmark now", size="sm", scale=0, min_width=220)
            rerun.click(rerun_superres, None, [table, info], concurrency_limit=1, concurrency_id="eval")

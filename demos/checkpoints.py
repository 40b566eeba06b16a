"""Checkpoints tab: the health of every model in the catalog — the Hub sources tried in order, the
one that served, its commit and sha256, size, licence, load time, and why a fallback happened."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from models import hub
from models.catalog import CATALOG, CatalogEntry

TITLE = "Checkpoints"
COLUMNS = ["Model", "Task", "Status", "Ran as", "Sources tried (in order)", "Served by", "Commit", "sha256",
           "MB", "Licence", "Load s", "Why a fallback"]  # fmt: skip
# px per column: left to the browser, a column still empty (nothing loaded yet) shrank to one letter
# and its header ran down the page a letter a line
COLUMN_WIDTHS = [150, 90, 140, 160, 420, 260, 200, 200, 70, 170, 80, 300]


def _source_cell(entry: CatalogEntry, loaded: hub.LoadedModel | None) -> str:
    if not entry.sources:
        return "— (embedded only)"
    tried = {a.source: a for a in loaded.attempts} if loaded else {}
    cells = []
    for src in entry.sources:
        sid = f"{src.repo_id}/{src.filename}@{src.revision}"
        attempt = tried.get(sid)
        if attempt is not None:
            mark = "✓" if attempt.ok else f"✗ {attempt.reason}"
        else:
            mark = "in local cache" if all(hub.cached_path(src, f) for f in hub.source_files(src)) else "not cached"
        pin = "" if src.pinned else " (unpinned)"
        cells.append(f"{sid}{pin}: {mark}")
    return " · ".join(cells)


def health_rows() -> pd.DataFrame:
    """One row per catalog entry, from what this server process has loaded so far (a model not
    loaded yet shows whether its Hub files are in the local cache)."""
    rows = []
    for name, entry in CATALOG.items():
        last = hub.last_load(name)
        loaded = last if isinstance(last, hub.LoadedModel) else None
        if loaded is not None:
            status = f"loaded ({loaded.source})"
        elif isinstance(last, str):
            status = "unavailable"
        else:
            status = "not loaded yet"
        why = loaded.notice if loaded and loaded.notice else (last if isinstance(last, str) else "")
        rows.append([
            name, entry.task, status, loaded.title if loaded else "",
            _source_cell(entry, loaded),
            (loaded.origin if loaded else ""),
            (loaded.commit or "") if loaded else "",
            loaded.sha256 if loaded else "",
            round(loaded.size_bytes / 1e6, 1) if loaded else (entry.sources[0].size_mb if entry.sources else None),
            (loaded.license if loaded else "") or entry.license or (entry.sources[0].license if entry.sources else "")
            or "this project's own checkpoint",
            round(loaded.load_seconds, 2) if loaded else None,
            why,
        ])  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def recheck() -> tuple[pd.DataFrame, str]:
    n = hub.retry_fallbacks()
    return health_rows(), (f"{n} fallback(s) forgotten: the next request for those models asks the Hub again."
                           if n else "No fallback to retry.")  # fmt: skip


def build_tab() -> gr.Dataframe:
    gr.Markdown(
        "Every model the app knows. Hub entries list their sources (mirrors) in the order they are "
        "tried; the row shows which one served, the full commit and the sha256 of the file read. "
        "Models load on first use, so a row fills in once some tab has used it. Source policy: "
        f"`{hub.SOURCE_ENV}={hub.source_policy()}`. `python -m models.prefetch` fills the local cache "
        "ahead of time."
    )
    table = gr.Dataframe(value=health_rows, headers=COLUMNS, interactive=False, wrap=True, label="Checkpoint health",
                         column_widths=COLUMN_WIDTHS)  # fmt: skip
    with gr.Row():
        refresh = gr.Button("Refresh")
        retry = gr.Button("Re-check the Hub")
    status = gr.Markdown()
    refresh.click(health_rows, None, table, api_name="checkpoint_health", concurrency_limit=4)
    retry.click(recheck, None, [table, status], api_name="recheck_hub", concurrency_limit=1)
    return table


def refresh_on_select(page: gr.Tab, table: gr.Dataframe) -> None:
    """Re-read the table whenever the tab is opened: the page's first copy is made when it loads,
    before the other tabs' default results have loaded their models (it said "not loaded yet" for
    models already in use until Refresh was pressed)."""
    page.select(health_rows, None, table, api_name=False, concurrency_limit=4, show_progress="hidden")

"""What every dashboard figure shares: the palette, a title naming the data and checkpoints, and a
layout that stays legible at half a projector's width (two charts per row): the title and subtitle
wrap, the legend sits under the plot, and the margins grow with them so no text overlaps."""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
import plotly.io as pio

# Every figure starts on plotly_white: set as plotly's default template so it is applied once, when a
# figure is made, instead of "plotly" there and then plotly_white again in layout() (~10 ms a
# figure, ~0.2 s of the app's start with the dashboard's 20 charts).
pio.templates.default = "plotly_white"

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
TITLE_CHARS = 62  # per title line: fits a chart ~560 px wide at plotly's 17 px title font
SUBTITLE_CHARS = 95  # the smaller subtitle (<sup>)


def _checkpoints(result: dict) -> str:
    parts = []
    for method, r in result["methods"].items():
        ckpt = r.get("checkpoint")
        if ckpt and ckpt.get("sha256"):
            parts.append(f"{method}: {ckpt['source']} sha256 {ckpt['sha256'][:10]}")
    return "; ".join(parts)


def wrap_lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_on_hyphens=False) or [""]


def layout(fig: go.Figure, title: str, result: dict, **kw) -> go.Figure:
    title_lines = wrap_lines(title, TITLE_CHARS)
    sub_lines = wrap_lines(f"{result.get('date', '')[:10]} · {_checkpoints(result)}".strip(" ·"), SUBTITLE_CHARS)
    text = "<br>".join(title_lines) + "<br>" + "<br>".join(f"<sup>{s}</sup>" for s in sub_lines)
    top = 30 + 22 * len(title_lines) + 15 * len(sub_lines)
    # subplot titles (annotations at the top of each subplot) need a little more room under the title
    top += 18 if any(a.yref == "paper" and (a.y or 0) >= 1 for a in fig.layout.annotations or ()) else 0
    legend = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "xanchor": "left",
              "font": {"size": 11}}  # fmt: skip
    height = kw.pop("height", 460)
    fig.update_layout(title={"text": text, "x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                             "yref": "container", "font": {"size": 16}},
                      margin={"t": top, "l": 60, "r": 20, "b": 40, "autoexpand": True},
                      legend=legend, height=height + top - 80, **kw)  # fmt: skip
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig

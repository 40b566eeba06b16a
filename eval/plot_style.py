"""What every dashboard figure shares: the palette and a title naming the data and checkpoints."""

from __future__ import annotations

import plotly.graph_objects as go

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _checkpoints(result: dict) -> str:
    parts = []
    for method, r in result["methods"].items():
        ckpt = r.get("checkpoint")
        if ckpt and ckpt.get("sha256"):
            parts.append(f"{method}: {ckpt['source']} sha256 {ckpt['sha256'][:10]}")
    return "; ".join(parts)


def layout(fig: go.Figure, title: str, result: dict, **kw) -> go.Figure:
    sub = f"{result.get('date', '')[:10]} · {_checkpoints(result)}"
    fig.update_layout(title={"text": f"{title}<br><sup>{sub}</sup>"}, template="plotly_white",
                      margin={"t": 80}, height=420, **kw)  # fmt: skip
    return fig

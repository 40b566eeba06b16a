"""Plotly figures for the day <-> night results (eval/results/translation.json): every number per
direction, since day -> night and night -> day fail in different ways."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eval.plot_style import COLORS, layout

DIRECTION_NAMES = {"day2night": "day → night", "night2day": "night → day"}


def _methods(result: dict) -> list[tuple[str, dict]]:
    return [(m, r) for m, r in result["methods"].items() if "per_direction" in r]


def translation_psnr_ssim(result: dict) -> go.Figure:
    """PSNR and SSIM against the paired ground truth, grouped by direction, one bar per method."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("PSNR (dB, RGB) ↑", "SSIM (RGB) ↑"))
    for i, (method, r) in enumerate(_methods(result)):
        dirs = [d for d in DIRECTION_NAMES if d in r["per_direction"]]
        x = [DIRECTION_NAMES[d] for d in dirs]
        for col, key in ((1, "psnr"), (2, "ssim")):
            values = [r["per_direction"][d][key] for d in dirs]
            fig.add_bar(x=x, y=values, name=r["title"], legendgroup=method, showlegend=col == 1,
                        marker_color=COLORS[i % len(COLORS)], text=[f"{v:.2f}" if key == "psnr" else f"{v:.3f}"
                                                                    for v in values],
                        textposition="outside", row=1, col=col)  # fmt: skip
    return layout(fig, f"Day ↔ night on {result.get('scenes', '?')} held-out scenes: PSNR / SSIM (RGB) "
                        "against the paired ground truth", result, barmode="group")  # fmt: skip


def translation_fd(result: dict) -> go.Figure:
    """FD on the scene classifier's features per direction, with the floor two sets of ground-truth
    renders give."""
    fig = go.Figure()
    for i, (_method, r) in enumerate(_methods(result)):
        dirs = [d for d in DIRECTION_NAMES if "fd" in r["per_direction"].get(d, {})]
        fig.add_bar(x=[DIRECTION_NAMES[d] for d in dirs], y=[r["per_direction"][d]["fd"] for d in dirs],
                    name=r["title"], marker_color=COLORS[i % len(COLORS)])  # fmt: skip
    floor = result.get("fd_floor", {})
    if floor:
        fig.add_scatter(x=[DIRECTION_NAMES[d] for d in floor], y=list(floor.values()), mode="markers",
                        name="floor: ground truth vs ground truth", marker={"symbol": "line-ew-open", "size": 40,
                                                                             "color": "black"})  # fmt: skip
    return layout(fig, f"Day ↔ night: {result.get('fd_label', 'FD')} to the target domain (lower is better)",
                   result, yaxis_title="Fréchet distance", barmode="group")  # fmt: skip


def translation_by_weather(result: dict) -> go.Figure:
    """Mean PSNR per weather and direction: where the translators break."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=tuple(DIRECTION_NAMES.values()), shared_yaxes=True)
    for i, (method, r) in enumerate(_methods(result)):
        for col, d in enumerate(DIRECTION_NAMES, start=1):
            by = r["per_direction"].get(d, {}).get("psnr_by_weather", {})
            fig.add_scatter(x=list(by), y=list(by.values()), mode="lines+markers", name=r["title"],
                            legendgroup=method, showlegend=col == 1, line={"color": COLORS[i % len(COLORS)]},
                            row=1, col=col)  # fmt: skip
    fig.update_yaxes(title_text="PSNR (dB, RGB)", row=1, col=1)
    return layout(fig, "Day ↔ night: PSNR against the ground truth by weather", result)


def translation_cycle(result: dict) -> go.Figure:
    """Cycle X -> Y -> X reconstruction PSNR per starting domain."""
    fig = go.Figure()
    for i, (_method, r) in enumerate(_methods(result)):
        dirs = [d for d in DIRECTION_NAMES if "cycle_psnr" in r["per_direction"].get(d, {})]
        if dirs:
            fig.add_bar(x=[f"{DIRECTION_NAMES[d]} → back" for d in dirs],
                        y=[r["per_direction"][d]["cycle_psnr"] for d in dirs], name=r["title"],
                        marker_color=COLORS[i % len(COLORS)])  # fmt: skip
    return layout(fig, "Cycle consistency: X → Y → X with the same model, PSNR against X (RGB)", result,
                   yaxis_title="PSNR (dB)", barmode="group")  # fmt: skip

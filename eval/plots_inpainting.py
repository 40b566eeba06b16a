"""Plotly figures for the inpainting results (eval/results/inpainting*.json): every number per
mask-area bucket, since a single average hides how methods fall apart as holes grow."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eval.plot_style import COLORS, layout


def _bucket_methods(result: dict) -> list[tuple[str, dict]]:
    return [(m, r) for m, r in result["methods"].items() if "per_bucket" in r]


def _dash(method: str) -> str:
    return "dot" if method == "deep-image-prior" else "solid"  # a subset of the cases: see its title


def inpainting_psnr_by_bucket(result: dict) -> go.Figure:
    """PSNR (RGB, whole image) against mask area, one line per method."""
    fig = go.Figure()
    for i, (method, r) in enumerate(_bucket_methods(result)):
        buckets = list(r["per_bucket"])
        fig.add_scatter(x=[f"{b}%" for b in buckets], y=[r["per_bucket"][b]["psnr"] for b in buckets],
                        mode="lines+markers", name=r["title"],
                        line={"color": COLORS[i % len(COLORS)], "dash": _dash(method)},
                        text=[f"n={r['per_bucket'][b].get('n', '?')}" for b in buckets])  # fmt: skip
    return layout(fig, "Inpainting on the 10 held-out photos (256 px): PSNR by mask area "
                        "(RGB, whole image)", result,
                   xaxis_title="masked fraction of the image", yaxis_title="PSNR (dB)")  # fmt: skip


def inpainting_ssim_l1_by_bucket(result: dict) -> go.Figure:
    """SSIM (whole image) and L1 (hole only) against mask area, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("SSIM (RGB, whole image) ↑",
                                                        "L1 inside the hole, [0, 1] scale ↓"))  # fmt: skip
    for i, (method, r) in enumerate(_bucket_methods(result)):
        buckets = list(r["per_bucket"])
        x = [f"{b}%" for b in buckets]
        line = {"color": COLORS[i % len(COLORS)], "dash": _dash(method)}
        fig.add_scatter(x=x, y=[r["per_bucket"][b]["ssim"] for b in buckets], mode="lines+markers",
                        name=r["title"], line=line, legendgroup=method, row=1, col=1)  # fmt: skip
        fig.add_scatter(x=x, y=[r["per_bucket"][b]["l1"] for b in buckets], mode="lines+markers",
                        name=r["title"], line=line, legendgroup=method, showlegend=False, row=1, col=2)  # fmt: skip
    fig.update_xaxes(title_text="masked fraction of the image")
    return layout(fig, "Inpainting: SSIM and hole L1 by mask area", result)


def inpainting_speed(result: dict) -> go.Figure:
    """Seconds per fill against input size; Deep Image Prior per 100 iterations (its title says)."""
    fig = go.Figure()
    for i, (method, r) in enumerate(result["methods"].items()):
        sizes = list(r["per_size"])
        fig.add_scatter(x=[int(s) for s in sizes], y=[r["per_size"][s]["seconds"] for s in sizes],
                        mode="lines+markers", name=r["title"],
                        line={"color": COLORS[i % len(COLORS)], "dash": _dash(method)})  # fmt: skip
    machine = result.get("machine", {})
    return layout(fig, f"Inpainting time on {machine.get('cpus', '?')} CPUs (20-30% mask; Deep Image "
                        "Prior: per 100 iterations)", result,
                   xaxis_title="image side (px)", yaxis_title="seconds", yaxis_type="log")  # fmt: skip

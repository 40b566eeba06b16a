"""Plotly figures for the text-to-image results (eval/results/text2image.json): every probe on the
generated samples next to the same probe on the real renders of the same captions (the ceiling)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eval.plot_style import COLORS, layout

GAN, REAL = "gan-int-cls-scenes", "real-renders"
SERIES = ((GAN, "generated", COLORS[1]), (REAL, "real renders (ceiling)", COLORS[0]))


def _ok(result: dict, method: str) -> dict | None:
    r = result["methods"].get(method, {})
    return r if "mean" in r else None


def _data(result: dict) -> str:
    return f"{result.get('scenes', '?')} held-out test scenes"


def text2image_confusion(result: dict) -> go.Figure:
    """Requested x detected object counts, as the fraction of each requested count (row)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("generated", "real renders (ceiling)"), shared_yaxes=True,
                        horizontal_spacing=0.08)  # fmt: skip
    for col, (method, _, _) in enumerate(SERIES, start=1):
        r = _ok(result, method)
        if not r:
            continue
        c = r["seen"]["counting"]
        rows = [max(sum(line), 1) for line in c["matrix"]]
        z = [[v / n for v in line] for line, n in zip(c["matrix"], rows, strict=True)]
        fig.add_heatmap(z=z, x=[f"found {d}" for d in c["detected"]], y=[f"asked {q}" for q in c["requested"]],
                        text=c["matrix"], texttemplate="%{text}", zmin=0, zmax=1, colorscale="Blues",
                        showscale=col == 2, colorbar={"title": "fraction"},
                        hovertemplate="%{y}, %{x}: %{text} images (%{z:.0%})<extra></extra>", row=1, col=col)  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return layout(fig, f"Text-to-image counting on {_data(result)}: requested x detected count (scene detector)",
                   result)  # fmt: skip


def text2image_count_accuracy(result: dict) -> go.Figure:
    """Per requested count: the fraction of images with exactly that many detected objects."""
    fig = go.Figure()
    series = [(m, "seen", n, c, 1.0) for m, n, c in SERIES]
    series.insert(1, (GAN, "phrased", "generated, held-out phrasings", COLORS[1], 0.5))
    for method, split, name, color, opacity in series:
        r = _ok(result, method)
        if r and split in r:
            per = r[split]["counting"]["per_count"]
            fig.add_bar(x=[f"{k} object{'s' if k != '1' else ''}" for k in per], y=list(per.values()), name=name,
                        marker_color=color, opacity=opacity, text=[f"{v:.0%}" for v in per.values()],
                        textposition="outside")  # fmt: skip
    target = result.get("targets", {}).get("count_accuracy_1_3")
    if target:
        fig.add_hline(
            y=target, line_dash="dot", annotation_text=f"target {target:.0%} (counts 1-3)"
        )
    return layout(fig, f"Text-to-image: count right per requested count, {_data(result)}", result,
                   yaxis_title="fraction of images", yaxis_range=[0, 1.12], barmode="group")  # fmt: skip


def text2image_attributes(result: dict) -> go.Figure:
    """Colour, shape, binding and R-precision on seen combinations and on never-seen ones."""
    fig = go.Figure()
    groups = (("colour", "colour_accuracy", "heldout_colour_accuracy"),
              ("shape", "shape_accuracy", None),
              ("colour + shape (binding)", "binding_accuracy", "heldout_binding_accuracy"),
              ("never-seen pair drawn", None, "heldout_pair_rate"),
              ("R-precision (scene CLIP)", "r_precision", "heldout_r_precision"))  # fmt: skip
    for method, name, color in SERIES:
        r = _ok(result, method)
        if not r:
            continue
        m = r["mean"]
        for split, key_index, opacity in (
            ("seen combinations", 1, 1.0),
            ("never-seen combinations", 2, 0.55),
        ):
            x, y = [], []
            for g in groups:
                key = g[key_index]
                if key and key in m:
                    x.append(g[0])
                    y.append(m[key])
            fig.add_bar(x=x, y=y, name=f"{name}, {split}", marker_color=color, opacity=opacity,
                        text=[f"{v:.2f}" for v in y], textposition="outside")  # fmt: skip
    target = result.get("targets", {}).get("colour_accuracy")
    if target:
        fig.add_hline(y=target, line_dash="dot", annotation_text=f"colour target {target:.0%}")
    return layout(fig, f"Text-to-image attributes: {_data(result)} and {result.get('heldout_scenes', '?')} with a "
                        "never-seen colour-shape pair", result,
                   yaxis_title="fraction (detector; R-precision: scene CLIP)", yaxis_range=[0, 1.12],
                   barmode="group", xaxis={"categoryorder": "array", "categoryarray": [g[0] for g in groups]})  # fmt: skip


def text2image_perspective(result: dict) -> go.Figure:
    """Detected height against base y, with the band that holds 95% of real objects (points jittered by
    up to 0.3 px so that objects of the same whole-pixel size stay visible)."""
    fig = go.Figure()
    horizon = result.get("horizon", 22)
    for method, name, color in SERIES:
        r = _ok(result, method)
        if r:
            p = r["seen"]["perspective"]
            x, y = np.array(p["points"]["base_y"], float), np.array(p["points"]["height"], float)
            jitter = np.random.default_rng(0).uniform(
                -0.3, 0.3, (2, len(x))
            )  # whole pixels overlap
            fig.add_scatter(x=x + jitter[0], y=y + jitter[1], mode="markers",
                            name=f"{name}: {p['in_band']:.0%} in band, slope {p['slope']:.2f}",
                            marker={"color": color, "size": 5, "opacity": 0.35})  # fmt: skip
    band = result.get("band")
    if band:
        xs = [horizon, 64]
        for edge, dash in ((band["low"], "dash"), (band["high"], "dash")):
            fig.add_scatter(x=xs, y=[edge * (x - horizon) for x in xs], mode="lines", showlegend=edge == band["low"],
                            name=f"band: {band['low']:.2f}-{band['high']:.2f} x (base y - horizon)",
                            line={"color": "black", "dash": dash, "width": 1})  # fmt: skip
        fig.add_vline(x=horizon, line_dash="dot", annotation_text="horizon")
    return layout(fig, f"Text-to-image perspective: detected height vs base y, {_data(result)} (band from "
                        "further real renders)", result,
                   xaxis_title="base y (px from the top, 64 px image; points jittered ±0.3 px)", yaxis_title="height (px)",
                   xaxis_range=[0, 65], yaxis_range=[0, 40])  # fmt: skip

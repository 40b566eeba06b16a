"""Plotly figures for the Evaluation tab, built from eval/results/<task>.json (eval/tasks.py says
which figures each task has; plots_<task>.py hold the larger tasks').

Every figure's title says what it was computed on; the subtitle names the checkpoints.
"""

from __future__ import annotations

import plotly.graph_objects as go

from eval.plot_style import COLORS, layout


def superres_psnr_vs_ssim(result: dict) -> go.Figure:
    """Per-photo points and the mean per method: Y-PSNR (x) against Y-SSIM (y)."""
    fig = go.Figure()
    methods = [(m, r) for m, r in result["methods"].items() if "per_image" in r]
    for i, (_method, r) in enumerate(methods):
        color = COLORS[i % len(COLORS)]
        photos = list(r["per_image"])
        fig.add_scatter(x=[r["per_image"][p]["psnr_y"] for p in photos],
                        y=[r["per_image"][p]["ssim_y"] for p in photos], mode="markers",
                        name=f"{r['title']} (per photo)", text=photos, opacity=0.45,
                        marker={"color": color, "size": 8})  # fmt: skip
        fig.add_scatter(x=[r["mean"]["psnr_y"]], y=[r["mean"]["ssim_y"]], mode="markers+text",
                        name=f"{r['title']} (mean)", text=[r["title"]], textposition="top center",
                        marker={"color": color, "size": 16, "symbol": "diamond"})  # fmt: skip
    return layout(fig, "Super-resolution x4 on the 10 held-out photos: Y-PSNR vs Y-SSIM (crop 4)",
                   result, xaxis_title="PSNR Y (dB)", yaxis_title="SSIM Y")  # fmt: skip


PERCEPTUAL_MEASURES = {  # per_image key -> (axis title, better when, named for the chart's title)
    "lpips": ("LPIPS (lower = closer perceptually)", "lower", "LPIPS"),
    "sharpness": ("sharpness: gradient-energy ratio (1 = as sharp as the original)", "closer to 1",
                  "sharpness (gradient-energy ratio, computed here; not LPIPS)"),
}


def perceptual_measure(result: dict) -> str:
    """The perceptual measure every SR method has per photo: LPIPS when the benchmark computed it
    (its backbone weights were in the torch cache), else the gradient-energy sharpness ratio."""
    methods = [r for r in result["methods"].values() if "per_image" in r]
    for key in PERCEPTUAL_MEASURES:
        if methods and all(key in v for r in methods for v in r["per_image"].values()):
            return key
    return "sharpness"


def superres_perception_distortion(result: dict) -> go.Figure:
    """The perception–distortion plane (Blau & Michaeli 2018): Y-PSNR (distortion, x) against a
    perceptual measure (y), per method and photo, with each method's mean. Bicubic wins on PSNR
    and is the least sharp; SRGAN gives up PSNR for sharpness."""
    key = perceptual_measure(result)
    axis, better, named = PERCEPTUAL_MEASURES[key]
    fig = go.Figure()
    methods = [(m, r) for m, r in result["methods"].items() if "per_image" in r]
    for i, (method, r) in enumerate(methods):
        color = COLORS[i % len(COLORS)]
        photos = [p for p, v in r["per_image"].items() if key in v]
        fig.add_scatter(x=[r["per_image"][p]["psnr_y"] for p in photos], y=[r["per_image"][p][key] for p in photos],
                        mode="markers", name=r["title"], legendgroup=method, text=photos, opacity=0.5,
                        hovertemplate="%{text}: %{x:.2f} dB, %{y:.3f}<extra>" + r["title"] + "</extra>",
                        marker={"color": color, "size": 8})  # fmt: skip
        mean_x = sum(r["per_image"][p]["psnr_y"] for p in photos) / max(1, len(photos))
        mean_y = sum(r["per_image"][p][key] for p in photos) / max(1, len(photos))
        fig.add_scatter(x=[mean_x], y=[mean_y], mode="markers", name=f"{r['title']} (mean)", legendgroup=method,
                        showlegend=False, hovertemplate=f"{r['title']} mean: %{{x:.2f}} dB, %{{y:.3f}}<extra></extra>",
                        marker={"color": color, "size": 17, "symbol": "diamond", "line": {"color": "white", "width": 1.5}})  # fmt: skip
    if key == "sharpness":
        fig.add_hline(y=1.0, line_dash="dot", line_color="#6b7280")
    return layout(fig, f"Perception–distortion, x4 on the held-out photos: Y-PSNR vs {named}; "
                       f"better = right and {better} (diamonds: means)", result,
                  xaxis_title="PSNR Y (dB) → less distortion", yaxis_title=axis)  # fmt: skip


def superres_sharpness(result: dict) -> go.Figure:
    """PSNR against sharpness (gradient-energy ratio): what SRGAN trades for what."""
    fig = go.Figure()
    for i, (_method, r) in enumerate((m, r) for m, r in result["methods"].items() if "mean" in r):
        fig.add_bar(x=[r["title"]], y=[r["mean"]["sharpness"]], name=r["title"],
                    marker_color=COLORS[i % len(COLORS)],
                    text=[f"{r['mean']['sharpness']:.3f}"], textposition="outside")  # fmt: skip
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="as sharp as the original")
    return layout(fig, "Sharpness: gradient energy of the output / of the original (Y, crop 4)",
                   result, yaxis_title="gradient-energy ratio", showlegend=False)  # fmt: skip


def superres_speed(result: dict) -> go.Figure:
    fig = go.Figure()
    for i, (_method, r) in enumerate(result["methods"].items()):
        sizes = list(r["per_size"])
        fig.add_scatter(x=[int(s) for s in sizes], y=[r["per_size"][s]["seconds"] for s in sizes],
                        mode="lines+markers", name=r["title"],
                        line={"color": COLORS[i % len(COLORS)]})  # fmt: skip
    machine = result.get("machine", {})
    return layout(fig, f"x4 upscale time on {machine.get('cpus', '?')} CPUs "
                        f"(matmul peak {result.get('peak_gflops', 0):.0f} GFLOP/s)", result,
                   xaxis_title="input side (px)", yaxis_title="seconds", yaxis_type="log")  # fmt: skip


def speed_fraction_of_peak(result: dict) -> go.Figure:
    """% of the float32 matmul peak per model at each of its three sizes (grouped bars)."""
    fig = go.Figure()
    methods = [r for r in result["methods"].values() if "per_size" in r]
    n_sizes = max((len(r["per_size"]) for r in methods), default=0)
    for k in range(n_sizes):
        rows = [(r["title"], list(r["per_size"].items())[k]) for r in methods if len(r["per_size"]) > k]
        fig.add_bar(x=[t for t, _ in rows], y=[100 * (v["fraction_of_peak"] or 0) for _, (_, v) in rows],
                    name=["smallest", "middle", "largest"][k] if n_sizes == 3 else f"size {k + 1}",
                    text=[f"{s}: {v['seconds']:.3g} s" for _, (s, v) in rows], textposition="outside",
                    marker_color=COLORS[k % len(COLORS)])  # fmt: skip
    return layout(fig, f"Every catalog model: % of the float32 matmul peak "
                       f"({result.get('peak_gflops', 0):.0f} GFLOP/s, same run), three sizes each "
                       "(bar text: input px or batch, seconds per call)", result,
                  yaxis_title="% of matmul peak", barmode="group")  # fmt: skip


def _first_ok(result: dict) -> dict | None:
    return next((r for r in result["methods"].values() if "mean" in r), None)


def dcgan_sliders(result: dict) -> go.Figure:
    """Attribute probability along each direction in z: a working slider rises left to right."""
    from models.latent_arithmetic import SLIDERS  # the tab's sliders; the CSV has every direction

    fig = go.Figure()
    r = _first_ok(result)
    shown = [(k, s) for k, s in (r or {}).get("sliders", {}).items() if k in SLIDERS.values()]
    for i, (key, s) in enumerate(shown):
        fig.add_scatter(x=s["steps"], y=s["mean_probability"], mode="lines+markers",
                        name=f"{key} (monotone {s['monotone_fraction']:.0%})",
                        line={"color": COLORS[i % len(COLORS)]})  # fmt: skip
    return layout(fig, "DCGAN attribute sliders of the tab: classifier probability along each direction (64 z)",
                   result, xaxis_title="step along the direction", yaxis_title="mean probability",
                   yaxis_range=[0, 1])  # fmt: skip


def dcgan_arithmetic(result: dict) -> go.Figure:
    fig = go.Figure()
    r = _first_ok(result)
    if r:
        m, a = r["mean"], r["arithmetic"]
        names = ["whole target", "transferred attribute", "context kept", "mean(C) alone (baseline)"]
        values = [m["arithmetic_success"], m["transfer_rate"], m["context_kept"], m["baseline_c"]]
        fig.add_bar(x=names, y=values, marker_color=COLORS[:4], text=[f"{v:.0%}" for v in values],
                    textposition="outside")  # fmt: skip
        title = f"DCGAN vector arithmetic A − B + C over {a['trials']} seeded trials (face-attribute classifier)"
    else:
        title = "DCGAN vector arithmetic (no result)"
    return layout(fig, title, result, yaxis_title="fraction of trials", yaxis_range=[0, 1.1], showlegend=False)


def _per_class_bars(result: dict, series: list[tuple[str, str, str]]) -> go.Figure:
    """Grouped bars per AC-GAN class: series = (per_class key, legend name, colour)."""
    fig = go.Figure()
    r = _first_ok(result)
    if r:
        classes = list(r["per_class"])
        for key, name, color in series:
            fig.add_bar(x=classes, y=[r["per_class"][c][key] for c in classes], name=name, marker_color=color)
    return fig


def acgan_per_class(result: dict) -> go.Figure:
    fig = _per_class_bars(result, [("accuracy", "generated samples", COLORS[1]),
                                   ("real_accuracy", "real test photos", COLORS[0])])  # fmt: skip
    return layout(fig, "AC-GAN: Fashion-MNIST classifier accuracy per requested class", result,
                   yaxis_title="accuracy", yaxis_range=[0, 1], barmode="group")  # fmt: skip


def acgan_fd(result: dict) -> go.Figure:
    fig = _per_class_bars(result, [("fd", "generated vs real test", COLORS[1]),
                                   ("fd_real", "real train vs real test (floor)", COLORS[0])])  # fmt: skip
    return layout(fig, f"AC-GAN: per-class {result.get('fd_label', 'FD')}", result,
                   yaxis_title="Fréchet distance (lower is better)", barmode="group")  # fmt: skip

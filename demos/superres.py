"""Super-resolution x4 tab: bicubic vs SRResNet (MSE) vs SRGAN, with PSNR / SSIM under each."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from data.input_guard import guard_image, short
from demos import presenter
from demos.common import (
    Radio,
    error,
    image_input,
    info,
    notices_markdown,
    user_errors,
    warning,
)
from eval.comparison import (
    Panel,
    compose_comparison,
    region_of_largest_difference,
    stack_vertical,
)
from eval.metrics import psnr, ssim
from models.hub import ModelUnavailable, first_time
from models.resample import crop_to_multiple, downscale_x4
from models.result import PipelineResult, provenance_record, result_record
from models.superres import BICUBIC, sr_model_names, upscale

logger = logging.getLogger(__name__)

TITLE = "Super-resolution x4"
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
MODE_UPSCALE = "Upscale my image (x4)"
MODE_COMPARE = "Compare to ground truth (downscale x4 first)"
MAX_SIDE = {MODE_UPSCALE: 512, MODE_COMPARE: 1024}  # input sides; outputs are 4x / 1x of these
MODELS = {
    "Trained here (embedded, small)": "embedded",
    "ImageNet checkpoints (Hub, paper size) + Real-ESRGAN": "hub",
}
ZOOM = 48  # output pixels per side of the zoomed crop
METRIC_NOTE = ("PSNR (dB) / SSIM on the Y channel (ITU-R BT.601), 4 px border cropped, Gaussian "
               "11x11 SSIM window — the SRGAN paper's and BasicSR's conventions.")  # fmt: skip
TABLE_COLUMNS = ["Method", "Weights", "PSNR Y (dB)", "SSIM Y", "PSNR RGB (dB)", "Seconds"]


def run_methods(lr: np.ndarray, model_set: str, notices: list[str], session: str | None = None) -> list[PipelineResult]:
    """Every method of the set; a model's notice (fallback, unavailable) once per session."""
    results = []
    for method in [BICUBIC, *sr_model_names(model_set)]:
        try:
            r = upscale(method, lr)
        except ModelUnavailable as exc:
            if text := first_time(session, method, str(exc)):
                notices.append(error(text))
            continue
        if text := first_time(session, method, r.notice):
            notices.append(warning(text))
        results.append(r)
    return results


def zoom_panels(panels: list[Panel], results: list[PipelineResult]) -> list[Panel]:
    """The same crop of every full-size panel, where the last two methods differ most."""
    full = [p for p in panels if p.title != "Input"]
    if len(results) < 2:
        return []
    top, left = region_of_largest_difference(results[-1].image, results[-2].image, ZOOM)
    crops = []
    for p in full:
        crop = p.image[top : top + ZOOM, left : left + ZOOM]
        crops.append(Panel(crop, p.title, f"zoom at x={left}, y={top}"))
    return crops


def super_resolve(image_path, mode: str, models: str, request: gr.Request | None = None):
    """The tab's action: (gallery, slider pair, zoom gallery, table, notices, PNG path)."""
    if mode not in MAX_SIDE:
        raise gr.Error(f"Unknown mode {short(mode)}.")
    if models not in MODELS:
        raise gr.Error(f"Unknown model choice {short(models)}.")
    compare = mode == MODE_COMPARE
    guarded = guard_image(image_path, max_side=MAX_SIDE[mode], min_side=32 if compare else 8)
    notices = [info(n) for n in guarded.notices]
    ground_truth = crop_to_multiple(guarded.array, 4) if compare else None
    lr = downscale_x4(ground_truth) if compare else guarded.array
    results = run_methods(lr, MODELS[models], notices, getattr(request, "session_hash", None))

    rows, panels, records = [], [], []
    if not compare:
        panels.append(Panel(lr, "Input", f"{lr.shape[1]}x{lr.shape[0]} px"))
    for r in results:
        if compare:
            p = psnr(ground_truth, r.image, crop_border=4)
            s = ssim(ground_truth, r.image, crop_border=4)
            p_rgb = psnr(ground_truth, r.image, crop_border=4, y_channel=False)
            caption = f"{p:.2f} dB / {s:.4f}"
            rows.append([r.title, r.source, round(p, 2), round(s, 4), round(p_rgb, 2),
                         round(r.seconds, 3)])  # fmt: skip
            records.append(result_record(r, {"PSNR Y dB": p, "SSIM Y": s}))
        else:
            caption = f"{r.image.shape[1]}x{r.image.shape[0]} px"
            rows.append([r.title, r.source, None, None, None, round(r.seconds, 3)])
            records.append(result_record(r))
        panels.append(Panel(r.image, r.title, caption))
    if compare:
        panels.append(Panel(ground_truth, "Original", "PSNR / SSIM (Y)"))
    zooms = zoom_panels(panels, results)

    footer = METRIC_NOTE if compare else "x4 upscaling, no ground truth: no metrics."
    sheet = compose_comparison(panels, footer=footer)
    if zooms:
        sheet = stack_vertical([sheet, compose_comparison(zooms, height=240)])
    h, w = (ground_truth if compare else lr).shape[:2]
    record = provenance_record(TITLE, records, input_size=(w, h), metrics_note=METRIC_NOTE if compare else "",
                               what="compared to ground truth (downscaled x4 first)" if compare else "x4 upscale")  # fmt: skip
    out = presenter.export(sheet, "sr_", "superres_comparison.png", record, request=request,
                           slide=("superres", f"{TITLE}: {', '.join(r.title for r in results)}"))  # fmt: skip
    slider = (results[0].image, results[-1].image) if len(results) > 1 else None
    return (
        [(p.image, f"{p.title}: {p.caption}") for p in panels],
        slider,
        [(z.image, z.title) for z in zooms],
        pd.DataFrame(rows, columns=TABLE_COLUMNS),
        notices_markdown(notices),
        out,
    )


DEFAULT_EXAMPLE = EXAMPLES_DIR / "astronaut_256.png"


def default_outputs() -> tuple:
    """The tab's opening result: the default example, compared to its ground truth with the
    embedded models (then the comparison viewer's values)."""
    out = super_resolve(str(DEFAULT_EXAMPLE), MODE_COMPARE, next(iter(MODELS)))
    return (*out, *presenter.ComparisonView.values(out[0]))


def build_tab() -> None:
    gr.Markdown(
        "Upscale x4 with **bicubic** interpolation, **SRResNet** (trained with pixel MSE) and "
        "**SRGAN** (adversarial; the embedded one is the paper's SRGAN-MSE variant, as no VGG19 "
        "weights can be had offline), as in Ledig et al. 2017, Fig. 2. *Compare to ground truth* "
        "shrinks your image by 4 first (PIL bicubic), so each output can be scored against the "
        "original. The tab opens on an example, computed once when the server starts."
    )
    with gr.Row():
        with gr.Column(scale=1):
            image = image_input(value=str(DEFAULT_EXAMPLE) if DEFAULT_EXAMPLE.is_file() else None)
            mode = Radio([MODE_COMPARE, MODE_UPSCALE], value=MODE_COMPARE, label="Mode")
            models = Radio(list(MODELS), value=next(iter(MODELS)), label="Models",
                              info="Hub checkpoints need network access; without it the app "
                                   "says so and uses the embedded models.")  # fmt: skip
            run = gr.Button("Upscale", variant="primary")
            gr.Examples(sorted(str(p) for p in EXAMPLES_DIR.glob("*.png")), inputs=image,
                        label="Examples (held-out photos)")  # fmt: skip
        with gr.Column(scale=2):
            gallery = gr.Gallery(format="png", label="Results (PSNR dB / SSIM, Y channel)", columns=3,
                                 height=520, object_fit="contain", preview=False)  # fmt: skip
            notices = gr.Markdown()
            table = gr.Dataframe(headers=TABLE_COLUMNS, label="Metrics", interactive=False)
            gr.Markdown(f"<small>{METRIC_NOTE}</small>")
            download = gr.DownloadButton("Download comparison PNG (with its provenance)", value=None)
    slider = gr.ImageSlider(label="Slider: drag the handle (left pick ↔ right pick)", type="numpy", elem_classes="gg-slider",
                            max_height=520, render=False)  # fmt: skip
    view = presenter.ComparisonView("method", slider=slider)
    zoom = gr.Gallery(format="png", label=f"Zoom: the {ZOOM}x{ZOOM} px region where the last two models "
                            "differ most", columns=5, height=240, object_fit="contain")  # fmt: skip
    outputs = [gallery, slider, zoom, table, notices, download]
    event = run.click(user_errors(super_resolve), [image, mode, models], outputs, api_name="super_resolve",
                      concurrency_limit=2, concurrency_id="superres")  # fmt: skip
    view.wire(gallery, event)
    presenter.register_default("superres", default_outputs, outputs + view.outputs)

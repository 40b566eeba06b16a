"""Inpainting tab: paint a mask over a photo in the browser; OpenCV Telea and Navier-Stokes, the
gated-convolution GAN (several plausible fills, one per seed) and Deep Image Prior (with a
progress bar and a Stop button) fill it side by side."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pandas as pd

from data.input_guard import (
    MAX_SEED,
    InputError,
    guard_image,
    guard_layer,
    seed_number,
    some_of,
    upright,
    whole_number,
)
from data.input_guard import layer_mask as guarded_layer_mask
from data.masks import mask_area, mask_overlay
from demos import presenter
from demos.common import (
    CheckboxGroup,
    Number,
    Slider,
    error,
    info,
    notices_markdown,
    user_errors,
    warning,
)
from eval.comparison import Panel, compose_comparison
from eval.metrics import psnr
from models.deep_image_prior import DIP_ITERATIONS
from models.hub import ModelUnavailable, first_time
from models.inpainting import (
    DIP,
    GATED,
    HARMONIC,
    LEARNED_WORK_SIDE,
    NAVIER_STOKES,
    TELEA,
    WORK_SIDE,
    inpaint,
)
from models.result import PipelineResult, provenance_record, result_record

logger = logging.getLogger(__name__)

TITLE = "Inpainting"
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
MASKS_DIR = EXAMPLES_DIR / "inpainting_masks"
MAX_SIDE = 4096  # photos up to this stay at full resolution (methods work around the mask)
MIN_SIDE = 16
MAX_MASK_AREA = 0.99  # above this there is (almost) nothing left to fill from
EVALUATED_AREA = 0.5  # the benchmark's largest bucket
LAMA = "lama-big"  # catalog name of the Hub LaMa
METHODS = {
    "Telea (OpenCV)": TELEA,
    "Navier-Stokes (OpenCV)": NAVIER_STOKES,
    "Gated-conv GAN (trained here)": GATED,
    "LaMa (big-lama, Hub: when cached or reachable)": LAMA,
    "Harmonic fill (the GAN's starting point, no network)": HARMONIC,
    "Deep Image Prior (slow: fits a network to your photo)": DIP,
}
SEEDLESS = (TELEA, NAVIER_STOKES, HARMONIC, LAMA)  # deterministic: the seed does not apply
DEFAULT_METHODS = list(METHODS)[:3]
MAX_FILLS = 6
MAX_ITERATIONS = 3000  # Deep Image Prior, as the slider allows
MAX_LAYERS = 8
TABLE_COLUMNS = ["Method", "Seed", "Weights", "Worked at (px)", "Seconds", "PSNR vs your photo (dB)",
                 "L1 in the hole"]  # fmt: skip
METRIC_NOTE = ("PSNR: R, G and B over the whole image; L1: mean absolute difference inside the "
               "mask on the [0, 1] scale; both against the photo as you gave it, i.e. against what "
               "was under the mask. When you remove an object, a good fill *should* differ from it.")  # fmt: skip

_stop_events: dict[str, set[threading.Event]] = {}  # session -> its running DIP jobs
_stop_guard = threading.Lock()
# Deep Image Prior fits a network for minutes and uses both cores: one run at a time, refused
# (not queued) when busy, so it never holds an inpainting slot waiting for itself.
DIP_SLOTS = threading.BoundedSemaphore(1)
# While Deep Image Prior runs, the stream yields "no change" this often, so that a cancelled
# event's generator is closed (gradio closes it at a yield) within a second.
IDLE_YIELD_S = 0.3
NO_CHANGE = (gr.skip(), gr.skip(), gr.skip(), gr.skip())


class MaskEditor(gr.ImageEditor):
    """gr.ImageEditor (the ImageMask preset: one fixed brush colour, no extra layers) that hands
    the handler the uploaded files untouched (paths, or bytes for canvas blobs): the input guard
    decodes the photo, so a corrupt or huge file gets its clear message instead of a
    preprocessing error, and the mask is read from the drawn layers' alpha."""

    is_template = True  # rendered by the frontend as a plain ImageEditor

    def convert_and_format_image(self, file, flatten_on_white: bool = False):  # type: ignore[override]
        if file is None:
            return None
        if isinstance(file, (bytes, bytearray, memoryview)):
            return bytes(file)
        return str(file.path)


def mask_editor(value: dict | None = None) -> MaskEditor:
    return MaskEditor(value, label="Photo: paint over what to fill (brush), then press Inpaint",
                      type="numpy", image_mode="RGBA", sources=["upload", "clipboard"],
                      brush=gr.Brush(colors=["#ff00aa"], color_mode="fixed"),
                      layers=False, transforms=(), height=480)  # fmt: skip


# --- reading the editor's value -------------------------------------------------------------


def layer_mask(layer) -> np.ndarray:
    """The pixels a drawn layer (path, bytes, PIL image or array) marks, bool (H, W), upright by
    its own EXIF orientation (the input guard's decoder and mask rule)."""
    return _layer(layer)[0]


def _layer(layer) -> tuple[np.ndarray, int]:
    rgba, orientation = guard_layer(layer)
    return guarded_layer_mask(rgba), orientation


def _resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest when enlarging; when shrinking, a pixel is masked if any pixel under it was."""
    if mask.shape == (height, width):
        return mask
    interp = cv2.INTER_AREA if height < mask.shape[0] else cv2.INTER_NEAREST
    return cv2.resize(mask.astype(np.float32), (width, height), interpolation=interp) > 0


def read_editor(value, max_side: int = MAX_SIDE) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The editor's {"background", "layers", "composite"} -> (photo RGB uint8 (H, W, 3), mask
    bool (H, W), notices). Raises InputError with a message for a person."""
    if value is None or (isinstance(value, dict) and value.get("background") is None):
        raise InputError("No photo given: upload one or pick an example, then paint over what to fill.")
    if not isinstance(value, dict):
        raise InputError("Expected the editor's value: {'background': photo, 'layers': [mask], "
                         "'composite': ...}.")  # fmt: skip
    guarded = guard_image(value["background"], max_side=max_side, min_side=MIN_SIDE, what="photo")
    image, notices = guarded.array, [info(n) for n in guarded.notices]
    if (image == image[0, 0]).all():  # the editor sends its blank canvas when nothing was uploaded
        raise InputError("The photo is blank (one colour everywhere): upload a photo or pick an "
                         "example first, then paint over what to fill.")  # fmt: skip
    h, w = image.shape[:2]
    layers = [layer for layer in (value.get("layers") or []) if layer is not None]
    if len(layers) > MAX_LAYERS:
        raise InputError(f"Too many mask layers ({len(layers)}); the editor sends one, at most {MAX_LAYERS}.")
    stored, (uw, uh) = guarded.original_size, guarded.upright_size
    mask = np.zeros((h, w), dtype=bool)
    for layer in layers:
        m, own_orientation = _layer(layer)
        lh, lw = m.shape
        if own_orientation == 1 and guarded.orientation != 1 and (lw, lh) == stored != (uw, uh):
            # drawn on the file's stored pixels (e.g. by a script): turn it as the photo was turned
            m = upright(m.astype(np.uint8), guarded.orientation) > 0
            notices.append(info("The mask was in the photo file's stored orientation: it was turned "
                           "upright with the photo (EXIF orientation)."))  # fmt: skip
            lh, lw = m.shape
        if m.shape != (h, w):
            if abs(lw / lh - w / h) > 0.02 * (w / h):
                turned = " (upright, after its EXIF orientation)" if guarded.orientation != 1 else ""
                raise InputError(f"The mask is {lw}x{lh} px but the photo is {uw}x{uh} px{turned}, a "
                                 "different shape: draw the mask on this photo in the editor (or send a "
                                 "mask of the photo's size).")  # fmt: skip
            if (lw, lh) != (uw, uh):
                notices.append(info(f"The mask ({lw}x{lh} px) was scaled to the photo ({w}x{h} px)."))
            m = _resize_mask(m, h, w)
        mask |= m
    area = mask_area(mask)
    if not mask.any():
        raise InputError("The mask is empty: paint over the part of the photo to fill (brush "
                         "tool), then press Inpaint.")  # fmt: skip
    if area >= MAX_MASK_AREA:
        raise InputError(f"The mask covers {area:.1%} of the photo: nothing is left to fill it "
                         "from. Leave at least some of the photo unpainted.")  # fmt: skip
    if area > EVALUATED_AREA:
        notices.append(warning(f"The mask covers {area:.0%} of the photo; the methods were evaluated up to "
                       f"{EVALUATED_AREA:.0%} (Evaluation tab). Expect smears."))  # fmt: skip
    return image, mask, notices


# --- the action ------------------------------------------------------------------------------


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "no-session"


def _stop_event(request: gr.Request | None) -> threading.Event:
    event = threading.Event()
    with _stop_guard:
        _stop_events.setdefault(_session(request), set()).add(event)
    return event


def _forget(request: gr.Request | None, event: threading.Event) -> None:
    with _stop_guard:
        events = _stop_events.get(_session(request), set())
        events.discard(event)
        if not events:
            _stop_events.pop(_session(request), None)


def stop_deep_image_prior(request: gr.Request | None = None) -> None:
    """Stop (and Cancel): every Deep Image Prior of this session ends at its next iteration."""
    with _stop_guard:
        for event in _stop_events.get(_session(request), ()):
            event.set()


def _row(r: PipelineResult, image: np.ndarray, mask: np.ndarray) -> list:
    diff = np.abs(image.astype(np.float64) - r.image.astype(np.float64))[mask]
    return [r.title, None if r.method in SEEDLESS else r.seed, r.source,
            "{}x{}".format(*r.details["work_size"]), round(r.seconds, 3),
            round(psnr(image, r.image, y_channel=False), 2), round(float(diff.mean()) / 255, 4)]  # fmt: skip


def _caption(r: PipelineResult) -> str:
    extra = "" if r.method in SEEDLESS else f", seed {r.seed}"
    if r.details["iterations"] is not None:
        extra += f", {r.details['iterations']} it."
    return f"{r.seconds:.2f} s{extra}"


def _outputs(panels: list[Panel], rows: list[list], notices: list[str], png: str | None):
    return ([(p.image, f"{p.title}: {p.caption}") for p in panels],
            pd.DataFrame(rows, columns=TABLE_COLUMNS), notices_markdown(notices), png)  # fmt: skip


def inpaint_photo(editor, methods: list[str], fills: int = 2, seed: float = 0,
                  iterations: int = DIP_ITERATIONS, request: gr.Request | None = None,
                  progress=gr.Progress()) -> Iterator[tuple]:  # fmt: skip
    """The tab's action, a generator: yields (gallery, table, notices, PNG path), first after the
    fast methods, then while Deep Image Prior runs, last with the labelled comparison PNG."""
    methods = some_of(methods, METHODS, "method")
    fills = whole_number(fills, 1, MAX_FILLS, "Plausible fills")
    seed = seed_number(seed)
    if seed + fills - 1 > MAX_SEED:
        raise InputError(f"The GAN fills use seeds {seed}..{seed + fills - 1}, past {MAX_SEED}: "
                         "choose a smaller seed.")  # fmt: skip
    iterations = whole_number(iterations, 1, MAX_ITERATIONS, "Deep Image Prior iterations")
    image, mask, notices = read_editor(editor)
    area = mask_area(mask)
    h, w = mask.shape
    panels = [Panel(mask_overlay(image, mask), "Your photo + mask", f"mask {area:.1%} of {w}x{h} px")]
    chosen = [METHODS[m] for m in methods]
    fast = [(m, seed) for m in chosen if m in (TELEA, NAVIER_STOKES)]
    fast += [(GATED, seed + k) for k in range(fills)] if GATED in chosen else []
    fast += [(HARMONIC, seed)] if HARMONIC in chosen else []
    fast += [(LAMA, seed)] if LAMA in chosen else []  # Hub: the same mask, beside the gated-conv GAN
    if DIP in chosen and not DIP_SLOTS.acquire(blocking=False):
        raise InputError("Deep Image Prior is already running for someone else (one run at a time "
                         "on this 2-core machine): try again in a minute, or untick it to run the "
                         "other methods now.")  # fmt: skip
    try:
        yield from _fill(image, mask, notices, panels, chosen, fast, fills, seed, iterations,
                         request, progress)  # fmt: skip
    finally:
        if DIP in chosen:
            DIP_SLOTS.release()


def _fill(image, mask, notices, panels, chosen, fast, fills, seed, iterations, request, progress):
    area = mask_area(mask)
    h, w = mask.shape
    rows: list[list] = []
    results: list[PipelineResult] = []
    unavailable: set[str] = set()
    session = getattr(request, "session_hash", None)
    for i, (method, s) in enumerate(fast):
        if method in unavailable:
            continue
        progress(i / (len(fast) + (DIP in chosen)), desc=f"{method} (seed {s})")
        try:
            r = inpaint(method, image, mask, seed=s)
        except ModelUnavailable as exc:
            if text := first_time(session, method, str(exc)):  # once per session per model
                notices.append(error(text))
            unavailable.add(method)
            continue
        if r.notice and r.notice not in notices and first_time(session, method, r.notice):
            notices.append(warning(r.notice))
        title = r.title if method != GATED or fills == 1 else f"{r.title} #{s - seed + 1}"
        panels.append(Panel(r.image, title, _caption(r)))
        rows.append(_row(r, image, mask))
        results.append(r)
    if DIP in chosen:
        yield _outputs(panels, rows, notices, None)
        result = yield from _run_deep_image_prior(image, mask, seed, iterations, request, progress,
                                                  lambda p: _outputs(panels + [p], rows, notices, None))  # fmt: skip
        if result is not None:
            if result.details["iterations"] is not None and result.details["iterations"] < iterations:
                notices.append(info(f"Deep Image Prior was stopped after {result.details['iterations']} of "
                               f"{iterations} iterations."))  # fmt: skip
            panels.append(Panel(result.image, result.title, _caption(result)))
            rows.append(_row(result, image, mask))
            results.append(result)
    footer = (f"Mask {area:.1%} of {w}x{h} px. Fills computed around the mask at up to "
              f"{LEARNED_WORK_SIDE} px (GAN), {WORK_SIDE[DIP]} px (Deep Image Prior), "
              f"{WORK_SIDE[TELEA]} px (the others); only masked pixels are replaced.")  # fmt: skip
    records = [result_record(r, {"PSNR vs photo dB": row[5], "L1 in hole": row[6]}, title=p.title)
               for r, row, p in zip(results, rows, panels[1:], strict=True)]  # fmt: skip
    record = provenance_record(TITLE, records, input_size=(w, h), seed=seed, what=f"mask {area:.1%} of the photo",
                               metrics_note=METRIC_NOTE.split(";")[0])  # fmt: skip
    out = presenter.export(compose_comparison(panels, footer=footer), "inpaint_", "inpainting_comparison.png",
                           record, request=request, slide=("inpainting", f"{TITLE}: mask {area:.0%}"))  # fmt: skip
    yield _outputs(panels, rows, notices, out)


def _run_deep_image_prior(image, mask, seed, iterations, request, progress,
                          preview_outputs: Callable[[Panel], tuple]):  # fmt: skip
    """Run Deep Image Prior in a worker thread; yield previews about every 10%; the Stop button
    (or the event being cancelled, which closes this generator) stops it at the next
    iteration. Returns the final PipelineResult (or None if it failed)."""
    stop = _stop_event(request)
    updates: queue.Queue = queue.Queue()
    every = max(1, iterations // 10)
    outcome: dict = {}

    def callback(i: int, total: int, loss: float, preview: Callable[[], np.ndarray]) -> bool:
        updates.put((i, total, loss, preview() if i % every == 0 and i < total else None))
        return not stop.is_set()

    def work() -> None:
        try:
            outcome["result"] = inpaint(DIP, image, mask, seed=seed, iterations=iterations,
                                        callback=callback)  # fmt: skip
        except Exception as exc:  # reported in the UI; the server carries on
            logger.exception("Deep Image Prior failed")
            outcome["error"] = exc
        finally:
            updates.put(None)

    thread = threading.Thread(target=work, name="deep-image-prior", daemon=True)
    thread.start()
    shown = yielded = time.monotonic()
    try:
        while True:
            if time.monotonic() - yielded > IDLE_YIELD_S:
                yielded = time.monotonic()
                yield NO_CHANGE  # a point where a cancelled stream can be closed
            try:
                item = updates.get(timeout=IDLE_YIELD_S)
            except queue.Empty:
                continue
            if item is None:
                break
            i, total, loss, preview = item
            if preview is not None or time.monotonic() - shown > 0.5:  # each update is a message
                progress(i / total, desc=f"Deep Image Prior: iteration {i}/{total}, known-pixel MSE {loss:.4f}")
                shown = time.monotonic()
            if preview is not None:
                yielded = time.monotonic()
                yield preview_outputs(Panel(preview, "Deep Image Prior", f"running: {i}/{total} it."))
    finally:
        stop.set()  # reached on completion, on an error, and when the event is cancelled
        thread.join(timeout=30)
        _forget(request, stop)
    if "error" in outcome:
        raise gr.Error(f"Deep Image Prior failed: {outcome['error']}")
    return outcome.get("result")


# --- the tab ---------------------------------------------------------------------------------


def example_photos() -> list[str]:
    """Example photos (demos/examples); those with a painted mask in inpainting_masks/ first."""
    painted = [EXAMPLES_DIR / m.name.replace("_mask.png", ".png") for m in sorted(MASKS_DIR.glob("*_mask.png"))]
    photos = [p for p in painted if p.is_file()]
    blank = EXAMPLES_DIR / "coffee_256.png"
    return [str(p) for p in photos + ([blank] if blank.is_file() else [])]


def load_example(photo: str | None) -> dict | None:
    """The editor value for an example photo: its painted mask as the layer, if it has one.

    (The examples set the editor through this event rather than gr.Examples' own input: with
    gradio 6.31, an ImageEditor loaded by gr.Examples sends the previously loaded example to the
    next event until the canvas is edited.)"""
    if not photo:
        return None
    mask = MASKS_DIR / (Path(photo).stem + "_mask.png")
    return {"background": photo, "layers": [str(mask)] if mask.is_file() else [], "composite": None}


def default_outputs() -> tuple:
    """The tab's opening result: the first example photo with its painted mask, the default methods."""
    editor = load_example(example_photos()[0])
    out = presenter.consume(inpaint_photo(editor, DEFAULT_METHODS, 2, 0, 300, progress=lambda *a, **k: None))
    return (*out, *presenter.ComparisonView.values(out[0]))


def build_tab() -> None:
    gr.Markdown(
        "Paint over part of a photo and compare how it is filled: **Telea** and **Navier-Stokes** "
        "(OpenCV, diffusion from the hole's border), a **gated-convolution GAN** (DeepFillv2 "
        "layout, small, trained here on real photos, refining a **harmonic fill** of the hole; each "
        "seed gives another plausible fill) and **Deep Image Prior** (no training data: a network fitted to your photo's known pixels "
        "only; slow, with a Stop button). Large photos are filled around the mask at the methods' "
        "working resolution and only the masked pixels are pasted back at full resolution."
    )
    with gr.Row():
        with gr.Column(scale=1):
            editor = mask_editor(load_example(example_photos()[0]) if example_photos() else None)
            methods = CheckboxGroup(list(METHODS), value=DEFAULT_METHODS, label="Methods")
            with gr.Row():
                fills = Slider(1, MAX_FILLS, value=2, step=1, label="Plausible fills (GAN)",
                                  info="one per seed: seed, seed+1, ...")  # fmt: skip
                seed = Number(0, precision=0, label="Seed", minimum=0)
            iterations = Slider(50, 3000, value=DIP_ITERATIONS, step=50, label="Deep Image Prior iterations",
                                   info=f"~5-8 s per 100 at {WORK_SIDE[DIP]} px on a 2-core CPU")  # fmt: skip
            with gr.Row():
                run = gr.Button("Inpaint", variant="primary")
                stop = gr.Button("Stop Deep Image Prior", variant="stop")
                cancel = gr.Button("Cancel", variant="secondary")
            example = gr.Image(format="png", type="filepath", visible=False, label="Example photo")
            gr.Examples([[p] for p in example_photos()], inputs=example, outputs=editor,
                        fn=load_example, run_on_click=True, cache_examples=False,
                        label="Examples (held-out photos; most with a mask painted)")  # fmt: skip
        with gr.Column(scale=2):
            gallery = gr.Gallery(format="png", label="Results", columns=3, height=560, object_fit="contain",
                                 preview=False)  # fmt: skip
            notices = gr.Markdown()
            table = gr.Dataframe(headers=TABLE_COLUMNS, label="Timing and distance to your photo",
                                 interactive=False)  # fmt: skip
            gr.Markdown(f"<small>{METRIC_NOTE}</small>")
            download = gr.DownloadButton("Download comparison PNG (with its provenance)", value=None)
    view = presenter.ComparisonView("panel")
    outputs = [gallery, table, notices, download]
    event = run.click(user_errors(inpaint_photo), [editor, methods, fills, seed, iterations], outputs,
                      api_name="inpaint", concurrency_limit=2, concurrency_id="inpainting")  # fmt: skip
    view.wire(gallery, event)
    if example_photos():
        presenter.register_default("inpainting", default_outputs, outputs + view.outputs)
    # Stop: Deep Image Prior ends at its next iteration and its fill so far is shown, with the PNG.
    # Cancel: the whole request is dropped (the worker thread is stopped the same way).
    stop.click(stop_deep_image_prior, None, None, api_name=False, queue=False)
    cancel.click(stop_deep_image_prior, None, None, cancels=[event], api_name=False, queue=False)

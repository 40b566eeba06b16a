"""Day <-> night tab: pix2pix (trained on pairs) and CycleGAN (trained unpaired) side by side, the
CycleGAN cycle X -> Y -> X, and the ground truth when the input is one of the generated scenes.

A generated scene is recognised by the scene record the app writes into its PNG (a text chunk)
*and* by re-rendering that record and finding exactly the uploaded pixels, so a photo with a
copied tag is still treated as a photo. Anything else (a real photo) runs through the same models
with no ground truth and a notice saying what that means.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image, PngImagePlugin

from data.day_night import (
    EVAL_SCENES,
    EVAL_SEED,
    WEATHERS,
    is_probably_night,
    mean_luminance,
    render_scene,
    scene_params,
)
from data.input_guard import InputError, boolean, guard_image, short, whole_number
from demos import presenter
from demos.common import (
    Checkbox,
    Number,
    Radio,
    error,
    image_input,
    info,
    notices_markdown,
    output_path,
    user_errors,
    warning,
)
from eval.comparison import Panel, compose_comparison
from eval.metrics import psnr, ssim
from models.hub import ModelUnavailable, first_time
from models.result import PipelineResult, provenance_record, result_record
from models.translation import (
    CYCLEGAN,
    DAY2NIGHT,
    DIRECTION_TITLES,
    DIRECTIONS,
    HUB_CYCLEGAN,
    HUB_PIX2PIX,
    INVERSE,
    NIGHT2DAY,
    PIX2PIX,
    SHORT_NAMES,
    square,
    translate,
)

logger = logging.getLogger(__name__)

TITLE = "Day ↔ night"
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples" / "translation"
SCENE_KEY = "gan-gallery-scene"  # PNG text chunk: {"seed", "index", "time", "size"}
SCENE_SIZE = 128  # the generated scenes the tab offers (the models' training size)
MAX_SIDE = 2048
MIN_SIDE = 32
INPUT_AUTO, INPUT_DAY, INPUT_NIGHT = "Auto", "Day", "Night"
TABLE_COLUMNS = ["Method", "Weights", "Direction", "PSNR vs ground truth (dB)", "SSIM vs ground truth",
                 "Seconds"]  # fmt: skip
METRIC_NOTE = ("PSNR (dB) / SSIM over R, G and B against the other render of the same scene (the benchmark's "
               "convention); the CycleGAN cycle is scored against the input.")  # fmt: skip
PHOTO_NOTICE = ("This is not one of the generated scenes (a real photo?): there is no ground truth, and both "
                "models were trained only on procedural scenes. What they do to it is shown as it is; such "
                "cases belong in the failure gallery of the Evaluation tab.")  # fmt: skip


# ---------------------------------------------------------------- generated scenes


def scene_png(index: int, night: bool, size: int = SCENE_SIZE, seed: int = EVAL_SEED) -> Image.Image:
    """A held-out scene's render as a PIL image carrying its record (saved with pnginfo())."""
    img = Image.fromarray(render_scene(scene_params(seed, index), night, size))
    img.info[SCENE_KEY] = json.dumps({"seed": seed, "index": index, "time": "night" if night else "day",
                                      "size": size})  # fmt: skip
    return img


def pnginfo(img: Image.Image) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(SCENE_KEY, img.info[SCENE_KEY])
    return info


def identify_scene(source, pixels: np.ndarray) -> dict | None:
    """The scene record of a generated-scene PNG whose pixels are exactly its render, else None.
    Returns {"seed", "index", "time", "size", "params", "truth"} (truth: the other render)."""
    if isinstance(source, np.ndarray) or source is None:
        return None
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            tag = im.info.get(SCENE_KEY) or getattr(im, "text", {}).get(SCENE_KEY)
        record = json.loads(tag) if tag else None
        seed, index, size = int(record["seed"]), int(record["index"]), int(record["size"])
        night = {"day": False, "night": True}[record["time"]]
    except Exception:  # no tag, unreadable tag, not a PNG: not a generated scene
        return None
    if not (0 <= index < 100_000 and 16 <= size <= 512) or pixels.shape != (size, size, 3):
        return None
    params = scene_params(seed, index)
    if not np.array_equal(render_scene(params, night, size), pixels):
        return None
    return {"seed": seed, "index": index, "time": record["time"], "size": size, "params": params,
            "truth": render_scene(params, not night, size)}  # fmt: skip


def render_held_out(index, time_of_day: str) -> str:
    """A PNG path of held-out scene `index` by day or by night, for the input image."""
    i = whole_number(index, 0, EVAL_SCENES - 1, "Scene number")
    if time_of_day not in ("day", "night"):
        raise InputError(f"Choose day or night, not {short(time_of_day)}.")
    img = scene_png(i, time_of_day == "night")
    path = output_path("scene_", f"heldout_{i:03d}_{time_of_day}.png")
    img.save(path, pnginfo=pnginfo(img))
    return path


def example_scenes(count_per_weather: int = 1) -> list[int]:
    """Held-out scene indices for the examples: the first of each weather (seeded, not hand-picked)."""
    chosen: dict[str, list[int]] = {w: [] for w in WEATHERS}
    i = 0
    while any(len(v) < count_per_weather for v in chosen.values()):
        w = scene_params(EVAL_SEED, i).weather
        if len(chosen[w]) < count_per_weather:
            chosen[w].append(i)
        i += 1
    return sorted(i for v in chosen.values() for i in v)


def write_examples(directory: Path = EXAMPLES_DIR) -> list[Path]:
    """Write both renders of the example scenes (each is the other's ground truth)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in example_scenes():
        for night in (False, True):
            img = scene_png(i, night)
            path = directory / f"heldout_{i:03d}_{'night' if night else 'day'}.png"
            img.save(path, pnginfo=pnginfo(img))
            paths.append(path)
    return paths


# ---------------------------------------------------------------- the tab's action


def _run(method: str, image: np.ndarray, direction: str, notices: list[str],
         session: str | None = None) -> PipelineResult | None:  # fmt: skip
    """A model's notice (fallback, unavailable) is shown once per session (hub.first_time)."""
    try:
        r = translate(method, image, direction)
    except ModelUnavailable as exc:
        if text := first_time(session, method, str(exc)):
            notices.append(error(text))
        return None
    if text := first_time(session, method, r.notice):
        notices.append(warning(text))
    return r


def _scores(image: np.ndarray, truth: np.ndarray | None) -> tuple[float | None, float | None]:
    if truth is None:
        return None, None
    if image.shape != truth.shape:  # a Hub model's 256 px output, scored at the scene's size
        image = square(image, truth.shape[0])
    return psnr(truth, image, y_channel=False), ssim(truth, image, y_channel=False)


def translate_image(image, input_is: str = INPUT_AUTO, with_hub: bool = False, request: gr.Request | None = None):
    """(gallery, metrics table, notices markdown, comparison PNG path)."""
    if input_is not in (INPUT_AUTO, INPUT_DAY, INPUT_NIGHT):
        raise InputError(f"Unknown choice {short(input_is)} for 'The input is'.")
    with_hub = boolean(with_hub, "'Also run the community Hub checkpoints'")
    guarded = guard_image(image, max_side=MAX_SIDE, min_side=MIN_SIDE)
    notices = [info(n) for n in guarded.notices]
    session = getattr(request, "session_hash", None)
    pixels = guarded.array
    scene = identify_scene(image, pixels)
    truth = None
    if scene is not None:
        night = scene["time"] == "night" if input_is == INPUT_AUTO else input_is == INPUT_NIGHT
        p = scene["params"]
        if night == (scene["time"] == "night"):
            truth = scene["truth"]
            notices.append(info(f"Held-out scene #{scene['index']} ({p.season}, {p.weather}), rendered by "
                           f"{scene['time']}: its ground truth is the other render of the same scene."))  # fmt: skip
        else:
            notices.append(warning(f"This is a {scene['time']} render treated as {'night' if night else 'day'}, as "
                           "asked: no ground truth for that direction."))  # fmt: skip
    else:
        notices.append(warning(PHOTO_NOTICE))
        if input_is == INPUT_AUTO:
            night = is_probably_night(pixels)
            notices.append(info(f"Guessed {'night' if night else 'day'} from the mean brightness "
                           f"({mean_luminance(pixels):.0f} of 255); set 'The input is' if that is wrong."))  # fmt: skip
        else:
            night = input_is == INPUT_NIGHT
    direction = NIGHT2DAY if night else DAY2NIGHT
    h, w = pixels.shape[:2]
    if (h, w) != (SCENE_SIZE, SCENE_SIZE):
        notices.append(info(f"Centre-cropped to a square and resized from {w}x{h} to {SCENE_SIZE}x{SCENE_SIZE} px, "
                       "the size the models were trained at (the Hub models work at 256 px)."))  # fmt: skip
    x = square(pixels, SCENE_SIZE)

    panels = [Panel(x, f"Input ({'night' if night else 'day'})", f"{SCENE_SIZE}x{SCENE_SIZE} px")]
    rows, records = [], []

    def add(r: PipelineResult, panel_title: str, reference: np.ndarray | None, vs: str = "") -> None:
        p, s = _scores(r.image, reference)
        caption = f"{p:.2f} dB / {s:.3f}{vs}" if p is not None else f"{r.seconds:.2f} s"
        panels.append(Panel(r.image, panel_title, caption))
        records.append(result_record(r, {"PSNR dB" + vs: p, "SSIM" + vs: s}, title=panel_title))
        rows.append([f"{r.title}{' (cycle back)' if vs else ''}", r.source, DIRECTION_TITLES[r.details["direction"]],
                     None if p is None else round(p, 2), None if s is None else round(s, 4),
                     round(r.seconds, 3)])  # fmt: skip

    done = 0
    for method in (PIX2PIX, CYCLEGAN):
        r = _run(method, x, direction, notices)
        if r is None:
            continue
        done += 1
        add(r, f"{SHORT_NAMES[method]}: {DIRECTIONS[direction]}", truth)
        if method == CYCLEGAN:
            back = _run(method, r.image, INVERSE[direction], notices)
            if back is not None:
                add(back, f"CycleGAN: back to {'night' if night else 'day'}", x, " vs input")
    if done == 0:
        raise ModelUnavailable("Neither translator could be loaded: " + " ".join(notices[-2:]))
    if with_hub:
        if direction == NIGHT2DAY:
            r = _run(HUB_PIX2PIX, x, NIGHT2DAY, notices, session)
            if r is not None:
                add(r, f"{SHORT_NAMES[HUB_PIX2PIX]} (Hub): night → day", truth)
        else:
            notices.append(info("The Hub pix2pix (huggan/pix2pix-night2day) maps night → day only: not run on a "
                                "day input."))
        r = _run(HUB_CYCLEGAN, x, "a2b", notices, session)
        if r is not None:
            add(r, f"{SHORT_NAMES[HUB_CYCLEGAN]} (Hub): horse → zebra", None)
    if truth is not None:
        panels.append(Panel(truth, "Ground truth", "PSNR dB / SSIM (RGB)"))

    footer = METRIC_NOTE if truth is not None else "No ground truth for this input: no scores but the cycle's."
    sheet = compose_comparison(panels, height=256, footer=footer)
    what = (f"held-out scene #{scene['index']} ({scene['time']})" if scene is not None else "a photo (no ground truth)")
    record = provenance_record(TITLE, records, input_size=(w, h), what=what,
                               metrics_note=METRIC_NOTE if truth is not None else "")  # fmt: skip
    out = presenter.export(sheet, "translation_", "day_night_comparison.png", record, request=request,
                           slide=("translation", f"{TITLE}: {DIRECTIONS[direction]}"))  # fmt: skip
    return ([(p.image, f"{p.title}: {p.caption}") for p in panels], pd.DataFrame(rows, columns=TABLE_COLUMNS),
            notices_markdown(notices), out)  # fmt: skip


def default_scene() -> Path | None:
    examples = sorted(EXAMPLES_DIR.glob("*_day.png"))
    return examples[0] if examples else None


def default_outputs() -> tuple:
    """The tab's opening result: the first held-out example scene by day, translated by both models."""
    out = translate_image(str(default_scene()))
    return (*out, *presenter.ComparisonView.values(out[0]))


def build_tab() -> None:
    gr.Markdown(
        "**pix2pix** (Isola et al. 2017; trained here on *paired* day/night renders) and **CycleGAN** "
        "(Zhu et al. 2017; trained here on *unpaired* ones: no scene seen both ways) turn day into night "
        "and back. The scenes are procedural, so each day render has its exact night render: on them, "
        "every output is scored against the ground truth, which real photos never have. The CycleGAN "
        "cycle (X → Y → X) shows what its cycle loss keeps. Real photos are accepted: the models "
        "never saw one, and the result is shown as it is."
    )
    with gr.Row():
        with gr.Column(scale=1):
            first = default_scene()
            image = image_input(value=str(first) if first is not None else None)
            input_is = Radio([INPUT_AUTO, INPUT_DAY, INPUT_NIGHT], value=INPUT_AUTO, label="The input is",
                                info="Auto: generated scenes know their time of day; for a photo it is "
                                     "guessed from its brightness.")  # fmt: skip
            with_hub = Checkbox(False, label="Also run the community Hub checkpoints",
                                   info="huggan/pix2pix-night2day (real photos, night → day) and "
                                        "tmabraham/horse2zebra_cyclegan (another task): 330 MB, need network "
                                        "on first use.")  # fmt: skip
            run = gr.Button("Translate", variant="primary")
            examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*.png"))
            if examples:
                gr.Examples(examples, inputs=image, label="Held-out scenes (never trained on; ground truth known)")
            with gr.Row():
                scene_no = Number(value=0, precision=0, minimum=0, maximum=EVAL_SCENES - 1,
                                     label="Held-out scene #")  # fmt: skip
                scene_time = Radio(["day", "night"], value="day", label="Render by")
            render = gr.Button("Render this held-out scene", size="sm")
        with gr.Column(scale=2):
            gallery = gr.Gallery(format="png", label="Results (PSNR dB / SSIM vs ground truth, RGB)", columns=3, height=520,
                                 object_fit="contain", preview=False)  # fmt: skip
            notices = gr.Markdown()
            table = gr.Dataframe(headers=TABLE_COLUMNS, label="Metrics", interactive=False)
            gr.Markdown(f"<small>{METRIC_NOTE}</small>")
            download = gr.DownloadButton("Download comparison PNG (with its provenance)", value=None)
    view = presenter.ComparisonView("panel")
    heavy = {"concurrency_limit": 2, "concurrency_id": "translation"}
    outputs = [gallery, table, notices, download]
    event = run.click(user_errors(translate_image), [image, input_is, with_hub], outputs,
                      api_name="translate", **heavy)  # fmt: skip
    view.wire(gallery, event)
    render.click(user_errors(render_held_out), [scene_no, scene_time], [image], api_name="translation_scene", **heavy)
    if default_scene() is not None:
        presenter.register_default("translation", default_outputs, outputs + view.outputs)


if __name__ == "__main__":  # python -m demos.translation: (re)write the example scenes
    for path in write_examples():
        print(path)

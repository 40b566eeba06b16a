"""Text to image tab: GAN-INT-CLS (Reed et al. 2016) on captioned procedural scenes. Seeded samples
for any caption (up to 300 characters), each with its CLIP score (OpenAI CLIP where it can be
loaded, else the LiT scene CLIP trained here, named either way) and what a parameter-free detector
reads in it, and a note when the caption is far from every training caption; GAN-INT interpolation
between two captions; style transfer through the style encoder S(x)."""

from __future__ import annotations

import logging
import re
from collections import Counter

import gradio as gr
import numpy as np
import torch
from PIL import Image

from data.captions import COLOUR_WORDS, SHAPE_WORDS
from data.input_guard import InputError, guard_image, seed_number, short, whole_number
from data.text_scenes import HELD_OUT, PLURALS
from demos import presenter
from demos.common import (
    Number,
    Radio,
    Slider,
    enlarge_nearest,
    gallery_files,
    image_input,
    info,
    notices_markdown,
    user_errors,
)
from eval.comparison import Panel, compose_comparison, stack_vertical
from eval.metrics import psnr_rgb
from models import hub, text2image
from models.dcgan import MAX_SEED
from models.gan_int_cls import seeded_z
from models.result import provenance_record, result_record
from models.scene_clip import MAX_CAPTION_CHARS, CaptionError, SceneCLIP, check_caption
from models.scene_detector import Detection, detect

logger = logging.getLogger(__name__)

TITLE = "Text to image"
GAN_NAME = "gan-int-cls-scenes"
SIZE = 64  # the generator's output size
SHOW = 192  # display size of one sample (nearest neighbour, so pixels stay honest)
MAX_SAMPLES = 16
MIN_STEPS, MAX_STEPS = 2, 12
MAX_NEW_CAPTIONS = 4
CLIP_NOTE = ("CLIP score = 100 · max(cos(image, caption), 0) with OpenAI CLIP ViT-B/32 where it can be "
             "loaded, else with the LiT scene CLIP trained here (a frozen pretrained sentence encoder, a "
             "projection and an image tower trained on the scenes); every result names the one that ran. "
             "'detected' is what a parameter-free colour/shape detector reads in the 64x64 image.")  # fmt: skip
NEAR_TRAINING = 0.55  # sentence cosine to the nearest training caption below which a caption is called far
SOURCE_GRID, SOURCE_UPLOAD = "A sample from the grid above", "An uploaded image"
TABLE_COLUMNS = ["#", "Seed", "CLIP score", "Detected"]
EXAMPLES = [  # (caption, label); the last is a colour-shape combination held out of training
    ("two red balls and a blue cube", None),
    ("a large green cube near the camera", None),
    ("three yellow cones", None),
    ("a small purple ball far away", None),
    ("four orange blocks", None),
    ("one object: a green sphere", None),
    ("a pair of crimson orbs in the distance", "a pair of crimson orbs in the distance (held-out words)"),
    ("a red cone", "a red cone (held out: never seen in training)"),
]
_COLOUR_OF = {w: colour for colour, (train, held) in COLOUR_WORDS.items() for w in train + held}
_SHAPE_OF = {w: shape for shape, (train, held) in SHAPE_WORDS.items() for pair in train + held for w in pair
             if " " not in w}  # fmt: skip


def _grid_seeds(seed, count) -> tuple[int, int]:
    """(base seed, number of samples); sample k (1-based) uses seed base + k - 1."""
    base, n = seed_number(seed), whole_number(count, 1, MAX_SAMPLES, "Number of samples")
    if base + n - 1 > MAX_SEED:
        raise InputError(f"Seeds {base}..{base + n - 1} go past {MAX_SEED}: choose a smaller seed.")
    return base, n


def _models() -> tuple[hub.LoadedModel, SceneCLIP]:
    """The generator and the text encoder it was trained on (models/text2image.py decides)."""
    return text2image.load_models(GAN_NAME)


def clip_label(name: str) -> str:
    return f"CLIP score ({name})"


def _caption(clip: SceneCLIP, text, what: str = "Caption") -> str:
    try:
        return check_caption(text)
    except CaptionError as exc:
        raise InputError(f"{what}: {exc}" if what != "Caption" else str(exc)) from None


def _big(image: np.ndarray, size: int = SHOW) -> np.ndarray:
    return enlarge_nearest(image, size)


def _save(image: Image.Image, name: str, r, what: str, seed: int | None, request=None,
          slide: tuple[str, str] | None = None, metrics: dict | None = None) -> str:
    """Export with provenance (the generator that ran, its text encoder, the seed)."""
    record = provenance_record(TITLE, [result_record(r, metrics)], input_size=f"{SIZE}x{SIZE} px samples",
                               seed=seed, what=what,
                               metrics_note=clip_label(r.numbers.get("clip_name", "?")))  # fmt: skip
    return presenter.export(image, "text2image_", name, record, request=request, slide=slide)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _device(model: torch.nn.Module) -> str:
    device = next(model.parameters()).device
    return "CPU" if device.type == "cpu" else device.type.upper()


def describe_detections(detections: list[Detection]) -> str:
    """'detected: 2 red balls, 1 blue cube' (groups in left-to-right order of their first object)."""
    if not detections:
        return "detected: no object"
    groups = Counter((d.colour, d.shape) for d in sorted(detections, key=lambda d: d.box[0]))
    return "detected: " + ", ".join(f"{n} {colour} {shape if n == 1 else PLURALS[shape]}"
                                    for (colour, shape), n in groups.items())  # fmt: skip


def held_out_mentions(caption: str) -> list[str]:
    """The colour-shape combinations of HELD_OUT that a caption asks for ('red cone', ...)."""
    words = re.findall(r"[a-z]+", caption.lower())
    found = []
    for colour, word in zip(words, words[1:], strict=False):
        combo = (_COLOUR_OF.get(colour), _SHAPE_OF.get(word))
        if combo in HELD_OUT and f"{combo[0]} {combo[1]}" not in found:
            found.append(f"{combo[0]} {combo[1]}")
    return found


def _held_out_notice(captions: list[str]) -> list[str]:
    combos = list(dict.fromkeys(c for cap in captions for c in held_out_mentions(cap)))
    if not combos:
        return []
    names = ", ".join(f"'{c}'" for c in combos)
    return [info(f"{names}: a colour-shape combination never seen in training (held out to test whether "
            "the model composes colour and shape).")]  # fmt: skip


def far_caption_note(nearest: list[tuple[str, float]]) -> str | None:
    """An honest note when a caption is far from every training caption (None when it is near)."""
    if not nearest or nearest[0][1] >= NEAR_TRAINING:
        return None
    shown = "; ".join(f"“{c}” ({s:.2f})" for c, s in nearest)
    return (f"This caption is far from what the model was trained on: its nearest training captions are {shown} "
            f"(sentence cosine, all-MiniLM-L6-v2; captions about these scenes score about {NEAR_TRAINING + 0.05:.1f} or more). The model "
            "only ever saw 1–4 cubes, balls and cones in six colours on a grey plane, so these samples show what "
            "it makes of the nearest thing it knows, not your caption.")  # fmt: skip


# ---------------------------------------------------------------- the three actions


def generate_samples(caption, count, seed, request: gr.Request | None = None):
    """(gallery of enlarged samples with CLIP score and detector reading, per-sample table,
    summary markdown, PNG path)."""
    loaded, clip = _models()
    text = _caption(clip, caption)
    base, n = _grid_seeds(seed, count)
    seeds = list(range(base, base + n))
    r = text2image.sample(loaded, clip, text, seeds)
    images, seconds, scores = r.images, r.seconds, r.numbers["clip_score"]
    label = clip_label(r.numbers["clip_name"])
    reads = [describe_detections(detect(im)) for im in images]
    files = gallery_files([_big(im) for im in images], "text2image_")
    items = [(f, f"#{k + 1} · seed {s} · CLIP score {sc:.1f} · {r}")
             for k, (f, s, sc, r) in enumerate(zip(files, seeds, scores, reads, strict=True))]  # fmt: skip
    table = [[k + 1, s, round(float(sc), 2), r.removeprefix("detected: ")]
             for k, (s, sc, r) in enumerate(zip(seeds, scores, reads, strict=True))]  # fmt: skip
    panels = [
        Panel(im, f"#{k + 1}", f"CLIP {sc:.1f}")
        for k, (im, sc) in enumerate(zip(images, scores, strict=True))
    ]
    footer = (f"“{_short(text)}” · GAN-INT-CLS 64x64, seeds {base}–{base + n - 1} · "
              f"CLIP score: {r.numbers['clip_name']}")  # fmt: skip
    starts = range(0, n, 8)
    sheet = stack_vertical([compose_comparison(panels[i : i + 8], height=128, footer=footer if i == starts[-1] else "")
                            for i in starts])  # fmt: skip
    md = (f"{n} sample{'s' if n > 1 else ''} in {seconds:.2f} s on {_device(loaded.model)} (text encoding and "
          f"generation; scoring not included). Mean {label}: **{scores.mean():.1f}** "
          f"(min {scores.min():.1f}, max {scores.max():.1f}).")  # fmt: skip
    nearest = r.details.get("nearest") or []
    far = far_caption_note(nearest)
    if nearest and not far:
        md += f"\n\nNearest training caption: “{nearest[0][0]}” (sentence cosine {nearest[0][1]:.2f})."
    notices = ([far] if far else []) + _held_out_notice([text])
    if notices:
        md += "\n\n" + notices_markdown(notices)
    return items, table, md, _save(sheet, f"text2image_seed{base}.png", r, f"“{_short(text)}”, {n} samples", base,
                                   request, ("text2image:samples", f"{TITLE}: “{_short(text)}”"),
                                   {"mean CLIP score": float(scores.mean())})  # fmt: skip


def interpolate_captions(caption_a, caption_b, seed, steps, request: gr.Request | None = None):
    """GAN-INT: one z, the text embedding moved from caption A to caption B.
    (strip image, per-step markdown, PNG path)."""
    loaded, clip = _models()
    a, b = _caption(clip, caption_a, "Caption A"), _caption(clip, caption_b, "Caption B")
    s = seed_number(seed)
    k = whole_number(steps, MIN_STEPS, MAX_STEPS, "Steps")
    r = text2image.interpolate(loaded, clip, a, b, s, k)
    images, betas = r.images, r.numbers["beta"]
    to_a, to_b = r.numbers["clip_score_a"], r.numbers["clip_score_b"]
    titles = [_short(a, 22) if i == 0 else _short(b, 22) if i == k - 1 else f"β {bt:.2f}"
              for i, bt in enumerate(betas)]  # fmt: skip
    panels = [
        Panel(im, t, f"{sa:.0f} / {sb:.0f}")
        for im, t, sa, sb in zip(images, titles, to_a, to_b, strict=True)
    ]
    label = clip_label(r.numbers["clip_name"])
    footer = (f"GAN-INT: φ = β·φ(“{_short(a, 40)}”) + (1 − β)·φ(“{_short(b, 40)}”), one z (seed {s}); "
              f"under each: CLIP score vs A / vs B ({r.numbers['clip_name']})")  # fmt: skip
    sheet = compose_comparison(panels, height=128, footer=footer)
    lines = [f"| {i + 1} | {bt:.2f} | {sa:.1f} | {sb:.1f} | {describe_detections(detect(im))} |"
             for i, (bt, im, sa, sb) in enumerate(zip(betas, images, to_a, to_b, strict=True))]  # fmt: skip
    md = (f"A: “{a}” → B: “{b}”, seed {s}.\n\n| Step | β | {label} vs A | vs B | Detector |\n"
          "|---|---|---|---|---|\n" + "\n".join(lines))  # fmt: skip
    notices = _held_out_notice([a, b])
    if notices:
        md += "\n\n" + notices_markdown(notices)
    return np.asarray(sheet), md, _save(sheet, "text2image_interpolation.png", r,
                                        f"GAN-INT “{_short(a, 30)}” → “{_short(b, 30)}”", s, request,
                                        ("text2image:interpolation", f"GAN-INT: “{_short(a, 30)}” → “{_short(b, 30)}”"))


def _new_captions(clip: SceneCLIP, text) -> list[str]:
    if not isinstance(text, str):
        raise InputError("New captions must be text, one per line.")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("Type at least one new caption (one per line), e.g. 'two blue cubes'.")
    if len(lines) > MAX_NEW_CAPTIONS:
        raise InputError(
            f"At most {MAX_NEW_CAPTIONS} new captions (one per line); got {len(lines)}."
        )
    return [_caption(clip, line, f"New caption {i + 1}") for i, line in enumerate(lines)]


def _square_64(image: np.ndarray, notices: list[str]) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    if (h, w) != (SIZE, SIZE):
        notices.append(f"{'Centre-cropped to a square and resized' if h != w else 'Resized'} from {w}x{h} "
                       f"to {SIZE}x{SIZE} px, the size the models work at.")  # fmt: skip
    crop = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(crop.resize((SIZE, SIZE), Image.Resampling.BOX))


def transfer_style(
    source, sample_number, upload, grid_caption, grid_seed, grid_count, new_captions,
    request: gr.Request | None = None,
):
    """Style transfer through S(x): (comparison image, markdown, PNG path).

    The source is grid sample `sample_number` (of the grid made from grid_caption / grid_seed /
    grid_count) or an uploaded image. Reconstruction G(S(x), φ(source caption)) uses the grid
    caption for a grid sample and the first new caption for an upload (its caption is unknown)."""
    loaded, clip = _models()
    gan = loaded.model
    new = _new_captions(clip, new_captions)
    notices: list[str] = []
    true_z = None
    if source == SOURCE_GRID:
        src_caption = _caption(clip, grid_caption, "Grid caption")
        base, n = _grid_seeds(grid_seed, grid_count)
        k = whole_number(sample_number, 1, n, "Sample number")
        true_z = seeded_z([base + k - 1], gan.z_dim)
        x = text2image.generate_images(gan, clip, [src_caption], [base + k - 1])[0]
        src_title = f"Source: sample #{k}"
        recon_caption = src_caption
    elif source == SOURCE_UPLOAD:
        guarded = guard_image(upload, max_side=2048, min_side=16)
        notices += guarded.notices
        x = _square_64(guarded.array, notices)
        notices.append("S(x) was trained only on the generator's own images: on anything else (a real "
                       "photo, a render from another program) it gives whatever z it can.")  # fmt: skip
        src_title, src_caption, recon_caption = "Source: upload", None, new[0]
    else:
        raise InputError(f"Unknown source {short(source)}; choose '{SOURCE_GRID}' or '{SOURCE_UPLOAD}'.")

    # an upload's caption is unknown: its reconstruction is already the first new caption's render
    first = 0 if src_caption else 1
    r = text2image.restyle(loaded, clip, x, [recon_caption, *new[first:]])
    images, scores, z = r.images, r.numbers["clip_score"], r.details["z"]
    label = clip_label(r.numbers["clip_name"])
    recon, outs = images[0], images[1:]
    recon_psnr = psnr_rgb(x, recon)

    recon_title = "G(S(x), φ(source))" if src_caption else "G(S(x), φ(new 1))"
    panels = [Panel(x, src_title, _short(src_caption, 24) if src_caption else "caption unknown"),
              Panel(recon, recon_title, f"{recon_psnr:.1f} dB · CLIP {scores[0]:.0f}")]  # fmt: skip
    panels += [Panel(im, _short(c, 22), f"CLIP {sc:.0f}")
               for im, c, sc in zip(outs, new[first:], scores[1:], strict=True)]  # fmt: skip
    footer = ("Style transfer: z = S(x), rendered with other captions · PSNR of the reconstruction vs the "
              f"source (RGB) · CLIP score: {r.numbers['clip_name']}")  # fmt: skip
    sheet = compose_comparison(panels, height=192, footer=footer)
    lines = [f"| Source | {src_caption or '(unknown)'} | – | {describe_detections(detect(x))} |",
             f"| Reconstruction {recon_title} ({recon_psnr:.2f} dB vs source) | {recon_caption} | "
             f"{scores[0]:.1f} | {describe_detections(detect(recon))} |"]  # fmt: skip
    lines += [f"| New {first + i + 1} | {c} | {sc:.1f} | {describe_detections(detect(im))} |"
              for i, (c, im, sc) in enumerate(zip(new[first:], outs, scores[1:], strict=True))]  # fmt: skip
    md = f"| Image | Caption | {label} | Detector |\n|---|---|---|---|\n" + "\n".join(lines)
    if true_z is not None:
        cos = float(torch.nn.functional.cosine_similarity(z, true_z).item())
        md += (f"\n\nS(x) vs the sample's true z: cosine {cos:.2f} (1 = S recovered z exactly; "
               f"the reconstruction PSNR says how much of the image that z keeps).")  # fmt: skip
    notices += _held_out_notice(new + ([src_caption] if src_caption else []))
    if notices:
        md += "\n\n" + notices_markdown(notices)
    return np.asarray(sheet), md, _save(sheet, "text2image_style.png", r, f"style transfer from {src_title.lower()}",
                                        None, request, ("text2image:style", "Style transfer through S(x)"),
                                        {"reconstruction PSNR dB": recon_psnr})  # fmt: skip


# ---------------------------------------------------------------- the tab


def captions_markdown() -> str:
    held = ", ".join(f"{c} {s}" for c, s in HELD_OUT)
    return (f"Any caption up to {MAX_CAPTION_CHARS} characters is read: the text encoder is a pretrained English "
            "sentence encoder (all-MiniLM-L6-v2), frozen, with a projection trained here. The generator was "
            "trained on captions of 1–4 cubes, balls and cones in red, orange, yellow, green, blue and purple, "
            "small or large, near or far, in many phrasings; some phrasings (whole sentence patterns and words "
            "such as 'crimson', 'violet', 'orb', 'a pair of', 'in the distance') were held out of training to test "
            f"whether it generalises. Colour-shape combinations never in one training scene: {held}. A caption "
            "about anything else still gets samples, with a note saying how far it is from the training "
            "captions.")  # fmt: skip


def default_outputs() -> tuple:
    """The tab's opening results, with the values the controls start with."""
    samples = generate_samples(EXAMPLES[0][0], 8, 0)
    interp = interpolate_captions("a red ball", "three green cubes", 0, 8)
    style = transfer_style(SOURCE_GRID, 1, None, EXAMPLES[0][0], 0, 8, "three purple cones\na small yellow ball")
    return (*samples, *interp, *style)


def build_tab() -> None:
    gr.Markdown(
        "**GAN-INT-CLS** (Reed et al. 2016) trained here on captioned procedural scenes (1–4 cubes, "
        "balls and cones in six colours and two sizes, on a ground plane in perspective): a caption's "
        "text embedding conditions the generator, and a matching-aware discriminator judges image and "
        "caption together. The text encoder is a locked-text CLIP (LiT): a pretrained sentence encoder, frozen, "
        "with a projection and an image tower trained here on the scenes, so any English caption is read. "
        + CLIP_NOTE
    )
    with gr.Accordion("Caption → samples", open=True):
        with gr.Row():
            with gr.Column(scale=2):
                caption = gr.Textbox("two red balls and a blue cube", label="Caption",
                                     placeholder="e.g. two red balls and a blue cube")  # fmt: skip
            count = Slider(1, MAX_SAMPLES, value=8, step=1, label="Samples")
            seed = Number(value=0, precision=0, minimum=0, maximum=MAX_SEED,
                             label="Seed (sample k uses seed + k − 1)")  # fmt: skip
            generate = gr.Button("Generate samples", variant="primary")
        gr.Examples([[c] for c, _ in EXAMPLES], inputs=[caption], label="Example captions",
                    example_labels=[label or c for c, label in EXAMPLES])  # fmt: skip
        with gr.Accordion("What captions work", open=False):
            gr.Markdown(captions_markdown())
        summary = gr.Markdown()
        grid = gr.Gallery(label="Samples (#, seed, CLIP score, what the detector reads)", columns=4,
                          height=520, object_fit="contain", format="png", preview=False)  # fmt: skip
        table = gr.Dataframe(headers=TABLE_COLUMNS, label="Per sample", interactive=False)
        grid_png = gr.DownloadButton("Download samples PNG", value=None, size="sm")
    with gr.Accordion("GAN-INT: interpolate between two captions", open=True):
        with gr.Row():
            cap_a = gr.Textbox("a red ball", label="Caption A")
            cap_b = gr.Textbox("three green cubes", label="Caption B")
            interp_seed = Number(
                value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (one z)"
            )
            steps = Slider(MIN_STEPS, MAX_STEPS, value=8, step=1, label="Steps")
            interp_btn = gr.Button("Interpolate")
        interp_img = gr.Image(
            label="Interpolation (β from 1 to 0)",
            type="numpy",
            format="png",
            interactive=False,
            height=240,
            elem_classes=presenter.FIGURE,
        )
        interp_md = gr.Markdown()
        interp_png = gr.DownloadButton("Download interpolation PNG", value=None, size="sm")
    with gr.Accordion("Style transfer: z = S(x), rendered with other captions", open=True):
        with gr.Row():
            with gr.Column(scale=1):
                source = Radio(
                    [SOURCE_GRID, SOURCE_UPLOAD], value=SOURCE_GRID, label="Source image"
                )
                sample_number = Number(value=1, precision=0, minimum=1, maximum=MAX_SAMPLES,
                                          label="Sample # in the grid (uses the caption, seed and samples above)")  # fmt: skip
                upload = image_input("Or upload an image (centre-cropped and resized to 64x64)")
                new_caps = gr.Textbox("three purple cones\na small yellow ball", lines=3,
                                      label=f"New captions (one per line, up to {MAX_NEW_CAPTIONS})")  # fmt: skip
                style_btn = gr.Button("Transfer style")
            with gr.Column(scale=2):
                style_img = gr.Image(label="Source | reconstruction | new captions", type="numpy", format="png",
                                     interactive=False, height=300, elem_classes=presenter.FIGURE)  # fmt: skip
                style_md = gr.Markdown()
                style_png = gr.DownloadButton("Download style transfer PNG", value=None, size="sm")

    presenter.register_default("text2image", default_outputs, [grid, table, summary, grid_png, interp_img, interp_md,
                                                              interp_png, style_img, style_md, style_png])
    upload.upload(lambda: SOURCE_UPLOAD, None, source, api_visibility="private", queue=False)
    heavy = {"concurrency_limit": 2, "concurrency_id": "text2image"}
    generate.click(user_errors(generate_samples), [caption, count, seed], [grid, table, summary, grid_png],
                   api_name="text2image", **heavy)  # fmt: skip
    caption.submit(user_errors(generate_samples), [caption, count, seed], [grid, table, summary, grid_png],
                   api_visibility="private", **heavy)  # fmt: skip
    interp_btn.click(user_errors(interpolate_captions), [cap_a, cap_b, interp_seed, steps],
                     [interp_img, interp_md, interp_png], api_name="text2image_interpolate", **heavy)  # fmt: skip
    style_btn.click(user_errors(transfer_style),
                    [source, sample_number, upload, caption, seed, count, new_caps],
                    [style_img, style_md, style_png], api_name="text2image_style", **heavy)  # fmt: skip

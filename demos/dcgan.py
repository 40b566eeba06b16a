"""DCGAN & AC-GAN tab: seeded samples, the DCGAN paper's vector arithmetic, attribute sliders in
z, interpolation, and AC-GAN class-conditional Fashion-MNIST samples."""

from __future__ import annotations

import logging

import gradio as gr
import numpy as np
import torch
from PIL import Image

from data.fashion_mnist import CLASSES
from data.input_guard import InputError, seed_number, short, whole_number
from demos import community_gans, presenter
from demos.common import (
    Dropdown,
    Number,
    Radio,
    Slider,
    enlarge_nearest,
    gallery_files,
    user_errors,
)
from eval.comparison import Panel, compose_comparison, stack_vertical
from models import acgan
from models.dcgan import sample_z
from models.latent_arithmetic import (
    PRESETS,
    SLIDER_RANGE,
    SLIDERS,
    arithmetic,
    attribute_directions,
    check_slider,
    concept_text,
    face_models,
    find_exemplars,
    generate_and_judge,
    interpolate_faces,
    move_along,
    preset_arithmetic,
    sample_faces,
    target_of,
)
from models.result import model_record, provenance_record, result_record

logger = logging.getLogger(__name__)

TITLE = "DCGAN & AC-GAN"
GRID = 16  # samples in the DCGAN grid; exemplar indices refer to it (1-based)
SHOW = 128  # display size of one 64 px face (nearest-neighbour, so pixels stay honest)
MODE_PRESET, MODE_PICK = "Attribute preset (exemplars found by the classifier)", "Pick exemplars from the grid"
MAX_ACGAN_SAMPLES = 64
MAX_INTERPOLATION_STEPS = 16


def _grid_number(value) -> int:
    return whole_number(value, 1, GRID, "sample number")


def _models():
    g, clf = face_models()
    return g.model, clf.model


def _big(image: np.ndarray, size: int = SHOW) -> np.ndarray:
    return enlarge_nearest(image, size)


def _save(image: Image.Image, name: str, record: dict, request=None, slide: tuple[str, str] | None = None) -> str:
    return presenter.export(image, "dcgan_", name, record, request=request, slide=slide)


def _record(what: str, seed: int, extra: list[dict] | None = None, input_size: str | None = None) -> dict:
    """Provenance of a DCGAN panel: the generator and the attribute classifier that judged it."""
    g, clf = face_models()
    models = [model_record(g.title or g.name, g.provenance(), g.source, seed=seed),
              model_record(f"judge: {clf.title or clf.name}", clf.provenance(), clf.source), *(extra or [])]  # fmt: skip
    return provenance_record(TITLE, models, input_size=input_size or f"z ∈ R^{g.model.z_dim}", seed=seed, what=what)


def sample_grid(seed, request: gr.Request | None = None):
    """(gallery of GRID faces with the classifier's reading, PNG path) for a seed."""
    g, _ = _models()
    seed = seed_number(seed)
    r = sample_faces(sample_z(GRID, g.z_dim, seed))
    images, judged = r.images, r.numbers["judged"]
    files = gallery_files([_big(im) for im in images], "dcgan_")
    items = [(f, f"#{i + 1}: {judged.describe(i)}") for i, f in enumerate(files)]
    sheet = compose_comparison([Panel(im, f"#{i + 1}") for i, im in enumerate(images[:8])], height=128)
    sheet = stack_vertical([sheet, compose_comparison(
        [Panel(im, f"#{i + 9}") for i, im in enumerate(images[8:])], height=128,
        footer=f"DCGAN samples, seed {seed}, z ~ N(0, I) in R^{g.z_dim}")])  # fmt: skip
    record = _record(f"{GRID} samples", seed, input_size=f"z ∈ R^{g.z_dim}, {GRID} samples of 64x64 px")
    record["models"][1]["metrics"] = {f"read as {k}": f"{int((v > 0.5).sum())} of {len(v)}"
                                      for k, v in list(judged.probs.items())[:4]}  # fmt: skip
    return items, _save(sheet, f"dcgan_samples_seed{seed}.png", record, request,
                        ("dcgan:samples", f"DCGAN: {GRID} samples, seed {seed}"))


def _parse_indices(text: str, what: str) -> list[int]:
    parts = [p for p in str(text or "").replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        idx = [int(p) for p in parts]
    except ValueError:
        raise InputError(f"{what}: write sample numbers from the grid, e.g. 1, 5, 9") from None
    if not 1 <= len(idx) <= GRID or any(not 1 <= i <= GRID for i in idx):
        raise InputError(f"{what}: between 1 and {GRID} sample numbers, each from 1 to {GRID}")
    return [i - 1 for i in idx]


def run_arithmetic(mode: str, preset: str, a_text: str, b_text: str, c_text: str, seed,
                   request: gr.Request | None = None):
    """(comparison image, verdict markdown, PNG path)."""
    g, clf = _models()
    seed = seed_number(seed)
    if mode == MODE_PRESET:
        if preset not in PRESETS:
            raise InputError(f"Unknown preset {short(preset)}.")
        concepts = PRESETS[preset]
        done = preset_arithmetic(g, clf, preset, seed)
        if done is None:
            missing = next(c for k, c in enumerate(concepts) if find_exemplars(g, clf, c, seed=seed * 3 + k) is None)
            raise InputError(f"The generator produced no confident '{concept_text(missing)}' "
                             "exemplars in 4096 samples: try another preset or seed.")  # fmt: skip
        r, zs = done
        target = r.target
    elif mode == MODE_PICK:
        grid_z = sample_z(GRID, g.z_dim, seed)
        zs = [grid_z[_parse_indices(t, n)] for t, n in ((a_text, "A"), (b_text, "B"), (c_text, "C"))]
        _, judged = generate_and_judge(g, clf, torch.stack([z.mean(0) for z in zs]))
        reads = [judged.row(i) for i in range(3)]
        target = {k: v for k, v in target_of(*reads).items() if reads[0][k] != reads[1][k]} or reads[2]
        concepts = reads
        r = arithmetic(g, clf, *zs, target=target, seed=seed)
    else:
        raise InputError(f"Unknown mode {short(mode)}.")
    panels = [Panel(r.concept_means[n], f"{n} (mean z)", f"{len(z)} exemplars")
              for n, z in zip("ABC", zs, strict=True)]  # fmt: skip
    panels += [Panel(im, "A − B + C" if i == 0 else f"+ noise {i}", "✓ target" if ok else "✗")
               for i, (im, ok) in enumerate(zip(r.results, r.success, strict=True))]  # fmt: skip
    exemplar_rows = [compose_comparison([Panel(im, f"{n}{j + 1}") for j, im in enumerate(r.exemplars[n])],
                                        height=96) for n in "ABC"]  # fmt: skip
    footer = f"target: {concept_text(target)} · judged by the face-attribute classifier · seed {seed}"
    sheet = stack_vertical([compose_comparison(panels, height=160, footer=footer), *exemplar_rows])
    hits = sum(r.success)
    md = (f"**Target** (C, with what A has and B lacks): {concept_text(target)}.  \n"
          f"**Result:** {hits} of {len(r.success)} decoded images show the whole target "
          f"(the result and {len(r.success) - 1} small perturbations of it, N(0, 0.25²) in z).  \n"
          + "  \n".join(f"{n}: {concept_text(c) if isinstance(c, dict) else c}"
                        for n, c in zip("ABC", concepts, strict=True)))  # fmt: skip
    record = _record(f"A − B + C, target {concept_text(target)}", seed)
    record["models"][0]["metrics"] = {"decoded images showing the target": f"{hits} of {len(r.success)}"}
    return np.asarray(sheet), md, _save(sheet, "dcgan_arithmetic.png", record, request,
                                        ("dcgan:arithmetic", f"DCGAN vector arithmetic: {concept_text(target)}"))


def slide(seed, index, *amounts):
    """One face moved along the attribute directions; amounts follow SLIDERS' order."""
    g, clf = _models()
    seed = seed_number(seed)
    i = _grid_number(index)
    try:
        values = {key: check_slider(a, label) for (label, key), a in zip(SLIDERS.items(), amounts, strict=True)}
    except ValueError as exc:
        raise InputError(str(exc)) from None
    directions = attribute_directions()
    if not directions:
        raise InputError("This DCGAN checkpoint has no attribute directions "
                         "(run `python -m training dcgan-directions`).")  # fmt: skip
    z = move_along(sample_z(GRID, g.z_dim, seed)[i - 1], directions, values)
    r = sample_faces(z[None])
    images, judged = r.images, r.numbers["judged"]
    smile, glasses = judged.probs["smile"][0], judged.probs["glasses"][0]
    return _big(images[0], 256), (f"Classifier reads: {judged.describe(0)} "
                                  f"(p(smile) {smile:.2f}, p(glasses) {glasses:.2f})")  # fmt: skip


def interpolate(seed_a, index_a, seed_b, index_b, steps, request: gr.Request | None = None):
    g, _ = _models()
    seeds = [seed_number(seed_a), seed_number(seed_b)]
    idx = [_grid_number(index_a) - 1, _grid_number(index_b) - 1]
    n = whole_number(steps, 2, MAX_INTERPOLATION_STEPS, "steps")
    z0, z1 = (sample_z(GRID, g.z_dim, s)[i] for s, i in zip(seeds, idx, strict=True))
    images = interpolate_faces(z0, z1, n).images
    sheet = compose_comparison([Panel(im, f"{t:.2f}") for t, im in zip(np.linspace(0, 1, n), images, strict=True)],
                               height=96, footer="spherical interpolation in z (slerp)")  # fmt: skip
    record = _record(f"slerp from seed {seeds[0]} #{idx[0] + 1} to seed {seeds[1]} #{idx[1] + 1}, {n} steps", seeds[0])
    return np.asarray(sheet), _save(sheet, "dcgan_interpolation.png", record, request,
                                    ("dcgan:interpolation", "DCGAN: interpolation in z (slerp)"))


def acgan_samples(class_name: str, seed, count, request: gr.Request | None = None):
    """(gallery of AC-GAN samples with the classifier's verdict, PNG path, summary markdown)."""
    seed = seed_number(seed)
    n = whole_number(count, 1, MAX_ACGAN_SAMPLES, "number of samples")
    all_classes = class_name == "All classes"
    if not all_classes and class_name not in CLASSES:
        raise InputError(f"Unknown class {short(class_name)}; choose one of: {', '.join(CLASSES)}")
    labels = (torch.arange(n) % 10 if all_classes else torch.full((n,), CLASSES.index(class_name)))
    r = acgan.sample_and_judge(labels, seed)
    images, pred, probs = r.images, r.numbers["predicted"], r.numbers["probabilities"]
    items, hits = [], 0
    for i in range(n):
        want, got = int(labels[i]), int(pred[i])
        hits += want == got
        verdict = "✓" if want == got else f"✗ looks like {CLASSES[got]}"
        items.append(f"{CLASSES[want]} · judged {verdict} ({probs[i, got]:.2f})")
    items = list(zip(gallery_files([_big(images[i], 112) for i in range(n)], "acgan_"), items, strict=True))
    panels = [Panel(images[i], CLASSES[int(labels[i])][:10]) for i in range(min(n, 16))]
    sheet = compose_comparison(panels, height=96, footer=f"AC-GAN samples, seed {seed}")
    md = (f"The Fashion-MNIST classifier (trained on real photos) agrees with the requested class on "
          f"**{hits} of {n}** samples.")  # fmt: skip
    record = provenance_record(TITLE, [result_record(r, {"judged as requested": f"{hits} of {n}"}),
                                       model_record(f"judge: {r.details['judge'].get('title') or 'classifier'}",
                                                    r.details["judge"])],
                               input_size=f"{n} samples of 32x32 px, class {class_name}", seed=seed,
                               what="AC-GAN class-conditional samples")  # fmt: skip
    return items, _save(sheet, "acgan_samples.png", record, request, ("acgan", f"AC-GAN: {class_name}, seed {seed}")), md


def default_outputs() -> tuple:
    """The tab's opening results, with the values the controls start with."""
    grid, grid_png = sample_grid(0)
    arith = run_arithmetic(MODE_PRESET, next(iter(PRESETS)), "1, 2, 3", "4, 5, 6", "7, 8, 9", 0)
    moved = slide(0, 1, *[0.0] * len(SLIDERS)) if attribute_directions() else (None, "")
    interp = interpolate(0, 1, 1, 2, 8)
    ac = acgan_samples("All classes", 0, 20)
    return (grid, grid_png, *arith, *moved, *interp, *ac)


def build_tab() -> None:
    gr.Markdown(
        "**DCGAN** (Radford et al. 2016) trained here on procedural faces whose attributes are known, "
        "so an attribute classifier (trained on the ground-truth renders) can say what each sample "
        "shows. **AC-GAN** (Odena et al. 2017) trained here on real Fashion-MNIST photos."
    )
    with gr.Accordion("DCGAN: samples and vector arithmetic", open=True):
        with gr.Row():
            seed = Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            sample_btn = gr.Button("Sample 16 faces", variant="primary")
        grid = gr.Gallery(format="png", label="Samples (number: what the attribute classifier reads)", columns=8,
                          height=330, object_fit="contain", preview=False)  # fmt: skip
        grid_png = gr.DownloadButton("Download samples PNG", value=None, size="sm")
        gr.Markdown("**Vector arithmetic** as in the DCGAN paper (Fig. 7): each concept is the mean "
                    "z of three exemplars; the result is decoded with four small perturbations.")  # fmt: skip
        with gr.Row():
            with gr.Column(scale=1):
                mode = Radio([MODE_PRESET, MODE_PICK], value=MODE_PRESET, label="Exemplars")
                preset = Dropdown(list(PRESETS), value=next(iter(PRESETS)), label="Preset: A − B + C")
                with gr.Row():
                    a_idx = gr.Textbox("1, 2, 3", label="A (grid numbers)")
                    b_idx = gr.Textbox("4, 5, 6", label="B")
                    c_idx = gr.Textbox("7, 8, 9", label="C")
                arith_btn = gr.Button("Compute A − B + C", variant="primary")
            with gr.Column(scale=2):
                arith_img = gr.Image(format="png", label="A − B + C", type="numpy", interactive=False, height=420,
                                     elem_classes=presenter.FIGURE)  # fmt: skip
                arith_md = gr.Markdown()
                arith_png = gr.DownloadButton("Download arithmetic PNG", value=None, size="sm")
    with gr.Accordion("DCGAN: attribute sliders and interpolation", open=True):
        with gr.Row():
            with gr.Column(scale=1):
                index = Slider(1, GRID, value=1, step=1, label="Grid sample number (with the seed above)")
                sliders = [Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0.0, step=0.1, label=label)
                           for label in SLIDERS]  # fmt: skip
                gr.Markdown("<small>Each slider adds a multiple of an attribute direction in z "
                            "(mean z of samples with the attribute − without, as read by the "
                            "classifier over 4,096 samples).</small>")  # fmt: skip
            with gr.Column(scale=1):
                moved = gr.Image(format="png", label="Moved sample", type="numpy", interactive=False, height=300)
                moved_md = gr.Markdown()
        with gr.Row():
            seed_a = Number(value=0, precision=0, label="From: seed")
            idx_a = Number(value=1, precision=0, label="sample #")
            seed_b = Number(value=1, precision=0, label="To: seed")
            idx_b = Number(value=2, precision=0, label="sample #")
            steps = Slider(2, MAX_INTERPOLATION_STEPS, value=8, step=1, label="Steps")
            interp_btn = gr.Button("Interpolate")
        interp_img = gr.Image(format="png", label="Interpolation", type="numpy", interactive=False, height=200,
                              elem_classes=presenter.FIGURE)  # fmt: skip
        interp_png = gr.DownloadButton("Download interpolation PNG", value=None, size="sm")
    with gr.Accordion("AC-GAN: class-conditional Fashion-MNIST", open=True):
        with gr.Row():
            cls = Dropdown(["All classes", *CLASSES], value="All classes", label="Class")
            ac_seed = Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            count = Slider(1, MAX_ACGAN_SAMPLES, value=20, step=1, label="Samples")
            ac_btn = gr.Button("Generate", variant="primary")
        ac_md = gr.Markdown()
        ac_gallery = gr.Gallery(format="png", label="AC-GAN samples (requested class · classifier's verdict)",
                                columns=10, height=330, object_fit="contain", preview=False)  # fmt: skip
        ac_png = gr.DownloadButton("Download samples PNG", value=None, size="sm")

    heavy = {"concurrency_limit": 2, "concurrency_id": "dcgan"}
    presenter.register_default("dcgan", default_outputs, [grid, grid_png, arith_img, arith_md, arith_png, moved,
                                                          moved_md, interp_img, interp_png, ac_gallery, ac_png, ac_md])
    community_gans.build_huggan_section(heavy)  # Hub checkpoints beside the ones trained here
    community_gans.build_biggan_section(heavy)
    sample_btn.click(user_errors(sample_grid), [seed], [grid, grid_png], api_name="dcgan_samples", **heavy)
    arith_btn.click(user_errors(run_arithmetic), [mode, preset, a_idx, b_idx, c_idx, seed],
                    [arith_img, arith_md, arith_png], api_name="dcgan_arithmetic", **heavy)  # fmt: skip
    slide_inputs = [seed, index, *sliders]
    for k, control in enumerate([index, *sliders]):  # live: every slider move re-renders the face
        control.change(user_errors(slide), slide_inputs, [moved, moved_md], trigger_mode="always_last",
                       show_progress="hidden", api_name="dcgan_slide" if k == 0 else None,
                       api_visibility="public" if k == 0 else "private", **heavy)  # fmt: skip
    interp_btn.click(user_errors(interpolate), [seed_a, idx_a, seed_b, idx_b, steps], [interp_img, interp_png],
                     api_name="dcgan_interpolate", **heavy)  # fmt: skip
    ac_btn.click(user_errors(acgan_samples), [cls, ac_seed, count], [ac_gallery, ac_png, ac_md],
                 api_name="acgan_samples", **heavy)  # fmt: skip

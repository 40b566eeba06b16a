"""Day <-> night benchmark on the held-out split of procedural scenes, where (unlike any real
dataset) every input has its exact ground truth: the other render of the same scene.

Per method and direction: PSNR and SSIM against the ground truth (RGB: colour is what changes),
the scene classifier's reading of the outputs (do day -> night outputs read as night?), Fréchet
distance on the scene classifier's features (trained here; not Inception), mean PSNR per weather,
and the cycle X -> Y -> X with the same model (what CycleGAN is trained for and pix2pix is not).
Speed: one 256x256 translation on this CPU. Baseline: the input itself, unchanged.

The CycleGAN paper (Zhu et al. 2017, Tables 1-2) found pix2pix, trained on pairs, ahead of
CycleGAN on FCN scores; `paper_check` says whether pix2pix is ahead here too, either way.
Failure cases: real photos (no ground truth, out of domain) and the worst held-out pair.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from data.day_night import EVAL_SCENES, EVAL_SEED, WEATHERS, make_pairs
from data.photos import eval_photos
from eval.comparison import Panel, compose_comparison
from eval.metrics import frechet_distance_from_features, psnr, ssim
from eval.timing import best_seconds
from models import hub
from models.catalog import get_entry
from models.scene_features import FD_NAME, HEADS, classify, scene_features
from models.translation import (
    CYCLEGAN,
    DAY2NIGHT,
    DIRECTIONS,
    HUB_PIX2PIX,
    HUB_SIZE,
    INVERSE,
    NIGHT2DAY,
    PIX2PIX,
    SHORT_NAMES,
    directions_of,
    generator_for,
    run_generator,
    square,
    work_size,
)

logger = logging.getLogger(__name__)

IDENTITY = "identity"  # baseline: the input, untranslated
SIZE = 128
FAILURE_PHOTOS = ("china", "rocket")  # outdoor daytime photos with sky and buildings / structures
CLASSIFIER = "scene-classifier"
METRICS = {
    "psnr": f"PSNR (dB) over R, G and B (not the Y channel: colour is what changes), whole {SIZE}x{SIZE} "
            "image, output vs the other render of the same held-out scene",
    "ssim": "SSIM, mean over R, G and B, Gaussian 11x11 window (sigma 1.5), whole image, vs the ground truth",
    "fd": f"{FD_NAME}: Fréchet distance between the 128-d penultimate features of the scene classifier "
          "(trained here on ground-truth renders; not Inception FID), all outputs vs all ground-truth "
          "renders of the target domain",
    "fd_floor": "the same distance between ground-truth renders of two disjoint sets of held-out scenes "
                "of the same size (what sampling alone gives)",
    "reads_as_target": "fraction of outputs the scene classifier reads as the target time of day",
    "cycle_l1": "X -> Y -> X with the same model: mean absolute error to X, RGB on the [0, 1] scale",
    "cycle_psnr": "X -> Y -> X: PSNR (dB, RGB) of the reconstruction against X",
    "seconds_256": "best of 5 wall seconds for one 256x256 translation (one direction) on this CPU",
}  # fmt: skip
DATASET = (f"held-out split of data/day_night.py (seed {EVAL_SEED}, never trained on): {{n}} scenes "
           f"rendered by day and by night at {SIZE}x{SIZE}; each render's ground truth is the other "
           f"render of its scene. Community checkpoints run at their {HUB_SIZE} px on {HUB_SIZE} px renders "
           f"of the same scenes, outputs downscaled to {SIZE} px (PIL bicubic) for the metrics.")  # fmt: skip
PAPER_CLAIM = ("The CycleGAN paper (Zhu et al. 2017, Tables 1-2) reports pix2pix, trained on paired "
               "data, ahead of CycleGAN on FCN scores (Cityscapes labels <-> photos).")  # fmt: skip



def _load(method: str):
    """(loaded model or None, error or None)."""
    try:
        loaded = hub.load(method)
    except KeyError:
        return None, f"{method}: not in the model catalog (models/catalog.py)"
    except hub.ModelUnavailable as exc:
        return None, str(exc)
    if loaded.notice:  # a Hub model that fell back: its numbers would be another model's
        return None, loaded.notice
    return loaded, None


def _title(method: str) -> str:
    if method == IDENTITY:
        return "No translation (the input as is)"
    try:
        return get_entry(method).title
    except KeyError:
        return method


def _downscale(images: np.ndarray, size: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BICUBIC)) for im in images])


def seconds_256(generator) -> float:
    """Best of 5 wall seconds for one 256x256 image through `generator` (after a warm-up)."""
    x = np.zeros((256, 256, 3), np.uint8)
    return best_seconds(lambda: run_generator(generator, x))


def _pair_metrics(outputs: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([psnr(t, o, y_channel=False) for o, t in zip(outputs, truth, strict=True)])
    s = np.array([ssim(t, o, y_channel=False) for o, t in zip(outputs, truth, strict=True)])
    return p, s


def run(progress=None, failures_dir: Path | None = None, n_scenes: int = EVAL_SCENES,
        methods: list[str] | None = None, photos: tuple[str, ...] = FAILURE_PHOTOS) -> dict:  # fmt: skip
    """Returns {"metrics", "dataset", "fd_label", "fd_floor", "methods": {method: {"title",
    "checkpoint", "per_direction": {direction: metrics}, "per_scene", "mean"} or {"title",
    "error"}}, "paper_check"}."""
    methods = methods or [IDENTITY, PIX2PIX, CYCLEGAN, HUB_PIX2PIX]
    if progress:
        progress(0.0, "rendering held-out scenes")
    pairs = make_pairs(n_scenes, SIZE, EVAL_SEED)
    other = make_pairs(n_scenes, SIZE, EVAL_SEED, start=n_scenes)  # disjoint: the FD floor
    weathers = np.array([p.weather for p in pairs.params])
    inputs = {DAY2NIGHT: pairs.day, NIGHT2DAY: pairs.night}
    truths = {DAY2NIGHT: pairs.night, NIGHT2DAY: pairs.day}
    target_time = {DAY2NIGHT: HEADS["time"].index("night"), NIGHT2DAY: HEADS["time"].index("day")}

    clf_loaded, clf_error = _load(CLASSIFIER)
    clf = clf_loaded.model if clf_loaded else None
    fd_floor, truth_features = {}, {}
    if clf is not None:
        for direction, truth in truths.items():
            truth_features[direction] = scene_features(clf, truth)
            other_truth = other.night if direction == DAY2NIGHT else other.day
            fd_floor[direction] = frechet_distance_from_features(scene_features(clf, other_truth),
                                                                 truth_features[direction])  # fmt: skip
    out: dict = {"metrics": METRICS, "dataset": DATASET.format(n=n_scenes), "fd_label": FD_NAME,
                 "fd_floor": fd_floor, "scenes": n_scenes, "methods": {}, "directions": DIRECTIONS}  # fmt: skip
    if clf_loaded:
        out["judge"] = clf_loaded.provenance()
    else:
        out["judge_error"] = clf_error
    outputs: dict[str, dict[str, np.ndarray]] = {}

    for k, method in enumerate(methods):
        if progress:
            progress(0.05 + 0.8 * k / len(methods), f"{method}")
        if method == IDENTITY:
            model, checkpoint = None, {"name": IDENTITY, "source": "baseline (no model)", "sha256": None}
        else:
            loaded, error = _load(method)
            if error:
                out["methods"][method] = {"title": _title(method), "error": error}
                continue
            model, checkpoint = loaded.model, loaded.provenance()
        per_direction, per_scene, speeds = {}, {}, []
        for direction in directions_of(method) if method != IDENTITY else list(DIRECTIONS):
            source, truth = inputs[direction], truths[direction]
            back = None  # the cycle X -> Y -> X, where the model has the way back
            if model is None:  # the baseline: the input as its own answer
                translated = source
            else:
                generator = generator_for(model, direction, method)
                size = work_size(model)
                if size == SIZE:
                    translated = run_generator(generator, source)
                else:  # e.g. the Hub's 256 px model: native renders at its size, scored at ours
                    big = make_pairs(n_scenes, size, EVAL_SEED)
                    translated = _downscale(run_generator(generator, big.day if direction == DAY2NIGHT else big.night), SIZE)
                if INVERSE[direction] in directions_of(method) and size == SIZE:
                    back = run_generator(generator_for(model, INVERSE[direction], method), translated)
                speeds.append(seconds_256(generator))
            outputs.setdefault(method, {})[direction] = translated
            p, s = _pair_metrics(translated, truth)
            m = {"psnr": float(p.mean()), "ssim": float(s.mean())}
            if clf is not None:
                m["fd"] = frechet_distance_from_features(scene_features(clf, translated), truth_features[direction])
                m["reads_as_target"] = float((classify(clf, translated)["time"].argmax(1) == target_time[direction]).mean())
            if back is not None:
                err = np.abs(back.astype(np.float64) - source.astype(np.float64)) / 255.0
                m["cycle_l1"] = float(err.mean())
                m["cycle_psnr"] = float(np.mean([psnr(x, y, y_channel=False) for x, y in zip(source, back, strict=True)]))
            m["psnr_by_weather"] = {w: float(p[weathers == w].mean()) for w in WEATHERS if (weathers == w).any()}
            per_direction[direction] = m
            per_scene[direction] = {"psnr": p.round(3).tolist(), "ssim": s.round(4).tolist()}
        keys = [key for key in METRICS if all(key in v for v in per_direction.values())]
        mean = {key: float(np.mean([v[key] for v in per_direction.values()])) for key in keys}
        if speeds:
            mean["seconds_256"] = float(np.mean(speeds))
        out["methods"][method] = {"title": _title(method), "checkpoint": checkpoint, "directions": list(per_direction),
                                  "per_direction": per_direction, "per_scene": per_scene, "mean": mean}  # fmt: skip
    out["paper_check"] = paper_check(out)
    if failures_dir is not None:
        if progress:
            progress(0.9, "failure cases")
        out["failures"] = failure_cases(out, pairs, outputs, photos, failures_dir)
    return out


def paper_check(result: dict) -> dict:
    """Is pix2pix (paired) ahead of CycleGAN (unpaired) here, per direction and metric?"""
    m = result["methods"]
    if "per_direction" not in m.get(PIX2PIX, {}) or "per_direction" not in m.get(CYCLEGAN, {}):
        return {"claim": PAPER_CLAIM, "verdict": "not checked: a model is missing", "comparisons": []}
    comparisons = []
    for direction in DIRECTIONS:
        a, b = m[PIX2PIX]["per_direction"][direction], m[CYCLEGAN]["per_direction"][direction]
        for key, higher_better in (("psnr", True), ("ssim", True), ("fd", False)):
            if key in a and key in b:
                ahead = a[key] > b[key] if higher_better else a[key] < b[key]
                comparisons.append({"direction": direction, "metric": key, "pix2pix": a[key], "cyclegan": b[key],
                                    "pix2pix_ahead": bool(ahead)})  # fmt: skip
    wins = sum(c["pix2pix_ahead"] for c in comparisons)
    n = len(comparisons)
    holds = "holds" if wins == n else "does not hold" if wins == 0 else "holds only in part"
    verdict = (f"pix2pix is ahead of CycleGAN on {wins} of {n} comparisons (PSNR, SSIM, {FD_NAME}; both "
               f"directions): the paper's finding {holds} here.")  # fmt: skip
    return {"claim": PAPER_CLAIM, "verdict": verdict, "pix2pix_wins": wins, "comparisons": comparisons}


def _panel_caption(image: np.ndarray, truth: np.ndarray | None) -> str:
    if truth is None:
        return ""
    return f"{psnr(truth, image, y_channel=False):.1f} dB / {ssim(truth, image, y_channel=False):.3f}"


def failure_cases(result: dict, pairs, outputs: dict, photos: tuple[str, ...], failures_dir: Path) -> list[dict]:
    """Real photos through both translators (day -> night) and the worst held-out pair."""
    failures_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    trained = [m for m in (PIX2PIX, CYCLEGAN) if m in outputs]
    if not trained:
        return cases
    models = {m: hub.load(m).model for m in trained}
    available = eval_photos() if photos else {}
    for name in photos:
        if name not in available:
            continue
        size = work_size(models[trained[0]])
        x = square(available[name], size)
        panels = [Panel(x, f"{name} (real photo)", "no ground truth")]
        numbers = {}
        for m in trained:
            night = run_generator(generator_for(models[m], DAY2NIGHT), x)
            panels.append(Panel(night, f"{SHORT_NAMES[m]}: day → night"))
            if m == CYCLEGAN:
                back = run_generator(generator_for(models[m], NIGHT2DAY), night)
                numbers["cycle_psnr"] = psnr(x, back, y_channel=False)
                panels.append(Panel(back, "CycleGAN: back to day", f"cycle {numbers['cycle_psnr']:.1f} dB"))
            numbers[f"{m}_mean_luma"] = float(night.mean())
        image = failures_dir / f"translation_photo_{name}.png"
        compose_comparison(panels, height=256, footer="Real photo, centre-cropped and resized to the models' "
                           f"{size} px; both were trained only on procedural scenes.").save(image)  # fmt: skip
        cases.append({
            "task": "translation", "title": f"Day → night on a real photo: {name}",
            "image": f"{failures_dir.name}/{image.name}", "numbers": numbers,
            "why": ("Both translators learned the procedural scenes' night (dark blue sky, lit window grids, "
                    "lamp pools): on a photo they darken and tint it and paint light where the scenes would "
                    "have windows or lamps, which a real night would not. Real photos have no paired ground "
                    "truth, so only the cycle can be scored."),
        })  # fmt: skip
    # the worst held-out pair: lowest PSNR of the trained models, either direction
    worst = None
    for m in trained:
        for direction, scores in result["methods"][m]["per_scene"].items():
            i = int(np.argmin(scores["psnr"]))
            if worst is None or scores["psnr"][i] < worst[2]:
                worst = (m, direction, scores["psnr"][i], i)
    if worst is not None:
        m, direction, score, i = worst
        source = pairs.day[i] if direction == DAY2NIGHT else pairs.night[i]
        truth = pairs.night[i] if direction == DAY2NIGHT else pairs.day[i]
        panels = [Panel(source, f"input ({direction.split('2')[0]})")]
        for mm in trained:
            if direction in outputs[mm]:
                img = outputs[mm][direction][i]
                panels.append(Panel(img, SHORT_NAMES[mm], _panel_caption(img, truth)))
        panels.append(Panel(truth, "ground truth", "PSNR dB / SSIM (RGB)"))
        params = pairs.params[i]
        image = failures_dir / f"translation_worst_{direction}.png"
        compose_comparison(panels, height=256, footer=f"held-out scene {i} ({params.season}, {params.weather}); "
                           f"{DIRECTIONS[direction]}").save(image)  # fmt: skip
        cases.append({
            "task": "translation", "title": f"Worst held-out scene, {DIRECTIONS[direction]} ({result['methods'][m]['title']})",
            "image": f"{failures_dir.name}/{image.name}",
            "numbers": {"psnr": score, "scene": i, "season": params.season, "weather": params.weather},
            "why": (f"Scene {i} ({params.season}, {params.weather}) scores {score:.1f} dB against "
                    f"{result['methods'][m]['per_direction'][direction]['psnr']:.1f} dB on average for "
                    f"{result['methods'][m]['title']}. "
                    + ("Which windows are lit at night cannot be seen by day, so any translator can only guess "
                       "them (and the lamp pools); a scene with many large lit facades makes the guess cost most."
                       if direction == DAY2NIGHT else
                       "Night erases most colour (facades, trees, ground, a snowy or grassy field), so night -> "
                       "day has to guess it; a wrong guess over a large area costs the whole image.")),
        })  # fmt: skip
    return cases


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for method, r in result["methods"].items():
        for direction, m in r.get("per_direction", {}).items():
            rows.append({"method": method, "direction": direction,
                         **{k: v for k, v in m.items() if not isinstance(v, dict)},
                         **{f"psnr_{w}": v for w, v in m.get("psnr_by_weather", {}).items()}})  # fmt: skip
        if "mean" in r:
            rows.append({"method": method, "direction": "MEAN", **r["mean"]})
    return rows


def card_section(result: dict, method: str) -> str:
    """Markdown for a model card's Evaluation section, from a run() result."""
    r = result["methods"][method]
    lines = [f"`python -m eval.run translation` on {result.get('date', '?')[:10]}: {result['dataset']}", "",
             f"| direction | PSNR (dB, RGB) | SSIM (RGB) | {FD_NAME} | reads as target | cycle PSNR (dB) |",
             "|---|---|---|---|---|---|"]  # fmt: skip

    def fmt(v, spec):
        return "–" if v is None else format(v, spec)

    for direction, m in r["per_direction"].items():
        lines.append(f"| {DIRECTIONS[direction]} | {m['psnr']:.2f} | {m['ssim']:.4f} | {fmt(m.get('fd'), '.2f')} | "
                     f"{fmt(m.get('reads_as_target'), '.1%')} | {fmt(m.get('cycle_psnr'), '.2f')} |")  # fmt: skip
    base = result["methods"].get(IDENTITY, {}).get("per_direction")
    if base:
        lines += ["", "The input left as is scores " + ", ".join(
            f"{base[d]['psnr']:.2f} dB / {base[d]['ssim']:.4f} ({DIRECTIONS[d]})" for d in base) + "."]
    if result.get("fd_floor"):
        lines += ["", "FD floor (two sets of ground-truth renders): " + ", ".join(
            f"{v:.2f} ({'night' if d == DAY2NIGHT else 'day'})" for d, v in result["fd_floor"].items()) + "."]
    if "seconds_256" in r["mean"]:
        lines += ["", f"One 256x256 translation on CPU: {r['mean']['seconds_256']:.3f} s."]
    if result.get("paper_check", {}).get("comparisons"):
        lines += ["", result["paper_check"]["verdict"]]
    return "\n".join(lines)

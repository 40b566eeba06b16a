"""DCGAN benchmark: the face-attribute classifier (trained on ground-truth renders) judges samples.

- classifier sanity: its accuracy on fresh ground-truth renders (so its verdicts can be trusted);
- attribute frequencies of generated vs rendered faces;
- FD (face-attribute-classifier features) between generated and rendered faces, next to the same
  distance between two independent sets of renders (the floor for this sample size);
- vector arithmetic: success rate over seeded random trials A - B + C (target: C's attributes with
  the one A has and B lacks); also how often the plain mean of C already shows it (the baseline);
- slider monotonicity: classifier probability of the attribute along each direction in z;
- speed: 64 samples on this CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES, make_faces
from eval.comparison import Panel, compose_comparison, stack_vertical
from eval.metrics import checkerboard_excess, frechet_distance_from_features
from eval.timing import best_seconds
from models import hub
from models.catalog import get_entry
from models.classifiers import extract_features
from models.dcgan import generate, load_directions, sample_z
from models.latent_arithmetic import (
    PRESETS,
    arithmetic,
    concept_text,
    generate_and_judge,
    judge,
    preset_arithmetic,
    target_of,
    to_model_range,
)
from models.tensors import from_signed_tensor

N_SAMPLES = 2000
TRIALS = 200
PRESET_SEEDS = 10
SECOND_JUDGE = "face-attribute-judge-aug"
SLIDER_STEPS = np.linspace(-2.0, 2.0, 9)
SLIDER_LATENTS = 64
EVAL_RENDER_SEEDS = (3000, 3001)  # training used 1000 (DCGAN) and 2000/2001 (classifier)
FD_NAME = "FD (face-attribute-classifier features)"
METRICS = {
    "classifier_accuracy": "accuracy of the face-attribute classifier on 2,000 fresh ground-truth renders, per attribute",
    "fd": f"{FD_NAME}: Fréchet distance between 128-d penultimate features of the classifier "
          f"(trained here), {N_SAMPLES} generated vs {N_SAMPLES} rendered faces; not Inception FID",
    "fd_real_vs_real": "the same distance between two independent sets of renders (the floor)",
    "arithmetic_success": f"fraction of {TRIALS} seeded trials whose decoded A - B + C shows the whole "
                          "target (transferred attribute and C's context) per the classifier",
    "transfer_rate": "fraction of trials showing the transferred attribute",
    "context_kept": "fraction of trials keeping C's context attribute",
    "baseline_c": "fraction of trials where mean(C) alone already shows the target (chance level)",
    "monotone_fraction": f"fraction of {SLIDER_LATENTS} random z whose attribute probability never "
                         f"drops by more than 0.05 along the direction from -2 to +2",
    "spearman": "mean Spearman correlation between step and attribute probability",
    "seconds_64": "best of 5 wall seconds to generate 64 samples (64x64) on this CPU",
    "checkerboard": f"power of {N_SAMPLES} samples over rendered faces at the x2-upsampling frequencies "
                    "(u, v multiples of 16 on 64 px: the pattern of the last two layers), relative to that "
                    "ratio at all other frequencies (eval.metrics.checkerboard_excess; ~1 = none)",
    "checkerboard_real": "the same for a second set of renders (the floor)",
    "preset_hits": f"the tab's default preset at seeds 0-{PRESET_SEEDS - 1}: mean number of its 5 decoded "
                   "images showing the whole target (seed 0 is what the tab shows first)",
    "second_judge_agreement": "fraction of generated samples on which the degradation-trained second judge "
                              "(face-attribute-judge-aug) reads an attribute as the first judge does",
    "arithmetic_success_second_judge": "arithmetic success of the same decoded trials, read by the second judge",
}  # fmt: skip
DATASET = ("procedural faces (data/faces.py, 64x64): DCGAN samples from seeded z vs fresh ground-truth "
           f"renders (render seeds {EVAL_RENDER_SEEDS}, never used in training)")  # fmt: skip
VALUES = {"smile": [0, 1], "glasses": [0, 1], "hair": ["black", "brown", "blonde", "red", "grey"],
          "background": list(CATEGORICAL_ATTRIBUTES["background"])}  # fmt: skip



def _renders(n: int, seed: int) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    ds = make_faces(n, 64, seed)
    return to_model_range(ds.images), ds.labels()


def random_trial(rng: np.random.Generator) -> tuple[dict, dict, dict]:
    """A, B, C concepts: X is transferred (A has x1, B and C x0); Y is context (y1 in A/B, y2 in C)."""
    x, y = rng.choice(list(VALUES), size=2, replace=False)
    x1, x0 = rng.choice(VALUES[x], size=2, replace=False)
    y1, y2 = rng.choice(VALUES[y], size=2, replace=False)
    cast = {k: (int if k in BINARY_ATTRIBUTES else str) for k in VALUES}
    x1, x0, y1, y2 = cast[x](x1), cast[x](x0), cast[y](y1), cast[y](y2)
    return {x: x1, y: y1}, {x: x0, y: y1}, {x: x0, y: y2}


def arithmetic_trials(g, clf, trials: int, progress=None, pool: int = 4096) -> tuple[dict, list[dict]]:
    """Seeded random trials. Exemplars come from one judged pool of `pool` samples (three drawn at
    random among the confident matches of each concept), so a trial costs four decodes."""
    rng = np.random.default_rng(0)
    z_pool = sample_z(pool, g.z_dim, 9999)
    _, judged = generate_and_judge(g, clf, z_pool)
    outcomes, records = [], []
    skipped = 0
    for t in range(trials):
        if progress and t % 10 == 0:
            progress(0.3 + 0.5 * t / trials, f"arithmetic trial {t + 1}/{trials}")
        a, b, c = random_trial(rng)
        zs = []
        for concept in (a, b, c):
            idx = [i for i in range(pool) if judged.matches(i, concept, confident=True)]
            zs.append(z_pool[rng.choice(idx, size=3, replace=False)] if len(idx) >= 3 else None)
        if any(z is None for z in zs):
            skipped += 1
            continue
        target = target_of(a, b, c)
        r = arithmetic(g, clf, *zs, target=target, seed=t, perturbations=0)
        x = next(k for k in a if a[k] != b[k])
        y = next(k for k in c if k != x)
        verdict = r.verdicts[0]
        judged_c = judge(clf, to_model_range(r.concept_means["C"][None]))
        outcomes.append({"success": r.success[0], "transfer": verdict[x] == target[x],
                         "context": verdict[y] == target[y], "baseline": judged_c.matches(0, target),
                         "x": x})  # fmt: skip
        records.append({"trial": t, "a": a, "b": b, "c": c, "target": target, "verdict": verdict,
                        "success": r.success[0], "result": r})  # fmt: skip
    summary = {
        "trials": len(outcomes), "skipped_no_exemplars": skipped,
        "arithmetic_success": float(np.mean([o["success"] for o in outcomes])) if outcomes else float("nan"),
        "transfer_rate": float(np.mean([o["transfer"] for o in outcomes])) if outcomes else float("nan"),
        "context_kept": float(np.mean([o["context"] for o in outcomes])) if outcomes else float("nan"),
        "baseline_c": float(np.mean([o["baseline"] for o in outcomes])) if outcomes else float("nan"),
        "success_by_transferred": {x: float(np.mean([o["success"] for o in outcomes if o["x"] == x]))
                                   for x in VALUES if any(o["x"] == x for o in outcomes)},
    }  # fmt: skip
    return summary, records


@torch.inference_mode()
def slider_curves(g, clf, directions: dict[str, torch.Tensor]) -> dict[str, dict]:
    """Per direction: mean attribute probability at each step, monotone fraction, mean Spearman."""
    z = sample_z(SLIDER_LATENTS, g.z_dim, 77)
    out = {}
    for key, d in directions.items():
        attr, _, value = key.partition("=")
        if attr not in BINARY_ATTRIBUTES and attr not in CATEGORICAL_ATTRIBUTES:
            continue
        probs = []
        for a in SLIDER_STEPS:
            logits = clf(to_model_range(generate(g, z + float(a) * d)))[attr]
            if attr in BINARY_ATTRIBUTES:
                p = torch.sigmoid(logits)
            else:
                p = torch.softmax(logits, -1)[:, CATEGORICAL_ATTRIBUTES[attr].index(value)]
            probs.append(p.numpy())
        probs = np.stack(probs, 1)  # (latents, steps)
        monotone = (np.diff(probs, axis=1) >= -0.05).all(axis=1)
        rho = [spearmanr(SLIDER_STEPS, row).statistic for row in probs if np.ptp(row) > 1e-6]
        out[key] = {"steps": SLIDER_STEPS.tolist(), "mean_probability": probs.mean(0).tolist(),
                    "monotone_fraction": float(monotone.mean()),
                    "spearman": float(np.nanmean(rho)) if rho else float("nan")}  # fmt: skip
    return out


def preset_hits(g, clf, seeds: int = PRESET_SEEDS) -> dict[str, dict]:
    """Per preset of the tab: how many of the 5 decoded images show the target, at seeds 0..seeds-1."""
    out = {}
    for name in PRESETS:
        hits = []
        for seed in range(seeds):
            done = preset_arithmetic(g, clf, name, seed)
            hits.append(None if done is None else int(sum(done[0].success)))
        counted = [h for h in hits if h is not None]
        out[name] = {"hits_per_seed": hits, "mean_hits": float(np.mean(counted)) if counted else float("nan"),
                     "seed0": hits[0], "of": 5}  # fmt: skip
    return out


def attribute_reads(judged) -> dict[str, np.ndarray]:
    reads = {k: judged.probs[k] > 0.5 for k in BINARY_ATTRIBUTES}
    reads.update({k: np.asarray(v) for k, v in judged.classes.items()})
    return reads


def second_reading(clf2, fake: torch.Tensor, judged_fake, records: list[dict], real: torch.Tensor,
                   labels: dict[str, np.ndarray]) -> dict:  # fmt: skip
    """The independent judge on the same generated samples and decoded arithmetic results: its accuracy
    on renders (so it can be trusted), per-attribute agreement with the first judge on samples, the
    arithmetic success it reads, and the trials the two judges score differently."""
    j2_real = judge(clf2, real)
    acc = {k: float(np.mean((j2_real.probs[k] > 0.5) == labels[k].astype(bool))) for k in BINARY_ATTRIBUTES}
    acc.update({k: float(np.mean([names.index(v) for v in j2_real.classes[k]] == labels[k]))
                for k, names in CATEGORICAL_ATTRIBUTES.items()})  # fmt: skip
    r1, r2 = attribute_reads(judged_fake), attribute_reads(judge(clf2, fake))
    agreement = {k: float(np.mean(r1[k] == r2[k])) for k in r1}
    success2, disagree = [], []
    if records:  # every trial's first decoded result, judged in one batch
        j2 = judge(clf2, to_model_range(np.concatenate([rec["result"].results[:1] for rec in records])))
    for i, rec in enumerate(records):
        ok2 = j2.matches(i, rec["target"])
        success2.append(ok2)
        if ok2 != rec["success"]:
            disagree.append({"trial": rec["trial"], "target": rec["target"], "first_judge": rec["verdict"],
                             "second_judge": j2.row(i), "first_success": rec["success"]})  # fmt: skip
    return {"accuracy_on_renders": acc, "agreement": agreement,
            "arithmetic_success": float(np.mean(success2)) if success2 else float("nan"),
            "trials_scored_differently": len(disagree), "disagreements": disagree[:20]}  # fmt: skip


def seconds_for_64(g) -> float:
    z = sample_z(64, g.z_dim, 0)
    return best_seconds(lambda: generate(g, z))


def run(progress=None, failures_dir: Path | None = None, n_samples: int = N_SAMPLES,
        trials: int = TRIALS, preset_seeds: int = PRESET_SEEDS) -> dict:  # fmt: skip
    try:
        g_loaded, c_loaded = hub.load("dcgan-faces"), hub.load("face-attribute-classifier")
    except hub.ModelUnavailable as exc:
        return {"metrics": METRICS, "dataset": DATASET, "methods": {"dcgan-faces": {"title": "DCGAN", "error": str(exc)}}}
    g, clf = g_loaded.model, c_loaded.model
    if progress:
        progress(0.0, "rendering faces")
    real_a, labels_a = _renders(n_samples, EVAL_RENDER_SEEDS[0])
    real_b, _ = _renders(n_samples, EVAL_RENDER_SEEDS[1])
    judged_real = judge(clf, real_a)
    acc = {}
    for k in BINARY_ATTRIBUTES:
        acc[k] = float(np.mean((judged_real.probs[k] > 0.5) == labels_a[k].astype(bool)))
    for k, names in CATEGORICAL_ATTRIBUTES.items():
        acc[k] = float(np.mean([names.index(v) for v in judged_real.classes[k]] == labels_a[k]))
    if progress:
        progress(0.1, "generating samples")
    fake = to_model_range(generate(g, sample_z(n_samples, g.z_dim, 12345)))
    judged_fake = judge(clf, fake)
    freq = {"generated": {k: float(np.mean(judged_fake.probs[k] > 0.5)) for k in BINARY_ATTRIBUTES},
            "rendered": {k: float(np.mean(labels_a[k])) for k in BINARY_ATTRIBUTES}}  # fmt: skip
    for k, names in CATEGORICAL_ATTRIBUTES.items():
        for name in names:
            freq["generated"][f"{k}={name}"] = float(np.mean([v == name for v in judged_fake.classes[k]]))
            freq["rendered"][f"{k}={name}"] = float(np.mean(labels_a[k] == names.index(name)))
    f_real_a, f_real_b, f_fake = (extract_features(clf, x).numpy() for x in (real_a, real_b, fake))
    fd = frechet_distance_from_features(f_fake, f_real_a)
    fd_floor = frechet_distance_from_features(f_real_b, f_real_a)
    if progress:
        progress(0.3, "vector arithmetic")
    arith, records = arithmetic_trials(g, clf, trials, progress)
    if progress:
        progress(0.85, "slider directions")
    directions = load_directions(get_entry("dcgan-faces").embedded_dir)
    sliders = slider_curves(g, clf, directions)
    mono = [v["monotone_fraction"] for v in sliders.values()]
    if progress:
        progress(0.9, "the tab's presets, checkerboard spectrum, second judge")
    presets = preset_hits(g, clf, preset_seeds)
    fake_u8, real_a_u8, real_b_u8 = (from_signed_tensor(x) for x in (fake, real_a, real_b))
    try:
        j2_loaded = hub.load(SECOND_JUDGE)
    except hub.ModelUnavailable:
        j2_loaded, second = None, None
    else:
        second = second_reading(j2_loaded.model, fake, judged_fake, records, real_a, labels_a)
    mean = {"fd": fd, "fd_real_vs_real": fd_floor, "arithmetic_success": arith["arithmetic_success"],
            "transfer_rate": arith["transfer_rate"], "context_kept": arith["context_kept"],
            "baseline_c": arith["baseline_c"],
            "monotone_fraction": float(np.mean(mono)) if mono else float("nan"),
            "spearman": float(np.nanmean([v["spearman"] for v in sliders.values()])) if sliders else float("nan"),
            "seconds_64": seconds_for_64(g),
            "checkerboard": checkerboard_excess(fake_u8, real_a_u8),
            "checkerboard_real": checkerboard_excess(real_b_u8, real_a_u8),
            "preset_hits": presets[next(iter(PRESETS))]["mean_hits"],
            "preset_hits_seed0": presets[next(iter(PRESETS))]["seed0"]}  # fmt: skip
    if second is not None:
        mean["second_judge_agreement"] = float(np.mean(list(second["agreement"].values())))
        mean["arithmetic_success_second_judge"] = second["arithmetic_success"]
    out = {"metrics": METRICS, "dataset": DATASET, "fd_label": FD_NAME, "methods": {"dcgan-faces": {
        "title": "DCGAN (faces)", "checkpoint": g_loaded.provenance(), "judge": c_loaded.provenance(),
        "mean": mean, "classifier_accuracy": acc, "attribute_frequency": freq, "arithmetic": arith,
        "sliders": sliders, "presets": presets, "second_judge": second,
        "second_judge_checkpoint": j2_loaded.provenance() if j2_loaded else None}}}  # fmt: skip
    if failures_dir is not None:
        out["failures"] = arithmetic_failures(records, failures_dir)
    return out


def arithmetic_failures(records: list[dict], failures_dir: Path, top: int = 2) -> list[dict]:
    """Failed trials (the first `top` in trial order: seeded, not hand-picked), as image strips."""
    failed = [r for r in records if not r["success"]][:top]
    failures_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for rec in failed:
        r = rec["result"]
        panels = [Panel(r.concept_means[n], n, concept_text(rec[n.lower()])) for n in "ABC"]
        panels.append(Panel(r.results[0], "A − B + C", concept_text(rec["verdict"])))
        sheet = stack_vertical([compose_comparison(panels, height=160,
                                                   footer=f"target: {concept_text(rec['target'])}")])  # fmt: skip
        image = failures_dir / f"dcgan_arithmetic_trial{rec['trial']}.png"
        sheet.save(image)
        wrong = [k for k, v in rec["target"].items() if rec["verdict"].get(k) != v]
        read = ", ".join(f"{k}={rec['verdict'][k]}" for k in wrong)
        cases.append({
            "task": "dcgan", "title": f"Vector arithmetic failed (trial {rec['trial']})",
            "image": f"{failures_dir.name}/{image.name}",
            "numbers": {"wrong_attributes": wrong},
            "why": (f"A − B + C should show {concept_text(rec['target'])} but the classifier reads "
                    f"{read}: the attribute is not a "
                    "single linear direction in this small generator's z."),
        })  # fmt: skip
    return cases


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for method, r in result["methods"].items():
        if "mean" in r:
            rows.append({"method": method, "measure": "summary", **r["mean"]})
            for key, s in r["sliders"].items():
                rows.append({"method": method, "measure": f"slider {key}", "monotone_fraction": s["monotone_fraction"],
                             "spearman": s["spearman"]})  # fmt: skip
            for key, v in r["classifier_accuracy"].items():
                rows.append({"method": method, "measure": f"classifier accuracy {key}", "accuracy": v})
    return rows


def card_section(result: dict, method: str) -> str:
    m = result["methods"][method]["mean"]
    a = result["methods"][method]["arithmetic"]
    return "\n".join([
        f"`python -m eval.run dcgan` on {result.get('date', '?')[:10]}: {DATASET}.", "",
        "| measure | value |", "|---|---|",
        f"| {FD_NAME}, generated vs rendered | {m['fd']:.2f} (real vs real: {m['fd_real_vs_real']:.2f}) |",
        f"| vector arithmetic success ({a['trials']} trials) | {m['arithmetic_success']:.1%} "
        f"(transfer {m['transfer_rate']:.1%}, context kept {m['context_kept']:.1%}, mean(C) alone {m['baseline_c']:.1%}) |",
        f"| slider monotone fraction / Spearman | {m['monotone_fraction']:.1%} / {m['spearman']:.2f} |",
        f"| 64 samples on CPU | {m['seconds_64']:.3f} s |",
        *([f"| checkerboard excess at the upsampling frequencies | {m['checkerboard']:.2f} (renders: "
           f"{m['checkerboard_real']:.2f}) |"] if "checkerboard" in m else []),
        *([f"| tab's default preset: target in n of 5 decoded images | seed 0: {m['preset_hits_seed0']}, "
           f"mean over seeds 0-{PRESET_SEEDS - 1}: {m['preset_hits']:.1f} |"] if "preset_hits" in m else []),
        *([f"| second judge (degradation-trained): agreement / arithmetic success | "
           f"{m['second_judge_agreement']:.1%} / {m['arithmetic_success_second_judge']:.1%} |"]
          if "second_judge_agreement" in m else []),
    ])  # fmt: skip

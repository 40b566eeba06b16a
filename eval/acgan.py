"""AC-GAN benchmark on Fashion-MNIST: a classifier trained on the real training split judges
generated samples.

- per class: the classifier's accuracy on generated samples (does the sample show the requested
  class?) next to its accuracy on the real test photos of that class (its own ceiling);
- per class: FD (fashion-classifier features) between generated samples and the real test photos
  of the class, next to real training vs real test photos of the class (the floor);
- speed: 64 samples on this CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data.fashion_mnist import CLASSES, load_fashion_mnist, to_tensor_range
from eval.comparison import Panel, compose_comparison
from eval.metrics import frechet_distance_from_features
from eval.timing import best_seconds
from models import hub
from models.acgan import class_logits, generate_classes, to_judge_input
from models.classifiers import extract_features

PER_CLASS = 1000
FD_NAME = "FD (fashion-classifier features)"
METRICS = {
    "accuracy": f"fraction of {PER_CLASS} generated samples per class that the Fashion-MNIST classifier "
                "(trained here on the real training split) assigns to the requested class",
    "real_accuracy": "the classifier's accuracy on the real test photos of the class (its ceiling)",
    "fd": f"{FD_NAME}: Fréchet distance between 128-d penultimate features, {PER_CLASS} generated vs "
          "the 1,000 real test photos of the class; not Inception FID",
    "fd_real": "the same distance between 1,000 real training photos and the real test photos of the class (the floor)",
    "seconds_64": "best of 5 wall seconds to generate 64 samples (32x32) on this CPU",
}  # fmt: skip
DATASET = "Fashion-MNIST test split (10,000 real photos, Debian dataset-fashion-mnist), padded to 32x32"



def _predict(clf, x: torch.Tensor) -> np.ndarray:
    return class_logits(clf, x).argmax(-1).numpy()


def run(progress=None, failures_dir: Path | None = None, per_class: int = PER_CLASS, data=None) -> dict:
    try:
        g_loaded, c_loaded = hub.load("acgan-fashion"), hub.load("fashion-classifier")
        test_images, test_labels = load_fashion_mnist("test", data)
        train_images, train_labels = load_fashion_mnist("train", data)
    except (hub.ModelUnavailable, FileNotFoundError) as exc:
        return {"metrics": METRICS, "dataset": DATASET,
                "methods": {"acgan-fashion": {"title": "AC-GAN", "error": str(exc)}}}  # fmt: skip
    g, clf = g_loaded.model, c_loaded.model
    x_test = torch.from_numpy(to_tensor_range(test_images))
    real_pred = _predict(clf, x_test)
    per: dict[str, dict] = {}
    samples: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for c, name in enumerate(CLASSES):
        if progress:
            progress(c / len(CLASSES), name)
        images = generate_classes(g, torch.full((per_class,), c), 500 + c)
        x_fake = to_judge_input(images)
        pred = _predict(clf, x_fake)
        real_c = x_test[test_labels == c]
        train_c = torch.from_numpy(to_tensor_range(train_images[train_labels == c][:len(real_c)]))
        f_fake, f_real, f_train = (extract_features(clf, x).numpy() for x in (x_fake, real_c, train_c))
        per[name] = {"accuracy": float(np.mean(pred == c)),
                     "real_accuracy": float(np.mean(real_pred[test_labels == c] == c)),
                     "fd": frechet_distance_from_features(f_fake, f_real),
                     "fd_real": frechet_distance_from_features(f_train, f_real)}  # fmt: skip
        samples[c] = (images, pred)
    labels = torch.arange(64) % 10
    best = best_seconds(lambda: generate_classes(g, labels, 0))
    mean = {k: float(np.mean([v[k] for v in per.values()])) for k in ("accuracy", "real_accuracy", "fd", "fd_real")}
    mean["seconds_64"] = best
    out = {"metrics": METRICS, "dataset": DATASET, "fd_label": FD_NAME, "methods": {"acgan-fashion": {
        "title": "AC-GAN (Fashion-MNIST)", "checkpoint": g_loaded.provenance(), "judge": c_loaded.provenance(),
        "per_class": per, "mean": mean}}}  # fmt: skip
    if failures_dir is not None:
        out["failures"] = class_failures(per, samples, failures_dir)
    return out


def class_failures(per: dict, samples: dict, failures_dir: Path, shown: int = 8) -> list[dict]:
    """The class whose samples the classifier recognises least, with samples it rejected."""
    worst = min(per, key=lambda n: per[n]["accuracy"])
    c = CLASSES.index(worst)
    images, pred = samples[c]
    wrong = np.flatnonzero(pred != c)[:shown]
    if len(wrong) == 0:
        return []
    failures_dir.mkdir(parents=True, exist_ok=True)
    panels = [Panel(images[i], f"→ {CLASSES[pred[i]]}"[:12]) for i in wrong]
    image = failures_dir / "acgan_worst_class.png"
    compose_comparison(panels, height=96, footer=f"AC-GAN samples of '{worst}' the classifier reads as another class").save(image)
    confused = max(set(pred[pred != c].tolist()), key=pred.tolist().count)
    return [{
        "task": "acgan", "title": f"AC-GAN class confusion: {worst}",
        "image": f"{failures_dir.name}/{image.name}",
        "numbers": {"accuracy": per[worst]["accuracy"], "real_accuracy": per[worst]["real_accuracy"]},
        "why": (f"Only {per[worst]['accuracy']:.0%} of generated '{worst}' samples are recognised "
                f"(real photos: {per[worst]['real_accuracy']:.0%}); most others read as "
                f"'{CLASSES[confused]}', a class of similar silhouette the generator blends into."),
    }]  # fmt: skip


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for method, r in result["methods"].items():
        for name, v in r.get("per_class", {}).items():
            rows.append({"method": method, "class": name, **v})
        if "mean" in r:
            rows.append({"method": method, "class": "MEAN", **r["mean"]})
    return rows


def card_section(result: dict, method: str) -> str:
    r = result["methods"][method]
    lines = [f"`python -m eval.run acgan` on {result.get('date', '?')[:10]}: {DATASET}; judge: the "
             "fashion-classifier trained here on the real training split.", "",
             f"| class | accuracy on samples | accuracy on real | {FD_NAME} | real-vs-real FD |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, v in r["per_class"].items():
        lines.append(f"| {name} | {v['accuracy']:.1%} | {v['real_accuracy']:.1%} | {v['fd']:.2f} | {v['fd_real']:.2f} |")
    m = r["mean"]
    lines.append(f"| **mean** | **{m['accuracy']:.1%}** | {m['real_accuracy']:.1%} | **{m['fd']:.2f}** | {m['fd_real']:.2f} |")
    lines += ["", f"64 samples on CPU: {m['seconds_64']:.3f} s."]
    return "\n".join(lines)

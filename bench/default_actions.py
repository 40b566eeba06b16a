"""Default-action benchmark: seconds for each tab's default action, called in process through the
tab's own handler (the code behind its button, with the values the UI starts with).

    python -m bench.default_actions [--repeats 3]

Per action: the first call (which loads its models lazily) and the best of --repeats warm calls.
Target (issue #21): every default action under 1 s warm on a 2-core CPU (Deep Image Prior is not a
default method; it streams progress). Gradio's own HTTP/queue overhead is not included (see
bench/startup and bench/load for those).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("GAN_GALLERY_SOURCE", "embedded")  # the app's defaults, never the network


def actions() -> dict[str, callable]:
    """name -> zero-argument callable running one tab's default action."""
    from demos import dcgan, inpainting, superres, text2image, translation
    from models.latent_arithmetic import PRESETS

    photo = str(superres.EXAMPLES_DIR / "astronaut_256.png")
    embedded = next(k for k, v in superres.MODELS.items() if v == "embedded")
    editor = inpainting.load_example(inpainting.example_photos()[0])
    scene = sorted(str(p) for p in translation.EXAMPLES_DIR.glob("*.png"))[0]

    def inpaint_default():
        for _ in inpainting.inpaint_photo(editor, inpainting.DEFAULT_METHODS, 2, 0, 300,
                                          progress=lambda *a, **k: None):  # fmt: skip
            pass

    return {
        "DCGAN grid (16 faces)": lambda: dcgan.sample_grid(0),
        "DCGAN arithmetic (preset)": lambda: dcgan.run_arithmetic(dcgan.MODE_PRESET, next(iter(PRESETS)),
                                                                   "1, 2, 3", "4, 5, 6", "7, 8, 9", 0),
        "AC-GAN (20 samples)": lambda: dcgan.acgan_samples("All classes", 0, 20),
        "Text to image (8 samples)": lambda: text2image.generate_samples("two red balls and a blue cube", 8, 0),
        "Inpainting (default methods, 256 px)": inpaint_default,
        "Translation (held-out scene)": lambda: translation.translate_image(scene),
        "SR compare (256 px photo)": lambda: superres.super_resolve(photo, superres.MODE_COMPARE, embedded),
        "SR upscale (256 px photo)": lambda: superres.super_resolve(photo, superres.MODE_UPSCALE, embedded),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.default_actions", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", default="", help="run the actions whose name contains this text")
    args = p.parse_args(argv)
    import torch

    print(f"torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}")
    print(f"load average {_load()} (other work on the machine: wall seconds are noisy)")
    for name, fn in actions().items():
        if args.only.lower() not in name.lower():
            continue
        t = time.perf_counter()
        fn()
        first = time.perf_counter() - t
        warm, per_model = float("inf"), {}
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t
            if seconds < warm:
                warm, per_model = seconds, _model_seconds(out)
        print(f"{name:<40} first {first:6.2f} s   warm {warm:6.3f} s  {'OK' if warm < 1 else 'over 1 s'}",
              flush=True)  # fmt: skip
        for model, s in per_model.items():  # SR: the target is per model (< 1 s at 256 px)
            print(f"    {model:<36} {s:6.3f} s  {'OK' if s < 1 else 'over 1 s'}", flush=True)
    print(f"load average {_load()}")
    return 0


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def _model_seconds(out) -> dict[str, float]:
    """Per-method seconds from an SR action's table (its "Seconds" column), else {}."""
    table = next((o for o in out if hasattr(o, "columns") and "Seconds" in o.columns), None) \
        if isinstance(out, tuple) else None
    if table is None:
        return {}
    return {str(r["Method"]): float(r["Seconds"]) for _, r in table.iterrows() if r["Method"] != "Bicubic"}


if __name__ == "__main__":
    raise SystemExit(main())

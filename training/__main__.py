"""`python -m training <method> [options]`: train one method through the engine
(training/engine.py). `python -m training <method> --help` lists the method's options; `python -m training replot DIR`
redraws a finished run's loss curves from its training_log.csv and points its card at them."""

from __future__ import annotations

import importlib
import sys

# method -> the module whose RECIPES (or, for methods not yet on the engine, main()) trains it
METHODS = {"srresnet": "training.superres", "srgan": "training.superres",
           "dcgan": "training.dcgan", "acgan": "training.dcgan", "face-classifier": "training.dcgan",
           "face-judge-aug": "training.dcgan",
           "fashion-classifier": "training.dcgan", "dcgan-directions": "training.dcgan",
           "inpainting": "training.inpainting", "pix2pix": "training.translation",
           "cyclegan": "training.translation", "scene-classifier": "training.translation",
           "scene-clip": "training.text2image", "gan-int-cls": "training.gan_int_cls"}  # fmt: skip


def recipe_for(method: str):
    module = importlib.import_module(METHODS[method])
    recipes = getattr(module, "RECIPES", {})
    return recipes[method]() if method in recipes else None


def main(argv: list[str]) -> int:
    from training.config import ConfigError
    from training.engine import train

    if argv[:1] == ["replot"] and len(argv) == 2:  # redraw a finished run's curves (training.engine.replot)
        from training.engine import replot

        print(replot(argv[1]))
        return 0
    if not argv or argv[0] not in METHODS:
        print(f"usage: python -m training {{{','.join(METHODS)}}} [options]  (add --help)", file=sys.stderr)
        return 2
    recipe = recipe_for(argv[0])
    try:
        if recipe is None:
            return importlib.import_module(METHODS[argv[0]]).main(argv)
        train(recipe, argv)
    except ConfigError as exc:
        print(f"python -m training {argv[0]}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

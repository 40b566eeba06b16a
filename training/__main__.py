"""`python -m training <method> [options]`: dispatch to training/<method>.py's main()."""

import importlib
import sys

METHODS = {"srresnet": "training.superres", "srgan": "training.superres",
           "dcgan": "training.dcgan", "acgan": "training.dcgan", "face-classifier": "training.dcgan",
           "fashion-classifier": "training.dcgan", "dcgan-directions": "training.dcgan",
           "inpainting": "training.inpainting", "pix2pix": "training.translation",
           "cyclegan": "training.translation", "scene-classifier": "training.translation",
           "scene-clip": "training.text2image", "gan-int-cls": "training.text2image"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in METHODS:
        print(f"usage: python -m training {{{','.join(METHODS)}}} [options]  (add --help)")
        return 2
    module = importlib.import_module(METHODS[argv[0]])
    return module.main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

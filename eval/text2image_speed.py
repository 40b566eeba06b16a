"""Text to image speed on this CPU: one caption -> 8 samples, including the text encoding.

    python -m eval.text2image_speed [--caption TEXT] [--samples N] [--repeats R]

Prints, for the embedded GAN-INT-CLS and its LiT scene CLIP: the one-off load (the frozen
all-MiniLM-L6-v2 sentence encoder from its PyPI package, the CLIP's projection and image tower, the
GAN), then the best of R wall times of (a) text encoding alone (the sentence encoder + projection,
uncached), (b) caption -> N samples with the text encoded afresh, (c) the same with the caption's
vector cached (what a repeated caption costs in the tab), and (d) scoring the N samples with the
CLIP. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time

import torch

from eval.timing import best_seconds
from models import hub
from models.scene_clip import clip_scores
from models.text2image import GAN_NAME, generate_images, text_encoder_for


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m eval.text2image_speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--caption", default="two red balls and a blue cube")
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    seeds = list(range(args.samples))

    t = time.perf_counter()
    gan = hub.load(GAN_NAME, "embedded").model
    encoder = text_encoder_for(gan)
    encoder.tower()  # the sentence encoder loads on first use
    load = time.perf_counter() - t

    def fresh(fn):
        def run():
            encoder._vectors.clear()
            return fn()

        return run

    text = best_seconds(fresh(lambda: encoder.encode_text([args.caption])), repeats=args.repeats)
    full = best_seconds(fresh(lambda: generate_images(gan, encoder, [args.caption], seeds)), repeats=args.repeats)
    cached = best_seconds(lambda: generate_images(gan, encoder, [args.caption], seeds), repeats=args.repeats)
    images = generate_images(gan, encoder, [args.caption], seeds)
    score = best_seconds(lambda: clip_scores(encoder, images, [args.caption] * len(images)), repeats=args.repeats)
    out = {"load_s": load, "text_encoding_s": text, "caption_to_samples_s": full,
           "caption_to_samples_cached_text_s": cached, "clip_scores_s": score}  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; caption {args.caption!r}, "
          f"{args.samples} samples (64x64), best of {args.repeats}")
    print(f"  load (sentence encoder + LiT CLIP + GAN), once:   {load:8.3f} s")
    print(f"  text encoding (uncached):                         {text:8.4f} s")
    print(f"  caption -> {args.samples} samples, text encoded afresh:     {full:8.4f} s")
    print(f"  caption -> {args.samples} samples, caption vector cached:  {cached:8.4f} s")
    print(f"  CLIP scores of the {args.samples} samples (LiT scene CLIP): {score:8.4f} s")
    return out


if __name__ == "__main__":
    main()

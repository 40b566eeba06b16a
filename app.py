"""GAN Gallery: the classic GAN image methods side by side. `python app.py` serves it on :7860."""

from __future__ import annotations

import logging
import os

import gradio as gr

from demos import dcgan, evaluation, inpainting, serving, superres, text2image, translation

# a tab is listed here once it works end to end
TABS = [superres, dcgan, text2image, inpainting, translation, evaluation]

INTRO = """# GAN Gallery
Classic GAN image methods side by side, on models this project trains and ships (and larger Hub
checkpoints when the machine can reach the Hub). Every number says what it was computed on."""


# gradio's cache (uploads, outputs it saved itself): checked every 5 minutes, files over 15 minutes
# old removed. Our own per-request files are pruned by age and size (demos.common.prune_outputs).
DELETE_CACHE = (300, 900)


def build_app() -> gr.Blocks:
    with gr.Blocks(title="GAN Gallery", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for tab in TABS:
                with gr.Tab(tab.TITLE):
                    tab.build_tab()
    return demo


def serve(demo: gr.Blocks, **launch_kwargs):
    """queue() and launch() with the app's limits: 2 jobs per tab at a time (2 cores), a fair
    queue (a few places per session, capped per tab), request bodies capped before they are read,
    25 MB per file, and no internal error text (paths, exceptions) shown to users: what a person
    can act on is a gr.Error with its own message."""
    demo.queue(default_concurrency_limit=2, max_size=serving.QUEUE_MAX_SIZE)
    serving.install_fair_queue(demo)
    launch_kwargs.setdefault("show_error", False)
    return demo.launch(max_file_size="25mb", app_kwargs={"middleware": serving.body_limit_middleware()},
                       **launch_kwargs)  # fmt: skip


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(build_app(), server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
          server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), theme=gr.themes.Soft())


if __name__ == "__main__":
    main()

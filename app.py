"""GAN Gallery: the classic GAN image methods side by side. `python app.py` serves it on :7860."""

from __future__ import annotations

import logging
import os

import gradio as gr

from demos import checkpoints, dcgan, evaluation, inpainting, superres, text2image, translation

# a tab is listed here once it works end to end
TABS = [superres, dcgan, text2image, inpainting, translation, evaluation, checkpoints]

INTRO = """# GAN Gallery
Classic GAN image methods side by side, on models this project trains and ships (and larger Hub
checkpoints when the machine can reach the Hub). Every number says what it was computed on."""


def build_app() -> gr.Blocks:
    with gr.Blocks(title="GAN Gallery") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for tab in TABS:
                with gr.Tab(tab.TITLE):
                    tab.build_tab()
    return demo


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    demo = build_app()
    demo.queue(default_concurrency_limit=2, max_size=64)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size="25mb",
        theme=gr.themes.Soft(),
        show_error=True,
    )


if __name__ == "__main__":
    main()

"""GAN Gallery: the classic GAN image methods side by side. `python app.py` serves it on :7860.

Importing this module is cheap: gradio and the tabs (torch, the models' code) are imported when the
app is built, and models load on first use (issue #21: `import app` under 3 s).
"""

from __future__ import annotations

import logging
import os

INTRO = """# GAN Gallery
Classic GAN image methods side by side, on models this project trains and ships (and larger Hub
checkpoints when the machine can reach the Hub). Every number says what it was computed on."""


def tabs() -> list:
    """The tab modules, in order (a tab is listed here once it works end to end)."""
    from demos import checkpoints, dcgan, evaluation, inpainting, superres, text2image, translation

    return [superres, dcgan, text2image, inpainting, translation, evaluation, checkpoints]


def __getattr__(name: str):  # app.TABS, imported on first use
    if name == "TABS":
        return tabs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_app():
    """The gr.Blocks of the whole app (not launched)."""
    import gradio as gr

    with gr.Blocks(title="GAN Gallery") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for tab in tabs():
                with gr.Tab(tab.TITLE):
                    tab.build_tab()
    return demo


def main() -> None:
    import gradio as gr

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

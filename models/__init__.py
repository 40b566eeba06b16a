"""Models: architectures, inference helpers and checkpoint loading. Never imports gradio."""

"""The one model-card writer: training writes a card from its run facts, eval.run refreshes the
card's evaluation section; both go through `write_model_card`, which renders the whole card with
huggingface_hub.ModelCard from the facts stored beside it (training_meta.json), so no card is ever
cut apart as text.
"""

from __future__ import annotations

import json
from pathlib import Path

META_FILE = "training_meta.json"

_TEMPLATE = """---
{{ card_data }}
---
# {{ name }}

{{ summary }}

## Training

- Command: `{{ command }}`
{%- if earlier_commands %}
- Resumed from earlier sessions of the same run: {% for earlier in earlier_commands %}`{{ earlier }}`{% if not loop.last %}, then {% endif %}{% endfor %}
{%- endif %}
{%- if lineage %}
- Warm-start lineage, oldest first: {% for parent in lineage %}`{{ parent.command }}` ({{ parent.steps }} steps, {{ parent.date }}){% if not loop.last %}, then {% endif %}{% endfor %}, then the command above
{%- endif %}
- Seed: {{ seed }}
- Data: {{ data }}
- Steps: {{ steps }} (batch {{ batch }}{% if processes and processes > 1 %} on each of {{ processes }} processes{% endif %}), {{ details }}
- Wall time: {{ "%.1f"|format(wall_seconds / 60) }} min on {{ machine }}
{%- if device %}
- Device: {{ device }}{% if accelerate %} (accelerate: {{ accelerate }}){% endif %}
{%- endif %}
{%- if ema %}
- Weights: {{ ema }}
{%- endif %}
{%- if selected %}
- Checkpoint kept: {{ selected }}
{%- endif %}
- Date: {{ date }}
- Parameters: {{ "{:,}".format(parameters) }}
- Loss curves: {{ curves }}, values in `training_log.csv`
{% if limitations %}
## Limitations

{{ limitations }}
{% endif %}
{%- if evaluation %}
## Evaluation

{{ evaluation }}
{% endif %}
"""


def read_meta(directory: Path) -> dict:
    path = Path(directory) / META_FILE
    meta = json.loads(path.read_text()) if path.is_file() else {}
    if "evaluation" not in meta and meta.get("metrics"):  # cards written before models/cards.py
        meta["evaluation"] = meta.pop("metrics")
    return meta


def write_model_card(directory: Path, meta: dict | None = None, evaluation: str | None = None) -> Path:
    """Render README.md in `directory` from `meta` (default: the stored training_meta.json).
    `evaluation` (markdown) replaces the card's evaluation section; None keeps the stored one."""
    from huggingface_hub import ModelCard, ModelCardData

    directory = Path(directory)
    meta = dict(meta if meta is not None else read_meta(directory))
    if not meta:
        raise FileNotFoundError(f"{directory / META_FILE} is missing: the card has no facts to show")
    if evaluation is not None:
        meta["evaluation"] = evaluation.strip()
    meta.setdefault("curves", "`loss_curve.png`")
    data = ModelCardData(library_name="pytorch", license=meta.get("license", "mit"),
                         tags=list(meta.get("tags", [])))  # fmt: skip
    facts = {k: v for k, v in meta.items() if k != "card_data"}
    card = ModelCard.from_template(data, template_str=_TEMPLATE, **facts)
    card.save(directory / "README.md")
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return directory / "README.md"

"""What a saved model directory declares about itself (oped_config.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from model.schema import CODEBOOK_TASK, TaskSchema

CONFIG_NAME = "oped_config.json"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    schema: TaskSchema = CODEBOOK_TASK
    base_model: str = "packaged:all-MiniLM-L6-v2"
    max_length: int = 256
    finetune: str = "lora"  # "lora": adapter on a base loaded by name; "full": the whole encoder is saved
    encoder_layers: int = 0  # > 0: the base cut to its first N layers (a distilled fast model)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: tuple = ("query", "key", "value", "dense")
    dropout: float = 0.1
    name: str = "oped"
    training: dict = field(default_factory=dict)  # provenance written by the trainer

    def to_json(self) -> str:
        d = asdict(self)
        d["schema"] = self.schema.to_dict()
        d["format_version"] = FORMAT_VERSION
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d.pop("format_version", None)
        d["schema"] = TaskSchema.from_dict(d["schema"]) if "schema" in d else CODEBOOK_TASK
        if "lora_targets" in d:
            d["lora_targets"] = tuple(d["lora_targets"])
        return cls(**d)

    @classmethod
    def load(cls, directory: str | Path) -> "ModelConfig":
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{directory} is not an oped model directory (no {CONFIG_NAME})")
        return cls.from_dict(json.loads(path.read_text()))

    def save(self, directory: str | Path) -> None:
        (Path(directory) / CONFIG_NAME).write_text(self.to_json() + "\n")

"""Training arguments: one dataclass, read from a TOML file plus --set overrides."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from model.schema import CODEBOOK_TASK, SchemaError, TaskSchema


class ConfigError(ValueError):
    """A training config that cannot run; the message names the key."""


@dataclass
class TrainingArguments:
    # data
    data: str = "codebook"  # "codebook": the project's annotations; "jsonl": train_file/dev_file/test_file
    corpus: str = "../shared/corpora/allsides_foreign_policy.jsonl"
    annotations: str = "data/annotations"
    synthetic: str = "data/synthetic"
    use_paragraphs: bool = True
    use_synthetic: bool = True
    synthetic_files: str = "*.jsonl"  # which files of the synthetic folder to train on (a glob)
    exclude_pools: str = ""  # comma-separated sampling rounds (pool names) left out of training, e.g. "active_directional";
    # "paragraph_round" leaves out round 5's paragraph labels
    train_file: str = ""
    dev_file: str = ""  # jsonl without a dev file: dev_fraction of train is held out
    test_file: str = ""
    text_field: str = "text"
    dev_fraction: float = 0.15
    # model
    base_model: str = "packaged:all-MiniLM-L6-v2"
    max_length: int = 256
    finetune: str = "lora"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    pooling: str = ""  # override every dimension's pooling (attention | mean | max); empty keeps the task's
    encoder_layers: int = 0  # > 0: keep only the base encoder's first N layers (a faster student)
    # distillation: a trained teacher's article-level probabilities as soft targets
    teacher: str = ""  # teacher model directory ("default" for the bundled one); empty = no distillation
    distill_corpus: str = ""  # unlabelled articles (JSONL with id, text) the teacher scores for the student
    distill_articles: int = 0  # how many unlabelled articles to draw (0 = none, only the labelled train set)
    distill_weight: float = 1.0  # weight of the soft-target loss next to the hard-label loss
    student_init: str = "teacher"  # "teacher": start from the teacher's own weights where shapes match
    # (its first layers' adapter and its heads), so the student begins near the teacher; "base": fresh
    # optimisation
    epochs: int = 6
    batch_size: int = 16  # windows per step
    learning_rate: float = 5e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    level_loss_weight: float = 0.5  # within-class levels (e.g. -1 vs -2) next to the class loss
    direction_loss_weight: float = 0.0  # which side (hawkish vs dovish) on items coded with a side
    paragraph_weight: float = 0.5
    balance_paragraph_sides: bool = False  # paragraphs that take a side: the larger side's example weights
    # scaled down so that both sides (e.g. hawkish and dovish) carry the same total (training.examples.balance_sides)
    synthetic_weight: float = 0.5
    class_weighting: str = "sqrt_inverse"  # or "none"
    train_max_chunks: int = 8  # windows of one article per step (a random run of them); scoring reads all
    neutral_sample_rate: float = 1.0  # share of all-neutral, frame-absent real examples drawn anew each epoch
    patience: int = 2
    seed: int = 13
    precision: str = "auto"  # auto (bf16 where the CPU or GPU supports it) | bf16 | fp32
    device: str = "auto"
    output_dir: str = "runs/default"
    name: str = "oped"
    task: dict = field(default_factory=dict)  # a [task] table; empty = the codebook's two dimensions

    def __post_init__(self):
        if self.data not in ("codebook", "jsonl"):
            raise ConfigError(f"data must be 'codebook' or 'jsonl', not {self.data!r}")
        if self.data == "jsonl" and not self.train_file:
            raise ConfigError("data = 'jsonl' needs train_file")
        if self.finetune not in ("lora", "full"):
            raise ConfigError(f"finetune must be 'lora' or 'full', not {self.finetune!r}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"precision must be auto, bf16 or fp32, not {self.precision!r}")
        if self.class_weighting not in ("sqrt_inverse", "none"):
            raise ConfigError(f"class_weighting must be sqrt_inverse or none, not {self.class_weighting!r}")
        for name in ("epochs", "batch_size", "max_length", "train_max_chunks"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.student_init not in ("teacher", "base"):
            raise ConfigError(f"student_init must be 'teacher' or 'base', not {self.student_init!r}")
        if self.distill_articles and not (self.teacher and self.distill_corpus):
            raise ConfigError("distill_articles needs teacher and distill_corpus")
        for name in ("level_loss_weight", "direction_loss_weight", "distill_weight", "paragraph_weight",
                     "synthetic_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if self.balance_paragraph_sides and not (self.data == "codebook" and self.use_paragraphs):
            raise ConfigError("balance_paragraph_sides needs data = 'codebook' and use_paragraphs = true")
        if not 0 < self.neutral_sample_rate <= 1:
            raise ConfigError("neutral_sample_rate must be in (0, 1]")
        if not 0 < self.learning_rate < 1:
            raise ConfigError("learning_rate must be in (0, 1)")
        self.schema()  # validate the task now, not after loading data

    def schema(self) -> TaskSchema:
        try:
            schema = TaskSchema.from_dict(self.task) if self.task else CODEBOOK_TASK
        except SchemaError as e:
            raise ConfigError(f"[task]: {e}") from None
        if self.pooling:
            from dataclasses import replace

            try:
                schema = TaskSchema(schema.name, tuple(replace(d, pooling=self.pooling) for d in schema.dimensions))
            except SchemaError as e:
                raise ConfigError(f"pooling: {e}") from None
        return schema

    def to_dict(self) -> dict:
        return asdict(self)


def pool_names(text: str) -> set[str]:
    """The pool names of an exclude_pools value ("a, b" -> {"a", "b"})."""
    return {x.strip() for x in text.split(",") if x.strip()}


def _coerce(name: str, raw: str, current):
    """--set values arrive as text; give them the type of the default."""
    if isinstance(current, bool):
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"--set {name}: expected true or false, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"--set {name}: expected an integer, got {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"--set {name}: expected a number, got {raw!r}") from None
    return raw


def load_arguments(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainingArguments:
    values: dict = {}
    if path:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
    known = {f.name for f in fields(TrainingArguments)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config keys: {unknown}")
    try:
        return TrainingArguments(**apply_overrides(values, overrides))
    except TypeError as e:
        raise ConfigError(str(e)) from None


def apply_overrides(values: dict, overrides: list[str] | None) -> dict:
    """values with each `key=value` of overrides applied, the value read as the type of the key's
    current (or default) value; unknown keys and unreadable values are ConfigErrors."""
    values = dict(values)
    defaults = TrainingArguments.__dataclass_fields__
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in defaults or key == "task":
            raise ConfigError(f"--set: unknown key {key!r}")
        values[key] = _coerce(key, raw.strip(), values.get(key, defaults[key].default))
    return values

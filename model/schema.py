"""Task schema: which dimensions a model scores, declared as data, not code.

Each dimension is an ordered set of *levels* (what coders assign) grouped into
*classes* (what a user reads). The stance dimension has levels -2..2 grouped
into dovish / neutral / hawkish; sovereignty has salience levels 0..2 grouped
into absent / present. A one-level-per-class dimension (FOMC's dovish / neutral /
hawkish sentences) is the same structure with identity grouping, so any
codebook with ordered or nominal categories fits without new code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class SchemaError(ValueError):
    """A task schema that cannot be trained or scored."""


@dataclass(frozen=True)
class Dimension:
    name: str
    label_field: str  # column of the label file holding the level
    levels: tuple  # ordered level values, e.g. (-2, -1, 0, 1, 2)
    classes: tuple  # class names, in order
    level_class: tuple  # class index of each level
    level_values: tuple | None = None  # numeric value per level, for an expected intensity
    score_classes: tuple | None = None  # (negative, positive) class names: score = P(pos) - P(neg)
    positive_class: str | None = None  # binary dimensions: the class whose probability is reported
    pooling: str = "attention"  # how chunk evidence becomes an article score: attention | mean | max
    level_name: str = "level"  # what the levels measure, for output columns ("intensity", "salience")

    def __post_init__(self):
        if len(self.levels) != len(self.level_class):
            raise SchemaError(f"{self.name}: levels and level_class differ in length")
        if len(set(self.levels)) != len(self.levels):
            raise SchemaError(f"{self.name}: duplicate levels")
        if sorted(set(self.level_class)) != list(range(len(self.classes))):
            raise SchemaError(f"{self.name}: every class needs at least one level")
        if self.level_values is not None and len(self.level_values) != len(self.levels):
            raise SchemaError(f"{self.name}: level_values and levels differ in length")
        for c in (self.score_classes or ()) + ((self.positive_class,) if self.positive_class else ()):
            if c not in self.classes:
                raise SchemaError(f"{self.name}: unknown class {c!r}")
        if self.pooling not in ("attention", "mean", "max"):
            raise SchemaError(f"{self.name}: pooling must be attention, mean or max")

    @property
    def signal_classes(self) -> tuple:
        """Classes that carry a signal worth evidence (not 'neutral' or 'absent')."""
        if self.score_classes:
            return tuple(self.score_classes)
        if self.positive_class:
            return (self.positive_class,)
        return self.classes

    @property
    def signal_levels(self) -> tuple:
        return tuple(self.classes[c] in self.signal_classes for c in self.level_class)

    def level_index(self, value) -> int:
        """Index of a coded value among the levels; raises SchemaError if unknown."""
        for i, level in enumerate(self.levels):
            if level == value or str(level) == str(value):
                return i
        raise SchemaError(f"{self.name}: value {value!r} is not one of {list(self.levels)}")

    @classmethod
    def from_dict(cls, d: dict) -> "Dimension":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise SchemaError(f"dimension {d.get('name')!r}: unknown keys {sorted(unknown)}")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        except TypeError as e:
            raise SchemaError(f"dimension {d.get('name')!r}: {e}") from None


@dataclass(frozen=True)
class TaskSchema:
    name: str
    dimensions: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not self.dimensions:
            raise SchemaError(f"task {self.name!r} declares no dimensions")
        names = [d.name for d in self.dimensions]
        if len(set(names)) != len(names):
            raise SchemaError(f"task {self.name!r}: duplicate dimension names")

    def __getitem__(self, name: str) -> Dimension:
        for d in self.dimensions:
            if d.name == name:
                return d
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"name": self.name, "dimensions": [asdict(d) for d in self.dimensions]}

    @classmethod
    def from_dict(cls, d: dict) -> "TaskSchema":
        dims = d.get("dimensions")
        if not isinstance(dims, list):
            raise SchemaError("task schema needs a list 'dimensions'")
        return cls(name=d.get("name", "task"), dimensions=tuple(Dimension.from_dict(x) for x in dims))


STANCE = Dimension(
    name="stance", label_field="stance", levels=(-2, -1, 0, 1, 2),
    classes=("dovish", "neutral", "hawkish"), level_class=(0, 0, 1, 2, 2),
    level_values=(-2.0, -1.0, 0.0, 1.0, 2.0), score_classes=("dovish", "hawkish"), level_name="intensity",
)
SOVEREIGNTY = Dimension(
    name="sovereignty", label_field="sovereignty_salience", levels=(0, 1, 2),
    classes=("absent", "present"), level_class=(0, 1, 1), level_values=(0.0, 1.0, 2.0),
    positive_class="present", level_name="salience",
)
CODEBOOK_TASK = TaskSchema(name="codebook-v1", dimensions=(STANCE, SOVEREIGNTY))

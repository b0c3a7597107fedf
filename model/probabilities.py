"""From level probabilities to what a user reads: class probabilities, an
expected intensity, and a signed score."""

from __future__ import annotations

import torch

from model.schema import Dimension


def class_probs(dim: Dimension, level_probs: torch.Tensor) -> torch.Tensor:
    """Sum level probabilities into class probabilities: [n, levels] -> [n, classes]."""
    index = torch.tensor(dim.level_class, device=level_probs.device)
    out = torch.zeros(level_probs.shape[0], len(dim.classes), dtype=level_probs.dtype, device=level_probs.device)
    return out.index_add(1, index, level_probs)


def expected_value(dim: Dimension, level_probs: torch.Tensor) -> torch.Tensor | None:
    if dim.level_values is None:
        return None
    values = torch.tensor(dim.level_values, dtype=level_probs.dtype, device=level_probs.device)
    return level_probs @ values


def signed_score(dim: Dimension, probs: torch.Tensor) -> torch.Tensor | None:
    """P(positive class) - P(negative class), in [-1, 1]; None for dimensions without a direction."""
    if not dim.score_classes:
        return None
    neg, pos = (dim.classes.index(c) for c in dim.score_classes)
    return probs[:, pos] - probs[:, neg]


def level_within_class(dim: Dimension, level_probs: torch.Tensor, klass: torch.Tensor) -> list:
    """The most probable level inside each row's predicted class (e.g. salience 1 or 2 when present)."""
    out = []
    for row, k in zip(level_probs.tolist(), klass.tolist()):
        members = [i for i, c in enumerate(dim.level_class) if c == k]
        out.append(dim.levels[max(members, key=lambda i: row[i])])
    return out

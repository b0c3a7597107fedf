"""Encoder plus one head per task dimension, with pooling from chunks to articles.

Each chunk (a window of <= max_length tokens) is encoded and mean-pooled into a
vector. A dimension's head maps a vector to logits over its levels. An article
is scored from its chunk vectors by the dimension's pooling:
  attention: learned weights over chunks, then the head on the weighted sum;
  mean:      the head on the mean chunk vector;
  max:       the chunk whose non-base classes are most probable (max evidence).
The same head scores single paragraphs, so paragraph labels and article labels
train the same parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from model.schema import Dimension, TaskSchema


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class DimensionHead(nn.Module):
    def __init__(self, dim: Dimension, hidden: int, dropout: float = 0.1):
        super().__init__()
        self.dim = dim
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, len(dim.levels))
        self.attention = nn.Linear(hidden, 1) if dim.pooling == "attention" else None

    def chunk_logits(self, vectors: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(vectors))

    def pool(self, vectors: torch.Tensor, doc_index: torch.Tensor, n_docs: int):
        """Article logits [n_docs, levels] and chunk weights [n_chunks] (for evidence)."""
        pooling = self.dim.pooling
        if pooling == "max":
            logits = self.chunk_logits(vectors)
            signal = torch.tensor(self.dim.signal_levels, device=vectors.device)
            strength = logits.softmax(-1)[:, signal].sum(-1)
            out, weights = [], torch.zeros_like(strength)
            for d in range(n_docs):
                idx = (doc_index == d).nonzero().squeeze(1)
                best = idx[strength[idx].argmax()]
                weights[best] = 1.0
                out.append(logits[best])
            return torch.stack(out), weights
        if pooling == "attention":
            scores = self.attention(vectors).squeeze(-1)
        else:
            scores = torch.zeros(vectors.shape[0], device=vectors.device, dtype=vectors.dtype)
        # softmax within each document (chunks of several documents share a batch); the
        # per-document max keeps it stable and independent of the other documents
        doc_max = torch.full((n_docs,), float("-inf"), device=scores.device, dtype=scores.dtype)
        doc_max = doc_max.scatter_reduce(0, doc_index, scores, reduce="amax", include_self=True)
        exp = (scores - doc_max[doc_index]).exp()
        denom = torch.zeros(n_docs, device=vectors.device, dtype=exp.dtype).index_add(0, doc_index, exp)
        weights = exp / denom[doc_index]
        pooled = torch.zeros(n_docs, vectors.shape[1], device=vectors.device, dtype=vectors.dtype)
        pooled = pooled.index_add(0, doc_index, vectors * weights.unsqueeze(-1))
        return self.chunk_logits(pooled), weights


class OpedModel(nn.Module):
    """The trainable network: any Hugging Face encoder plus dimension heads."""

    def __init__(self, encoder: nn.Module, schema: TaskSchema, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.schema = schema
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({d.name: DimensionHead(d, hidden, dropout) for d in schema.dimensions})

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return mean_pool(self.encode_tokens(input_ids, attention_mask), attention_mask).float()

    def encode_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The encoder's token states [batch, tokens, hidden], before pooling."""
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, input_ids, attention_mask, doc_index, n_docs: int):
        """Article-level logits per dimension, and chunk weights per dimension."""
        vectors = self.encode(input_ids, attention_mask)
        return self.pool(vectors, doc_index, n_docs)

    def pool(self, vectors, doc_index, n_docs: int):
        logits, weights = {}, {}
        for name, head in self.heads.items():
            logits[name], weights[name] = head.pool(vectors, doc_index, n_docs)
        return logits, weights

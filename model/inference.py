"""Scoring documents with a trained model: chunk, encode, pool, explain.

Documents are cut into windows (model.chunking), the windows of many documents
are sorted by length and encoded in batches (little padding), then each
document's windows are pooled into article scores. Evidence is a sentence of
the window that most supports the predicted class: by default ("in-context") the
sentence whose tokens, taken out of the window's mean, lower the window's
probability of that class the most, read from the same encoder pass; or
("standalone") the sentence the model scores highest for that class when each is
encoded again on its own (eval/results/evidence_methods.md compares the two).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import torch

from model.chunking import PAD_MULTIPLE, Chunk, chunk_text, pad_batch, special_tokens, windowing_fingerprint
from model.config import ModelConfig
from model.modeling import mean_pool
from model.probabilities import class_probs, expected_value, level_within_class, signed_score
from model.schema import Dimension
from model.text import split_sentences

MAX_EVIDENCE_SENTENCES = 40  # standalone evidence: sentences encoded again; a cap on cost, not on text read
EVIDENCE_METHODS = ("in-context", "standalone")


def check_evidence_method(method: str) -> None:
    if method not in EVIDENCE_METHODS:
        raise ValueError(f"evidence_method must be one of {EVIDENCE_METHODS}, not {method!r}")


def cpu_supports_bf16() -> bool:
    """True on CPUs with native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def windowing_warning(config: ModelConfig, tokenizer) -> str:
    """A warning when a model's training recorded other token windows than this code cuts
    (model.chunking.windowing_fingerprint); empty when they match or none was recorded."""
    trained = (config.training or {}).get("windowing")
    today = windowing_fingerprint(tokenizer, config.max_length) if trained else None
    if trained == today:
        return ""
    return (f"{config.name} was trained on texts cut into windows by other code (windowing {trained[:16]}, this "
            f"code {today[:16]}): its scores here may differ from its recorded dev and test figures")


def model_warnings(config: ModelConfig, tokenizer) -> list[str]:
    """windowing_warning and model.loading.base_warning, those that apply."""
    from model.loading import base_warning

    return [w for w in (windowing_warning(config, tokenizer), base_warning(config)) if w]


def pick_device_dtype(device: str = "auto", dtype: str = "auto") -> tuple[torch.device, torch.dtype]:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    dev = torch.device(device)
    if dtype == "auto":
        # CUDA: native bf16 from compute capability 8 (Ampere) on; older GPUs (T4, V100) only
        # emulate it, slowly, though torch.cuda.is_bf16_supported() says yes for them
        bf16 = cpu_supports_bf16() if dev.type == "cpu" else torch.cuda.get_device_capability(dev)[0] >= 8
        return dev, torch.bfloat16 if bf16 else torch.float32
    return dev, {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]


@dataclass
class Prepared:
    """A document cut into windows, ready for the encoder."""
    chunks: list[Chunk]
    n_words: int
    n_tokens: int


@dataclass
class SentenceStates:
    """Sums of token states (fp32) from one encoder pass, for in-context evidence: per window
    over all its tokens (the numerator of its mean), and per sentence over the sentence's
    tokens in that window. Window w's sentences are rows first[w]:first[w + 1]."""
    window_sum: torch.Tensor  # [windows, hidden]
    window_tokens: torch.Tensor  # [windows]
    sentence_sum: torch.Tensor  # [sentences, hidden]
    sentence_tokens: torch.Tensor  # [sentences]
    first: list[int]


@dataclass
class DocumentScore:
    values: dict  # output columns, in order
    chunks: list[dict] = field(default_factory=list)  # per-window scores, for --paragraphs


def _sentence_sums_by_window(hidden: torch.Tensor, spans: list[list[tuple]]) -> torch.Tensor:
    """Sums of token states over each window's sentence spans, [sentences, hidden] in window
    then span order, as one batched product with a one-hot [windows, spans, tokens] matrix.
    For CUDA: there index_add_ adds with atomics in no fixed order, so near-tie evidence could
    flip between runs, while a matrix product adds in a fixed order. In fp64, where sums of a
    few hundred fp32 token states round far below fp32's own precision, and TF32 does not
    apply. CPUs keep index_add_, deterministic there, so CPU outputs stay bit for bit what they
    were. (torch.use_deterministic_algorithms would also fix index_add_, but process-wide.)"""
    most = max((len(s) for s in spans), default=0)
    local = torch.full(hidden.shape[:2], most, dtype=torch.long)  # tokens outside spans: a spare row
    for r, row in enumerate(spans):
        for j, (a, b, _) in enumerate(row):
            local[r, a:b] = j
    one_hot = torch.nn.functional.one_hot(local.to(hidden.device), most + 1).transpose(1, 2).double()
    sums = torch.bmm(one_hot, hidden.double()).float()  # [windows, most + 1, hidden]
    keep = torch.tensor([[j < len(row) for j in range(most + 1)] for row in spans], device=hidden.device)
    return sums[keep]


class Scorer:
    """A loaded model ready to score: `Scorer.score(texts)` or `score_prepared`."""

    sentence_sums_by_product = False  # True: CUDA's way of summing sentences on CPUs too (for tests)

    def __init__(self, net, tokenizer, config: ModelConfig, model_id: str,
                 device: str = "auto", dtype: str = "auto", batch_size: int = 32, autocast: bool = False):
        """autocast=False casts the encoder's weights to the chosen dtype (fastest, for
        inference); autocast=True leaves them as they are (evaluation during training)."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a whole number of windows, at least 1 (got {batch_size!r})")
        self.device, self.dtype = pick_device_dtype(device, dtype)
        self.net = net.to(self.device)
        self.autocast = autocast and self.dtype != torch.float32
        if not autocast:
            self.net.encoder.to(self.dtype)
        self.net.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.schema = config.schema
        self.model_id = model_id
        self.batch_size = batch_size
        self.sort_by_length = True  # length-sorted batches waste little on padding (eval/results/perf.md)
        self.pad_multiple = PAD_MULTIPLE  # few batch shapes: bounded memory on oneDNN CPUs (model.chunking)
        self._head_tokens = sum(len(x) for x in special_tokens(tokenizer))
        self.pad_id = tokenizer.pad_token_id or 0
        self.evidence_method = "in-context"  # or "standalone" (model.inference's docstring)
        self._compiled_encode = None  # net.encode_tokens through torch.compile, after compile()
        self._compiled_once = False  # its first call compiles; a failure there means no compiler

    def compile(self) -> None:
        """Run the encoder through torch.compile (inductor, weights frozen as constants,
        dynamic shapes). The encoder alone measured 1.45x after a one-off compilation of
        26 s on an AMX CPU (eval/results/profile_encoder.md), and whole runs of 6,000
        articles 1.16-1.35x (eval/results/bench_compile_amx_86aff0f.md, docs/scaling.md); on an AMD
        EPYC 2,000 articles ran at 0.99x (eval/results/bench_compile.md). For long runs where it pays,
        never for a few hundred articles. Needs a C++ compiler on CPUs; where compilation fails,
        scoring goes on uncompiled, with a warning on stderr."""
        import torch._inductor.config as inductor

        # freezing (weights as constants, so oneDNN can prepack them) is an inductor setting of
        # the whole process: set only when compiling is asked for, and nothing else in a scoring
        # process compiles (set around each call instead, it ran slower in a trial).
        inductor.freezing = True
        self._compiled_encode = torch.compile(self.net.encode_tokens, dynamic=True)
        self._compiled_once = False

    @property
    def compiled(self) -> bool:
        """Whether the encoder runs compiled (False again after a failed compilation)."""
        return self._compiled_encode is not None

    def load_warnings(self) -> list[str]:
        """What a user should know before trusting this model's scores here: other windows or
        other base weights than it was trained on."""
        return model_warnings(self.config, self.tokenizer)

    def output_columns(self) -> list[str]:
        """The columns of a scored row, in order (an error row has the same, mostly empty)."""
        probe = self.score(["probe"], evidence=False)[0].values
        tail = ["n_words", "n_tokens", "n_chunks", "model", "evidence_method"]
        cols = ["id", "status", "error"] + [c for c in probe if not c.startswith("evidence_") and c not in tail]
        cols += [f"evidence_{d.name}" for d in self.schema.dimensions]
        return cols + tail

    # -- preparation (CPU work that can run in another thread) --------------
    def prepare(self, text: str) -> Prepared:
        chunks = chunk_text(text, self.tokenizer, self.config.max_length)
        n_tokens = sum(len(c.input_ids) - self._head_tokens for c in chunks)
        return Prepared(chunks, len(text.split()), n_tokens)

    # -- encoding ------------------------------------------------------------
    def pad(self, sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """A padded batch as this scorer encodes it (width rounded, never past the window)."""
        return pad_batch(sequences, self.pad_id, self.pad_multiple, self.config.max_length)

    @torch.inference_mode()
    def encode(self, sequences: list[list[int]], sentences: list[list[tuple]] | None = None):
        """Vectors for token sequences, batched in length order; returned in input order.
        Given each sequence's sentence spans (Chunk.sentences), also their SentenceStates."""
        hidden_size = self.net.encoder.config.hidden_size
        out = torch.empty(len(sequences), hidden_size)
        states = None
        if sentences is not None:
            first = [0]
            for spans in sentences:
                first.append(first[-1] + len(spans))
            states = SentenceStates(torch.zeros(len(sequences), hidden_size), torch.zeros(len(sequences)),
                                    torch.zeros(first[-1], hidden_size), torch.zeros(first[-1]), first)
        order = (sorted(range(len(sequences)), key=lambda i: len(sequences[i])) if self.sort_by_length
                 else list(range(len(sequences))))
        for start in range(0, len(order), self.batch_size):
            idx = order[start: start + self.batch_size]
            ids, mask = self.pad([sequences[i] for i in idx])
            mask = mask.to(self.device)
            vectors, tokens = self._encode_batch(ids.to(self.device), mask)
            out[torch.tensor(idx)] = vectors.cpu()
            if states is not None:
                self._sum_sentences(tokens, mask, idx, sentences, states)
        return out if states is None else (out, states)

    @staticmethod
    def _sum_sentences(tokens: torch.Tensor, mask: torch.Tensor, idx: list[int], sentences: list[list[tuple]],
                       states: SentenceStates) -> None:
        """Fill one batch's rows of SentenceStates: every token goes to its sentence's row, and
        the special tokens and padding to a spare row that is dropped."""
        hidden = tokens.float() * mask.unsqueeze(-1)
        states.window_sum[torch.tensor(idx)] = hidden.sum(1).cpu()
        states.window_tokens[torch.tensor(idx)] = mask.sum(1).float().cpu()
        rows = [k for i in idx for k in range(states.first[i], states.first[i + 1])]
        segment = torch.full(mask.shape, len(rows), dtype=torch.long)
        k = 0
        for r, i in enumerate(idx):
            for a, b, _ in sentences[i]:
                segment[r, a:b] = k
                k += 1
        segment = segment.view(-1).to(tokens.device)
        counts = torch.bincount(segment, minlength=len(rows) + 1)
        if tokens.is_cuda or Scorer.sentence_sums_by_product:
            states.sentence_sum[rows] = _sentence_sums_by_window(hidden, [sentences[i] for i in idx]).cpu()
        else:
            sums = torch.zeros(len(rows) + 1, hidden.shape[-1], device=tokens.device)
            sums.index_add_(0, segment, hidden.view(-1, hidden.shape[-1]))
            states.sentence_sum[rows] = sums[:-1].cpu()
        states.sentence_tokens[rows] = counts[:-1].float().cpu()

    def _encode_batch(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean-pooled vectors (fp32) and the token states of one padded batch."""
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.autocast):
            tokens = self._encode_tokens(ids, mask)
            return mean_pool(tokens, mask).float(), tokens

    def _encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not self.compiled:
            return self.net.encode_tokens(ids, mask)
        try:
            out = self._compiled_encode(ids, mask)
        except Exception as e:
            from torch._dynamo.exc import TorchDynamoException

            # a failure of the first (compiling) call, or of a later recompilation, is the
            # compiler's (no C++ compiler, an unsupported op): the run goes on uncompiled;
            # any other error is the model's and is raised as without --compile
            if self._compiled_once and not isinstance(e, TorchDynamoException):
                raise
            first = (str(e).splitlines() or [""])[0][:200]
            print(f"warning: torch.compile failed ({e.__class__.__name__}: {first}); scoring without it",
                  file=sys.stderr)
            self._compiled_encode = None
            return self.net.encode_tokens(ids, mask)
        self._compiled_once = True
        return out

    # -- scoring -------------------------------------------------------------
    def score(self, texts: list[str], evidence: bool = True) -> list[DocumentScore | None]:
        """One DocumentScore per text, in order; None in the place of a text with no words to score
        (`oped score` writes an error row for it)."""
        return self.score_prepared([self.prepare(t) for t in texts], evidence=evidence)

    @torch.inference_mode()
    def pooled(self, docs: list[Prepared], states: list | None = None) -> dict:
        """Per dimension: article level probabilities [docs with text, levels], chunk
        pooling weights and chunk level probabilities [all chunks, levels]. Given a list,
        appends to it the windows' SentenceStates (for in-context evidence)."""
        flat = [c for d in docs for c in d.chunks]
        vectors = self.encode([c.input_ids for c in flat], None if states is None else [c.sentences for c in flat])
        if states is not None:
            vectors, found = vectors
            states.append(found)
        # the heads sit where the encoder does (a GPU); their outputs come back to the CPU
        vectors = vectors.to(self.device)
        # documents without text have no windows: they get no row here
        local_index = torch.tensor([k for k, d in enumerate([d for d in docs if d.chunks]) for _ in d.chunks],
                                   dtype=torch.long, device=self.device)
        n_scored = sum(1 for d in docs if d.chunks)
        out = {}
        for dim in self.schema.dimensions:
            head = self.net.heads[dim.name]
            if not n_scored:
                out[dim.name] = (None, None, None)
                continue
            logits, weights = head.pool(vectors, local_index, n_scored)
            out[dim.name] = (logits.softmax(-1).cpu(), weights.cpu(), head.chunk_logits(vectors).softmax(-1).cpu())
        return out

    @torch.inference_mode()
    def score_prepared(self, docs: list[Prepared], evidence: bool = True, chunks: bool = True) -> list[DocumentScore]:
        """Scores of prepared documents (None for a document without text). chunks=False
        skips the per-window rows, which only --paragraphs and the API need."""
        check_evidence_method(self.evidence_method)
        in_context = [] if evidence and self.evidence_method == "in-context" else None
        per_dim = self.pooled(docs, in_context)
        flat = [c for d in docs for c in d.chunks]
        scored = [i for i, d in enumerate(docs) if d.chunks]
        offsets = [0]
        for d in docs:
            offsets.append(offsets[-1] + len(d.chunks))
        values_of, chunk_rows_of, wanted = {}, {}, []
        for new, i in enumerate(scored):
            span = slice(offsets[i], offsets[i + 1])
            values, chunk_rows = {}, [{} for _ in docs[i].chunks] if chunks else []
            for dim in self.schema.dimensions:
                levels, weights, chunk_levels = per_dim[dim.name]
                row = levels[new: new + 1]
                values.update(self._columns(dim, row))
                for j, cl in enumerate(chunk_levels[span] if chunks else []):
                    chunk_rows[j].update(self._columns(dim, cl.unsqueeze(0)))
                klass = int(class_probs(dim, row).argmax(-1))
                values[f"evidence_{dim.name}"] = ""
                if evidence and dim.classes[klass] in dim.signal_classes:
                    # the window that most supports the predicted class...
                    support = class_probs(dim, chunk_levels[span])[:, klass] * weights[span]
                    wanted.append((i, dim, klass, offsets[i] + int(support.argmax())))
            values_of[i], chunk_rows_of[i] = values, chunk_rows
        states = in_context[0] if in_context else None
        for (i, dim, _, _), sentence in zip(wanted, self._evidence(wanted, flat, states)):
            values_of[i][f"evidence_{dim.name}"] = sentence  # ...and its best sentence
        results: list[DocumentScore | None] = [None] * len(docs)
        for i in scored:
            doc, values = docs[i], values_of[i]
            ordered = {k: v for k, v in values.items() if not k.startswith("evidence_")}
            ordered.update({f"evidence_{d.name}": values[f"evidence_{d.name}"] for d in self.schema.dimensions})
            ordered.update(n_words=doc.n_words, n_tokens=doc.n_tokens, n_chunks=len(doc.chunks), model=self.model_id,
                           evidence_method=self.evidence_method if evidence else "none")
            rows = [{"chunk": j, "text": c.text, **r} for j, (c, r) in enumerate(zip(doc.chunks, chunk_rows_of[i]))]
            results[i] = DocumentScore(ordered, rows)
        return results

    def _columns(self, dim: Dimension, level_probs: torch.Tensor) -> dict:
        """The output columns of one dimension for one row of level probabilities."""
        probs = class_probs(dim, level_probs)
        klass = probs.argmax(-1)
        cols: dict = {}
        if dim.positive_class:
            pos = dim.classes.index(dim.positive_class)
            cols[dim.name] = int(int(klass) == pos)
            cols[f"p_{dim.name}"] = round(float(probs[0, pos]), 6)
            cols[f"{dim.name}_{dim.level_name}"] = level_within_class(dim, level_probs, klass)[0]
            return cols
        cols[dim.name] = dim.classes[int(klass)]
        score = signed_score(dim, probs)
        if score is not None:
            cols[f"{dim.name}_score"] = round(float(score), 6)
        prefix = "" if dim is self._first_multiclass() else f"{dim.name}_"
        for k, c in enumerate(dim.classes):
            cols[f"{prefix}p_{c}"] = round(float(probs[0, k]), 6)
        ev = expected_value(dim, level_probs)
        if ev is not None and dim.level_values is not None and len(dim.levels) > len(dim.classes):
            cols[f"{dim.name}_{dim.level_name}"] = round(float(ev), 6)
        return cols

    def _first_multiclass(self):
        return next((d for d in self.schema.dimensions if not d.positive_class), None)

    def _evidence(self, wanted: list[tuple], flat: list[Chunk], states: SentenceStates | None) -> list[str]:
        """For each (doc, dimension, class, window) the window's evidence sentence: in context
        when the window's SentenceStates are given, else standalone."""
        if not wanted:
            return []
        if states is not None:
            return self._evidence_in_context(wanted, flat, states)
        return self._evidence_standalone(wanted, flat)

    def _evidence_in_context(self, wanted: list[tuple], flat: list[Chunk], states: SentenceStates) -> list[str]:
        """The sentence whose removal from the window's mean of token states lowers the
        window's probability of the class the most. The window's vector is that mean, so this
        reads the window's own encoding (context included) and encodes nothing again."""
        out = []
        for _, dim, klass, w in wanted:
            a, b = states.first[w], states.first[w + 1]
            if a == b:  # no sentence got a token of its own: the window is the evidence
                out.append(" ".join(flat[w].text.split()))
                continue
            best = 0
            if b - a > 1:  # (a lone sentence is the evidence; removing it could leave no token)
                rest = states.window_sum[w] - states.sentence_sum[a:b]
                rest = rest / (states.window_tokens[w] - states.sentence_tokens[a:b]).unsqueeze(-1)
                logits = self.net.heads[dim.name].chunk_logits(rest.to(self.device))
                best = int(class_probs(dim, logits.softmax(-1).cpu())[:, klass].argmin())
            out.append(" ".join(flat[w].sentences[best][2].split()))
        return out

    def _evidence_standalone(self, wanted: list[tuple], flat: list[Chunk]) -> list[str]:
        """The window's sentence the model scores highest for the class when each sentence
        is encoded on its own; the sentences of all windows are encoded in one pass."""
        head, tail = special_tokens(self.tokenizer)
        room = self.config.max_length - self._head_tokens
        sentences, spans = [], {}
        for w in sorted({w for *_, w in wanted}):
            found = split_sentences(flat[w].text)[:MAX_EVIDENCE_SENTENCES] or [flat[w].text]
            spans[w] = (len(sentences), found)
            sentences.extend(found)
        ids = self.tokenizer(sentences, add_special_tokens=False)["input_ids"]
        vectors = self.encode([head + x[:room] + tail for x in ids])
        out = []
        for _, dim, klass, w in wanted:
            start, found = spans[w]
            logits = self.net.heads[dim.name].chunk_logits(vectors[start: start + len(found)].to(self.device))
            best = int(class_probs(dim, logits.softmax(-1).cpu())[:, klass].argmax())
            out.append(" ".join(found[best].split()))
        return out

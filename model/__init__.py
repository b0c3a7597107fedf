"""oped-stance models: load one and score texts.

    from model import load_model
    scorer = load_model()                      # the bundled default, offline
    results = scorer.score(["An op-ed ..."])   # one DocumentScore per text
    results[0].values["stance"], results[0].values["p_sovereignty"], results[0].chunks

    from model import score_corpus
    score_corpus("articles.jsonl", "scores.csv", load_model())
"""

from __future__ import annotations


def load_model(name_or_path: str | None = "default", device: str = "auto", dtype: str = "auto",
               batch_size: int = 32, compile: bool = False, evidence_method: str = "in-context"):
    """A Scorer for a saved model directory, or 'default' / 'fast' for the bundled ones;
    compile=True runs the encoder through torch.compile (Scorer.compile: for long runs);
    evidence_method "in-context" or "standalone" (model.inference)."""
    from model.inference import EVIDENCE_METHODS, Scorer
    from model.loading import load_network, model_version, resolve_model_dir

    if evidence_method not in EVIDENCE_METHODS:
        raise ValueError(f"the evidence method is one of {', '.join(EVIDENCE_METHODS)}, not {evidence_method!r}")
    path = resolve_model_dir(name_or_path)
    net, tokenizer, config = load_network(path)
    scorer = Scorer(net, tokenizer, config, "", device=device, dtype=dtype, batch_size=batch_size)
    scorer.evidence_method = evidence_method
    # the model column names the weights and the precision they ran in: bf16 and fp32 differ slightly
    scorer.model_id = f"{config.name}@{model_version(path)}-{str(scorer.dtype).replace('torch.', '')}"
    if compile:
        scorer.compile()
    return scorer


def score_corpus(input_path: str, output_path: str | None, scorer=None, **kwargs):
    """Stream a corpus file through a Scorer (the default model when None); returns a Summary."""
    from model.pipeline import score_corpus as _score_corpus

    return _score_corpus(input_path, output_path, scorer or load_model(), **kwargs)


__all__ = ["load_model", "score_corpus"]

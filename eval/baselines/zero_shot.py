"""Zero-shot baseline: the base encoder's similarity to short class descriptions.

No training and no threshold tuning: each article window is embedded with the
base encoder (mean pooling, cosine), compared with one description per class,
and the article takes, per class, its best-matching window; the class with the
highest similarity wins. A softmax over similarities x 20 gives probabilities.
"""

from __future__ import annotations

import numpy as np
import torch

DESCRIPTIONS = {
    "hawkish": "The author argues for military force, strikes, retaliation, tougher sanctions and coercive "
               "pressure against a foreign adversary, and attacks the government for being too soft.",
    "dovish": "The author argues for diplomacy, negotiations, a deal, restraint, a ceasefire, withdrawing troops "
              "or lifting sanctions, and warns that military force would be a mistake.",
    "neutral": "A news report that describes events and quotes officials without taking a side on military "
               "action or sanctions.",
    "present": "The article is about sovereignty: a nation's right to govern itself and control its territory and "
               "borders, foreign interference, annexation, occupation, or independence from international bodies.",
    "absent": "The article is about events, politics or policy with no question of national sovereignty, "
              "territorial control or independence.",
}
TEMPERATURE = 20.0


class ZeroShotBaseline:
    def __init__(self, batch_size: int = 32):
        from transformers import AutoModel

        from model.base import resolve_base_model
        from model.inference import pick_device_dtype
        from model.loading import load_tokenizer

        path = resolve_base_model(None)
        self.tok = load_tokenizer(path)
        self.device, self.dtype = pick_device_dtype()
        self.enc = AutoModel.from_pretrained(path).to(self.device, self.dtype).eval()
        self.batch_size = batch_size
        self.desc = {k: self._embed([self.tok(v)["input_ids"]])[0] for k, v in DESCRIPTIONS.items()}

    @torch.inference_mode()
    def _embed(self, seqs):
        from model.chunking import pad_batch
        from model.modeling import mean_pool

        out = []
        for s in range(0, len(seqs), self.batch_size):
            ids, mask = pad_batch(seqs[s: s + self.batch_size], self.tok.pad_token_id or 0)
            h = self.enc(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).last_hidden_state
            out.append(torch.nn.functional.normalize(mean_pool(h, mask.to(self.device)).float(), dim=-1).cpu())
        return torch.cat(out)

    def predict(self, texts: list[str]) -> list[dict]:
        from model.chunking import chunk_text

        out = []
        for t in texts:
            vec = self._embed([c.input_ids for c in chunk_text(t, self.tok, 256)])
            sim = {k: float((vec @ d).max()) for k, d in self.desc.items()}
            st = np.array([sim["dovish"], sim["neutral"], sim["hawkish"]]) * TEMPERATURE
            p = np.exp(st - st.max())
            p /= p.sum()
            sv = np.array([sim["absent"], sim["present"]]) * TEMPERATURE
            q = np.exp(sv - sv.max())
            q /= q.sum()
            out.append({"stance": ["dovish", "neutral", "hawkish"][int(p.argmax())], "stance_score": p[2] - p[0],
                        "p_dovish": p[0], "p_neutral": p[1], "p_hawkish": p[2], "sovereignty": int(q[1] > q[0]),
                        "p_sovereignty": q[1]})
        return out

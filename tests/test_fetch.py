"""`oped data fetch` on a local archive shaped like the public source (no network)."""

import io
import json
import zipfile

from training.fetch import fetch_corpus


def test_fetch_converts_and_filters_the_source_archive(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Article-Bias-Prediction-main/data/jsons/b.json", json.dumps(
            {"ID": "b", "topic": "russia", "source": "Outlet B", "bias_text": "left", "title": "T",
             "content_original": "Original text.", "content": "tokenised text", "date": "2019-01-02", "url": "u"}))
        z.writestr("Article-Bias-Prediction-main/data/jsons/a.json", json.dumps(
            {"ID": "a", "topic": "sports", "source": "Outlet A", "bias_text": "right", "content_original": "x"}))
        z.writestr("Article-Bias-Prediction-main/README.md", "not data")
    src = tmp_path / "source.zip"
    src.write_bytes(buf.getvalue())
    out = tmp_path / "corpus.jsonl"
    assert fetch_corpus(out, str(src)) == 1
    row = json.loads(out.read_text())
    assert row == {"id": "allsides:b", "title": "T", "text": "Original text.", "outlet": "Outlet B",
                   "date": "2019-01-02", "topic": "russia", "outlet_lean": "left", "url": "u"}

"""Third sampling round: a text classifier ranks the uncoded articles for the
rarest code (dovish), and the top of the ranking is coded.

After the first two rounds dovish articles were still under the 150 the data
plan asks for. A TF-IDF + logistic regression (dovish vs the rest), fitted on the
articles coded so far, scores every uncoded article; the highest-scoring ones are
coded by the same procedure as the rest. Like the other screens, this only picks
what gets coded: labels still come from coders reading each text.

    python -m training.annotation.model_screen --corpus CORPUS --frame data/annotations/sample_frame.csv \
        --batches /tmp/batches --n 122
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from training.annotation.build_labels import read_jsonl
from training.annotation.sample import append_round, frame_for_new_round

POOL = "model_screen"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--frame", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--labels", default="data/annotations/articles.jsonl")
    ap.add_argument("--n", type=int, default=122)
    args = ap.parse_args()
    frame = frame_for_new_round(args.frame, POOL)
    coded = {r["id"]: r for r in read_jsonl(Path(args.labels))}
    rows = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    known = [r for r in rows if r["id"] in coded]
    y = [int(coded[r["id"]]["stance"] < 0) for r in known]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
    clf = LogisticRegression(C=3.0, class_weight="balanced", max_iter=2000).fit(vec.fit_transform(
        [r["text"] for r in known]), y)
    taken = {r["id"] for r in frame}
    rest = [r for r in rows if r["id"] not in taken]
    p = clf.predict_proba(vec.transform([r["text"] for r in rest]))[:, 1]
    ranked = [r for _, r in sorted(zip(-p, rest), key=lambda t: (t[0], t[1]["id"]))][: args.n]
    append_round(args.frame, ranked, POOL, "s", 0, Path(args.batches))
    print(f"{len(ranked)} articles ranked by P(dovish) added to {args.frame}")


if __name__ == "__main__":
    main()

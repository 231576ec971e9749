"""Every script in examples/ runs from any directory, as a user runs it.

Each example takes one option, `--out DIR`, the directory to write into,
and writes nothing anywhere else.
"""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# What each example must print (beyond running cleanly).
EXPECTED_OUTPUT = {
    "pretrained_classifier.py": [
        "Reloaded without the vector file, same predictions: True",
    ],
    "qa_embedding.py": [
        "Equal to table[[5, 1, 2, 3, 6]]: True",
        "rows bit-for-bit the same: [5, 6]",
    ],
    "export_trained_vectors.py": [
        "15 words of dimension 4",
        "most similar to 'good': ",
    ],
    "fasttext_classifier.py": [
        "EmbeddingBag(mean) -> Dense: 1421 words, 16384 bigram rows",
        "fastText subwords (1763 words + 1000 n-gram rows of dim 10",
        "Reloaded without the .bin, same predictions: True",
    ],
    "siamese_questions.py": [
        "Same table on every backend (within 1e-5): True",
    ],
    "sentiment_trajectories.py": [
        "snapshots: (61, 17, 2)",
        "unseen moved 0.000",
    ],
    "word2vec.py": [
        "corpus: 300 stories, 58152 tokens, 1750 words seen 5+ times",
        "Keras, gensim's recipe",
        "gensim Word2Vec",
    ],
    "word2vec_rows.py": ["rows that never moved: ['', 'piano', 'violin']"],
}
# The files each example must write into its output directory.
EXPECTED_FILES = {
    "pretrained_classifier.py": ["classifier.keras"],
    "qa_embedding.py": [
        "one_hot_product.png",
        "table_after.png",
        "table_before.png",
        "training_trajectories.png",
    ],
    "export_trained_vectors.py": [
        "trained_vectors.txt",
        "projector/vectors.tsv",
        "projector/metadata.tsv",
    ],
    "fasttext_classifier.py": ["subword_classifier.keras"],
    "siamese_questions.py": ["vectors.txt", "table_tensorflow.npy"],
    "sentiment_trajectories.py": [
        "sentiment_table.png",
        "sentiment_trajectories.png",
    ],
    "word2vec.py": ["word2vec_keras.txt", "results.json"],
    "word2vec_rows.py": ["word2vec_rows.png"],
}
# Extra arguments: the short mode of the long examples.
EXTRA_ARGUMENTS = {"word2vec.py": ["--quick"]}


def test_examples_exist():
    assert "qa_embedding.py" in [path.name for path in EXAMPLES]


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_from_another_directory(script, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out_dir = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(out_dir)]
        + EXTRA_ARGUMENTS.get(script.name, []),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for text in EXPECTED_OUTPUT.get(script.name, []):
        assert text in done.stdout
    for name in EXPECTED_FILES.get(script.name, []):
        assert (out_dir / name).is_file()
    assert list(cwd.iterdir()) == [], "examples write only into --out DIR"

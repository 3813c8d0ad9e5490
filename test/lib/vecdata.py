"""Readers for the .fvecs/.ivecs data sets (those the tests use are bundled in test/data), and a text exporter
that turns them into pgvector literals for COPY. Standard library only (struct), so it runs on
any python3; numpy is used when present for speed but is never required."""
import struct
import sys


def read_vecs(path, fmt):
    """Rows of an .fvecs ('f') or .ivecs ('i') file: per row int32 d, then d values (LE)."""
    rows = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        (d,) = struct.unpack_from("<i", data, pos)
        pos += 4
        rows.append(list(struct.unpack_from("<%d%s" % (d, fmt), data, pos)))
        pos += 4 * d
    return rows


def read_fvecs(path):
    return read_vecs(path, "f")


def read_ivecs(path):
    return read_vecs(path, "i")


def read_lines(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f]


def vector_literal(values):
    # repr() of a float32 widened to double is exact; float32 input parsing rounds it back.
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


def main(argv):
    """vecdata.py tsv FILE.fvecs [COLUMN_FILE ...]: one TSV row per vector, id first (1-based),
    then one column per extra text file (one line per row), then the vector literal."""
    if len(argv) < 3 or argv[1] != "tsv":
        sys.exit("usage: vecdata.py tsv FILE.fvecs [COLUMN_FILE ...]")
    vectors = read_fvecs(argv[2])
    columns = [read_lines(p) for p in argv[3:]]
    out = sys.stdout
    for i, v in enumerate(vectors):
        fields = [str(i + 1)] + [c[i] for c in columns] + [vector_literal(v)]
        out.write("\t".join(fields) + "\n")


if __name__ == "__main__":
    main(sys.argv)

"""Recall of the hnsw index on real data (glove-100-small: 7,500 x 100, 500 queries) against the
exact ground truth shipped with the data, at pgvector's default settings (m = 16,
ef_construction = 64, hnsw.ef_search = 40), for L2 (vector_l2_ops) and cosine
(vector_cosine_ops):
  1. after CREATE INDEX on the full table;
  2. after CREATE INDEX on 50% of the rows and inserting the other 50% in 5 batches;
  3. after deleting 30% of the rows + VACUUM (recall against the ground truth restricted to the
     rows left), then after re-inserting them (all rows are back: the original ground truth).
Each must reach recall@10 >= 0.95. halfvec with halfvec_l2_ops after a build must be within 0.01
of vector's recall. Every measurement first checks with EXPLAIN that the index is used."""
import io
import os
import random

from common import Checker, Recall, copy_rows, load_vectors, scratch_database, bundled_data, vecdata

HALFVEC_SLACK = 0.01
DATASET = "glove-100-small"

METRICS = [
    # name, operator, opclass, ground-truth file
    ("l2", "<->", "vector_l2_ops", "gt.ivecs"),
    ("cosine", "<=>", "vector_cosine_ops", "gt_cos.ivecs"),
]


def index_check(checker, conn, index, label):
    """quiver_index_check must accept the index (it raises on any broken invariant)."""
    cur = conn.cursor()
    try:
        cur.execute("SELECT * FROM quiver_index_check(%s::regclass)", (index,))
        cur.fetchall()
        checker.check(True, "")
    except Exception as e:  # noqa: BLE001 - any error is a failed check
        checker.check(False, "%s: quiver_index_check(%s) failed: %s" % (label, index, str(e).strip()))
    cur.close()


def run_metric(checker, conn, base, recall, name, op, opclass, gt):
    n = len(base)
    rng = random.Random(20261123)
    cur = conn.cursor()
    cur.execute("SHOW hnsw.ef_search")
    checker.check(cur.fetchone()[0] == "40", "hnsw.ef_search default is not 40")

    # 1. Build on the full table.
    table = "glove_%s" % name
    load_vectors(conn, table, base)
    index = "%s_idx" % table
    cur.execute("CREATE INDEX %s ON %s USING hnsw (embedding %s)" % (index, table, opclass))
    built = recall.require("%s: build on %d rows" % (name, n), table, index, op, gt)
    index_check(checker, conn, index, name + " build")

    # 3. Delete 30% + VACUUM, then re-insert the deleted rows (same ids, same vectors).
    deleted = sorted(rng.sample(range(n), int(n * 0.3)))
    cur.execute("DELETE FROM %s WHERE id = ANY(%%s)" % table, (deleted,))
    checker.check(cur.rowcount == len(deleted), "%s: deleted %d rows, want %d" % (name, cur.rowcount, len(deleted)))
    cur.execute("VACUUM %s" % table)
    index_check(checker, conn, index, name + " after delete + VACUUM")
    present = set(range(n)) - set(deleted)
    recall.require("%s: deleted 30%% + VACUUM (%d rows)" % (name, len(present)), table, index, op, gt, present)
    copy_rows(cur, table, [(i, base[i]) for i in deleted])
    cur.execute("ANALYZE %s" % table)
    index_check(checker, conn, index, name + " after re-insert")
    recall.require("%s: deleted 30%% + VACUUM + re-inserted" % name, table, index, op, gt)

    # 2. Build on a random half, insert the other half in 5 batches.
    order = list(range(n))
    rng.shuffle(order)
    half = n // 2
    table2 = "glove_%s_inc" % name
    index2 = "%s_idx" % table2
    cur.execute("CREATE TABLE %s (id int PRIMARY KEY, embedding vector(%d))" % (table2, len(base[0])))
    copy_rows(cur, table2, [(i, base[i]) for i in order[:half]])
    cur.execute("ANALYZE %s" % table2)
    cur.execute("CREATE INDEX %s ON %s USING hnsw (embedding %s)" % (index2, table2, opclass))
    present = set(order[:half])
    recall.measure("%s: build on 50%% (%d rows)" % (name, half), table2, index2, op, gt, present)
    rest = order[half:]
    batches = 5
    for b in range(batches):
        batch = rest[b * len(rest) // batches:(b + 1) * len(rest) // batches]
        copy_rows(cur, table2, [(i, base[i]) for i in batch])
        present.update(batch)
        if b < batches - 1:
            recall.measure("%s: + insert batch %d/%d (%d rows)" % (name, b + 1, batches, len(present)),
                           table2, index2, op, gt, present)
    cur.execute("ANALYZE %s" % table2)
    checker.check(len(present) == n, "%s: %d rows after the batches, want %d" % (name, len(present), n))
    recall.require("%s: 50%% build + 5 insert batches" % name, table2, index2, op, gt)
    index_check(checker, conn, index2, name + " after 5 insert batches")
    cur.close()
    return built


def run_halfvec(checker, conn, base, queries, gt, vector_recall):
    cur = conn.cursor()
    table = "glove_half"
    index = "%s_idx" % table
    load_vectors(conn, table, base, type_name="halfvec")
    cur.execute("CREATE INDEX %s ON %s USING hnsw (embedding halfvec_l2_ops)" % (index, table))
    recall = Recall(checker, conn, queries, type_name="halfvec")
    r = recall.measure("halfvec l2: build on %d rows" % len(base), table, index, "<->", gt)
    checker.check(r >= vector_recall - HALFVEC_SLACK,
                  "halfvec l2 recall %.4f is more than %.2f below vector's %.4f" % (r, HALFVEC_SLACK, vector_recall))
    index_check(checker, conn, index, "halfvec build")
    cur.close()


def main():
    checker = Checker("hnsw_recall")
    path = bundled_data(DATASET)
    base = vecdata.read_fvecs(os.path.join(path, "base.fvecs"))
    queries = vecdata.read_fvecs(os.path.join(path, "query.fvecs"))
    conn = scratch_database("quiver_it_hnsw")
    recall = Recall(checker, conn, queries)
    print("%s: %d x %d, %d queries, defaults m=16 ef_construction=64 ef_search=40"
          % (DATASET, len(base), len(base[0]), len(queries)))
    built = {}
    for name, op, opclass, gt_file in METRICS:
        gt = vecdata.read_ivecs(os.path.join(path, gt_file))
        built[name] = run_metric(checker, conn, base, recall, name, op, opclass, gt)
    run_halfvec(checker, conn, base, queries, vecdata.read_ivecs(os.path.join(path, "gt.ivecs")), built["l2"])
    conn.close()
    checker.finish()


if __name__ == "__main__":
    main()

"""Exact k-NN by sequential scan on real data (glove-100-small, fiori-docs-384-small) must equal
the ground truth shipped with the data, under every SIMD target this machine supports: this
checks text I/O, the distance operators and the kernels end to end inside the server."""
import os

import psycopg2

from common import Checker, load_vectors, scratch_database, bundled_data, vecdata

K = 10
QUERIES = 60  # per data set and target; enough to cover many vectors, cheap to run


def same_neighbours(got_ids, got_dist, want_ids, want_dist, tol):
    """The server's k nearest equal the ground truth: distances position by position within tol
    (float32 in the server versus float64 in the ground truth), and ids equal except where the
    ground truth itself has a near-tie at that position, so either order is right."""
    def close(a, b):
        return abs(a - b) <= tol * max(1.0, abs(b))

    if len(got_ids) != len(want_ids):
        return False
    for i, (g, w) in enumerate(zip(got_ids, want_ids)):
        if not close(got_dist[i], want_dist[i]):
            return False
        if g != w:
            near_tie = (i > 0 and close(want_dist[i - 1], want_dist[i])) or (
                i + 1 < len(want_dist) and close(want_dist[i + 1], want_dist[i]))
            if not near_tie:
                return False
    return True


def run_dataset(checker, conn, name, metric_sql, gt_file, gt_dist_file, to_gt_scale):
    path = bundled_data(name)
    base = vecdata.read_fvecs(os.path.join(path, "base.fvecs"))
    queries = vecdata.read_fvecs(os.path.join(path, "query.fvecs"))
    gt = vecdata.read_ivecs(os.path.join(path, gt_file))
    gt_dist = vecdata.read_fvecs(os.path.join(path, gt_dist_file))
    table = name.replace("-", "_")
    load_vectors(conn, table, base)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM %s" % table)
        checker.check(cur.fetchone()[0] == len(base), "%s: row count" % name)
        cur.execute("SELECT name FROM unnest(ARRAY['scalar','sse4.2','avx2','avx512']) name")
        for (target,) in cur.fetchall():
            try:
                cur.execute("SET quiver.simd = %s", (target,))
            except psycopg2.Error:
                continue  # target not supported by this CPU
            for qi in range(QUERIES):
                literal = vecdata.vector_literal(queries[qi])
                cur.execute(
                    "SELECT id, embedding %s %%s::vector FROM %s ORDER BY 2, id LIMIT %d"
                    % (metric_sql, table, K),
                    (literal,),
                )
                rows = cur.fetchall()
                got_ids = [r[0] for r in rows]
                got_dist = [to_gt_scale(r[1]) for r in rows]
                ok = same_neighbours(got_ids, got_dist, gt[qi][:K], gt_dist[qi][:K + 1], 2e-5)
                checker.check(ok, "%s %s query %d: got %s want %s" % (name, target, qi, got_ids, gt[qi][:K]))
            cur.execute("RESET quiver.simd")


def main():
    checker = Checker("exact_knn")
    conn = scratch_database("quiver_it_exact")
    run_dataset(checker, conn, "glove-100-small", "<->", "gt.ivecs", "gt_dist.fvecs", lambda d: d)
    # the cosine ground truth is a similarity: compare 1 - distance with it
    run_dataset(checker, conn, "fiori-docs-384-small", "<=>", "gt_cos.ivecs", "gt_cos_sim.fvecs",
                lambda d: 1.0 - d)
    conn.close()
    checker.finish()


if __name__ == "__main__":
    main()

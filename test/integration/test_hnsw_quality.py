"""Graph quality of the hnsw index where it used to fall short (issue 9): recall@20 against an
exact scan, at pgvector's defaults (m = 16, ef_construction = 64), on seeded random data:
  - inner product (vector_ip_ops, halfvec_ip_ops, sparsevec_ip_ops) on 10,000 random 3-d rows,
    after a build (at least 0.88: 0.90-0.97 now, 0.82-0.88 before lists were topped up past
    the heuristic's choice, as pgvector keeps them) and after 2,000 more inserts, whose random
    levels make it vary (at least 0.80; 0.83-0.95 seen);
  - bit_hamming_ops on 10,000 random 52-bit rows, after a build and after three quarters were
    deleted and VACUUM ran, ef_search 100: at least 0.97 (Hamming distances tie a lot);
  - equidistant data (one-hot sparsevec, every pair at the same distance), built and inserted:
    every row is found by its own vector (ties once left most of the graph unreachable).
Recall counts a returned row as right when its distance is within the exact k-th distance, so
ties cannot make a right answer look wrong."""
import random

from common import Checker, scratch_database

K = 20
QUERIES = 60


def literal(type_name, values):
    if type_name == "sparsevec":
        return "{%s}/%d" % (",".join("%d:%r" % (i + 1, x) for i, x in enumerate(values) if x != 0), len(values))
    if type_name == "bit":
        return "".join("1" if x else "0" for x in values)
    return "[%s]" % ",".join(repr(x) for x in values)


def load(cur, table, type_name, dim, rows, start=0):
    cur.execute(
        "INSERT INTO %s SELECT i, s::%s(%d) FROM unnest(%%s::int[], %%s::text[]) AS t(i, s)" % (table, type_name, dim),
        (list(range(start, start + len(rows))), [literal(type_name, r) for r in rows]))


def recall(cur, table, op, type_name, dim, queries, ef):
    """recall@K of the index against an exact scan, counting ties as right."""
    hits = 0
    for q in queries:
        lit = literal(type_name, q)
        cur.execute("SET enable_seqscan = off; SET enable_indexscan = on; SET hnsw.ef_search = %d" % ef)
        cur.execute("SELECT v %s %%s::%s(%d) FROM %s ORDER BY v %s %%s::%s(%d) LIMIT %d"
                    % (op, type_name, dim, table, op, type_name, dim, K), (lit, lit))
        got = [r[0] for r in cur.fetchall()]
        cur.execute("SET enable_indexscan = off; SET enable_seqscan = on")
        cur.execute("SELECT v %s %%s::%s(%d) AS d FROM %s ORDER BY d LIMIT %d"
                    % (op, type_name, dim, table, K), (lit,))
        kth = cur.fetchall()[-1][0]
        hits += sum(1 for d in got if d <= kth + 1e-9 * max(1.0, abs(kth)))
    cur.execute("RESET enable_seqscan; RESET enable_indexscan; RESET hnsw.ef_search")
    return hits / (K * len(queries))


def index_used(cur, table, op, type_name, dim, q):
    cur.execute("SET enable_seqscan = off")
    cur.execute("EXPLAIN (COSTS OFF) SELECT 1 FROM %s ORDER BY v %s %%s::%s(%d) LIMIT %d"
                % (table, op, type_name, dim, K), (literal(type_name, q),))
    plan = "\n".join(r[0] for r in cur.fetchall())
    cur.execute("RESET enable_seqscan")
    return "Index Scan" in plan


def main():
    checker = Checker("hnsw_quality")
    conn = scratch_database("quiver_quality")
    cur = conn.cursor()
    rng = random.Random(20261129)

    for type_name, opclass in (("vector", "vector_ip_ops"), ("halfvec", "halfvec_ip_ops"),
                               ("sparsevec", "sparsevec_ip_ops")):
        table = "ip_" + type_name
        cur.execute("CREATE TABLE %s (id int, v %s(3))" % (table, type_name))
        load(cur, table, type_name, 3, [[rng.random() for _ in range(3)] for _ in range(10000)])
        cur.execute("CREATE INDEX ON %s USING hnsw (v %s)" % (table, opclass))
        queries = [[rng.random() for _ in range(3)] for _ in range(QUERIES)]
        checker.check(index_used(cur, table, "<#>", type_name, 3, queries[0]), "%s: index not used" % opclass)
        r = recall(cur, table, "<#>", type_name, 3, queries, 40)
        print("  %-18s build              recall@%d = %.3f (ef_search 40)" % (opclass, K, r))
        checker.check(r >= 0.88, "%s after a build: recall@%d %.3f < 0.88" % (opclass, K, r))
        load(cur, table, type_name, 3, [[rng.random() for _ in range(3)] for _ in range(2000)], start=10000)
        r = recall(cur, table, "<#>", type_name, 3, queries, 40)
        print("  %-18s + 2,000 inserts    recall@%d = %.3f (ef_search 40)" % (opclass, K, r))
        checker.check(r >= 0.80, "%s after inserts: recall@%d %.3f < 0.80" % (opclass, K, r))

    cur.execute("CREATE TABLE hb (id int, v bit(52))")
    load(cur, "hb", "bit", 52, [[rng.random() < 0.5 for _ in range(52)] for _ in range(10000)])
    cur.execute("CREATE INDEX ON hb USING hnsw (v bit_hamming_ops)")
    queries = [[rng.random() < 0.5 for _ in range(52)] for _ in range(QUERIES)]
    r = recall(cur, "hb", "<~>", "bit", 52, queries, 100)
    print("  %-18s build              recall@%d = %.3f (ef_search 100)" % ("bit_hamming_ops", K, r))
    checker.check(r >= 0.97, "bit_hamming_ops after a build: recall@%d %.3f < 0.97" % (K, r))
    cur.execute("DELETE FROM hb WHERE id % 4 <> 0")
    cur.execute("VACUUM hb")
    r = recall(cur, "hb", "<~>", "bit", 52, queries, 100)
    print("  %-18s 3/4 deleted+VACUUM recall@%d = %.3f (ef_search 100)" % ("bit_hamming_ops", K, r))
    checker.check(r >= 0.97, "bit_hamming_ops after deletes + VACUUM: recall@%d %.3f < 0.97" % (K, r))

    # Equidistant: one-hot sparse vectors, every pair at L2 distance sqrt(2).
    for how in ("build", "insert"):
        cur.execute("DROP TABLE IF EXISTS oh")
        cur.execute("CREATE TABLE oh (id int, v sparsevec(2000))")
        if how == "insert":
            cur.execute("CREATE INDEX oh_idx ON oh USING hnsw (v sparsevec_l2_ops) WITH (m = 4, ef_construction = 8)")
        cur.execute("INSERT INTO oh SELECT i, format('{%s:1}/2000', i)::sparsevec FROM generate_series(1, 1000) i")
        if how == "build":
            cur.execute("CREATE INDEX oh_idx ON oh USING hnsw (v sparsevec_l2_ops) WITH (m = 4, ef_construction = 8)")
        cur.execute("SELECT unreachable FROM quiver_index_check('oh_idx')")
        cur.execute("SET enable_seqscan = off; SET hnsw.ef_search = 1000")
        cur.execute("""SELECT count(*) FROM oh a WHERE NOT EXISTS
            (SELECT 1 FROM (SELECT b.id FROM oh b ORDER BY b.v <-> a.v LIMIT 1) s WHERE s.id = a.id)""")
        missing = cur.fetchone()[0]
        cur.execute("RESET enable_seqscan; RESET hnsw.ef_search")
        print("  one-hot sparsevec (%s): %d of 1000 rows not found by their own vector" % (how, missing))
        checker.check(missing == 0, "equidistant data after %s: %d rows not found by their own vector" % (how, missing))
    checker.finish()


if __name__ == "__main__":
    main()

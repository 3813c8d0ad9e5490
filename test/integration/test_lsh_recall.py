"""Recall of quiver's lsh index (hash tables, multi-probe, exact re-ranking of the candidates) on
real data (glove-100-small: 7,500 x 100, 500 queries) against exact ground truth. One table holds
the float vectors, their binary quantization (bit(100), computed here and checked equal to
binary_quantize(embedding)), a filter column `cat` (uniform over 100 values: 1% each, plus one
value held by 6 rows, one by 1 row, one by none) and an unindexed column `cat2` (1% each), with
three lsh indexes (vector column, then cat) at these settings (the default seed; probes as the
index option; quiver_lsh_metapage shows them):
  - hamming: bit_hamming_ops (bit sampling) on the quantized bits, tables = 16, bits = 16,
    probes = 80; recall tie-aware against the exact Hamming distances computed here (a row
    counts when its distance is no more than the exact 10th nearest's): 0.955 measured;
  - cosine: vector_cosine_ops (SimHash), tables = 32, bits = 18, probes = 100, against
    gt_cos.ivecs: 0.960 measured;
  - l2: vector_l2_ops (p-stable), tables = 64, bits = 10, width = 8, probes = 40, against
    gt.ivecs: 0.956 measured;
each required at >= 0.92 (MINIMUM), with every query answered by 10 distinct rows in the order
of their exact distances, while re-ranking on average at most half of the rows (EXPLAIN
ANALYZE's candidate counts: 15%, 32% and 36%); lsh.probes = twice the option never lowers
recall (0.989, 0.986, 0.984). quiver_index_check accepts every index after the build, the
deletes and the re-inserts, with one entry per row, each in its bucket of every table.
Then, for each index:
  1. WHERE cat = x ORDER BY ... LIMIT 10 (100 queries: 85 at 1% selectivity, 15 at the small
     values) at the index's own probes, under quiver.filter_strategy auto, walk and exact
     (lsh.max_probes = 8 x probes, so that a walk that finds fewer than 10 rows turns to
     reading every entry soon): exactly min(10, matching rows) rows, all matching, recall
     >= 0.9 against the exact filtered answer (1.0 measured; 1.0 required for exact);
  2. lsh.iterative_scan = relaxed_order with WHERE cat2 = x on the unindexed column (1%,
     evaluated above the index scan, which does not know it): 10 rows for every query; at the
     index's own probes the first round's best matching rows come first (recall 0.55 to 0.67,
     printed, not required), at lsh.probes = 1280 / 960 / 320 (16x, 9.6x, 8x the option)
     recall >= 0.9 is required (0.977, 0.978, 0.963 measured);
  3. deleting 30% of the rows + VACUUM: recall (ground truth restricted to the rows left) stays
     >= MINIMUM (0.938, 0.940, 0.943), no deleted row comes back, the index counts the rows left
     (pg_class.reltuples and quiver_index_check), filtered recall >= 0.9; after re-inserting them
     (their heap slots reused by other rows, their entries through the insert path) recall
     >= MINIMUM again (as after the build), no row twice, distances in order, and the filtered
     and iterative queries as before.
Every measurement first checks with EXPLAIN that the lsh index is used (and for cat, that the
filter is an index condition)."""
import io
import random
import re
import time

import numpy as np

from common import Checker, K, bundled_data, scratch_database, vecdata

DATASET = "glove-100-small"
MINIMUM = 0.92
FILTER_MINIMUM = 0.9
FILTER_QUERIES = 100
STRATEGIES = ["auto", "walk", "exact"]


class Case:
    def __init__(self, name, column, opclass, op, options, filter_probes, cast, literals, dist, gt=None):
        self.name, self.column, self.opclass, self.op = name, column, opclass, op
        self.filter_probes = filter_probes
        self.probes = int(re.search(r"probes = (\d+)", options).group(1))
        self.options, self.cast, self.literals, self.dist, self.gt = options, cast, literals, dist, gt
        self.index = "g_%s_idx" % name


def bit_string(bits):
    return "".join("1" if b else "0" for b in bits)


def kth_truth(dist_row, mask, k=K):
    """How many rows count (min(k, matching)) and the distance of the last of them."""
    d = dist_row[mask]
    want = min(k, len(d))
    return want, (np.partition(d, want - 1)[want - 1] if want else None)


def tolerance(case):
    return 0.0 if case.name == "hamming" else 1e-4


class Measure:
    def __init__(self, checker, cur, n):
        self.checker, self.cur, self.n = checker, cur, n

    def plan(self, sql, args):
        self.cur.execute("EXPLAIN (COSTS OFF) " + sql, args)
        return "\n".join(r[0] for r in self.cur.fetchall())

    def uses_index(self, case, label, sql, args, cond=False):
        plan = self.plan(sql, args)
        ok = "Index Scan using %s" % case.index in plan and (not cond or "Index Cond" in plan)
        self.checker.check(ok, "%s: the plan does not use %s%s:\n%s"
                           % (label, case.index, " with an index condition" if cond else "", plan))

    def knn(self, case, label, present, minimum):
        """Unfiltered recall@K over all queries; every query must get K distinct present rows in
        the order of their exact distances."""
        sql = "SELECT id FROM g ORDER BY %s %s %%s::%s LIMIT %d" % (case.column, case.op, case.cast, K)
        self.uses_index(case, "%s %s" % (case.name, label), sql, (case.literals[0],))
        started = time.time()
        hits = judged = short = disorder = dupes = gone = 0
        present_ids = np.nonzero(present)[0]
        present_set = set(present_ids.tolist())
        for qi, q in enumerate(case.literals):
            self.cur.execute(sql, (q,))
            got = [r[0] for r in self.cur.fetchall()]
            short += len(got) != K
            dupes += len(set(got)) != len(got)
            gone += sum(1 for g in got if g not in present_set)
            d = case.dist[qi][got]
            disorder += bool(np.any(np.diff(d) < -tolerance(case)))
            if case.gt is None:
                want, kth = kth_truth(case.dist[qi], present)
                hits += min(want, int((d <= kth + tolerance(case)).sum()))
                judged += want
            else:
                truth = [i for i in case.gt[qi] if i in present_set][:K]
                if len(truth) < K:
                    continue
                hits += len(set(got) & set(truth))
                judged += K
        recall = hits / float(judged)
        print("  %-8s %-48s recall@%d = %.4f  (%.1fs)" % (case.name, label, K, recall, time.time() - started))
        self.checker.check(short == 0, "%s %s: %d queries got fewer than %d rows" % (case.name, label, short, K))
        self.checker.check(dupes == 0, "%s %s: %d queries got a row twice" % (case.name, label, dupes))
        self.checker.check(gone == 0, "%s %s: %d deleted rows came back" % (case.name, label, gone))
        self.checker.check(disorder == 0, "%s %s: %d queries got rows out of distance order"
                           % (case.name, label, disorder))
        self.checker.check(judged >= len(case.literals) * K * 0.9, "%s %s: only %d rows judged"
                           % (case.name, label, judged))
        self.checker.check(recall >= minimum, "%s %s: recall@%d %.4f < %.2f" % (case.name, label, K, recall, minimum))
        return recall

    def candidates(self, case, queries=25):
        """Mean candidates re-ranked per query (EXPLAIN ANALYZE's Quiver scans line)."""
        sql = "SELECT id FROM g ORDER BY %s %s %%s::%s LIMIT %d" % (case.column, case.op, case.cast, K)
        total = 0
        for q in case.literals[:queries]:
            self.cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, (q,))
            text = "\n".join(r[0] for r in self.cur.fetchall())
            m = re.search(r"%s \(lsh\): 1 scan, strategy probe, (\d+) buckets probed, (\d+) candidates re-ranked"
                          % case.index, text)
            self.checker.check(m is not None, "%s: no lsh scan report in EXPLAIN ANALYZE:\n%s" % (case.name, text))
            total += int(m.group(2)) if m else self.n
        mean = total / float(queries)
        print("  %-8s %-48s %.0f candidates re-ranked per query (%.0f%% of the rows)"
              % (case.name, "", mean, 100.0 * mean / self.n))
        self.checker.check(mean <= self.n / 2, "%s: %.0f candidates per query, more than half the index"
                           % (case.name, mean))

    def filtered(self, case, label, column, values, col_values, present, minimum, exact=False):
        """WHERE column = value ORDER BY ... LIMIT K for the first len(values) queries: exactly
        min(K, matching) rows, all matching, recall >= minimum (tie-aware)."""
        sql = ("SELECT id FROM g WHERE %s = %%s ORDER BY %s %s %%s::%s LIMIT %d"
               % (column, case.column, case.op, case.cast, K))
        self.uses_index(case, "%s %s" % (case.name, label), sql, (values[0], case.literals[0]),
                        cond=(column == "cat"))
        started = time.time()
        hits = total = wrong_count = mismatched = 0
        for qi, value in enumerate(values):
            mask = (col_values == value) & present
            want, kth = kth_truth(case.dist[qi], mask)
            self.cur.execute(sql, (int(value), case.literals[qi]))
            got = [r[0] for r in self.cur.fetchall()]
            if len(got) != want or len(set(got)) != len(got):
                wrong_count += 1
                if wrong_count <= 3:
                    print("    query %d, %s = %d: %d rows, want %d" % (qi, column, value, len(got), want))
            mismatched += sum(1 for g in got if not mask[g])
            if want:
                hits += min(want, int((case.dist[qi][got] <= kth + tolerance(case)).sum()))
                total += want
        recall = hits / float(total)
        print("  %-8s %-48s recall@%d = %.4f  (%.1fs)" % (case.name, label, K, recall, time.time() - started))
        self.checker.check(wrong_count == 0, "%s %s: %d queries did not get min(%d, matching rows) distinct rows"
                           % (case.name, label, wrong_count, K))
        self.checker.check(mismatched == 0, "%s %s: %d returned rows do not match the filter"
                           % (case.name, label, mismatched))
        need = 1.0 if exact else minimum
        self.checker.check(recall >= need - 1e-9, "%s %s: recall %.4f < %.2f" % (case.name, label, recall, need))
        return recall


def copy_rows(cur, ids, base, bits, cat, cat2):
    buf = io.StringIO()
    for i in ids:
        buf.write("%d\t%s\t%s\t%d\t%d\n" % (i, vecdata.vector_literal(base[i]), bits[i], cat[i], cat2[i]))
    buf.seek(0)
    cur.copy_expert("COPY g (id, embedding, bq, cat, cat2) FROM STDIN", buf)


def main():
    started = time.time()
    checker = Checker("lsh_recall")
    path = bundled_data(DATASET)
    base = vecdata.read_fvecs(path + "/base.fvecs")
    queries = vecdata.read_fvecs(path + "/query.fvecs")
    gt = vecdata.read_ivecs(path + "/gt.ivecs")
    gt_cos = vecdata.read_ivecs(path + "/gt_cos.ivecs")
    n = len(base)
    b = np.asarray(base, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)

    # Exact distances of every query to every row.
    bb, qb = (b > 0), (q > 0)  # binary_quantize: 1 where the element is > 0
    ham = (qb.sum(1)[:, None] + bb.sum(1)[None, :] - 2 * (qb.astype(np.float64) @ bb.T.astype(np.float64)))
    ham = np.rint(ham)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    cos = 1.0 - qn @ bn.T
    l2 = np.sqrt(np.maximum((q * q).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * q @ b.T, 0))

    rng = np.random.RandomState(20261208)
    cat = rng.randint(0, 100, size=n)
    small = rng.choice(n, 7, replace=False)
    cat[small[:6]] = 100  # 6 rows
    cat[small[6]] = 101   # 1 row; no row has 102
    cat2 = rng.randint(0, 100, size=n)
    bits = [bit_string(r) for r in bb]
    vector_literals = [vecdata.vector_literal(x) for x in queries]
    cases = [
        Case("hamming", "bq", "bit_hamming_ops", "<~>", "tables = 16, bits = 16, probes = 80", 1280,
             "bit(100)", [bit_string(r) for r in qb], ham),
        Case("cosine", "embedding", "vector_cosine_ops", "<=>", "tables = 32, bits = 18, probes = 100", 960,
             "vector", vector_literals, cos, gt_cos),
        Case("l2", "embedding", "vector_l2_ops", "<->", "tables = 64, bits = 10, width = 8, probes = 40", 320,
             "vector", vector_literals, l2, gt),
    ]

    conn = scratch_database("quiver_it_lsh")
    cur = conn.cursor()
    cur.execute("CREATE TABLE g (id int PRIMARY KEY, embedding vector(100), bq bit(100), cat int, cat2 int)")
    copy_rows(cur, range(n), base, bits, cat, cat2)
    cur.execute("ANALYZE g")
    cur.execute("SELECT count(*) FROM g WHERE bq IS DISTINCT FROM binary_quantize(embedding)::bit(100)")
    checker.check(cur.fetchone()[0] == 0, "binary_quantize(embedding) differs from the bits computed here")
    print("%s: %d x %d, %d queries (%.1fs to load)" % (DATASET, n, len(base[0]), len(queries), time.time() - started))
    for case in cases:
        t = time.time()
        cur.execute("CREATE INDEX %s ON g USING lsh (%s %s, cat) WITH (%s)"
                    % (case.index, case.column, case.opclass, case.options))
        cur.execute("SELECT pg_relation_size(%s)", (case.index,))
        print("  %-8s %s: built in %.2fs, %.1f MB" % (case.name, case.options, time.time() - t,
                                                      cur.fetchone()[0] / 2.0**20))
    cur.execute("SET enable_seqscan = off")
    cur.execute("SET enable_bitmapscan = off")
    m = Measure(checker, cur, n)

    def index_check(label, rows):
        """quiver_index_check: the format holds, one entry per row, every entry in its bucket of
        every table."""
        for case in cases:
            cur.execute("SELECT heap_tids, unreachable FROM quiver_index_check(%s)", (case.index,))
            tids, unreachable = cur.fetchone()
            checker.check(tids == rows and unreachable == 0,
                          "%s %s: quiver_index_check: %d heap TIDs, %d unreachable, want %d, 0"
                          % (case.name, label, tids, unreachable, rows))

    for case in cases:
        cur.execute("SELECT tables, bits, probes, width FROM quiver_lsh_metapage(%s)", (case.index,))
        got = "tables = %d, bits = %d" % cur.fetchone()[:2]
        checker.check(case.options.startswith(got), "%s: the metapage says %s, the options %s"
                      % (case.name, got, case.options))
    index_check("build", n)
    everything = np.ones(n, dtype=bool)

    for case in cases:
        built = m.knn(case, "build", everything, MINIMUM)
        m.candidates(case)
        cur.execute("SET lsh.probes = %d" % (2 * case.probes))
        more = m.knn(case, "lsh.probes = %d" % (2 * case.probes), everything, MINIMUM)
        checker.check(more >= built, "%s: recall went down with more probes (%.4f < %.4f)" % (case.name, more, built))
        cur.execute("RESET lsh.probes")

    # Filters: the first FILTER_QUERIES queries, each with a value of 1% of the rows, some
    # with the small values (6 rows, 1 row, none).
    frng = random.Random(7)
    values = [frng.randrange(100) for _ in range(FILTER_QUERIES)]
    for i in range(0, FILTER_QUERIES, 20):
        values[i], values[i + 1], values[i + 2] = 100, 101, 102
    values2 = [frng.randrange(100) for _ in range(FILTER_QUERIES)]

    def filter_checks(label, present, strategies):
        """The filter column at the index's own probes; lsh.max_probes bounds the walk of the
        queries with fewer than 10 matching rows (then every entry is read)."""
        for case in cases:
            cur.execute("SET lsh.max_probes = %d" % (8 * case.probes))
            for strategy in strategies:
                cur.execute("SET quiver.filter_strategy = %s" % strategy)
                m.filtered(case, "%scat = x (%s)" % (label, strategy), "cat", values, cat, present,
                           FILTER_MINIMUM, exact=(strategy == "exact"))
            cur.execute("RESET quiver.filter_strategy")
            cur.execute("RESET lsh.max_probes")

    def iterative_checks(label, present, required=True):
        """A filter the index does not know, above an iterative scan: at the index's own probes
        the first round's best matching rows come first (printed), at lsh.probes = the case's
        filter_probes the recall is required."""
        cur.execute("SET lsh.iterative_scan = relaxed_order")
        for case in cases:
            for probes in ((case.probes, case.filter_probes) if required else (case.filter_probes,)):
                cur.execute("SET lsh.probes = %d" % probes)
                cur.execute("SET lsh.max_probes = %d" % (3 * probes))
                m.filtered(case, "%siterative, cat2 = x (lsh.probes = %d)" % (label, probes), "cat2", values2,
                           cat2, present, FILTER_MINIMUM if probes == case.filter_probes else 0.0)
            cur.execute("RESET lsh.probes")
            cur.execute("RESET lsh.max_probes")
        cur.execute("RESET lsh.iterative_scan")

    filter_checks("", everything, STRATEGIES)
    iterative_checks("", everything)

    # Deletes + VACUUM, then the same rows again.
    deleted = sorted(random.Random(20261130).sample(range(n), int(n * 0.3)))
    cur.execute("DELETE FROM g WHERE id = ANY(%s)", (deleted,))
    cur.execute("VACUUM g")
    present = np.ones(n, dtype=bool)
    present[deleted] = False
    left = int(present.sum())
    for case in cases:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", (case.index,))
        entries = cur.fetchone()[0]
        checker.check(entries == left, "%s: after VACUUM the index counts %d entries, %d rows are left"
                      % (case.name, entries, left))
        m.knn(case, "deleted 30%% + VACUUM (%d rows)" % left, present, MINIMUM)
    index_check("deleted 30% + VACUUM", left)
    filter_checks("deleted: ", present, ["auto"])
    copy_rows(cur, deleted, base, bits, cat, cat2)
    cur.execute("ANALYZE g")
    for case in cases:
        m.knn(case, "deleted 30% + VACUUM + re-inserted", everything, MINIMUM)
    index_check("re-inserted", n)
    filter_checks("re-inserted: ", everything, ["auto", "exact"])
    iterative_checks("re-inserted: ", everything, required=False)

    cur.close()
    conn.close()
    print("lsh_recall: %.1fs" % (time.time() - started))
    checker.finish()


if __name__ == "__main__":
    main()

# Parallel hnsw builds (max_parallel_maintenance_workers): the leader and its workers insert into
# one graph in dynamic shared memory. The index must hold every row, pass quiver_index_check,
# find every row by its own vector and answer k-NN as well as a serial build's; also when the
# shared graph fills up (statistics far behind the table: the build says so and the
# participants go on inserting on disk), for CREATE INDEX CONCURRENTLY, and never for a
# temporary table.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf('postgresql.conf', qq(
max_worker_processes = 8
max_parallel_workers = 8
max_parallel_maintenance_workers = 2
min_parallel_table_scan_size = 0
maintenance_work_mem = '256MB'
autovacuum = off
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');
my $random_vector = "(SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE i > 0)::vector";
$node->safe_psql('postgres', qq(
	SELECT setseed(0.5);
	CREATE TABLE t (id int, v vector($dim));
	INSERT INTO t SELECT i, $random_vector FROM generate_series(1, 30000) i;
	CREATE TABLE q (id int, v vector($dim));
	INSERT INTO q SELECT i, $random_vector FROM generate_series(1, 60) i;
	ANALYZE t;
));

# Recall@10 of the index over the 60 queries, against an exact scan.
sub recall
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq(
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		CREATE TEMP TABLE exact AS SELECT q.id AS qid, e.id FROM q, LATERAL
			(SELECT id FROM $table ORDER BY v <-> q.v LIMIT 10) e;
		RESET enable_indexscan; RESET enable_bitmapscan;
		SET enable_seqscan = off; SET hnsw.ef_search = 40;
		SELECT round(count(*) / 600.0, 3) FROM
			(SELECT q.id AS qid, a.id FROM q, LATERAL (SELECT id FROM $table ORDER BY v <-> q.v LIMIT 10) a) approx
			JOIN exact USING (qid, id)));
}

sub build
{
	my ($sql, $workers) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq(
		SET max_parallel_maintenance_workers = $workers;
		SET client_min_messages = debug1;
		$sql));
	return ($ret, $err);
}

sub self_lookup_misses
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET hnsw.ef_search = 100;
		SELECT count(*) FROM $table a WHERE NOT EXISTS
			(SELECT 1 FROM (SELECT b.id FROM $table b ORDER BY b.v <-> a.v LIMIT 1) s WHERE s.id = a.id)));
}

# Serial, for comparison.
my ($ret, $err) = build('CREATE INDEX t_idx ON t USING hnsw (v vector_l2_ops)', 0);
is($ret, 0, 'serial build') or diag($err);
unlike($err, qr/using \d+ parallel workers/, 'the serial build uses no workers');
my $serial = recall('t');
$node->safe_psql('postgres', 'DROP INDEX t_idx');

($ret, $err) = build('CREATE INDEX t_idx ON t USING hnsw (v vector_l2_ops)', 2);
is($ret, 0, 'parallel build') or diag($err);
like($err, qr/DEBUG:  using [12] parallel workers/, 'the build used parallel workers');
is($node->safe_psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('t_idx')"),
	'30000|0', 'every row is in the index, every element reachable');
is(self_lookup_misses('t'), '0', 'every row is found through the index by its own vector');
my $parallel = recall('t');
note("recall\@10 at ef_search 40: serial $serial, parallel $parallel");
cmp_ok($parallel, '>=', $serial - 0.03, 'the parallel build answers k-NN as well as the serial one');
cmp_ok($parallel, '>=', 0.9, 'recall@10 at ef_search 40 is at least 0.9');

# A shared graph sized for far fewer rows than the table has (ANALYZE ran on 500 of 20,500):
# it fills up, the build says so, and the rest is inserted on disk by every participant.
$node->safe_psql('postgres', qq(
	CREATE TABLE s (id int, v vector($dim));
	INSERT INTO s SELECT i, $random_vector FROM generate_series(1, 500) i;
	ANALYZE s;
	INSERT INTO s SELECT i, $random_vector FROM generate_series(501, 20500) i;
));
($ret, $err) = build('CREATE INDEX s_idx ON s USING hnsw (v vector_l2_ops)', 2);
is($ret, 0, 'parallel build past its shared graph') or diag($err);
like($err, qr/using [12] parallel workers/, 'it used parallel workers');
like($err, qr/NOTICE:  hnsw graph no longer fits into maintenance_work_mem after \d+ tuples/,
	'it says when the shared graph is full');
is($node->safe_psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('s_idx')"),
	'20500|0', 'every row is in the index, every element reachable');
is(self_lookup_misses('s'), '0', 'every row is found by its own vector');

# CREATE INDEX CONCURRENTLY, with rows deleted before (they must not be indexed).
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 = 0; DROP INDEX t_idx');
($ret, $err) = build('CREATE INDEX CONCURRENTLY t_cic ON t USING hnsw (v vector_cosine_ops)', 2);
is($ret, 0, 'parallel CREATE INDEX CONCURRENTLY') or diag($err);
like($err, qr/using [12] parallel workers/, 'it used parallel workers');
is($node->safe_psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('t_cic')"),
	'27000|0', 'the concurrently built index holds the 27,000 live rows');

# Temporary tables are built serially (their buffers are the leader's own).
($ret, $err) = build(qq(
	CREATE TEMP TABLE tt AS SELECT * FROM t;
	ANALYZE tt;
	CREATE INDEX ON tt USING hnsw (v vector_l2_ops);), 2);
is($ret, 0, 'a temporary table builds') or diag($err);
unlike($err, qr/using \d+ parallel workers/, 'serially');

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP:|PANIC:|terminated by signal/, 'the server did not crash');
$node->stop;
done_testing();

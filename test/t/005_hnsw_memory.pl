# Memory of hnsw builds and VACUUM stays within maintenance_work_mem plus a small constant,
# whatever the data (duplicates, long vectors, a mass delete). Peak memory is the backend's peak resident set size, which PostgreSQL
# reports with log_statement_stats ("max resident size", getrusage): each measurement runs in a
# fresh connection, so the peak belongs to the statement measured (plus the backend's own
# baseline, measured the same way for a trivial statement).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_buffers = '128MB'
max_parallel_maintenance_workers = 0
autovacuum = off
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');

# Runs $sql in a new connection with statement statistics sent to the client; returns the
# largest "max resident size" (kB) reported, the exit code and stderr.
sub peak_rss_kb
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET client_min_messages = log; SET log_statement_stats = on;\n$sql");
	my $peak = 0;
	while ($err =~ /(\d+) kB max resident size/g) { $peak = $1 if $1 > $peak; }
	return ($peak, $ret, $err);
}

my ($baseline) = peak_rss_kb('SELECT 1');
cmp_ok($baseline, '>', 0, "the backend's peak RSS is reported ($baseline kB for SELECT 1)");

# ---- builds on duplicates ----------------------------------------------------------------------
# 100,000 rows with one 8-d vector (the issue's case: the build grew to 11 GB before; 20,000 rows
# took 2.4 GB). An element holds 10 heap TIDs, so the graph has 10,000 elements.
$node->safe_psql('postgres', qq(
	CREATE TABLE dup (id int, v vector(8));
	INSERT INTO dup SELECT i, '[1,2,3,4,5,6,7,8]' FROM generate_series(1, 100000) i;
	INSERT INTO dup SELECT i, '[8,7,6,5,4,3,2,1]' FROM generate_series(100001, 100100) i;
));
my ($peak, $ret, $err) = peak_rss_kb(qq(
	SET maintenance_work_mem = '64MB';
	CREATE INDEX dup_idx ON dup USING hnsw (v vector_l2_ops);
));
is($ret, 0, 'build on 100,000 duplicate rows succeeds') or diag($err);
unlike($err, qr/no longer fits/, 'the graph of 10,000 elements fits into 64MB');
note("build on duplicates: peak RSS $peak kB (baseline $baseline kB)");
cmp_ok($peak - $baseline, '<', 64 * 1024 + 32 * 1024,
	'build on duplicates: peak RSS within maintenance_work_mem (64MB) + 32MB');
is($node->safe_psql('postgres', "SELECT heap_tids, elements FROM quiver_index_check('dup_idx')"),
	'100100|10010', 'every duplicate row is in the index, 10 per element');

# The same rows when the graph does not fit: the build says so (pgvector's NOTICE) and inserts the
# rest on disk, each insert in its own short-lived memory.
$node->safe_psql('postgres', 'DROP INDEX dup_idx');
($peak, $ret, $err) = peak_rss_kb(qq(
	SET maintenance_work_mem = '1MB';
	CREATE INDEX dup_idx ON dup USING hnsw (v vector_l2_ops);
));
is($ret, 0, 'build on duplicates with maintenance_work_mem = 1MB succeeds') or diag($err);
like($err, qr/NOTICE:  hnsw graph no longer fits into maintenance_work_mem after \d+ tuples/,
	'the build says when the graph no longer fits');
note("build on duplicates at 1MB: peak RSS $peak kB");
cmp_ok($peak - $baseline, '<', 32 * 1024, 'build on duplicates at 1MB: peak RSS within 1MB + 32MB');
is($node->safe_psql('postgres', "SELECT heap_tids FROM quiver_index_check('dup_idx')"),
	'100100', 'every duplicate row is in the index after the on-disk phase');
is( $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SELECT count(*) FILTER (WHERE v = '[8,7,6,5,4,3,2,1]'), count(DISTINCT id) FROM
		(SELECT id, v FROM dup ORDER BY v <-> '[8,7,6,5,4,3,2,2]' LIMIT 100) s)),
	'100|100', 'the 100 nearest rows to the other vector come through the index');

# Long vectors with a large m in the smallest budget: few elements fit, the rest go on disk.
$node->safe_psql('postgres', qq(
	CREATE TABLE wide (id int, v vector(2000));
	INSERT INTO wide SELECT i, array_fill(i::real, ARRAY[2000])::vector FROM generate_series(1, 300) i;
));
($ret, my $out, $err) = $node->psql('postgres', qq(
	SET maintenance_work_mem = '1MB';
	CREATE INDEX wide_idx ON wide USING hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 200);
));
is($ret, 0, 'build of 2000-d vectors with m = 100 in 1MB succeeds') or diag($err);
like($err, qr/after \d+ tuples/, 'and says the graph did not fit');
is($node->safe_psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('wide_idx')"),
	'300|0', 'all 300 rows are in the index and reachable');

# ---- VACUUM after a mass delete ----------------------------------------------------------------
# 100,000 elements, 98% deleted, VACUUM with maintenance_work_mem = 1MB: the elements left without
# rows do not fit one batch (16,384 per MB), so VACUUM works in batches, and its reachability pass
# keeps to the other half of the budget. It reports its peak memory at DEBUG1.
$node->safe_psql('postgres', qq(
	CREATE TABLE vm (id int, v vector(4));
	INSERT INTO vm SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.7), cos(i * 1.3)] FROM generate_series(1, 100000) i;
	CREATE INDEX vm_idx ON vm USING hnsw (v vector_l2_ops);
	DELETE FROM vm WHERE id % 50 <> 0;
));
($ret, $out, $err) = $node->psql('postgres', qq(
	SET maintenance_work_mem = '1MB';
	SET client_min_messages = debug1;
	VACUUM vm;
));
is($ret, 0, 'VACUUM of 98,000 dead rows with maintenance_work_mem = 1MB succeeds') or diag($err);
my ($batches, $vac_peak, $vac_budget) =
  $err =~ /hnsw index "vm_idx": \d+ heap TIDs removed, dying elements in (\d+) batch\(es\), peak memory (\d+) kB of (\d+) kB/;
ok(defined $batches, 'VACUUM reports its memory') or diag($err);
note("VACUUM: $batches batches, peak $vac_peak kB of $vac_budget kB");
cmp_ok($batches, '>=', 5, 'the dying elements were handled in batches');
cmp_ok($vac_peak, '<=', $vac_budget + 128, 'VACUUM held at most maintenance_work_mem (+128 kB of bookkeeping)');
is($node->safe_psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('vm_idx')"),
	'2000|0', 'after VACUUM the index holds the 2,000 rows left, all reachable');
# In a budget this small the repair walks through the dead stretches stop early (their visited
# sets count against it): every row stays reachable, a few need a wider search to be found.
my $missed = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET hnsw.ef_search = 100;
		SELECT count(*) FROM vm a WHERE NOT EXISTS
			(SELECT 1 FROM (SELECT b.id FROM vm b ORDER BY b.v <-> a.v LIMIT 3) s WHERE s.id = a.id)));
note("$missed of 2,000 rows not among the 3 nearest to their own vector at ef_search 100");
cmp_ok($missed, '<=', 100, 'at most 5% of the rows left need more than ef_search 100 to be found by their own vector');
is( $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET hnsw.ef_search = 1000;
		SELECT count(*) FROM vm a WHERE NOT EXISTS
			(SELECT 1 FROM (SELECT b.id FROM vm b ORDER BY b.v <-> a.v LIMIT 3) s WHERE s.id = a.id))),
	'0', 'every row left is found through the index by its own vector at ef_search 1000');

$node->stop;
done_testing();

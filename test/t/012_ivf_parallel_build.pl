# Parallel ivfflat and ivf builds (max_parallel_maintenance_workers): the leader samples and
# trains, then the leader and its workers assign parts of the heap to the lists into one
# parallel sort. Sampling is serial and seeded, so a parallel build has the same centroids and
# the same lists as a serial one: every query must return the same rows from both, at
# probes = 1 (one list) and at more probes; the index holds every row; also for the quantized
# `ivf` (PQ codes, re-ranked), for CREATE INDEX CONCURRENTLY, and never for a temporary table.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $node = PostgreSQL::Test::Cluster->new('ivf_parallel');
$node->init;
$node->append_conf('postgresql.conf', qq(
max_worker_processes = 8
max_parallel_workers = 8
max_parallel_maintenance_workers = 2
min_parallel_table_scan_size = 0
maintenance_work_mem = '64MB'
autovacuum = off
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');
my $random_vector = "(SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE i > 0)::vector";
$node->safe_psql('postgres', qq(
	SELECT setseed(0.25);
	CREATE TABLE t (id int, v vector($dim));
	INSERT INTO t SELECT i, $random_vector FROM generate_series(1, 40000) i;
	CREATE TABLE q (id int, v vector($dim));
	INSERT INTO q SELECT i, $random_vector FROM generate_series(1, 40) i;
	ANALYZE t;
));

sub build
{
	my ($sql, $workers) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq(
		SET max_parallel_maintenance_workers = $workers;
		SET client_min_messages = debug1;
		$sql));
	return ($ret, $err);
}

# Each query's 10 nearest ids (ties broken by id) through the index, one line per query.
sub answers
{
	my ($guc, $probes, $op) = @_;
	return $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET $guc = $probes;
		SELECT q.id, a.ids FROM q, LATERAL (SELECT string_agg(id::text, ',' ORDER BY d, id) AS ids FROM
			(SELECT id, v $op q.v AS d FROM t ORDER BY v $op q.v LIMIT 10) s) a ORDER BY q.id));
}

# The same index built serially and in parallel: the same rows for every query.
for my $case (
	[ 'ivfflat', 'vector_l2_ops', '<->', 'lists = 40', 'ivfflat.probes' ],
	[ 'ivfflat', 'vector_cosine_ops', '<=>', 'lists = 40', 'ivfflat.probes' ],
	[ 'ivf', 'vector_l2_ops', '<->', "lists = 40, quantizer = 'pq', pq_m = 8", 'ivf.probes' ],
	# 4-bit codes: the leader packs each list's entries into fast-scan blocks
	[ 'ivf', 'vector_ip_ops', '<#>', "lists = 40, quantizer = 'pq', pq_m = 8, pq_nbits = 4", 'ivf.probes' ])
{
	my ($am, $opclass, $op, $with, $guc) = @$case;
	my $create = "CREATE INDEX t_idx ON t USING $am (v $opclass) WITH ($with)";
	my ($ret, $err) = build($create, 0);
	is($ret, 0, "$am $opclass: serial build") or diag($err);
	unlike($err, qr/using \d+ parallel workers/, "$am $opclass: the serial build uses no workers");
	my %serial = map { $_ => answers($guc, $_, $op) } (1, 4);
	my $serial_size = $node->safe_psql('postgres', "SELECT pg_relation_size('t_idx')");
	$node->safe_psql('postgres', 'DROP INDEX t_idx');

	($ret, $err) = build($create, 2);
	is($ret, 0, "$am $opclass: parallel build") or diag($err);
	like($err, qr/DEBUG:  using [12] parallel workers/, "$am $opclass: the build used parallel workers");
	is($node->safe_psql('postgres', "SELECT heap_tids FROM quiver_index_check('t_idx')"),
		'40000', "$am $opclass: every row is in the index");
	is($node->safe_psql('postgres', "SELECT reltuples FROM pg_class WHERE relname IN ('t', 't_idx') ORDER BY relname"),
		"40000\n40000", "$am $opclass: the build counts each heap tuple once");
	is($node->safe_psql('postgres', "SELECT pg_relation_size('t_idx')"), $serial_size,
		"$am $opclass: the parallel build is as large as the serial one");
	for my $probes (1, 4)
	{
		is(answers($guc, $probes, $op), $serial{$probes},
			"$am $opclass: $guc = $probes returns the serial build's rows for every query");
	}
	$node->safe_psql('postgres', 'DROP INDEX t_idx');
}

# CREATE INDEX CONCURRENTLY, with rows deleted before (they must not be indexed).
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 = 0');
my ($ret, $err) = build('CREATE INDEX CONCURRENTLY t_cic ON t USING ivfflat (v vector_l2_ops) WITH (lists = 40)', 2);
is($ret, 0, 'parallel CREATE INDEX CONCURRENTLY') or diag($err);
like($err, qr/using [12] parallel workers/, 'it used parallel workers');
is($node->safe_psql('postgres', "SELECT heap_tids FROM quiver_index_check('t_cic')"),
	'36000', 'the concurrently built index holds the 36,000 live rows');
is($node->safe_psql('postgres', qq(
	SET enable_seqscan = off; SET ivfflat.probes = 40;
	SELECT count(*) FROM q, LATERAL (SELECT id FROM t ORDER BY v <-> q.v LIMIT 10) a WHERE a.id % 10 = 0)),
	'0', 'deleted rows are not returned');

# Temporary tables are built serially (their buffers are the leader's own).
($ret, $err) = build(qq(
	CREATE TEMP TABLE tt AS SELECT * FROM t;
	ANALYZE tt;
	CREATE INDEX ON tt USING ivfflat (v vector_l2_ops) WITH (lists = 20);), 2);
is($ret, 0, 'a temporary table builds') or diag($err);
unlike($err, qr/using \d+ parallel workers/, 'serially');

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP:|PANIC:|terminated by signal/, 'the server did not crash');
$node->stop;
done_testing();

# hnsw filter columns (issue 11) under WAL, concurrency and crashes:
#  1. a streaming standby (wal_consistency_checking = 'generic') replays the build, inserts,
#     deletes + VACUUM of an index with filter columns (hnsw, and ivfflat) and returns the
#     primary's answers;
#  2. pgbench clients insert rows with filter values, run filtered queries (walk and exact),
#     delete and update while another runs VACUUM: no client fails, quiver_index_check accepts
#     the index (payloads included) and filtered exact-strategy answers equal a sequential scan;
#  3. after an immediate shutdown in the middle of inserts the recovered index passes the check
#     and still answers filtered queries exactly.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $dim = 16;
my $seconds = 12;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
log_autovacuum_min_duration = 0
max_connections = 30
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION quiver');
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby_slot')");
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby_slot'");
$standby->start;

my $vec = "(SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE g > 0)::vector";
$primary->safe_psql('postgres', qq(
	CREATE TABLE t (id bigserial PRIMARY KEY, v vector($dim), cat int, tag text, tags int4[]);
	INSERT INTO t (v, cat, tag, tags)
	SELECT $vec, g % 20, CASE WHEN g % 7 = 0 THEN NULL ELSE 't' || (g % 3) END, ARRAY[g % 5, g % 11]
	FROM generate_series(1, 1500) g;
	-- duplicate vectors with other filter values
	INSERT INTO t (v, cat, tag, tags) SELECT v, cat + 100, tag, tags FROM t WHERE id % 50 = 0;
	CREATE INDEX t_idx ON t USING hnsw (v vector_l2_ops, cat, tag, tags) WITH (m = 8, ef_construction = 32);
));

srand(20261207);
my @queries;
push @queries, '[' . join(',', map { sprintf('%.4f', rand()) } 1 .. $dim) . ']' for 1 .. 8;
my @filters = ('cat = 3', 'cat < 2', 'tag = \'t1\'', 'tag IS NULL', 'tags && \'{4}\'',
	'cat >= 100', 'cat = 3 AND tags @> \'{3}\'');

# The 10 nearest matching rows per query and filter, as "distance" lists (ties come in any
# order), through the index with `strategy`, or through a sequential scan.
sub answers
{
	my ($node, $how) = @_;
	my $sql = $how eq 'seqscan'
	  ? "SET enable_indexscan = off; SET enable_bitmapscan = off;\n"
	  : "SET enable_seqscan = off; SET enable_bitmapscan = off; SET quiver.filter_strategy = $how;\n";
	for my $q (@queries)
	{
		for my $f (@filters)
		{
			$sql .= "SELECT string_agg(round((v <-> '$q')::numeric, 5)::text, ',') FROM "
			  . "(SELECT v FROM t WHERE $f ORDER BY v <-> '$q' LIMIT 10) s;\n";
		}
	}
	return $node->safe_psql('postgres', $sql);
}

sub check_index
{
	my ($node, $name) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM quiver_index_check('t_idx')");
	is($ret, 0, "$name: quiver_index_check passes on " . $node->name) or diag($err);
	return;
}

# 1. Replay.
sub check_replay
{
	my ($name) = @_;
	$primary->wait_for_catchup($standby);
	check_index($_, $name) for ($primary, $standby);
	my $exact = answers($primary, 'seqscan');
	is(answers($primary, 'exact'), $exact, "$name: exact strategy equals a sequential scan");
	is(answers($standby, 'exact'), $exact, "$name: the standby's exact answers equal it too");
	is(answers($standby, 'walk'), answers($primary, 'walk'),
		"$name: the standby walks to the primary's answers");
	return;
}

check_replay('after build');
$primary->safe_psql('postgres', qq(
	INSERT INTO t (v, cat, tag, tags)
	SELECT $vec, g % 20, 't' || (g % 4), ARRAY[g % 6] FROM generate_series(1, 500) g;
	DELETE FROM t WHERE id % 9 = 0;
	VACUUM t;
	INSERT INTO t (v, cat, tag, tags)
	SELECT $vec, g % 25, NULL, NULL FROM generate_series(1, 300) g;
));
check_replay('after inserts, deletes + VACUUM, inserts into freed space');

# ivfflat with filter columns replays too: entries carry their payloads.
$primary->safe_psql('postgres', qq(
	CREATE TABLE u (id bigserial PRIMARY KEY, v vector($dim), cat int, tag text);
	INSERT INTO u (v, cat, tag) SELECT $vec, g % 20, 't' || (g % 3) FROM generate_series(1, 1000) g;
	CREATE INDEX u_idx ON u USING ivfflat (v vector_l2_ops, cat, tag) WITH (lists = 10);
	INSERT INTO u (v, cat, tag) SELECT $vec, g % 20, NULL FROM generate_series(1, 300) g;
	DELETE FROM u WHERE id % 5 = 0;
	VACUUM u;
));
$primary->wait_for_catchup($standby);
my $uq = "SET enable_seqscan = off; SET ivfflat.probes = 10;\n";
my $useq = "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
my $usql = '';
for my $q (@queries)
{
	for my $f ('cat = 3', 'tag = \'t1\'', 'tag IS NULL AND cat < 5')
	{
		$usql .= "SELECT string_agg(round((v <-> '$q')::numeric, 5)::text, ',') FROM "
		  . "(SELECT v FROM u WHERE $f ORDER BY v <-> '$q' LIMIT 10) s;\n";
	}
}
my $u_exact = $primary->safe_psql('postgres', $useq . $usql);
is($primary->safe_psql('postgres', $uq . $usql), $u_exact, 'ivfflat with filter columns: exact at probes = lists');
is($standby->safe_psql('postgres', $uq . $usql), $u_exact, 'ivfflat with filter columns: the standby agrees');
for my $node ($primary, $standby)
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM quiver_index_check('u_idx')");
	is($ret, 0, 'ivfflat: quiver_index_check passes on ' . $node->name) or diag($err);
}

# 2. Concurrency.
my $dir = $primary->basedir;
my $rv = "(SELECT array_agg(random()::real) FROM generate_series(1, $dim))::vector";
my %scripts = (
	'insert.sql' => qq(
INSERT INTO t (v, cat, tag, tags) SELECT $vec, (random() * 30)::int, 't' || (random() * 3)::int, ARRAY[(random() * 5)::int] FROM generate_series(1, 3) g;
INSERT INTO t (v, cat, tag, tags) SELECT v, cat + 1, tag, tags FROM t WHERE id = (SELECT 1 + (random() * 1500)::int);
),
	'query.sql' => qq(
SET enable_seqscan = off;
SET quiver.filter_strategy = walk;
SELECT id FROM t WHERE cat = 3 ORDER BY v <-> $rv LIMIT 10;
SET quiver.filter_strategy = exact;
SELECT id FROM t WHERE tags && '{1}' ORDER BY v <-> $rv LIMIT 10;
SET quiver.filter_strategy = auto;
SELECT id FROM t WHERE cat = 7 AND tag = 't1' ORDER BY v <-> $rv LIMIT 10;
),
	'delete.sql' => qq(
\\set lo random(1, 5000)
DELETE FROM t WHERE id BETWEEN :lo AND :lo + 4;
),
	'update.sql' => qq(
\\set id random(1, 5000)
UPDATE t SET cat = cat + 1 WHERE id = :id;
),
	'vacuum.sql' => qq(
VACUUM t;
\\sleep 300 ms
),);
PostgreSQL::Test::Utils::append_to_file("$dir/$_", $scripts{$_}) for keys %scripts;
my @common = ('pgbench', '-n', '-T', $seconds, '-h', $primary->host, '-p', $primary->port, 'postgres');
my ($out1, $err1, $out2, $err2) = ('', '', '', '');
my $work = IPC::Run::start(
	[
		@common[ 0 .. 1 ], '-c', '5', '-j', '2', '-R', '150',
		'-f', "$dir/insert.sql\@6", '-f', "$dir/query.sql\@6",
		'-f', "$dir/delete.sql\@1", '-f', "$dir/update.sql\@1",
		@common[ 2 .. $#common ]
	],
	'>', \$out1, '2>', \$err1);
my $vacuum = IPC::Run::start(
	[ @common[ 0 .. 1 ], '-c', '1', '-f', "$dir/vacuum.sql", @common[ 2 .. $#common ] ],
	'>', \$out2, '2>', \$err2);
$work->finish;
$vacuum->finish;
is($work->full_result(0), 0, 'pgbench inserting, querying with filters, deleting, updating: no client failed')
  or diag("$out1\n$err1");
is($vacuum->full_result(0), 0, 'pgbench running VACUUM alongside: no error') or diag("$out2\n$err2");
$primary->safe_psql('postgres', 'VACUUM t');
check_replay('after the concurrent load');
is($primary->safe_psql('postgres', 'SELECT heap_tids FROM quiver_index_check(\'t_idx\')'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'after VACUUM the index holds one heap TID per row');

# 3. Crash in the middle of inserts.
$primary->safe_psql('postgres', 'CHECKPOINT');
my $ins = IPC::Run::start(
	[ @common[ 0 .. 1 ], '-c', '2', '-f', "$dir/insert.sql", @common[ 2 .. $#common ] ],
	'>', \$out1, '2>', \$err1);
sleep 3;
$primary->stop('immediate');
$ins->finish;
$primary->start;
check_index($primary, 'after crash recovery');
is(answers($primary, 'exact'), answers($primary, 'seqscan'),
	'after crash recovery: exact strategy equals a sequential scan');

# 4. Six clients insert new rows and copies of rows with other filter values as fast as they
# can, with no VACUUM to mend anything afterwards: every row stays reachable. A copy becomes a
# "twin" element (the same vector, another payload) whose one in-link comes from the twin whose
# slot it took; re-homing an element into a twin that already linked to it once left such pairs
# linking only to each other (found by this load, 1 run in 3, before the fix).
my $twins = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
$work = IPC::Run::start(
	[ @common[ 0 .. 1 ], '-c', '6', '-j', '2', '-T', '10', '-f', "$dir/insert.sql", @common[ 4 .. $#common ] ],
	'>', \$out1, '2>', \$err1);
$work->finish;
is($work->full_result(0), 0, 'six clients inserting rows and their copies: no client failed') or diag("$out1\n$err1");
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM t'), '>', $twins, 'the clients inserted rows');
check_index($primary, 'after six clients inserted rows and copies');
is(answers($primary, 'exact'), answers($primary, 'seqscan'),
	'after six clients inserted rows and copies: exact strategy equals a sequential scan');

my $log = slurp_file($primary->logfile);
unlike($log, qr/TRAP:|terminated by signal 11|terminated by signal 6/, 'no assertion failure or crash signal');

$standby->stop;
$primary->stop;
done_testing();

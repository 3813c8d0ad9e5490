# ivfflat and ivf (PQ codes, re-ranked; 4-bit codes in fast-scan blocks) indexes under WAL: a streaming standby (wal_consistency_checking = 'generic' compares
# every replayed page with the primary's image) returns the primary's k-NN results after a
# build, inserts that extend lists and create their first pages, deletes + VACUUM; a crash
# (immediate stop) loses no committed entry; an unlogged table's index comes back empty and
# usable; and pgbench clients inserting, querying, deleting and vacuuming at once get no error
# and leave an index that finds every row.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $nqueries = 15;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
autovacuum = off
));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION quiver');
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby_slot')");
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby_slot'");
$standby->start;

srand(20261130);
my @queries;
for (1 .. $nqueries)
{
	push @queries, '[' . join(',', map { sprintf('%.4f', rand()) } 1 .. $dim) . ']';
}

sub insert_rows
{
	my ($node, $from, $to) = @_;
	$node->safe_psql('postgres', qq(
		INSERT INTO t (id, v)
		SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE i > 0)::vector
		FROM generate_series($from, $to) i;
	));
	return;
}

# The ids of each query's 10 nearest rows: through the index with every list probed (then the
# answer is exact, ties broken by heap position), or by a sequential scan.
sub knn
{
	my ($node, $exact) = @_;
	my $sql = $exact
	  ? "SET enable_indexscan = off; SET enable_bitmapscan = off;\n"
	  : "SET enable_seqscan = off; SET ivfflat.probes = 32768;\n";
	for my $q (@queries)
	{
		for my $op ('<->', '<=>')
		{
			$sql .= "SELECT string_agg(round((v $op '$q')::numeric, 5)::text, ',') FROM "
			  . "(SELECT v FROM t ORDER BY v $op '$q' LIMIT 10) s;\n";
		}
	}
	return $node->safe_psql('postgres', $sql);
}

sub check_node
{
	my ($node, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $plan = $node->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '$queries[0]' LIMIT 10");
	like($plan, qr/Index Scan using t_cos_idx/, "$name: " . $node->name . " uses the cosine index");
	is(knn($node, 0), knn($primary, 1), "$name: " . $node->name . " answers exactly with every list probed");
	# Every row is in the index once.
	my $count = $node->safe_psql('postgres', qq(SET enable_seqscan = off; SET ivfflat.probes = 32768;
		SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '$queries[1]') s));
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	is($count, "$rows|$rows", "$name: " . $node->name . " finds every row once ($rows)");
	is(ip_knn($node, 0), ip_knn($primary, 1),
		"$name: " . $node->name . " answers inner-product queries exactly through fast-scan blocks with every list probed");
	for my $idx ('t_l2_idx', 't_cos_idx', 't_pq_idx', 't_pq4_idx')
	{
		my ($ret, $out, $err) = $node->psql('postgres', "SELECT elements FROM quiver_index_check('$idx')");
		is($ret, 0, "$name: quiver_index_check($idx) passes on " . $node->name) or diag($err);
		is($out, $rows, "$name: $idx holds $rows entries on " . $node->name);
	}
	return;
}

# The ivf index's answers (PQ codes of the residuals, the best 100 re-ranked by the halfvec
# expression evaluated on the rows).
sub pq_knn
{
	my ($node) = @_;
	my $sql = "SET enable_seqscan = off; SET ivf.probes = 4;\n";
	for my $q (@queries)
	{
		$sql .= "SELECT string_agg(id::text, ',') FROM "
		  . "(SELECT id FROM t ORDER BY v::halfvec($dim) <-> '$q' LIMIT 10) s;\n";
	}
	my $plan = $node->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v::halfvec($dim) <-> '$queries[0]' LIMIT 10");
	like($plan, qr/Index Scan using t_pq_idx/, $node->name . " uses the ivf index");
	return $node->safe_psql('postgres', $sql);
}

# Inner-product answers through t_pq4_idx (4-bit PQ codes in fast-scan blocks): approximate at
# ivf.probes = 4; exact with every list probed and every entry re-ranked; or by a sequential scan.
sub ip_knn
{
	my ($node, $exact, $probes) = @_;
	my $sql = $exact
	  ? "SET enable_indexscan = off; SET enable_bitmapscan = off;\n"
	  : "SET enable_seqscan = off; SET ivf.probes = " . ($probes // 32768) . "; SET ivf.rerank = 10000;\n";
	for my $q (@queries)
	{
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <#> '$q', id LIMIT 10) s;\n";
	}
	if (!$exact)
	{
		my $plan = $node->safe_psql('postgres',
			"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <#> '$queries[0]' LIMIT 10");
		like($plan, qr/Index Scan using t_pq4_idx/, $node->name . " uses the fast-scan ivf index");
	}
	return $node->safe_psql('postgres', $sql);
}

sub check_replay
{
	my ($name) = @_;
	$primary->wait_for_catchup($standby);
	check_node($primary, $name);
	check_node($standby, $name);
	is(knn($standby, 0), knn($primary, 0), "$name: the standby returns the primary's results");
	is(pq_knn($standby), pq_knn($primary), "$name: the standby's ivf index returns the primary's results");
	is(ip_knn($standby, 0, 2), ip_knn($primary, 0, 2),
		"$name: the standby's fast-scan ivf index returns the primary's results at 2 probes");
	return;
}

$primary->safe_psql('postgres', "CREATE TABLE t (id int PRIMARY KEY, v vector($dim))");
insert_rows($primary, 1, 2000);
$primary->safe_psql('postgres', 'CREATE INDEX t_l2_idx ON t USING ivfflat (v vector_l2_ops) WITH (lists = 20)');
$primary->safe_psql('postgres', 'CREATE INDEX t_cos_idx ON t USING ivfflat (v vector_cosine_ops) WITH (lists = 7)');
# On a halfvec expression, so that it serves other queries than the ivfflat indexes.
$primary->safe_psql('postgres',
	"CREATE INDEX t_pq_idx ON t USING ivf ((v::halfvec($dim)) halfvec_l2_ops) WITH (lists = 10, pq_m = 4)");
# 4-bit codes: lists of fast-scan blocks, which inserts fill one entry at a time and VACUUM repacks.
$primary->safe_psql('postgres',
	'CREATE INDEX t_pq4_idx ON t USING ivf (v vector_ip_ops) WITH (lists = 10, pq_m = 8, pq_nbits = 4)');
check_replay('after build');

insert_rows($primary, 2001, 3500);
for my $b (0 .. 9)
{
	my $from = 3501 + $b * 10;
	insert_rows($primary, $from, $from + 9);
}
check_replay('after inserts');

$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 < 4');
$primary->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
check_replay('after deletes + VACUUM');
insert_rows($primary, 4001, 4600);
check_replay('after inserts following VACUUM');

# An index built on an empty table: every list's first page comes from an insert.
$primary->safe_psql('postgres', "CREATE TABLE e (id int, v vector(3))");
$primary->safe_psql('postgres', 'CREATE INDEX e_idx ON e USING ivfflat (v) WITH (lists = 4)');
$primary->safe_psql('postgres', "INSERT INTO e SELECT i, ARRAY[i, i % 7, i % 3] FROM generate_series(1, 500) i");
$primary->wait_for_catchup($standby);
my $e_sql = "SET enable_seqscan = off; SET ivfflat.probes = 4; SELECT string_agg(id::text, ',') FROM (SELECT id FROM e ORDER BY v <-> '[100,0,0]', id LIMIT 5) s";
is($standby->safe_psql('postgres', $e_sql), $primary->safe_psql('postgres', $e_sql),
	'index created empty, then filled: the standby finds the same rows');
is($primary->safe_psql('postgres', "SET enable_seqscan = off; SET ivfflat.probes = 4; SELECT count(*) FROM (SELECT id FROM e ORDER BY v <-> '[1,1,1]') s"),
	'500', 'index created empty finds all 500 rows');
$standby->stop;

# Crash: committed inserts survive an immediate stop; an unlogged table's index is reset.
$primary->safe_psql('postgres', "CREATE UNLOGGED TABLE u (id int, v vector(3))");
$primary->safe_psql('postgres', "INSERT INTO u SELECT i, ARRAY[i, i, i] FROM generate_series(1, 300) i");
$primary->safe_psql('postgres', 'CREATE INDEX u_idx ON u USING ivfflat (v) WITH (lists = 3)');
insert_rows($primary, 5001, 5300);
$primary->stop('immediate');
$primary->start;
check_node($primary, 'after a crash');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'unlogged table is empty after the crash');
$primary->safe_psql('postgres', "INSERT INTO u SELECT i, ARRAY[i, i, i] FROM generate_series(1, 50) i");
is($primary->safe_psql('postgres', "SET enable_seqscan = off; SET ivfflat.probes = 3; SELECT string_agg(id::text, ',') FROM (SELECT id FROM u ORDER BY v <-> '[10,10,10]' LIMIT 3) s"),
	'10,9,11', "the unlogged table's index works after the crash");

# Concurrency: inserts, queries, deletes and VACUUM at once.
my $dir = $primary->basedir;
my $random_vector = "(SELECT array_agg(random()::real) FROM generate_series(1, $dim))::vector";
my %scripts = (
	'insert.sql' => "INSERT INTO t (id, v) SELECT 100000 + (random() * 1e9)::int, $random_vector ON CONFLICT DO NOTHING;\n",
	'query.sql' => "SET enable_seqscan = off; SET ivfflat.probes = 3;\nSELECT id FROM t ORDER BY v <-> $random_vector LIMIT 10;\nSELECT id FROM t ORDER BY v <=> $random_vector LIMIT 10;\n",
	'delete.sql' => "\\set lo random(1, 6000)\nDELETE FROM t WHERE id BETWEEN :lo AND :lo + 5;\n",
	'vacuum.sql' => "VACUUM t;\n\\sleep 300 ms\n",);
for my $f (keys %scripts)
{
	PostgreSQL::Test::Utils::append_to_file("$dir/$f", $scripts{$f});
}
my @common = ('pgbench', '-n', '-T', 15, '-h', $primary->host, '-p', $primary->port, 'postgres');
my ($out1, $err1, $out2, $err2) = ('', '', '', '');
my $work = IPC::Run::start(
	[ @common[ 0 .. 1 ], '-c', '4', '-j', '2', '-f', "$dir/insert.sql\@6", '-f', "$dir/query.sql\@6",
		'-f', "$dir/delete.sql\@1", @common[ 2 .. $#common ] ],
	'>', \$out1, '2>', \$err1);
my $vacuum = IPC::Run::start([ @common[ 0 .. 1 ], '-c', '1', '-f', "$dir/vacuum.sql", @common[ 2 .. $#common ] ],
	'>', \$out2, '2>', \$err2);
$work->finish;
$vacuum->finish;
is($work->full_result(0), 0, 'pgbench inserting, querying and deleting: no client failed') or diag("$out1\n$err1");
is($vacuum->full_result(0), 0, 'pgbench running VACUUM alongside: no error') or diag("$out2\n$err2");
my $log = slurp_file($primary->logfile);
unlike($log, qr/TRAP:|PANIC:|terminated by signal/, 'the server did not crash');
# Dead entries (deletes, ON CONFLICT's speculative inserts) stay until VACUUM; INDEX_CLEANUP ON
# because VACUUM skips the indexes when only a few heap pages have dead items.
$primary->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
check_node($primary, 'after concurrent load and VACUUM');

$primary->stop;
done_testing();

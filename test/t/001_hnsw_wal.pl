# hnsw indexes replay on a streaming standby: after a build, inserts, deletes + VACUUM and
# inserts into the space VACUUM freed, the standby (caught up) returns exactly the primary's k-NN
# results for a set of queries, through the index, and quiver_index_check accepts the index on
# both. wal_consistency_checking = 'generic' makes the standby compare every page it replays
# from a generic WAL record with the page image the primary logged with it (a mismatch stops
# the standby). Modelled on contrib/bloom's t/001_wal.pl.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 24;
my $nqueries = 20;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION quiver');
# A slot keeps the WAL the standby still needs: with every record carrying page images for
# the consistency check, a slow standby (2 busy cores) otherwise finds segments recycled.
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby_slot')");

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby_slot'");
$standby->start;

# Random query vectors, the same for every comparison.
srand(20261123);
my @queries;
for (1 .. $nqueries)
{
	push @queries, '[' . join(',', map { sprintf('%.4f', rand()) } 1 .. $dim) . ']';
}

# Rows [from, to]: random vectors; every 50th row copies the vector of the row 7 ids before it,
# so the index also holds duplicate vectors.
sub insert_rows
{
	my ($from, $to) = @_;
	$primary->safe_psql('postgres', qq(
		INSERT INTO t (id, v)
		SELECT i, CASE WHEN i % 50 = 0 AND i > $from + 7
		               THEN NULL
		               ELSE (SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE i > 0)::vector END
		FROM generate_series($from, $to) i;
		UPDATE t SET v = (SELECT v FROM t s WHERE s.id = t.id - 7) WHERE v IS NULL AND id BETWEEN $from AND $to;
	));
	return;
}

# One line per query and operator: the ids of its 10 nearest rows through the index.
sub knn_results
{
	my ($node) = @_;
	my $sql = "SET enable_seqscan = off; SET hnsw.ef_search = 100;\n";
	for my $q (@queries)
	{
		for my $op ('<->', '<=>')
		{
			$sql .= "SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM t ORDER BY v $op '$q' LIMIT 10) s;\n";
		}
	}
	return $node->safe_psql('postgres', $sql);
}

# The same through a sequential scan (exact), on the primary.
sub exact_results
{
	my $sql = "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
	for my $q (@queries)
	{
		for my $op ('<->', '<=>')
		{
			$sql .= "SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM t ORDER BY v $op '$q', id LIMIT 10) s;\n";
		}
	}
	return $primary->safe_psql('postgres', $sql);
}

sub recall_of
{
	my ($got, $want) = @_;
	my @g = split /\n/, $got;
	my @w = split /\n/, $want;
	my ($hits, $total) = (0, 0);
	for my $i (0 .. $#w)
	{
		my %in = map { $_ => 1 } split /,/, ($g[$i] // '');
		for my $id (split /,/, $w[$i])
		{
			$hits++ if $in{$id};
			$total++;
		}
	}
	return $total ? $hits / $total : 0;
}

sub check_replay
{
	my ($name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	$primary->wait_for_catchup($standby);

	for my $node ($primary, $standby)
	{
		my $plan = $node->safe_psql('postgres',
			"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '$queries[0]' LIMIT 10");
		like($plan, qr/Index Scan using t_l2_idx/, "$name: " . $node->name . " uses the L2 index");
		$plan = $node->safe_psql('postgres',
			"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '$queries[0]' LIMIT 10");
		like($plan, qr/Index Scan using t_cos_idx/, "$name: " . $node->name . " uses the cosine index");
		for my $idx ('t_l2_idx', 't_cos_idx')
		{
			my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM quiver_index_check('$idx')");
			is($ret, 0, "$name: quiver_index_check($idx) passes on " . $node->name)
			  or diag($err);
		}
	}

	my $on_primary = knn_results($primary);
	my $on_standby = knn_results($standby);
	is($on_standby, $on_primary, "$name: the standby returns the primary's k-NN results");

	my $recall = recall_of($on_primary, exact_results());
	cmp_ok($recall, '>=', 0.9, "$name: recall\@10 of the index against an exact scan ($recall)");

	my $count = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), $count, "$name: same row count");
	return;
}

$primary->safe_psql('postgres', "CREATE TABLE t (id int PRIMARY KEY, v vector($dim))");
insert_rows(1, 1500);
$primary->safe_psql('postgres', 'CREATE INDEX t_l2_idx ON t USING hnsw (v vector_l2_ops)');
$primary->safe_psql('postgres',
	'CREATE INDEX t_cos_idx ON t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32)');
check_replay('after build');

# Inserts: one big statement, then many small transactions.
insert_rows(1501, 2500);
for my $b (0 .. 9)
{
	my $from = 2501 + $b * 20;
	insert_rows($from, $from + 19);
}
check_replay('after inserts');

# Deletes + VACUUM: the index drops the dead rows and repairs the neighbours that pointed at them.
$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 < 3 OR id BETWEEN 2000 AND 2200');
$primary->safe_psql('postgres', 'VACUUM t');
check_replay('after deletes + VACUUM');

# Inserts reusing the space VACUUM freed, then a second round of deletes + VACUUM.
insert_rows(3001, 3800);
check_replay('after inserts into freed space');
$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 7 = 1');
$primary->safe_psql('postgres', 'VACUUM t');
insert_rows(3801, 4000);
check_replay('after a second delete + VACUUM + insert');

# An empty index and a rebuilt one replay too.
$primary->safe_psql('postgres', 'CREATE TABLE e (id int, v vector(3))');
$primary->safe_psql('postgres', 'CREATE INDEX e_idx ON e USING hnsw (v vector_l2_ops)');
$primary->safe_psql('postgres', "INSERT INTO e VALUES (1, '[1,2,3]'), (2, '[1,2,4]'), (3, NULL)");
$primary->safe_psql('postgres', 'REINDEX INDEX t_l2_idx');
$primary->wait_for_catchup($standby);
is( $standby->safe_psql('postgres',
		"SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM e ORDER BY v <-> '[1,2,4]' LIMIT 5) s"),
	'2,1',
	'index created empty, then filled: the standby finds its rows');
check_replay('after REINDEX');

$standby->stop;
$primary->stop;
done_testing();

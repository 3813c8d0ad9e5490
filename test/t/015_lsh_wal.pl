# lsh indexes under WAL, on real data (glove-100-small from test/data: 100-d word vectors and
# their binary quantization): one bit_hamming_ops index with filter columns (cat, tag), one
# vector_cosine_ops (SimHash) and one vector_l2_ops (p-stable), built on 3,000 rows.
#  1. A streaming standby (wal_consistency_checking = 'generic': every replayed page is compared
#     with the primary's image) returns exactly the primary's k-NN answers (ids, in order;
#     filtered ones too) after the build, after inserts (one statement, then many small
#     transactions), after deletes + VACUUM, and after inserts into the freed space, and
#     quiver_index_check accepts the indexes on both; sessions on both nodes that used the
#     indexes before a REINDEX with other hash functions (seed, tables) on the primary answer as
#     the rebuilt indexes; an index built on an empty table and filled by inserts replays too.
#  2. Crashes (immediate stop, no shutdown checkpoint): after committed inserts; in the middle of
#     a background session's inserts (some transactions rolled back); after deletes + VACUUM +
#     inserts; in the middle of a VACUUM's index phase. After each restart the indexes are
#     checked, amcheck-style:
#       - every committed row survived;
#       - every row is found by its own vector through its own bucket (lsh.probes = 1);
#       - every row is found through the hamming index by a filter that matches only it (tag),
#         and at distance 0 under a filter on its cat, with quiver.filter_strategy = exact;
#       - quiver_index_check accepts the indexes, and after a VACUUM counts one entry per row;
#       - an iterative scan (lsh.iterative_scan = relaxed_order) returns every row once;
#       - with relaxed_order and lsh.probes covering every bucket a query can reach (2^bits for
#         bit sampling and SimHash, 3^bits for p-stable), the 10 nearest equal a sequential
#         scan's (as distance lists, ties in any order);
#       - the answers at the index's own probes equal those of a freshly built index (REINDEX
#         inside a transaction that is rolled back: same hash functions, same heap TIDs).
#  3. An unlogged table's lsh indexes come back empty after a crash (init fork) and work.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Time::HiRes qw(usleep);

my $data = dirname(__FILE__) . '/../data/glove-100-small';
my $dim = 100;
my $nqueries = 20;

sub read_fvecs
{
	my ($file, $max) = @_;
	open(my $fh, '<:raw', $file) or die "cannot read $file: $!";
	my @rows;
	while ((!defined $max || @rows < $max) && read($fh, my $head, 4) == 4)
	{
		my $d = unpack('l<', $head);
		read($fh, my $buf, 4 * $d) == 4 * $d or die "$file: short row";
		push @rows, [ unpack('f<*', $buf) ];
	}
	close($fh);
	return \@rows;
}

# %.9g gives back the exact float32.
sub literal { return '[' . join(',', map { sprintf('%.9g', $_) } @{ $_[0] }) . ']' }

my $base = read_fvecs("$data/base.fvecs");
my @queries = map { literal($_) } @{ read_fvecs("$data/query.fvecs", $nqueries) };
is(scalar(@$base), 7500, 'glove-100-small: 7,500 base vectors');

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
max_wal_size = '2GB'
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

# Every base vector in `src` (ids 0-based as in the data set); `t` takes rows from it by id.
my $tsv = $primary->basedir . '/glove.tsv';
open(my $out, '>', $tsv) or die "cannot write $tsv: $!";
print $out "$_\t" . literal($base->[$_]) . "\n" for 0 .. $#$base;
close($out);
$primary->safe_psql('postgres', qq(
	CREATE TABLE src (id int PRIMARY KEY, v vector($dim));
	COPY src FROM '$tsv';
	CREATE TABLE t (id int PRIMARY KEY, v vector($dim), b bit($dim), cat int, tag int);
));

sub insert_rows
{
	my ($from, $to, $where) = @_;
	$where //= 'true';
	$primary->safe_psql('postgres', qq(
		INSERT INTO t SELECT id, v, binary_quantize(v)::bit($dim), id % 13, id FROM src
		WHERE id BETWEEN $from AND $to AND $where));
	return;
}

# The indexes: name, column, operator, opclass and filter columns, options, and the
# lsh.probes that reach every bucket a query can (2^bits for bit sampling and SimHash, 3^bits
# for p-stable: every function at its own value or one step either way).
my @indexes = (
	[ 't_ham_idx', 'b', '<~>', 'bit_hamming_ops, cat, tag', 'tables = 6, bits = 12, probes = 40', 4096 ],
	[ 't_cos_idx', 'v', '<=>', 'vector_cosine_ops', 'tables = 6, bits = 10, probes = 40', 1024 ],
	[ 't_l2_idx', 'v', '<->', 'vector_l2_ops', 'tables = 6, bits = 4, width = 8, probes = 20', 81 ],
);

# The query as the operator's right side.
sub arg
{
	my ($col, $q) = @_;
	return $col eq 'b' ? "binary_quantize('$q'::vector)::bit($dim)" : "'$q'::vector";
}

# One line per query and index (and per query with a filter on cat through the hamming index):
# the ids of the 10 nearest rows, in the order returned, at the indexes' own probes.
sub knn
{
	my ($node, $prefix) = @_;
	my $sql = "SET enable_seqscan = off; SET enable_bitmapscan = off;\n";
	for my $i (0 .. $#queries)
	{
		for my $x (@indexes)
		{
			my ($name, $col, $op) = @$x;
			my $q = arg($col, $queries[$i]);
			$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY $col $op $q LIMIT 10) s;\n";
		}
		my $q = arg('b', $queries[$i]);
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t WHERE cat = " . ($i % 13)
		  . " ORDER BY b <~> $q LIMIT 10) s;\n";
	}
	return $node->safe_psql('postgres', ($prefix // '') . $sql);
}

# The distances of the 10 nearest rows per query and index: through the index with every
# reachable bucket probed, or by a sequential scan.
sub exact_knn
{
	my ($node, $seqscan) = @_;
	my $sql = $seqscan
	  ? "SET enable_indexscan = off; SET enable_bitmapscan = off;\n"
	  : "SET enable_seqscan = off; SET enable_bitmapscan = off; SET lsh.iterative_scan = relaxed_order;\n";
	for my $i (0 .. $#queries)
	{
		for my $x (@indexes)
		{
			my ($name, $col, $op, $opclass, $options, $all) = @$x;
			my $q = arg($col, $queries[$i]);
			$sql .= "SET lsh.probes = $all;\n" unless $seqscan;
			for my $where ('', $col eq 'b' ? ('WHERE cat = ' . ($i % 13)) : ())
			{
				$sql .= "SELECT string_agg(round(d::numeric, 5)::text, ',' ORDER BY d) FROM "
				  . "(SELECT $col $op $q AS d FROM t $where ORDER BY $col $op $q LIMIT 10) s;\n";
			}
		}
	}
	return $node->safe_psql('postgres', $sql);
}

sub check_plans
{
	my ($node, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	for my $x (@indexes)
	{
		my ($idx, $col, $op) = @$x;
		my $plan = $node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY $col $op "
			  . arg($col, $queries[0]) . " LIMIT 10");
		like($plan, qr/Index Scan using $idx/, "$name: " . $node->name . " uses $idx");
	}
	my $plan = $node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t WHERE cat = 3 ORDER BY b <~> "
		  . arg('b', $queries[0]) . " LIMIT 10");
	like($plan, qr/Index Scan using t_ham_idx.*\n.*Index Cond: \(cat = 3\)/, "$name: " . $node->name . " filters on cat in t_ham_idx");
	return;
}

sub check_replay
{
	my ($name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	$primary->wait_for_catchup($standby);
	check_plans($_, $name) for ($primary, $standby);
	my $on_primary = knn($primary);
	is(knn($standby), $on_primary, "$name: the standby returns the primary's k-NN results (ids in order)");
	is(exact_knn($standby, 0), exact_knn($primary, 1),
		"$name: with every bucket probed, the standby's indexes answer as a sequential scan");
	my $count = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), $count, "$name: same row count ($count)");
	for my $node ($primary, $standby)
	{
		for my $x (@indexes)
		{
			my ($ret, $out, $err) = $node->psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('$x->[0]')");
			is($ret, 0, "$name: quiver_index_check($x->[0]) passes on " . $node->name) or diag($err);
			is($out, "$count|0", "$name: $x->[0] holds one entry per row, each in its buckets, on " . $node->name);
		}
	}
	return;
}

# amcheck-style checks of the three indexes on `$node`.
sub check_index
{
	my ($node, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	my $settings = "SET enable_seqscan = off; SET enable_bitmapscan = off;\n";

	# The format checker (entries of rows whose insert the crash interrupted may be missing
	# from some tables: unreachable, allowed when their rows are dead).
	for my $x (@indexes)
	{
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT format('%s entries, %s unreachable', heap_tids, unreachable) FROM quiver_index_check('$x->[0]')");
		is($ret, 0, "$name: quiver_index_check($x->[0]) passes") or diag($err);
		note("$name: $x->[0]: $out");
	}

	# Every row through its own bucket: its own vector at one probe per table finds a row at
	# distance 0 (duplicate vectors: any of them).
	for my $x (@indexes)
	{
		my ($idx, $col, $op) = @$x;
		my $lookup = "SELECT a.id FROM t a WHERE coalesce((SELECT c.$col $op a.$col FROM t c ORDER BY c.$col $op a.$col LIMIT 1), 1) > 1e-5";
		like($node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $lookup"), qr/Index Scan using $idx/,
			"$name: self-lookups use $idx");
		is($node->safe_psql('postgres', "$settings SET lsh.probes = 1; SELECT count(*), string_agg(id::text, ',') FROM ($lookup) s"),
			'0|', "$name: $idx finds each of the $rows rows by its own vector in its own bucket");
	}

	# Every row through the hamming index's filter columns, exact strategy: the row itself when
	# the filter (tag) matches only it; a row at distance 0 among those of its cat.
	my $by_tag = "SELECT a.id FROM t a WHERE (SELECT c.id FROM t c WHERE c.tag = a.tag ORDER BY c.b <~> a.b LIMIT 1) IS DISTINCT FROM a.id";
	my $by_cat = "SELECT a.id FROM t a WHERE (SELECT c.b <~> a.b FROM t c WHERE c.cat = a.cat ORDER BY c.b <~> a.b LIMIT 1) IS DISTINCT FROM 0";
	for my $check ([ 'tag', $by_tag ], [ 'cat', $by_cat ])
	{
		my ($col, $sql) = @$check;
		like($node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $sql"), qr/Index Scan using t_ham_idx.*\n.*Index Cond: \($col = a\.$col\)/,
			"$name: lookups by $col use t_ham_idx with an index condition");
		is($node->safe_psql('postgres', "$settings SET quiver.filter_strategy = exact; SELECT count(*), string_agg(id::text, ',') FROM ($sql) s"),
			'0|', "$name: with the exact filter strategy, every row is found through its $col");
	}

	# An iterative scan returns every row once.
	for my $x (@indexes)
	{
		my ($idx, $col, $op) = @$x;
		is($node->safe_psql('postgres', "$settings SET lsh.iterative_scan = relaxed_order; SELECT count(*), count(DISTINCT id) FROM "
				  . "(SELECT id FROM t ORDER BY $col $op " . arg($col, $queries[1]) . ") s"),
			"$rows|$rows", "$name: an iterative scan of $idx returns each of the $rows rows once");
	}

	is(exact_knn($node, 0), exact_knn($node, 1),
		"$name: with every bucket probed, the indexes answer as a sequential scan");

	# A fresh build (same options and seed) answers the same at the indexes' own probes.
	my $current = knn($node);
	my $fresh = knn($node, 'BEGIN; ' . join(' ', map { "REINDEX INDEX $_->[0];" } @indexes) . "\n");
	is($current, $fresh, "$name: the indexes answer as freshly built ones");

	# After VACUUM: one entry per row, each in its bucket of every table.
	$node->safe_psql('postgres', 'VACUUM t');
	for my $x (@indexes)
	{
		my ($ret, $out, $err) = $node->psql('postgres', "SELECT heap_tids, unreachable FROM quiver_index_check('$x->[0]')");
		is($ret, 0, "$name: after VACUUM, quiver_index_check($x->[0]) passes") or diag($err);
		is($out, "$rows|0", "$name: after VACUUM, $x->[0] holds one entry per row ($rows)");
	}
	return;
}

insert_rows(0, 2999);
for my $x (@indexes)
{
	my ($idx, $col, $op, $opclass, $options) = @$x;
	$primary->safe_psql('postgres', "CREATE INDEX $idx ON t USING lsh ($col $opclass) WITH ($options)");
}
$primary->safe_psql('postgres', 'ANALYZE t');
check_replay('after build');

insert_rows(3000, 3399);
for my $b (0 .. 19)
{
	insert_rows(3400 + $b * 10, 3409 + $b * 10);
}
check_replay('after inserts');

$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 < 3 OR id BETWEEN 1000 AND 1199');
$primary->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
check_replay('after deletes + VACUUM');

insert_rows(3600, 3999);
insert_rows(0, 999, 'id % 10 = 0');
check_replay('after inserts into the space VACUUM freed');
check_index($primary, 'after replay');

# Sessions that used the indexes (metapage and hash family cached) before another session
# rebuilt them on the primary with other hash functions (seed, tables) answer as the rebuilt
# indexes do, on both nodes.
my %sessions = map { $_->name => $_->background_psql('postgres') } ($primary, $standby);
my $one = "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT string_agg(id::text, ',') FROM "
  . "(SELECT id FROM t ORDER BY v <=> '$queries[2]' LIMIT 10) s; SELECT string_agg(id::text, ',') FROM "
  . "(SELECT id FROM t WHERE cat = 4 ORDER BY b <~> " . arg('b', $queries[2]) . " LIMIT 10) s;";
$sessions{$_}->query_safe($one) for keys %sessions;
$primary->safe_psql('postgres', 'ALTER INDEX t_cos_idx SET (seed = 7, tables = 5); REINDEX INDEX t_cos_idx;'
	  . 'ALTER INDEX t_ham_idx SET (seed = 3); REINDEX INDEX t_ham_idx');
$primary->wait_for_catchup($standby);
my $rebuilt = $primary->safe_psql('postgres', $one);
for my $name (sort keys %sessions)
{
	is($sessions{$name}->query_safe($one), $rebuilt, "a $name session opened before the REINDEX answers as the rebuilt indexes");
	$sessions{$name}->quit;
}

# An index built on an empty table: every page but the build's from inserts.
$primary->safe_psql('postgres', qq(
	CREATE TABLE e (id int, v vector($dim), b bit($dim));
	CREATE INDEX e_ham_idx ON e USING lsh (b bit_hamming_ops);
	CREATE INDEX e_l2_idx ON e USING lsh (v vector_l2_ops) WITH (width = 8);
	INSERT INTO e SELECT id, v, binary_quantize(v)::bit($dim) FROM src WHERE id < 400;
));
$primary->wait_for_catchup($standby);
my $e_sql = "SET enable_seqscan = off;\n";
for my $q (@queries[ 0 .. 4 ])
{
	$e_sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM e ORDER BY b <~> " . arg('b', $q) . " LIMIT 5) s;\n";
	$e_sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM e ORDER BY v <-> '$q' LIMIT 5) s;\n";
}
is($standby->safe_psql('postgres', $e_sql), $primary->safe_psql('postgres', $e_sql),
	'indexes created empty, then filled: the standby returns the primary\'s results');
is($standby->safe_psql('postgres', "SET enable_seqscan = off; SET lsh.iterative_scan = relaxed_order; "
		  . "SELECT count(DISTINCT id) FROM (SELECT id FROM e ORDER BY v <-> '$queries[0]') s"),
	'400', 'the standby\'s index created empty finds all 400 rows');

$standby->stop;
$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('standby_slot')");

# Crash 1: committed inserts, then an immediate stop (no shutdown checkpoint).
$primary->safe_psql('postgres', 'CHECKPOINT');
insert_rows(4000, 4299);
for my $b (0 .. 19)
{
	insert_rows(4300 + $b * 10, 4309 + $b * 10);
}
my $before = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM t'), $before, "immediate stop after inserts: the $before rows survive");
check_index($primary, 'after an immediate stop after inserts');

# Crash 2: in the middle of a background session's inserts, 5 rows a transaction, every 7th
# rolled back (its entries stay, pointing at dead rows).
my $session = $primary->background_psql('postgres', on_error_stop => 0);
$session->query_until(qr/start/, qq(
\\echo start
DO \$\$
DECLARE
	n int := 0;
BEGIN
	WHILE 4500 + n * 5 < 7500 LOOP
		INSERT INTO t SELECT id, v, binary_quantize(v)::bit($dim), id % 13, id FROM src
		WHERE id >= 4500 + n * 5 AND id < 4505 + n * 5;
		n := n + 1;
		IF n % 7 = 0 THEN
			ROLLBACK;
		ELSE
			COMMIT;
		END IF;
	END LOOP;
END
\$\$;
));
my $target = $before + 400;
my $seen = 0;
for (1 .. 1200)
{
	$seen = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
	last if $seen >= $target;
	usleep(50_000);
}
cmp_ok($seen, '>=', $target, "the background session inserted rows ($seen)");
$primary->stop('immediate');
eval { $session->quit };    # psql may already have exited: its server went away
$primary->start;
my $after = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($after, '>=', $seen, "immediate stop during inserts: the committed rows survive ($after >= $seen)");
cmp_ok($after, '<', 7500, 'the crash came before the inserts ended');
check_index($primary, 'after an immediate stop during inserts');

# Crash 3: deletes + VACUUM (postings rewritten, entries freed) and inserts into the freed
# space, then an immediate stop before any checkpoint: recovery replays the VACUUM.
$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 IN (4, 5) OR id >= 4500');
$primary->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
insert_rows(4500, 4999);
insert_rows(0, 2999, 'id % 10 = 4');
$before = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM t'), $before, "immediate stop after VACUUM: the $before rows survive");
check_index($primary, 'after deletes + VACUUM + inserts and an immediate stop');

# Crash 4: in the middle of a VACUUM's index phase, slowed down by cost-based delays.
# t_ham_idx is vacuumed first (the primary key is recreated to come last): its entry pages are
# read, then its segments rewritten without the dead rows' postings (the index phase's first
# WAL), then its dead entries freed. The crash comes 0.1 to 0.2 s into the rewriting, when some
# segments are rewritten and others not: the dead rows' entries are left in some tables only,
# which quiver_index_check counts as unreachable and the next VACUUM frees.
$primary->safe_psql('postgres', 'ALTER TABLE t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (id)');
$primary->safe_psql('postgres', 'VACUUM t; CHECKPOINT');
$before = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
$primary->safe_psql('postgres', 'DELETE FROM t WHERE id BETWEEN 100 AND 599');
my $vacuum = $primary->background_psql('postgres', on_error_stop => 0);
my $vacuum_pid = $vacuum->query_safe('SELECT pg_backend_pid()');
$vacuum->query_until(qr/start/, qq(
SET vacuum_cost_delay = '20ms';
SET vacuum_cost_limit = 1;
\\echo start
VACUUM (INDEX_CLEANUP ON) t;
));
ok($primary->poll_query_until('postgres',
		"SELECT phase = 'vacuuming indexes' FROM pg_stat_progress_vacuum WHERE pid = $vacuum_pid"),
	'VACUUM reaches its index phase');
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
ok($primary->poll_query_until('postgres', "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn') > 4096"),
	'VACUUM starts rewriting t_ham_idx\'s segments');
usleep(100_000);
is($primary->safe_psql('postgres', "SELECT phase FROM pg_stat_progress_vacuum WHERE pid = $vacuum_pid"),
	'vacuuming indexes', 'the crash comes during the index phase');
# A commit flushes the WAL written so far (the WAL writer, idle during the reads, may be asleep).
$primary->safe_psql('postgres', 'SELECT txid_current()');
$primary->stop('immediate');
eval { $vacuum->quit };
$primary->start;
is($primary->safe_psql('postgres', "SELECT heap_tids = $before AND unreachable > 0 FROM quiver_index_check('t_ham_idx')"), 't',
	'the crash left t_ham_idx with some of the dead rows\' postings removed, no entry freed');
check_index($primary, 'after a crash in the middle of VACUUM');

# Unlogged: the indexes come back from their init forks, empty, and work.
$primary->safe_psql('postgres', qq(
	CREATE UNLOGGED TABLE u (id int, v vector($dim), b bit($dim));
	INSERT INTO u SELECT id, v, binary_quantize(v)::bit($dim) FROM src WHERE id < 500;
	CREATE INDEX u_ham_idx ON u USING lsh (b bit_hamming_ops);
	CREATE INDEX u_l2_idx ON u USING lsh (v vector_l2_ops) WITH (tables = 4, bits = 4, width = 8);
));
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'the unlogged table is empty after the crash');
is($primary->safe_psql('postgres', "SET enable_seqscan = off; SET lsh.iterative_scan = relaxed_order; "
		  . "SELECT count(*) FROM (SELECT id FROM u ORDER BY v <-> '$queries[0]') s"),
	'0', 'its lsh index scans as empty');
$primary->safe_psql('postgres', "INSERT INTO u SELECT id, v, binary_quantize(v)::bit($dim) FROM src WHERE id < 300");
for my $check ([ 'u_ham_idx', 'b', '<~>', 4096 ], [ 'u_l2_idx', 'v', '<->', 81 ])
{
	my ($idx, $col, $op, $all) = @$check;
	my ($idx_sql, $seq_sql) = ("SET enable_seqscan = off; SET lsh.iterative_scan = relaxed_order; SET lsh.probes = $all;\n",
		"SET enable_indexscan = off; SET enable_bitmapscan = off;\n");
	for my $q (@queries[ 0 .. 4 ])
	{
		my $one = "SELECT string_agg(round(d::numeric, 5)::text, ',' ORDER BY d) FROM (SELECT $col $op "
		  . arg($col, $q) . " AS d FROM u ORDER BY $col $op " . arg($col, $q) . " LIMIT 5) s;\n";
		$idx_sql .= $one;
		$seq_sql .= $one;
	}
	like($primary->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM u ORDER BY $col $op "
			  . arg($col, $queries[0]) . " LIMIT 5"), qr/Index Scan using $idx/, "the unlogged table's queries use $idx");
	is($primary->safe_psql('postgres', $idx_sql), $primary->safe_psql('postgres', $seq_sql),
		"after the crash, $idx holds the new rows: exact answers with every bucket probed");
}

my $log = slurp_file($primary->logfile);
unlike($log, qr/TRAP:|PANIC:|terminated by signal/, 'the server did not crash on its own');
$primary->stop;
done_testing();

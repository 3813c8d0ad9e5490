# Concurrent use of lsh indexes: pgbench clients insert (new rows and copies of existing rows),
# query (plain, filtered and iterative), delete and update at once while another client runs
# VACUUM in a loop, on three lsh indexes (SimHash with a filter column, p-stable, bit sampling).
# Inserts contend for the entry and bucket insert pages and the directory pages (a new page,
# a segment grown in place or prepended), VACUUM rewrites segments and frees entries under
# them. No client may get an error, the server must not crash, and afterwards
# quiver_index_check accepts every index (each entry in its bucket of every table), every row is
# found through each index by its own vector, the k-NN with every bucket probed equal an exact
# scan's (SimHash and bit sampling), and after VACUUM each index holds one entry per row.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $dim = 16;
my $seconds = 15;

my $node = PostgreSQL::Test::Cluster->new('lsh_concurrency');
$node->init;
$node->append_conf('postgresql.conf', qq(
max_connections = 30
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');
$node->safe_psql('postgres', qq(
	CREATE TABLE t (id bigserial PRIMARY KEY, v vector($dim), b bit(32), cat int);
	INSERT INTO t (v, b, cat)
	SELECT (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, $dim) WHERE i > 0)::vector,
	       (random() * 4294967295)::bigint::bit(32), i % 10
	FROM generate_series(1, 2000) i;
	CREATE INDEX t_cos_idx ON t USING lsh (v vector_cosine_ops, cat) WITH (tables = 8, bits = 6);
	CREATE INDEX t_l2_idx ON t USING lsh (v vector_l2_ops) WITH (tables = 8, bits = 4);
	CREATE INDEX t_bit_idx ON t USING lsh (b bit_hamming_ops) WITH (tables = 8, bits = 8);
));

my $dir = $node->basedir;
my $random_vector = "(SELECT array_agg(random()::real - 0.5) FROM generate_series(1, $dim))::vector";
my %scripts = (
	'insert.sql' => qq(
INSERT INTO t (v, b, cat) SELECT (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, $dim) WHERE j > 0)::vector,
       (random() * 4294967295)::bigint::bit(32), j % 10 FROM generate_series(1, 3) j;
INSERT INTO t (v, b, cat) SELECT v, b, cat + 1 FROM t WHERE id = (SELECT 1 + (random() * 1999)::int);
),
	'query.sql' => qq(
SET enable_seqscan = off;
SELECT id FROM t ORDER BY v <=> $random_vector LIMIT 10;
SELECT id FROM t WHERE cat = 3 ORDER BY v <=> $random_vector LIMIT 10;
SELECT id FROM t ORDER BY v <-> $random_vector LIMIT 10;
SELECT id FROM t ORDER BY b <~> (random() * 4294967295)::bigint::bit(32) LIMIT 10;
SET lsh.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM t WHERE id % 7 = 0 ORDER BY v <-> $random_vector LIMIT 50) s;
),
	'delete.sql' => qq(
\\set lo random(1, 8000)
DELETE FROM t WHERE id BETWEEN :lo AND :lo + 5;
),
	'update.sql' => qq(
\\set id random(1, 8000)
UPDATE t SET v = $random_vector, cat = :id % 10 WHERE id = :id;
),
	'vacuum.sql' => qq(
VACUUM t;
\\sleep 300 ms
),);
for my $f (keys %scripts)
{
	PostgreSQL::Test::Utils::append_to_file("$dir/$f", $scripts{$f});
}

# Every client must run to the end without an error: pgbench exits non-zero when one aborts.
my @common = ('pgbench', '-n', '-T', $seconds, '-h', $node->host, '-p', $node->port, 'postgres');
my ($out1, $err1, $out2, $err2) = ('', '', '', '');
my $work = IPC::Run::start(
	[
		@common[ 0 .. 1 ], '-c', '6', '-j', '2', '-R', '200',
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
is($work->full_result(0), 0, 'pgbench inserting, querying, deleting and updating: no client failed')
  or diag("$out1\n$err1");
is($vacuum->full_result(0), 0, 'pgbench running VACUUM alongside: no error') or diag("$out2\n$err2");
my ($tx) = $out1 =~ /number of transactions actually processed: (\d+)/;
my ($vacuums) = $out2 =~ /number of transactions actually processed: (\d+)/;
note("$tx transactions, $vacuums VACUUMs");
cmp_ok($vacuums // 0, '>=', 3, 'VACUUM ran several times during the load');

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP:|PANIC:|terminated by signal|was terminated/, 'the server did not crash');
unlike($log, qr/ERROR:|FATAL:/, 'no errors in the server log');

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($rows, '>', 2000, "rows were inserted concurrently ($rows rows now)");

my @indexes = ('t_cos_idx', 't_l2_idx', 't_bit_idx');
for my $idx (@indexes)
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM quiver_index_check('$idx')");
	is($ret, 0, "quiver_index_check($idx) passes after the concurrent load") or diag($err);
}

# Every row is found by its own vector or code: it is in its own bucket of every table, which
# one probe reaches (its distance 0 puts it first among equals; copies share its code).
for my $case (['v', '<=>', 't_cos_idx'], ['v', '<->', 't_l2_idx'], ['b', '<~>', 't_bit_idx'])
{
	my ($col, $op, $idx) = @$case;
	my $missing = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET lsh.probes = 1;
		SELECT count(*) FROM t a WHERE NOT EXISTS
			(SELECT 1 FROM (SELECT b.id FROM t b ORDER BY b.$col $op a.$col LIMIT 1000) s WHERE s.id = a.id)));
	is($missing, 0, "every row is found through $idx by its own value at one probe");
}

# With every bucket probed the index's k-NN equal the exact ones (by distance: duplicates may
# come in either order): SimHash with K = 6 has 64 buckets a table, bit sampling with K = 8 has
# 256, and multi-probe reaches all of them. (p-stable probes move each function by one slot
# at most, so a row two slots away in every table is only found by an iterative scan's
# exhaustive pass: not part of this comparison.)
srand(7);
my $sql = '';
for (1 .. 10)
{
	my $q = '[' . join(',', map { sprintf('%.4f', rand() - 0.5) } 1 .. $dim) . ']';
	my $code = join('', map { int(rand(2)) } 1 .. 32);
	$sql .= "SELECT string_agg(round(d::numeric, 5)::text, ',' ORDER BY d) FROM "
	  . "(SELECT v <=> '$q' AS d FROM t ORDER BY v <=> '$q' LIMIT 10) s;\n";
	$sql .= "SELECT string_agg(d::text, ',' ORDER BY d) FROM "
	  . "(SELECT b <~> B'$code' AS d FROM t ORDER BY b <~> B'$code' LIMIT 10) s;\n";
}
is( $node->safe_psql('postgres', "SET enable_seqscan = off; SET lsh.probes = 256;\n$sql"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off;\n$sql"),
	'index k-NN (every bucket probed) equals the exact k-NN for 10 queries x 2 operators');

$node->safe_psql('postgres', 'VACUUM t');
for my $idx (@indexes)
{
	my ($ret, $res, $err) = $node->psql('postgres', "SELECT elements, unreachable FROM quiver_index_check('$idx')");
	is($ret, 0, "after VACUUM, quiver_index_check($idx) passes") or diag($err);
	is($res, "$rows|0", "after VACUUM, $idx holds one entry per row, none unreachable");
}

$node->stop;
done_testing();

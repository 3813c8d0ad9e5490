# pg_dump / pg_restore of a database with pq codebooks, pq columns and ivf / ivfflat indexes:
# the codebook rows (an extension configuration table) and its sequence come back, the pq
# values decode to the same vectors, and the rebuilt indexes answer as before.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION quiver;
	CREATE TABLE t (id int PRIMARY KEY, v vector(8));
	INSERT INTO t SELECT i, ARRAY[i % 3, i % 5, i % 7, i % 11, i % 13, i % 2, i % 17, i % 19] FROM generate_series(1, 800) i;
	SELECT quiver_pq_train('t', 'v', 4);
	SELECT quiver_pq_train('t', 'v', 2, 4);
	CREATE TABLE items (id int, code pq(1), small pq(2));
	INSERT INTO items SELECT id, v, v FROM t;
	CREATE INDEX t_ivf ON t USING ivf (v) WITH (lists = 4, pq_m = 2);
	CREATE INDEX t_ivfflat ON t USING ivfflat (v) WITH (lists = 4);
});

my $check = q{
	SELECT count(*), round(sum(code <-> '[1,1,1,1,1,1,1,1]')::numeric, 6),
	       round(sum(small <#> '[1,2,3,4,5,6,7,8]')::numeric, 6)
	FROM items;
	SELECT id, dimensions, m, nbits, trained_rows FROM quiver_pq_codebook ORDER BY id;
	SET enable_seqscan = off; SET ivf.probes = 4;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
	SET ivfflat.probes = 4; DROP INDEX t_ivf;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
};
my $before = $node->safe_psql('src', "BEGIN; $check ROLLBACK;");
my $decoded = $node->safe_psql('src', "SELECT md5(string_agg(quiver_pq_decode(code)::text || quiver_pq_decode(small)::text, ';' ORDER BY id)) FROM items");

for my $format ('custom', 'plain')
{
	my $file = $node->basedir . "/dump.$format";
	$node->command_ok([ 'pg_dump', '-F', substr($format, 0, 1), '-f', $file, '-d', $node->connstr('src') ],
		"pg_dump ($format)");
	my $db = "restored_$format";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($format eq 'custom')
	{
		$node->command_ok([ 'pg_restore', '-d', $node->connstr($db), '--exit-on-error', $file ], 'pg_restore');
	}
	else
	{
		$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $file ],
			'psql restores the plain dump');
	}
	is($node->safe_psql($db, "BEGIN; $check ROLLBACK;"), $before, "$format: same codebooks, values and k-NN answers");
	is($node->safe_psql($db, "SELECT md5(string_agg(quiver_pq_decode(code)::text || quiver_pq_decode(small)::text, ';' ORDER BY id)) FROM items"),
		$decoded, "$format: every pq value decodes to the same vector");
	# The sequence came along: a new codebook gets the next id.
	is($node->safe_psql($db, "SELECT quiver_pq_train('t', 'v', 8)"), '3', "$format: the next codebook is number 3");
}

$node->stop;
done_testing();

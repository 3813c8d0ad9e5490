# pg_dump / pg_restore (custom and plain) of a database with every quiver type and index kind:
# pq codebooks, pq columns and ivf / ivfflat indexes (the codebook rows, an extension
# configuration table, and its sequence come back, the pq values decode to the same vectors),
# vector / halfvec / sparsevec / bit columns with hnsw indexes (one with filter columns): the
# values come back byte for byte and the rebuilt indexes answer as before.
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
	CREATE TABLE k (id int PRIMARY KEY, v vector(4), h halfvec(4), s sparsevec(6), b bit(8), cat int, tags text[]);
	INSERT INTO k SELECT i, ARRAY[i % 7, i % 5, i % 3, i % 11]::real[], ARRAY[i % 5, i % 7, 0.5, i % 3]::real[]::halfvec,
	                     format('{%s:%s,6:0.25}/6', 1 + i % 5, i % 9)::sparsevec, (i % 256)::bit(8), i % 4,
	                     ARRAY['t' || i % 3]
	FROM generate_series(1, 600) i;
	CREATE INDEX k_v ON k USING hnsw (v vector_l2_ops, cat, tags);
	CREATE INDEX k_h ON k USING hnsw (h halfvec_cosine_ops);
	CREATE INDEX k_s ON k USING hnsw (s sparsevec_ip_ops);
	CREATE INDEX k_b ON k USING hnsw (b bit_hamming_ops);
	CREATE INDEX k_ivf ON k USING ivf (h halfvec_l2_ops) WITH (lists = 3, quantizer = 'sq8');
});
my $kcheck = q{
	SELECT md5(string_agg(v::text || h::text || s::text || b::text, ';' ORDER BY id)) FROM k;
	SET enable_seqscan = off; SET hnsw.ef_search = 600; SET ivf.probes = 3;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM k WHERE cat = 2 AND tags && '{t1}' ORDER BY v <-> '[1,2,3,4]', id LIMIT 8) s;
	SELECT string_agg(round((h <=> '[1,0,1,0]')::numeric, 6)::text, ',') FROM (SELECT h FROM k ORDER BY h <=> '[1,0,1,0]' LIMIT 8) s;
	SELECT string_agg(round((s <#> '{1:1,2:2,6:3}/6')::numeric, 6)::text, ',') FROM (SELECT s FROM k ORDER BY s <#> '{1:1,2:2,6:3}/6' LIMIT 8) s;
	SELECT string_agg((b <~> B'10101010')::text, ',') FROM (SELECT b FROM k ORDER BY b <~> B'10101010' LIMIT 8) s;
	SELECT string_agg(round((h <-> '[1,2,3,4]')::numeric, 4)::text, ',') FROM (SELECT h FROM k ORDER BY h <-> '[1,2,3,4]' LIMIT 8) s;
	SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'k'::regclass;
};
my $kbefore = $node->safe_psql('src', $kcheck);
my $kexact = $node->safe_psql('src', "SET enable_indexscan = off; SET enable_bitmapscan = off; $kcheck");

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

# The indexes' answers on this small data are exact (hnsw at ef_search 600 over 600 rows, ivf
# probing every list and re-ranking... except sq8 distances, compared rounded to 4 digits).
is($kbefore, $kexact, 'before the dump: the indexes return the exact answers');

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
	is($node->safe_psql($db, $kcheck), $kbefore, "$format: vector, halfvec, sparsevec and bit values and hnsw / ivf answers as before");
	like($node->safe_psql($db, "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM k WHERE cat = 2 ORDER BY v <-> '[1,2,3,4]' LIMIT 8"),
		qr/Index Cond: \(cat = 2\)/, "$format: the filter column index came back");
	# The sequence came along: a new codebook gets the next id.
	is($node->safe_psql($db, "SELECT quiver_pq_train('t', 'v', 8)"), '3', "$format: the next codebook is number 3");
}

$node->stop;
done_testing();

# Migration from pgvector (README, "Coming from pgvector"): a plain pg_dump of a pgvector
# database (test/data/pgvector/pgvector-dump.sql) is restored into a database where quiver is
# installed, leaving out the dump's CREATE EXTENSION vector and its COMMENT as README says. The
# rows load unchanged (pgvector's text formats), the restore rebuilds the hnsw and ivfflat
# indexes from pgvector's operator class names and options, and their answers are exact.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);

my $fixture = dirname(__FILE__) . '/../data/pgvector/pgvector-dump.sql';
my $dump = slurp_file($fixture);

my $node = PostgreSQL::Test::Cluster->new('migrate');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE app; CREATE DATABASE app OWNER app');
$node->safe_psql('app', 'CREATE EXTENSION quiver');

# The documented filter: the two extension lines out, everything else as it is.
my $filtered = $node->basedir . '/pgvector-dump-for-quiver.sql';
open(my $in, '<', $fixture) or die "cannot read $fixture: $!";
open(my $out, '>', $filtered) or die "cannot write $filtered: $!";
my $dropped = 0;
while (my $line = <$in>)
{
	if ($line =~ /^(CREATE EXTENSION IF NOT EXISTS vector |COMMENT ON EXTENSION vector )/)
	{
		$dropped++;
		next;
	}
	print $out $line;
}
close($in);
close($out);
is($dropped, 2, 'the filter leaves out CREATE EXTENSION vector and its comment');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('app'), '-f', $filtered ],
	'the pgvector dump restores into a quiver database');

# Rows: the text of every value reads back as it was dumped.
my ($copy) = $dump =~ /^COPY public\.items .*? FROM stdin;\n(.*?)^\\\.$/ms;
my $back = $node->safe_psql('app', 'COPY (SELECT id, embedding, half, sparse, bits, category FROM items ORDER BY id) TO STDOUT');
is($back . "\n", $copy, 'every vector, halfvec, sparsevec and bit value reads back as dumped (200 rows)');

is($node->safe_psql('app', q{
	SELECT string_agg(c.relname || ':' || a.amname, ',' ORDER BY c.relname)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
	WHERE i.indrelid = 'items'::regclass}),
	'items_bits_idx:hnsw,items_embedding_idx:hnsw,items_half_idx:ivfflat,items_pkey:btree,items_sparse_idx:hnsw',
	'the restore built the hnsw and ivfflat indexes with quiver');
is($node->safe_psql('app', "SELECT reloptions::text FROM pg_class WHERE relname = 'items_embedding_idx'"),
	'{m=16,ef_construction=64}', 'with their options');
my @checks = $node->safe_psql('app', 'SELECT * FROM quiver_index_check(\'items_embedding_idx\')');
ok(scalar(@checks), 'quiver_index_check accepts the rebuilt hnsw index');

# k-NN through each index equals a sequential scan's (distances, so ties may come in any order).
my $knn = q{
	SELECT string_agg(round(d::numeric, 6)::text, ',') FROM (SELECT embedding <-> '[1,-1,0.5,2]' AS d FROM items ORDER BY embedding <-> '[1,-1,0.5,2]' LIMIT 10) s;
	SELECT string_agg(round(d::numeric, 6)::text, ',') FROM (SELECT half <=> '[1,2,-1,0.5]' AS d FROM items ORDER BY half <=> '[1,2,-1,0.5]' LIMIT 10) s;
	SELECT string_agg(round(d::numeric, 6)::text, ',') FROM (SELECT sparse <#> '{1:1,4:2,8:-1}/8' AS d FROM items ORDER BY sparse <#> '{1:1,4:2,8:-1}/8' LIMIT 10) s;
	SELECT string_agg(d::text, ',') FROM (SELECT bits <~> B'10101010' AS d FROM items ORDER BY bits <~> B'10101010' LIMIT 10) s;
	SELECT string_agg(round(d::numeric, 6)::text, ',') FROM (SELECT embedding <-> '[0,0,0,0]' AS d FROM items WHERE category = 2 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5) s;
};
my $exact = $node->safe_psql('app', "SET enable_indexscan = off; SET enable_bitmapscan = off; $knn");
my $indexed = $node->safe_psql('app', "SET enable_seqscan = off; SET hnsw.ef_search = 200; SET ivfflat.probes = 4; $knn");
like($node->safe_psql('app', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY half <=> '[1,2,-1,0.5]' LIMIT 10"),
	qr/items_half_idx/, 'the ivfflat index serves cosine ORDER BY');
is($indexed, $exact, 'k-NN through the rebuilt indexes equals the exact answers');

$node->stop;
done_testing();

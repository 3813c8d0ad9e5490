# Buffer hints (which shared or local buffer held a block of an index lately) must never hand a
# walk a page of another relation. A temporary index and a permanent one can have the same
# relfilenode number: their files differ ("t<backend>_N" and "N"), but the buffer tags that
# ReadRecentBuffer compares do not say which pool a buffer is in. Here a session walks its
# temporary index, then a permanent index made to use the same relfilenode number (its file
# copied under that name, pg_class pointed at it); the permanent index must answer from its
# own pages. Before hints were kept per backend and checked for their pool, it answered with
# the temporary index's heap TIDs.
use strict;
use warnings;

use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hints');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');

my $session = $node->background_psql('postgres');
$session->query_safe(qq(
	CREATE TEMP TABLE tt (id int, v vector(3));
	INSERT INTO tt SELECT 1000 + i, ARRAY[i + 50, i + 50, i + 50] FROM generate_series(1, 200) i;
	CREATE INDEX tt_idx ON tt USING hnsw (v vector_l2_ops);
	SET enable_seqscan = off;
));
is($session->query_safe("SELECT string_agg(id::text, ',') FROM (SELECT id FROM tt ORDER BY v <-> '[55.1,55.1,55.1]' LIMIT 3) s"),
	'1005,1006,1004', 'the temporary index answers from its own rows');
my $temp_node = $session->query_safe("SELECT relfilenode FROM pg_class WHERE relname = 'tt_idx'");

# A permanent index over other rows, then moved onto the temporary index's relfilenode number.
$node->safe_psql('postgres', qq(
	CREATE TABLE p (id int, v vector(3));
	INSERT INTO p SELECT i, ARRAY[i, i, i] FROM generate_series(1, 200) i;
	CREATE INDEX p_idx ON p USING hnsw (v vector_l2_ops);
	CHECKPOINT;
));
my $data = $node->data_dir;
my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('p_idx')");
(my $moved = $path) =~ s/\d+$/$temp_node/;
ok(!-e "$data/$moved", "no permanent file $moved exists yet");
copy("$data/$path", "$data/$moved") or die "copy: $!";
$node->safe_psql('postgres',
	"UPDATE pg_class SET relfilenode = $temp_node WHERE oid = 'p_idx'::regclass");

# The same session walked the temporary index (its hints are local buffers of that number).
is($session->query_safe("SELECT string_agg(id::text, ',') FROM (SELECT id FROM p ORDER BY v <-> '[5.1,5.1,5.1]' LIMIT 3) s"),
	'5,6,4', 'the permanent index with the same relfilenode number answers from its own pages');
is($session->query_safe("SELECT string_agg(id::text, ',') FROM (SELECT id FROM tt ORDER BY v <-> '[55.1,55.1,55.1]' LIMIT 3) s"),
	'1005,1006,1004', 'and the temporary index still from its own');
$session->quit;

$node->stop;
done_testing();

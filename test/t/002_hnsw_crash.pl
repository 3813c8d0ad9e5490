# hnsw indexes survive crashes. Inserts run in a background session, one transaction per few
# rows (some rolled back), and the server is crashed in the middle:
#   round 1: `pg_ctl stop -m immediate` (every process quits at once, no shutdown checkpoint);
#   round 2: kill -9 of the inserting backend (the postmaster resets shared memory and recovers);
#   round 3: deletes + VACUUM, then an immediate stop with no checkpoint in between;
#   round 4: kill -9 of every server process at once (postmaster and all its children), as a
#            machine crash or the OOM killer would leave it.
# After each restart: quiver_index_check accepts both indexes; committed rows are found
# through the index when searched by their own vector (at most 1 in 2,000 missed, or 1); for a set
# of queries the index returns the exact nearest rows (sequential scan) at a large ef_search;
# after VACUUM the number of heap TIDs in the index equals the number of rows.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $dim = 16;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', qq(
restart_after_crash = on
maintenance_work_mem = '64MB'
shared_buffers = '64MB'
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');
$node->safe_psql('postgres', qq(
	CREATE TABLE t (id bigserial PRIMARY KEY, v vector($dim));
	INSERT INTO t (v)
	SELECT (SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE i > 0)::vector
	FROM generate_series(1, 2000) i;
	CREATE INDEX t_l2_idx ON t USING hnsw (v vector_l2_ops);
	CREATE INDEX t_cos_idx ON t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 40);
	CHECKPOINT;
));

srand(42);
my @queries;
for (1 .. 12)
{
	push @queries, '[' . join(',', map { sprintf('%.4f', rand()) } 1 .. $dim) . ']';
}

# A background session inserting 5 rows per transaction until the server goes away; every 7th
# transaction rolls back (its index tuples stay behind, pointing at dead heap tuples), every
# 10th row duplicates an existing vector.
sub start_inserter
{
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/start/, qq(
\\echo start
DO \$\$
DECLARE
	n int := 0;
BEGIN
	LOOP
		n := n + 1;
		INSERT INTO t (v)
		SELECT CASE WHEN j = 5 AND n % 2 = 0
		            THEN (SELECT v FROM t WHERE id = 1 + (n * 37) % 2000)
		            ELSE (SELECT array_agg(random()::real) FROM generate_series(1, $dim) WHERE j > 0)::vector END
		FROM generate_series(1, 5) j;
		IF n % 7 = 0 THEN
			ROLLBACK;
		ELSE
			COMMIT;
		END IF;
	END LOOP;
END
\$\$;
));
	return ($session, $pid);
}

sub wait_for_rows
{
	my ($target) = @_;
	for (1 .. 600)
	{
		my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
		return $n if $n >= $target;
		usleep(100_000);
	}
	die "the inserter did not reach $target rows";
}

sub check_index
{
	my ($name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	for my $idx ('t_l2_idx', 't_cos_idx')
	{
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT format('%s elements, %s heap TIDs, %s unreachable (interrupted inserts)', elements, heap_tids, unreachable) FROM quiver_index_check('$idx')");
		is($ret, 0, "$name: quiver_index_check($idx) passes") or diag($err);
		note("$idx: $out");
	}

	# Committed rows are found by their own vector (through the index: enable_seqscan off).
	# The walk is approximate: at ef_search = 1000 a row is missed when its element's in-links
	# have all drifted away from its vector (each insert that prunes it from a neighbour's list
	# re-homes it, not always near it). Without any crash, the same 16-d data (cosine, m = 8)
	# had one such row among ~7,000 in 3 of 25 runs (on 2026-12-07: its one in-link came
	# from its 2,452nd nearest element). So: at most one miss per 2,000 rows, and the misses
	# are listed.
	for my $op ('<->', '<=>')
	{
		my $plan = $node->safe_psql('postgres', qq(
			SET enable_seqscan = off;
			EXPLAIN (COSTS OFF) SELECT a.id FROM t a WHERE a.v IS NOT NULL AND NOT EXISTS
				(SELECT 1 FROM (SELECT b.id FROM t b ORDER BY b.v $op a.v LIMIT 10) s WHERE s.id = a.id)));
		like($plan, qr/Index Scan using t_(l2|cos)_idx/, "$name: self-lookups with $op use the index");
		my $missing = $node->safe_psql('postgres', qq(
			SET enable_seqscan = off; SET hnsw.ef_search = 1000;
			SELECT count(*), coalesce(string_agg(a.id::text, ',' ORDER BY a.id), '') FROM t a WHERE a.v IS NOT NULL AND NOT EXISTS
				(SELECT 1 FROM (SELECT b.id FROM t b ORDER BY b.v $op a.v LIMIT 10) s WHERE s.id = a.id)));
		my ($misses, $ids) = split /\|/, $missing, 2;
		my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE v IS NOT NULL');
		note("$name: $op: $misses of $rows rows not found by their own vector ($ids)") if $misses > 0;
		cmp_ok($misses, '<=', ($rows < 4000 ? 1 : int($rows / 2000)),
			"$name: committed rows are found through the index with $op (at most 1 in 2,000 missed, or 1)");
	}

	# The index's nearest rows equal an exact scan's (compared by distance, so that duplicate
	# vectors may come in either order). At ef_search = 400 one query of 24 has come out one
	# row short of exact once in many runs (approximate search on 16-d random data); 1000 makes
	# a miss there point at a damaged graph rather than at the walk.
	my ($idx_sql, $seq_sql) = ('', '');
	for my $q (@queries)
	{
		for my $op ('<->', '<=>')
		{
			my $one = "SELECT string_agg(round(d::numeric, 5)::text, ',' ORDER BY d) FROM "
			  . "(SELECT v $op '$q' AS d FROM t ORDER BY v $op '$q' LIMIT 10) s;\n";
			$idx_sql .= $one;
			$seq_sql .= $one;
		}
	}
	my $by_index = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SET hnsw.ef_search = 1000;\n$idx_sql");
	my $exact = $node->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_bitmapscan = off;\n$seq_sql");
	is($by_index, $exact, "$name: index k-NN equals the exact k-NN for " . scalar(@queries) . ' queries x 2 operators');

	# After VACUUM the index holds exactly one heap TID per row (NULLs are not indexed).
	$node->safe_psql('postgres', 'VACUUM t');
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE v IS NOT NULL');
	for my $idx ('t_l2_idx', 't_cos_idx')
	{
		my ($ret, $tids, $err) = $node->psql('postgres', "SELECT heap_tids FROM quiver_index_check('$idx')");
		is($ret, 0, "$name: after VACUUM, quiver_index_check($idx) passes") or diag($err);
		is($tids, $rows, "$name: after VACUUM, $idx holds one heap TID per row ($rows)");
	}
	return;
}

# Round 1: immediate stop during inserts.
my ($session, $pid) = start_inserter();
my $before = wait_for_rows(3000);
$node->stop('immediate');
eval { $session->quit };    # psql may already have exited: its server went away
$node->start;
my $after = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($after, '>=', $before, "immediate stop: the committed rows survive ($after >= $before)");
check_index('after an immediate stop during inserts');

# Round 2: kill -9 of the inserting backend; the postmaster recovers on its own.
($session, $pid) = start_inserter();
$before = wait_for_rows($after + 1500);
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
eval { $session->quit };    # psql may already have exited: its server went away
$node->poll_query_until('postgres', 'SELECT 1', '1') or die 'the server did not come back';
ok($node->wait_for_log(qr/database system is ready to accept connections/, $log_offset),
	'kill -9 of a backend: the server reinitialized and recovered');
$after = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($after, '>=', $before, "kill -9: the committed rows survive ($after >= $before)");
check_index('after kill -9 of the inserting backend');

# Round 3: a checkpoint, then deletes, VACUUM and more inserts, crashed before the next
# checkpoint: recovery replays the VACUUM's repairs.
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 < 3');
$node->safe_psql('postgres', 'VACUUM t');
($session, $pid) = start_inserter();
$before = wait_for_rows($after * 0.7 + 1000);
$node->stop('immediate');
eval { $session->quit };    # psql may already have exited: its server went away
$node->start;
$after = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($after, '>=', $before, "crash after VACUUM: the committed rows survive ($after >= $before)");
check_index('after deletes + VACUUM + inserts and an immediate stop');

# Round 4: SIGKILL to the postmaster and every child at the same moment.
sub server_processes
{
	my $postmaster = $node->{_pid};
	my @children;
	for my $stat (glob('/proc/[0-9]*/stat'))
	{
		open(my $fh, '<', $stat) or next;
		my $line = <$fh>;
		close($fh);
		next unless defined $line && $line =~ /^(\d+) \(.*\) \S+ (\d+) /;
		push @children, $1 if $2 == $postmaster;
	}
	return ($postmaster, @children);
}
($session, $pid) = start_inserter();
$before = wait_for_rows($after + 1500);
my @pids = server_processes();
cmp_ok(scalar(@pids), '>=', 4, 'found the postmaster and its children (' . scalar(@pids) . ' processes)');
kill 'KILL', @pids;
$node->kill9;    # forget the postmaster's pid (it is already dead)
eval { $session->quit };
for (1 .. 300)
{
	last unless grep { kill(0, $_) } @pids;
	usleep(100_000);
}
ok(!(grep { kill(0, $_) } @pids), 'every server process is gone');
$node->start;
$after = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($after, '>=', $before, "kill -9 of all server processes: the committed rows survive ($after >= $before)");
check_index('after kill -9 of the whole server during inserts');

# Round 5: a crash in the middle of a VACUUM, when it has repaired the lists that linked to
# elements without rows and is about to mark those deleted (pause point hnsw_vacuum_repaired).
# Every committed row must stay reachable at that moment, not only once the VACUUM has ended:
# an index scan after recovery has to find them before any later VACUUM runs.
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 2 = 0');
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(20822)');
my $vacuum = $node->background_psql('postgres', on_error_stop => 0);
my $vacuum_pid = $vacuum->query_safe('SELECT pg_backend_pid()');
$vacuum->query_until(qr/start/, qq(
SET quiver.debug_pause_at = 'hnsw_vacuum_repaired';
\\echo start
VACUUM t;
));
ok($node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $vacuum_pid"),
	'VACUUM waits at hnsw_vacuum_repaired');
$node->stop('immediate');
eval { $vacuum->quit };
eval { $holder->quit };
$node->start;
check_index('after a crash in the middle of VACUUM');

$node->stop;
done_testing();

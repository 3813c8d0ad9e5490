# quiver_index_check finds corruption: with the server stopped, the index file is edited on disk
# (page layout from quiver/pg/hnsw.h), and the check must fail with the matching message; with
# the original bytes back it passes again. This shows the checker the other tests rely on is not
# a no-op: a self-link, a link to a neighbour tuple, an element made unreachable (every level-0
# link to it removed), a heap TID in two elements, a neighbour tuple of another version, a bad
# metapage magic, an entry level that disagrees with the entry element, a code of the wrong
# length (which scans must refuse too).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;
my $M = 16;    # the index's m (the default): level 0 has 2m slots

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION quiver');
$node->safe_psql('postgres', qq(
	CREATE TABLE t (id int PRIMARY KEY, v vector(8));
	INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE i > 0)::vector
	FROM generate_series(1, 200) i;
	CREATE INDEX t_idx ON t USING hnsw (v vector_l2_ops) WITH (m = $M, ef_construction = 64);
));
my ($ret, $out, $err) = $node->psql('postgres', "SELECT elements, unreachable FROM quiver_index_check('t_idx')");
is($ret, 0, 'the intact index passes') or diag($err);
is($out, '200|0', 'the intact index has 200 reachable elements');
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
$node->stop;

my $original = slurp_file($file);    # binary-safe: slurp_file reads raw bytes
note('index file: ' . length($original) . ' bytes');

# ---- page parsing ------------------------------------------------------------------------------

sub tid_pack { my ($blk, $o) = @_; return pack("vvv", $blk >> 16, $blk & 0xFFFF, $o); }
sub tid_unpack
{
	my ($bytes) = @_;
	my ($hi, $lo, $o) = unpack('vvv', $bytes);
	return (($hi << 16) | $lo, $o);
}
sub tid_str { my ($blk, $o) = @_; return "($blk,$o)"; }

# All tuples: { blk, off, pos (byte position in the file), len, type }
sub tuples
{
	my ($data) = @_;
	my @t;
	for my $blk (1 .. length($data) / $BLCKSZ - 1)
	{
		my $base = $blk * $BLCKSZ;
		my $lower = unpack('v', substr($data, $base + 12, 2));
		next if $lower == 0;    # new page
		my $n = ($lower - 24) / 4;
		for my $off (1 .. $n)
		{
			my $lp = unpack('V', substr($data, $base + 24 + 4 * ($off - 1), 4));
			my $pos = $base + ($lp & 0x7FFF);
			my $len = $lp >> 17;
			my $type = unpack('C', substr($data, $pos, 1));
			push @t, { blk => $blk, off => $off, pos => $pos, len => $len, type => $type };
		}
	}
	return @t;
}

sub element_fields
{
	my ($data, $t) = @_;
	my ($type, $level, $deleted, $version, $count) = unpack('CCCCC', substr($data, $t->{pos}, 5));
	my ($nb, $no) = tid_unpack(substr($data, $t->{pos} + 8, 6));
	return { level => $level, version => $version, count => $count, nblk => $nb, noff => $no };
}

my @all = tuples($original);
my %by_tid = map { tid_str($_->{blk}, $_->{off}) => $_ } @all;
my @elements = grep { $_->{type} == 1 } @all;
my @neighbors = grep { $_->{type} == 2 } @all;
is(scalar(@elements), 200, 'the file holds 200 element tuples');
my ($entry_blk, $entry_off) = tid_unpack(substr($original, 24 + 20, 6));
my $entry_level = unpack('s<', substr($original, 24 + 26, 2));
note("entry point " . tid_str($entry_blk, $entry_off) . " level $entry_level");

# The neighbour tuple of an element, and its level-0 slots' byte positions.
sub neighbor_of
{
	my ($data, $e) = @_;
	my $f = element_fields($data, $e);
	return $by_tid{ tid_str($f->{nblk}, $f->{noff}) };
}

sub check_fails_with
{
	my ($data, $pattern, $name) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	print $fh $data;
	close($fh);
	$node->start;
	my ($r, $o, $e) = $node->psql('postgres', "SELECT * FROM quiver_index_check('t_idx')");
	isnt($r, 0, "$name: the check fails");
	like($e, $pattern, "$name: the message says so");
	$node->stop;
	return;
}

# A non-entry element of level 0 with a full-ish list, and another element.
my ($ea) = grep { tid_str($_->{blk}, $_->{off}) ne tid_str($entry_blk, $entry_off) } @elements;
my $eb = $elements[-1];
my $a_tid = tid_str($ea->{blk}, $ea->{off});
my $na = neighbor_of($original, $ea);

# 1. A self-link: A's first level-0 link points at A.
{
	my $d = $original;
	substr($d, $na->{pos} + 4, 6) = tid_pack($ea->{blk}, $ea->{off});
	check_fails_with($d, qr/index "t_idx" element \Q$a_tid\E links to itself on level 0/, 'self-link');
}

# 2. A link to a neighbour tuple instead of an element.
{
	my $d = $original;
	substr($d, $na->{pos} + 4, 6) = tid_pack($na->{blk}, $na->{off});
	check_fails_with($d, qr/index "t_idx" element \Q$a_tid\E links on level 0 to \(\d+,\d+\), which is a neighbour tuple/,
		'link to a neighbour tuple');
}

# 3. A made unreachable: remove it from every level-0 list (keeping each list compact).
{
	my $d = $original;
	my $removed = 0;
	for my $n (@neighbors)
	{
		my @slots = map { substr($d, $n->{pos} + 4 + 6 * $_, 6) } 0 .. 2 * $M - 1;
		my @keep = grep { my ($bb, $oo) = tid_unpack($_); tid_str($bb, $oo) ne $a_tid } @slots;
		next if @keep == @slots;
		$removed += @slots - @keep;
		push @keep, tid_pack(0xFFFFFFFF, 0) while @keep < @slots;
		substr($d, $n->{pos} + 4 + 6 * $_, 6) = $keep[$_] for 0 .. $#keep;
	}
	ok($removed > 0, "element $a_tid had $removed incoming level-0 links");
	check_fails_with($d, qr/index "t_idx" element \Q$a_tid\E \(row \(\d+,\d+\)\) is not reachable from entry point/,
		'unreachable element');
}

# 4. One heap TID in two elements.
{
	my $d = $original;
	substr($d, $eb->{pos} + 16, 6) = substr($d, $ea->{pos} + 16, 6);
	check_fails_with($d, qr/index "t_idx" has heap TID \(\d+,\d+\) twice/, 'duplicate heap TID');
}

# 5. The neighbour tuple of another version.
{
	my $d = $original;
	my $v = unpack('C', substr($d, $na->{pos} + 1, 1));
	substr($d, $na->{pos} + 1, 1) = pack('C', ($v + 1) & 0xFF);
	check_fails_with($d, qr/index "t_idx" element \Q$a_tid\E has version \d+, but its neighbour tuple \(\d+,\d+\) has version/,
		'version mismatch');
}

# 6. A bad metapage magic.
{
	my $d = $original;
	substr($d, 24, 4) = pack('V', 0xDEADBEEF);
	check_fails_with($d, qr/index "t_idx" has metapage magic 0xDEADBEEF, expected 0x51564853/, 'bad magic');
}

# 7. The metapage's entry level disagrees with the entry element's level.
{
	my $d = $original;
	substr($d, 24 + 26, 2) = pack('s<', $entry_level + 1);
	check_fails_with($d, qr/index "t_idx" entry point \(\d+,\d+\) has level $entry_level, but the metapage says/,
		'entry level');
}

# 8. An element's level-0 list that is not compact (a hole before a link).
{
	my $d = $original;
	my $f = substr($d, $na->{pos} + 4 + 6, 6);
	my ($fb, $fo) = tid_unpack($f);
	if ($fo != 0)
	{
		substr($d, $na->{pos} + 4, 6) = tid_pack(0xFFFFFFFF, 0);
		check_fails_with($d, qr/index "t_idx" element \Q$a_tid\E level 0 links are not compact/, 'hole in a list');
	}
}

# 9. An element whose code length is not the index's (4 bytes for 8 dimensions): the check says
# so, and a scan that meets it stops with index_corrupted instead of reading 32 bytes of a code
# that says it has 4.
{
	my $d = $original;
	my ($entry) = grep { $_->{blk} == $entry_blk && $_->{off} == $entry_off } @elements;
	substr($d, $entry->{pos} + 14, 2) = pack('v', 4);
	my $entry_tid = tid_str($entry_blk, $entry_off);
	check_fails_with($d, qr/index "t_idx" element \Q$entry_tid\E has a code of 4 bytes/, 'short code');
	$node->start;
	my ($r, $o, $e) = $node->psql('postgres', qq(
		\\set VERBOSITY verbose
		SET enable_seqscan = off;
		SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5));
	isnt($r, 0, 'short code: a scan through the index fails');
	like($e, qr/ERROR:  XX002: hnsw index "t_idx" element \Q$entry_tid\E has a code of 4 bytes, expected 32/,
		'short code: the scan raises index_corrupted and names the element');
	$node->stop;
}

# The original bytes pass again.
open(my $fh, '+<:raw', $file) or die "open $file: $!";
print $fh $original;
close($fh);
$node->start;
($ret, $out, $err) = $node->psql('postgres', "SELECT elements, unreachable FROM quiver_index_check('t_idx')");
is($ret, 0, 'the restored index passes') or diag($err);
$node->stop;
done_testing();

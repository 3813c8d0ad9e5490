# quiver_index_check finds corruption in ivfflat and ivf indexes: with the server stopped, the
# index file is edited on disk (layout in quiver/pg/ivf.h) and the check must fail with the
# matching message; with the original bytes back it passes again. Covered: a bad metapage magic,
# a list whose directory insert page is not its last page, a chain that loops, a heap TID held
# twice, a non-finite centroid, and (ivf) a quantizer blob whose checksum no longer matches;
# for 4-bit PQ codes in fast-scan blocks also a block of 33 entries, a page's inner block that
# is not full, and data in the unused slot of a page's last block.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;
my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION quiver;
	CREATE TABLE t (id int PRIMARY KEY, v vector(8));
	INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE i > 0)::vector
	FROM generate_series(1, 3000) i;
	CREATE INDEX flat_idx ON t USING ivfflat (v vector_l2_ops) WITH (lists = 4);
	CREATE INDEX pq_idx ON t USING ivf (v vector_l2_ops) WITH (lists = 4, pq_m = 4);
	CREATE INDEX fs_idx ON t USING ivf (v vector_l2_ops) WITH (lists = 4, pq_m = 4, pq_nbits = 4);
});
is($node->safe_psql('postgres', "SELECT layout FROM quiver_ivf_metapage('fs_idx')"), 'fastscan',
	'fs_idx: lists of fast-scan blocks');
my %file;
for my $idx ('flat_idx', 'pq_idx', 'fs_idx')
{
	my ($r, $o, $e) = $node->psql('postgres', "SELECT elements FROM quiver_index_check('$idx')");
	is($r, 0, "$idx: the intact index passes") or diag($e);
	is($o, '3000', "$idx: 3000 entries");
	$file{$idx} = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$idx')");
}
$node->stop;

# Metapage fields (page contents start at byte 24).
sub meta
{
	my ($data) = @_;
	my %m;
	@m{qw(magic version dims lists)} = unpack('VVVV', substr($data, 24, 16));
	@m{qw(code_len centroid_len centroid_start directory_start blob_start blob_len)} = unpack('VVVVVV', substr($data, 44, 24));
	return \%m;
}

sub check_fails_with
{
	my ($idx, $data, $pattern, $name) = @_;
	my $original = slurp_file($file{$idx});
	open(my $fh, '+<:raw', $file{$idx}) or die "open: $!";
	print $fh $data;
	close($fh);
	$node->start;
	my ($r, $o, $e) = $node->psql('postgres', "SELECT * FROM quiver_index_check('$idx')");
	isnt($r, 0, "$idx, $name: the check fails");
	like($e, $pattern, "$idx, $name: the message says so");
	$node->stop;
	open($fh, '+<:raw', $file{$idx}) or die "open: $!";
	print $fh $original;
	close($fh);
	return;
}

for my $idx ('flat_idx', 'pq_idx', 'fs_idx')
{
	my $blocks = $idx eq 'fs_idx';
	my $original = slurp_file($file{$idx});
	my $m = meta($original);
	my $dir = $m->{directory_start} * $BLCKSZ + 24;
	my ($start0, $insert0) = unpack('VV', substr($original, $dir, 8));
	my ($start1) = unpack('VV', substr($original, $dir + 8, 8));
	my $page0 = $start0 * $BLCKSZ;
	my $lower0 = unpack('v', substr($original, $page0 + 12, 2));
	my $items0 = ($lower0 - 24) / 4;
	note("$idx: lists $m->{lists}, code_len $m->{code_len}, list 0 pages $start0..$insert0, $items0 items on its first page");
	cmp_ok($items0, '>=', 2, "$idx: list 0's first page holds entries");

	# 1. Metapage magic.
	{
		my $d = $original;
		substr($d, 24, 4) = pack('V', 0xdeadbeef);
		check_fails_with($idx, $d, qr/index "\Q$idx\E" is not an ivf index/, 'bad magic');
	}
	# 2. List 0's insert page is list 1's first page.
	{
		my $d = $original;
		substr($d, $dir + 4, 4) = pack('V', $start1);
		check_fails_with($idx, $d, qr/list 0 ends at page \d+, but its insert page is $start1/, 'wrong insert page');
	}
	# 3. List 0's first page links to itself.
	{
		my $d = $original;
		substr($d, $page0 + $BLCKSZ - 8, 4) = pack('V', $start0);
		check_fails_with($idx, $d, qr/list 0 reaches page $start0 a second time/, 'a loop');
	}
	# 4. The second entry of the page holds the first one's heap TID (fast-scan: the first
	#    block's second TID, after the block's 4-byte count).
	{
		my $d = $original;
		my ($lp1, $lp2) = unpack('VV', substr($d, $page0 + 24, 8));
		my $pos1 = $page0 + ($lp1 & 0x7FFF);
		my $pos2 = $page0 + ($lp2 & 0x7FFF);
		($pos1, $pos2) = ($pos1 + 4, $pos1 + 10) if $blocks;
		substr($d, $pos2, 6) = substr($d, $pos1, 6);
		check_fails_with($idx, $d, qr/index "\Q$idx\E" holds heap TID \(\d+,\d+\) twice/, 'a heap TID twice');
	}
	if ($blocks)
	{
		my $lp1 = unpack('V', substr($original, $page0 + 24, 4));
		my $first = $page0 + ($lp1 & 0x7FFF);
		my $lplast = unpack('V', substr($original, $page0 + 24 + 4 * ($items0 - 1), 4));
		my $last = $page0 + ($lplast & 0x7FFF);
		is(unpack('v', substr($original, $first, 2)), 32, "$idx: the page's first block is full");
		my $count = unpack('v', substr($original, $last, 2));
		# 7. A block that claims 33 entries.
		my $d = $original;
		substr($d, $first, 2) = pack('v', 33);
		check_fails_with($idx, $d, qr/page $start0 item 1 is not a block of 1 to 32 entries/, 'a block of 33');
		# 8. An inner block of 31 entries.
		$d = $original;
		substr($d, $first, 2) = pack('v', 31);
		check_fails_with($idx, $d, qr/page $start0 block 1 has 31 entries, but only a page's last block/, 'a short inner block');
		# 9. The page's last block has data past its entries: a full one says 31, a partial one
		#    gets a heap TID in its first unused slot.
		$d = $original;
		my $slot = $count == 32 ? 31 : $count;
		if ($count == 32)
		{
			substr($d, $last, 2) = pack('v', 31);
		}
		else
		{
			substr($d, $last + 4 + 6 * $count, 6) = pack('vvv', 0, 1, 1);
		}
		check_fails_with($idx, $d, qr/page $start0 block $items0 has data in its unused slot $slot/, 'data past the entries');
	}
	# 5. A centroid element becomes NaN.
	{
		my $d = $original;
		substr($d, $m->{centroid_start} * $BLCKSZ + 24 + 8, 4) = pack('V', 0x7fc00000);
		check_fails_with($idx, $d, qr/centroid of list 0 has a non-finite element at dimension 3/, 'NaN centroid');
	}
	# 6. ivf: a byte of the quantizer's codebook changes (its checksum no longer matches).
	if ($m->{blob_len} > 0)
	{
		my $d = $original;
		my $pos = $m->{blob_start} * $BLCKSZ + 24 + 100;
		substr($d, $pos, 1) = chr(ord(substr($d, $pos, 1)) ^ 0x55);
		check_fails_with($idx, $d, qr/ivf index "\Q$idx\E" is corrupted: corrupt/, 'codebook byte');
	}
	$node->start;
	my ($r, $o, $e) = $node->psql('postgres', "SELECT elements FROM quiver_index_check('$idx')");
	is($r, 0, "$idx: with the original bytes back the check passes") or diag($e);
	$node->stop;
}

done_testing();

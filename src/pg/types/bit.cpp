// Hamming and Jaccard distances on PostgreSQL's own `bit` type, as pgvector defines them.
// Bit counting goes through the core kernels; this file only checks lengths and forms the result.
// PostgreSQL keeps the pad bits of the last byte zero, so whole bytes can be compared.
#include "quiver/pg/glue.h"

extern "C" {
#include "utils/varbit.h"
}

#include "quiver/core/kernels.h"

namespace {

void check_same_bit_lengths(VarBit *a, VarBit *b)
{
    if (VARBITLEN(a) != VARBITLEN(b))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different bit lengths %u and %u", VARBITLEN(a), VARBITLEN(b))));
}

std::size_t bit_bytes(VarBit *v)
{
    return static_cast<std::size_t>(VARBITBYTES(v));
}

} // namespace

QUIVER_FUNCTION(hamming_distance)
{
    VarBit *a = PG_GETARG_VARBIT_P(0);
    VarBit *b = PG_GETARG_VARBIT_P(1);
    check_same_bit_lengths(a, b);
    std::uint64_t differing =
        quiver::core::kernels().hamming_bits(VARBITS(a), VARBITS(b), bit_bytes(a));
    PG_RETURN_FLOAT8(static_cast<double>(differing));
}

// 1 - |a AND b| / |a OR b|; 1 when no bit is set in both (including two all-zero strings).
QUIVER_FUNCTION(jaccard_distance)
{
    VarBit *a = PG_GETARG_VARBIT_P(0);
    VarBit *b = PG_GETARG_VARBIT_P(1);
    check_same_bit_lengths(a, b);
    quiver::core::JaccardCounts c =
        quiver::core::kernels().jaccard_bits(VARBITS(a), VARBITS(b), bit_bytes(a));
    if (c.both == 0)
        PG_RETURN_FLOAT8(1.0);
    PG_RETURN_FLOAT8(1.0 - static_cast<double>(c.both) /
                               static_cast<double>(c.a_count + c.b_count - c.both));
}

// Module entry: PG_MODULE_MAGIC, _PG_init (GUCs), the guard's error raiser, and the
// constructors of our varlena types shared by every type file.
#include "quiver/pg/glue.h"
#include "quiver/pg/types.h"
#include "quiver/pg/hnsw.h"
#include "quiver/pg/ivf.h"
#include "quiver/pg/lsh.h"
#include "quiver/pg/pause.h"
#include "quiver/pg/filter_columns.h"
#include "quiver/pg/am.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/guc.h"
}

#include "quiver/core/kernels.h"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace quiver::pg {

void raise_caught_error(const CaughtError &err)
{
    ereport(ERROR, (errcode(err.sqlstate), errmsg("%s", err.message)));
    pg_unreachable();
}

Vector *new_vector(int dim)
{
    Size size = VECTOR_SIZE(dim);
    auto *v = static_cast<Vector *>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = static_cast<int16>(dim);
    return v;
}

HalfVector *new_halfvec(int dim)
{
    Size size = HALFVEC_SIZE(dim);
    auto *v = static_cast<HalfVector *>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = static_cast<int16>(dim);
    return v;
}

SparseVector *new_sparsevec(int dim, int nnz)
{
    Size size = SPARSEVEC_SIZE(nnz);
    auto *v = static_cast<SparseVector *>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = dim;
    v->nnz = nnz;
    return v;
}

}  // namespace quiver::pg

namespace {

// quiver.simd: "auto" picks the best target; a named target forces it (for tests and
// benchmarks), and is refused if this CPU/OS cannot run it.
char *simd_setting = nullptr;

bool check_simd(char **newval, void **, GucSource)
{
    if (strcmp(*newval, "auto") == 0)
        return true;
    quiver::core::SimdTarget t;
    if (!quiver::core::parse_target(*newval, &t)) {
        GUC_check_errdetail("Valid values are \"auto\", \"scalar\", \"sse4.2\", \"avx2\" and \"avx512\".");
        return false;
    }
    if (quiver::core::kernels_for(t) == nullptr) {
        GUC_check_errdetail("SIMD target \"%s\" is not supported by this CPU or build (best is \"%s\").",
                            *newval,
                            quiver::core::target_name(quiver::core::best_supported_target()));
        return false;
    }
    return true;
}

void assign_simd(const char *newval, void *)
{
    quiver::core::SimdTarget t = quiver::core::best_supported_target();
    if (strcmp(newval, "auto") != 0)
        quiver::core::parse_target(newval, &t);
    quiver::core::select_target(t);
}

}  // namespace

void _PG_init(void)
{
    DefineCustomStringVariable("quiver.simd",
                               "SIMD target used by distance kernels.",
                               "\"auto\" uses the best target the CPU supports; a named target "
                               "(scalar, sse4.2, avx2, avx512) forces it.",
                               &simd_setting, "auto", PGC_USERSET, 0,
                               check_simd, assign_simd, nullptr);
    quiver::pg::pause_init();
    quiver::pg::am_filter_init();
    quiver::pg::am_explain_init();
    MarkGUCPrefixReserved("quiver");
    quiver::pg::hnsw_init();
    quiver::pg::ivf_init();
    quiver::pg::lsh_init();
}

QUIVER_FUNCTION(quiver_simd)
{
    PG_RETURN_TEXT_P(cstring_to_text(quiver::core::kernels().name));
}

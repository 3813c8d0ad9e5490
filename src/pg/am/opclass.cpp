// Operator class descriptions and value -> code conversion shared by the index access methods
// (see quiver/pg/am.h).
#include "quiver/pg/am.h"
#include "quiver/pg/types.h"

extern "C" {
#include "access/genam.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/varbit.h"
}

#include "quiver/core/kernels.h"

#include <cmath>
#include <cstring>

using quiver::core::Representation;

namespace quiver::pg {

const QuiverOpclassInfo *am_opclass_info(Relation index, int procnum, const char *am_name)
{
    // A filter column's opclass has no support functions: the vector came somewhere else.
    if (!OidIsValid(index_getprocid(index, 1, procnum)))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("the first column of %s index \"%s\" must be the vector column",
                               am_name, RelationGetRelationName(index)),
                        errdetail("Column 1 has type %s; filter columns come after the vector.",
                                  format_type_be(TupleDescAttr(RelationGetDescr(index), 0)->atttypid))));
    FmgrInfo *proc = index_getprocinfo(index, 1, procnum);
    Datum d = FunctionCall1Coll(proc, InvalidOid, PointerGetDatum(nullptr));
    auto *info = reinterpret_cast<const QuiverOpclassInfo *>(DatumGetPointer(d));
    if (info == nullptr || info->magic != QUIVER_OPCLASS_INFO_MAGIC)
        ereport(ERROR, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                        errmsg("support function %d of %s index \"%s\" is not a quiver opclass info "
                               "function",
                               procnum, am_name, RelationGetRelationName(index))));
    return info;
}

// ---- values -> codes ---------------------------------------------------------------------------

static double norm_of(const float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; ++i)
        s += static_cast<double>(x[i]) * x[i];
    return std::sqrt(s);
}

void *am_value_code(const QuiverOpclassInfo *opclass, Datum value, Size *code_len, uint32 *dim,
                      bool for_query)
{
    const auto &k = quiver::core::kernels();
    switch (opclass->representation) {
    case Representation::f32: {
        Vector *v = DatumGetVector(value);
        *dim = static_cast<uint32>(v->dim);
        *code_len = sizeof(float) * v->dim;
        auto *code = static_cast<float *>(palloc(*code_len));
        if (opclass->normalize) {
            double norm = norm_of(v->x, v->dim);
            if (norm == 0)
                return nullptr;
            for (int i = 0; i < v->dim; ++i)
                code[i] = static_cast<float>(v->x[i] / norm);
        } else {
            std::memcpy(code, v->x, *code_len);
        }
        return code;
    }
    case Representation::f16: {
        HalfVector *v = DatumGetHalfVector(value);
        *dim = static_cast<uint32>(v->dim);
        *code_len = sizeof(uint16) * v->dim;
        auto *code = static_cast<uint16 *>(palloc(*code_len));
        if (opclass->normalize) {
            auto *f = static_cast<float *>(palloc(sizeof(float) * v->dim));
            k.f16_to_f32(v->x, f, v->dim);
            double norm = norm_of(f, v->dim);
            if (norm == 0)
                return nullptr;
            for (int i = 0; i < v->dim; ++i)
                f[i] = static_cast<float>(f[i] / norm);
            k.f32_to_f16(f, code, v->dim);
            pfree(f);
        } else {
            std::memcpy(code, v->x, *code_len);
        }
        return code;
    }
    case Representation::bits: {
        VarBit *v = DatumGetVarBitP(value);
        *dim = static_cast<uint32>(VARBITLEN(v));
        *code_len = VARBITBYTES(v);
        void *code = palloc(*code_len > 0 ? *code_len : 1);
        std::memcpy(code, VARBITS(v), *code_len);
        return code;
    }
    case Representation::sparse: {
        SparseVector *v = DatumGetSparseVector(value);
        if (!for_query && opclass->max_nnz > 0 && v->nnz > opclass->max_nnz)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("sparsevec cannot have more than %d non-zero elements for hnsw index",
                                   opclass->max_nnz)));
        *dim = static_cast<uint32>(v->dim);
        const float *values = sparsevec_values(v);
        int nnz = v->nnz;
        double norm = 1.0;
        if (opclass->normalize) {
            norm = norm_of(values, nnz);
            if (norm == 0)
                return nullptr;
        }
        *code_len = 3 * sizeof(int32) + (sizeof(int32) + sizeof(float)) * nnz;
        auto *code = static_cast<int32 *>(palloc(*code_len));
        int32 *idx = code + 3;
        auto *vals = reinterpret_cast<float *>(idx + nnz);
        int out = 0;
        for (int i = 0; i < nnz; ++i) {
            float x = opclass->normalize ? static_cast<float>(values[i] / norm) : values[i];
            if (x == 0)
                continue;  // an underflow to zero under normalisation is not a stored element
            idx[out] = v->indices[i];
            vals[out] = x;
            ++out;
        }
        if (out != nnz) {  // close the gap between indices and values
            std::memmove(idx + out, vals, sizeof(float) * out);
            *code_len = 3 * sizeof(int32) + (sizeof(int32) + sizeof(float)) * out;
        }
        code[0] = v->dim;
        code[1] = out;
        code[2] = 0;
        return code;
    }
    }
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("unknown index representation")));
    return nullptr;
}

void am_check_dimensions(const QuiverOpclassInfo *opclass, uint32 query_dim, uint32 index_dim)
{
    if (query_dim == index_dim)
        return;
    if (opclass->representation == Representation::bits)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different bit lengths %u and %u", query_dim, index_dim)));
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different %s dimensions %u and %u", opclass->type_name, query_dim,
                           index_dim)));
}

}  // namespace quiver::pg

// quiver_ivf_metapage(regclass): what an ivfflat or ivf index was built with, as a row (like
// quiver_hnsw_metapage): lists, quantizer, code size, PQ parameters and how the lists' pages
// hold their entries. For the index's owner, as quiver_index_check.
#include "quiver/pg/glue.h"
#include "quiver/pg/ivf.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/rel.h"
}

#include "quiver/core/quant/pq.h"

namespace {

const char *quantizer_name(uint8 quantizer)
{
    switch (quantizer) {
    case IVF_QUANTIZER_SQ8:
        return "sq8";
    case IVF_QUANTIZER_PQ:
        return "pq";
    case IVF_QUANTIZER_BIT:
        return "bit";
    default:
        return "flat";
    }
}

}  // namespace

QUIVER_FUNCTION(quiver_ivf_metapage)
{
    Oid indexoid = PG_GETARG_OID(0);
    TupleDesc tupdesc = quiver::pg::am_record_result(fcinfo);
    Relation index = quiver::pg::am_open_index_to_inspect(indexoid);
    if (index->rd_indam == nullptr || index->rd_rel->relkind != RELKIND_INDEX ||
        (index->rd_indam->ambuild != quiver::pg::ivfflatbuild && index->rd_indam->ambuild != quiver::pg::ivfbuild))
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("index \"%s\" is not an ivfflat or ivf index", RelationGetRelationName(index))));
    const IvfIndexInfo *info = quiver::pg::ivf_index_info(index);  // checks the metapage
    int32 pq_m = 0, pq_nbits = 0;
    if (info->quantizer == IVF_QUANTIZER_PQ) {
        IvfQuantizer *q = quiver::pg::ivf_open_quantizer(index, info);
        auto *pq = static_cast<const quiver::core::quant::ProductQuantizer *>(q->quant);
        pq_m = static_cast<int32>(pq->m());
        pq_nbits = static_cast<int32>(pq->nbits());
    }
    index_close(index, AccessShareLock);

    Datum values[8];
    bool nulls[8] = {false};
    values[0] = Int32GetDatum(IVF_FORMAT_VERSION);
    values[1] = Int32GetDatum(static_cast<int32>(info->dimensions));
    values[2] = Int32GetDatum(static_cast<int32>(info->lists));
    values[3] = CStringGetTextDatum(quantizer_name(info->quantizer));
    values[4] = Int32GetDatum(static_cast<int32>(info->code_len));
    values[5] = Int32GetDatum(pq_m);
    values[6] = Int32GetDatum(pq_nbits);
    values[7] = CStringGetTextDatum(info->entry_layout == IVF_LAYOUT_FASTSCAN ? "fastscan" : "entry");
    nulls[5] = nulls[6] = info->quantizer != IVF_QUANTIZER_PQ;
    HeapTuple tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
    PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

// The generic amvalidate of quiver's index access methods: every opclass has one ordering
// operator (strategy 1, FOR ORDER BY), support function 1 (distance), 2 (norm, cosine only) and
// 3 (quiver's static opclass description, which must agree with the rest).
#include "quiver/pg/am.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
}

#include <cstring>
#include <initializer_list>

namespace quiver::pg {

namespace {

// A filter column's opclass (sql/install/75_filter_opclasses.sql): search operators returning
// boolean at strategies 1 to 8, no support functions.
bool validate_filter_opfamily(const char *opfamilyname, const char *am_name, CatCList *oprlist,
                              CatCList *proclist)
{
    bool result = true;
    for (int i = 0; i < proclist->n_members; i++) {
        auto *procform = reinterpret_cast<Form_pg_amproc>(GETSTRUCT(&proclist->members[i]->tuple));
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("operator family \"%s\" of access method %s contains function %s, "
                              "but filter column operator families have none",
                              opfamilyname, am_name, format_procedure(procform->amproc))));
        result = false;
    }
    for (int i = 0; i < oprlist->n_members; i++) {
        auto *oprform = reinterpret_cast<Form_pg_amop>(GETSTRUCT(&oprlist->members[i]->tuple));
        if (oprform->amopstrategy < AM_FILTER_LT || oprform->amopstrategy > AM_FILTER_CONTAINS ||
            oprform->amoppurpose != AMOP_SEARCH ||
            !check_amop_signature(oprform->amopopr, BOOLOID, oprform->amoplefttype,
                                  oprform->amoprighttype)) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains invalid "
                                  "filter operator %s with strategy number %d",
                                  opfamilyname, am_name, format_operator(oprform->amopopr),
                                  oprform->amopstrategy)));
            result = false;
        }
    }
    return result;
}

// Whether an opfamily is a filter column's: search operators only, no ordering operator.
bool is_filter_opfamily(CatCList *oprlist)
{
    for (int i = 0; i < oprlist->n_members; i++) {
        auto *oprform = reinterpret_cast<Form_pg_amop>(GETSTRUCT(&oprlist->members[i]->tuple));
        if (oprform->amoppurpose == AMOP_ORDER)
            return false;
    }
    return oprlist->n_members > 0;
}

}  // namespace

bool am_validate_opclass(Oid opclassoid, const char *am_name)
{
    HeapTuple classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
    if (!HeapTupleIsValid(classtup))
        elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
    auto *classform = reinterpret_cast<Form_pg_opclass>(GETSTRUCT(classtup));
    Oid opfamilyoid = classform->opcfamily;
    Oid opcintype = classform->opcintype;
    const char *opclassname = NameStr(classform->opcname);

    HeapTuple familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
    if (!HeapTupleIsValid(familytup))
        elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
    auto *familyform = reinterpret_cast<Form_pg_opfamily>(GETSTRUCT(familytup));
    const char *opfamilyname = NameStr(familyform->opfname);

    CatCList *oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
    CatCList *proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));

    if (is_filter_opfamily(oprlist)) {
        bool ok = validate_filter_opfamily(opfamilyname, am_name, oprlist, proclist);
        ReleaseCatCacheList(proclist);
        ReleaseCatCacheList(oprlist);
        ReleaseSysCache(familytup);
        ReleaseSysCache(classtup);
        return ok;
    }

    bool result = true;
    bool have_proc[AM_NPROCS + 1] = {false};
    Oid info_proc = InvalidOid;

    for (int i = 0; i < proclist->n_members; i++) {
        HeapTuple proctup = &proclist->members[i]->tuple;
        auto *procform = reinterpret_cast<Form_pg_amproc>(GETSTRUCT(proctup));
        if (procform->amproclefttype != opcintype || procform->amprocrighttype != opcintype)
            continue;  // another opclass of the family
        bool ok;
        switch (procform->amprocnum) {
        case AM_DISTANCE_PROC:
            ok = check_amproc_signature(procform->amproc, FLOAT8OID, false, 2, 2, opcintype,
                                        opcintype);
            break;
        case AM_NORM_PROC:
            ok = check_amproc_signature(procform->amproc, FLOAT8OID, false, 1, 1, opcintype);
            break;
        case AM_INFO_PROC:
            ok = check_amproc_signature(procform->amproc, INTERNALOID, true, 1, 1, INTERNALOID);
            info_proc = procform->amproc;
            break;
        default:
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains function %s "
                                  "with invalid support number %d",
                                  opfamilyname, am_name, format_procedure(procform->amproc),
                                  procform->amprocnum)));
            result = false;
            continue;
        }
        if (!ok) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains function %s "
                                  "with wrong signature for support number %d",
                                  opfamilyname, am_name, format_procedure(procform->amproc),
                                  procform->amprocnum)));
            result = false;
        }
        have_proc[procform->amprocnum] = true;
    }

    Oid order_operator = InvalidOid;
    for (int i = 0; i < oprlist->n_members; i++) {
        HeapTuple oprtup = &oprlist->members[i]->tuple;
        auto *oprform = reinterpret_cast<Form_pg_amop>(GETSTRUCT(oprtup));
        if (oprform->amoplefttype != opcintype || oprform->amoprighttype != opcintype)
            continue;
        if (oprform->amopstrategy != 1) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains operator %s "
                                  "with invalid strategy number %d",
                                  opfamilyname, am_name, format_operator(oprform->amopopr),
                                  oprform->amopstrategy)));
            result = false;
            continue;
        }
        if (oprform->amoppurpose != AMOP_ORDER || !OidIsValid(oprform->amopsortfamily)) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains invalid "
                                  "ORDER BY specification for operator %s",
                                  opfamilyname, am_name, format_operator(oprform->amopopr))));
            result = false;
            continue;
        }
        if (!check_amop_signature(oprform->amopopr, FLOAT8OID, opcintype, opcintype)) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator family \"%s\" of access method %s contains operator %s "
                                  "with wrong signature",
                                  opfamilyname, am_name, format_operator(oprform->amopopr))));
            result = false;
            continue;
        }
        order_operator = oprform->amopopr;
    }

    if (!OidIsValid(order_operator)) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("operator class \"%s\" of access method %s is missing operator(s)",
                              opclassname, am_name)));
        result = false;
    }
    for (int procnum : {AM_DISTANCE_PROC, AM_INFO_PROC}) {
        if (!have_proc[procnum]) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator class \"%s\" of access method %s is missing support "
                                  "function %d",
                                  opclassname, am_name, procnum)));
            result = false;
        }
    }

    // The info function must describe this opclass: its type, its operator, and cosine's
    // normalisation exactly when there is a norm function.
    if (result && OidIsValid(info_proc)) {
        Datum d = OidFunctionCall1(info_proc, PointerGetDatum(nullptr));
        auto *info = reinterpret_cast<const QuiverOpclassInfo *>(DatumGetPointer(d));
        char *type_name = format_type_be(opcintype);
        char *op_name = get_opname(order_operator);
        const char *problem = nullptr;
        if (info == nullptr || info->magic != QUIVER_OPCLASS_INFO_MAGIC)
            problem = "is not a quiver opclass info function";
        else if (std::strcmp(info->type_name, type_name) != 0)
            problem = "describes another type";
        else if (op_name == nullptr || std::strcmp(info->operator_name, op_name) != 0)
            problem = "describes another operator";
        else if (info->normalize != have_proc[AM_NORM_PROC])
            problem = "disagrees with the presence of support function 2";
        if (problem != nullptr) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("operator class \"%s\" of access method %s: support function 3 "
                                  "%s",
                                  opclassname, am_name, problem)));
            result = false;
        }
    }

    ReleaseCatCacheList(proclist);
    ReleaseCatCacheList(oprlist);
    ReleaseSysCache(familytup);
    ReleaseSysCache(classtup);
    return result;
}

}  // namespace quiver::pg

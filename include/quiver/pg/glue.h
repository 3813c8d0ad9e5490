// The one door between PostgreSQL and quiver's C++: every SQL-callable function is declared with
// QUIVER_FUNCTION, which runs the C++ body inside a guard that turns any escaping exception into
// ereport(ERROR) after the catch block has closed. Glue code may ereport() itself, but must not
// keep C++ objects with destructors alive while it does (longjmp skips destructors).
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

#include <cstdio>
#include <exception>
#include <new>

namespace quiver::pg {

// Message and SQLSTATE copied out of an exception, so the error is raised after `catch` ends.
struct CaughtError {
    int sqlstate = 0;
    char message[512] = {0};
};

void raise_caught_error(const CaughtError &err) pg_attribute_noreturn();

// Runs body() and returns its result; an exception escaping it becomes ereport(ERROR) once the
// catch block has closed (bad_alloc as out of memory, anything else as an internal error).
template <typename Body>
inline auto run_guarded(Body body) -> decltype(body())
{
    CaughtError err;
    try {
        return body();
    } catch (const std::bad_alloc &) {
        err.sqlstate = ERRCODE_OUT_OF_MEMORY;
        std::snprintf(err.message, sizeof err.message, "out of memory");
    } catch (const std::exception &e) {
        err.sqlstate = ERRCODE_INTERNAL_ERROR;
        std::snprintf(err.message, sizeof err.message, "%s", e.what());
    } catch (...) {
        err.sqlstate = ERRCODE_INTERNAL_ERROR;
        std::snprintf(err.message, sizeof err.message, "unknown C++ exception");
    }
    raise_caught_error(err);
}

template <typename Body>
inline Datum call_guarded(Body body, FunctionCallInfo fcinfo)
{
    return run_guarded([&] { return body(fcinfo); });
}

}  // namespace quiver::pg

// Defines an SQL-callable function `name`; the braces that follow are its body, a plain
// `Datum (PG_FUNCTION_ARGS)` function that may use PG_GETARG_* / PG_RETURN_*.
#define QUIVER_FUNCTION(name)                                                      \
    static Datum name##_body(PG_FUNCTION_ARGS);                                    \
    extern "C" {                                                                   \
    PG_FUNCTION_INFO_V1(name);                                                     \
    Datum name(PG_FUNCTION_ARGS) { return quiver::pg::call_guarded(name##_body, fcinfo); } \
    }                                                                              \
    static Datum name##_body(PG_FUNCTION_ARGS)

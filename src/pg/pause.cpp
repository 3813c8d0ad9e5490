// Pause points for concurrency tests (see quiver/pg/pause.h).
#include "quiver/pg/pause.h"

extern "C" {
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
}

#include <cstring>

namespace quiver::pg {

char *debug_pause_at = nullptr;

void pause_init()
{
    DefineCustomStringVariable("quiver.debug_pause_at",
                               "Names the pause point where this session waits (tests only).",
                               "The session waits there for a shared advisory lock on key 20822.",
                               &debug_pause_at, "", PGC_SUSET,
                               GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, nullptr, nullptr);
}

void pause_point_wait(const char *name)
{
    if (std::strcmp(debug_pause_at, name) != 0)
        return;
    elog(DEBUG1, "quiver: pause point \"%s\" reached", name);
    Datum key = Int64GetDatum(QUIVER_PAUSE_LOCK_KEY);
    DirectFunctionCall1(pg_advisory_lock_shared_int8, key);
    DirectFunctionCall1(pg_advisory_unlock_shared_int8, key);
}

}  // namespace quiver::pg

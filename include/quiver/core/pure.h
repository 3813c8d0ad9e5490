// Included first by every core header: the core is pure C++ and must never see PostgreSQL.
// It catches a glue file that included postgres.h before a core header by mistake is fine,
// but a core translation unit that pulls PostgreSQL in is refused at compile time.
#pragma once

#if defined(QUIVER_CORE_TU) && defined(POSTGRES_H)
#error "quiver core must not include PostgreSQL headers (postgres.h seen in a core translation unit)"
#endif

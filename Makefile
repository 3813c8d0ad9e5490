# PGXS build of quiver.so: the pure C++ core and the PostgreSQL glue, one shared object.
# `make`, `make install`, `make installcheck` (pg_regress on sql/*.sql against expected/*.out,
# then the TAP tests in test/t when PROVE is available).

EXTENSION = quiver
MODULE_big = quiver
EXTVERSION = 0.3.0

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

CORE_SRCS = $(sort $(wildcard src/core/*.cpp src/core/hnsw/*.cpp src/core/lsh/*.cpp src/core/quant/*.cpp))
KERNEL_SRCS = $(sort $(wildcard src/core/kernels/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/pg/*.cpp src/pg/*/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(KERNEL_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)

# The install script is assembled from one file per topic in sql/install (ordered by prefix).
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Earlier versions' install scripts and the upgrade scripts from them, frozen as released.
DATA = $(sort $(wildcard sql/versions/$(EXTENSION)--*.sql))

REGRESS = $(sort $(basename $(notdir $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# Isolation tests (pg_isolation_regress): sessions stepped one statement at a time, with pause
# points (quiver/pg/pause.h) that stop a session inside the index code. Specs and their expected
# outputs live in test/isolation; they run after pg_regress.
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

# TAP tests (PostgreSQL::Test::Cluster) run after pg_regress when there are any.
ifneq ($(wildcard test/t/*.pl),)
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))
endif

SERVER_INCLUDE := $(shell $(PG_CONFIG) --includedir-server)
# -isystem: the server headers are not ours and warn under C++17.
PG_CPPFLAGS = -Iinclude -isystem $(SERVER_INCLUDE) -isystem /usr/include/eigen3
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-missing-field-initializers -O2 -fno-math-errno
SHLIB_LINK = -lstdc++ -lm

# The JIT bitcode step ignores PG_CXXFLAGS; quiver has nothing worth inlining into JIT code.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Core files carry a marker so pure.h can refuse PostgreSQL headers there.
$(CORE_SRCS:.cpp=.o) $(KERNEL_SRCS:.cpp=.o): CPPFLAGS += -DQUIVER_CORE_TU

# One translation unit per SIMD target, each compiled for its own instruction set only.
src/core/kernels/sse42.o: CXXFLAGS += -msse4.2 -mpopcnt
src/core/kernels/avx2.o: CXXFLAGS += -mavx2 -mfma -mf16c -mpopcnt
src/core/kernels/avx512.o: CXXFLAGS += -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vpopcntdq -mfma -mf16c -mpopcnt

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS)
	cat $^ > $@

# Header changes rebuild every object (PGXS does not track them without autodepend).
$(OBJS): $(wildcard include/quiver/*/*.h include/quiver/*/*/*.h) $(wildcard src/core/*/*.h) \
         $(wildcard src/core/kernels/*.hpp) $(wildcard src/pg/*/*.h)

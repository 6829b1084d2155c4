# nodedb_kv — PGXS build.  C++17; our code is built with -Werror, PostgreSQL's headers are system
# headers; dependencies are tracked with -MMD -MP.
EXTENSION  = nodedb_kv
MODULE_big = nodedb_kv
DATA       = $(wildcard sql/nodedb_kv--*.sql)
PGFILEDESC = "nodedb_kv - a Redis-grade key-value engine inside PostgreSQL"

SRCS := $(sort $(wildcard src/*.cpp src/*/*.cpp))
OBJS  = $(SRCS:.cpp=.o)

PG_CONFIG ?= pg_config

# clang bitcode for JIT would be built without our flags: no LLVM.
override with_llvm = no

PG_CXXFLAGS = -std=c++17 -fPIC -fvisibility=hidden -fno-omit-frame-pointer \
	-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-Iinclude -isystem $(includedir_server) -isystem $(includedir_internal) -MMD -MP
SHLIB_LINK += -lstdc++

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS puts the server include dir on CPPFLAGS with -I; drop it so warnings in PG headers are not ours.
override CPPFLAGS := $(filter-out -I$(includedir_server) -I$(includedir_internal),$(CPPFLAGS))
override CXXFLAGS := $(filter-out -Werror%,$(CXXFLAGS)) $(PG_CXXFLAGS)

-include $(OBJS:.o=.d)

EXTRA_CLEAN += $(OBJS:.o=.d)

.PHONY: test
test:
	./test/run

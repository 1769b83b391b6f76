// The commit and build date, from the header scripts/build-info.sh writes before a
// build through the Makefile. Only this file includes it, so a new commit recompiles
// one C file and relinks, nothing else.
#include "iobench_shim.h"
#if __has_include("build_info.h")
#include "build_info.h"
#endif
#ifndef IOB_BUILD_COMMIT
#define IOB_BUILD_COMMIT ""
#endif
#ifndef IOB_BUILD_DATE
#define IOB_BUILD_DATE ""
#endif

const char *iob_build_commit(void) { return IOB_BUILD_COMMIT; }
const char *iob_build_date(void) { return IOB_BUILD_DATE; }

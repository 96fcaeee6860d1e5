// ABI version entry point.
#include "cortex_plugin.h"

extern "C" CX_API int32_t cx_abi_version(void) { return CX_ABI_VERSION; }

/* cortex_plugin.h — the C ABI of the cortex inference plugin (placeholder until the engine lands). */
#ifndef CORTEX_PLUGIN_H
#define CORTEX_PLUGIN_H

#include <stdint.h>

#if defined(__GNUC__)
#define CX_API __attribute__((visibility("default")))
#else
#define CX_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this ABI; bumped on every incompatible change. */
#define CX_ABI_VERSION 1

/** Returns CX_ABI_VERSION of the compiled plugin. */
CX_API int32_t cx_abi_version(void);

#ifdef __cplusplus
}
#endif

#endif

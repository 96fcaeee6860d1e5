// amx_support.cpp — whether this CPU has Intel AMX and this process may use it. Linux hands out the
// 8 KiB tile state (XTILEDATA) only to a process that asks (arch_prctl), and the grant is for the
// whole process, so it is asked for once here for both AMX kernels (amx_bf16.cpp,
// quant_kernels_amx.cpp). Compiled for the build's baseline.
#include <sys/syscall.h>
#include <unistd.h>

#include "cpu_simd.h"

namespace cx {
namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an extended state component
constexpr long kXfeatureXtiledata = 18;     // the AMX tile data

void cpuid(unsigned leaf, unsigned subleaf, unsigned out[4]) {
  __asm__("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(subleaf));
}

AmxSupport detect() {
  unsigned leaf7[4], leaf7_1[4];
  cpuid(7, 0, leaf7);
  cpuid(7, 1, leaf7_1);
  const bool tile = (leaf7[3] >> 24) & 1u;
  const bool bf16 = tile && ((leaf7[3] >> 22) & 1u) && ((leaf7_1[0] >> 5) & 1u);  // + AVX512-BF16
  const bool int8 = tile && ((leaf7[3] >> 25) & 1u) && ((leaf7[2] >> 11) & 1u);   // + AVX512-VNNI
  if (!tile || syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return {false, false};
  return {bf16, int8};
}

}  // namespace

AmxSupport amx_support() {
  static const AmxSupport support = detect();
  return support;
}

}  // namespace cx

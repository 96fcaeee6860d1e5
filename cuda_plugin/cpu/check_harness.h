// check_harness.h — the tally of the native CPU check programs (quant_check.cpp, attend_check.cpp):
// check() counts a check and prints the failing ones; the program ends with "N checks, M failed".
#pragma once

#include <cstdio>
#include <string>

namespace cx {

inline int g_checks = 0;
inline int g_failed = 0;

/** Counts one check; prints `what` when it failed. */
inline void check(bool ok, const std::string& what) {
  g_checks++;
  if (!ok) {
    g_failed++;
    std::printf("FAIL %s\n", what.c_str());
  }
}

}  // namespace cx

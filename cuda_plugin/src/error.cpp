// error.cpp — helpers for error text.
#include "error.h"

#include <cstdio>
#include <cstring>

namespace cx {

void write_text(char* out, int32_t cap, const std::string& text) {
  if (out == nullptr || cap <= 0) return;
  const size_t n = std::min(text.size(), static_cast<size_t>(cap - 1));
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

std::string format_bytes(int64_t bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f MiB (%lld bytes)", static_cast<double>(bytes) / (1024.0 * 1024.0),
      static_cast<long long>(bytes));
  return text;
}

}  // namespace cx

// error.h — the plugin's internal error type. Thrown inside the plugin, caught at the ABI edge and
// turned into a cx_status plus text; never crosses the C boundary.
#pragma once

#include <stdexcept>
#include <string>

#include "cortex_plugin.h"

namespace cx {

/** An error with a status code. `fatal` errors poison the device they happened on. */
class Error : public std::runtime_error {
 public:
  Error(cx_status code, const std::string& message, bool fatal = false)
      : std::runtime_error(message), code_(code), fatal_(fatal) {}
  cx_status code() const { return code_; }
  bool fatal() const { return fatal_; }

 private:
  cx_status code_;
  bool fatal_;
};

/** Copies `text` into a caller buffer of `cap` bytes, truncating and NUL-terminating. */
void write_text(char* out, int32_t cap, const std::string& text);

/** Formats a byte count as "123.4 MiB" for error messages. */
std::string format_bytes(int64_t bytes);

}  // namespace cx

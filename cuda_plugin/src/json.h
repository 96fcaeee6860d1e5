// json.h — a small JSON reader for config.json, safetensors headers and their index files.
// Numbers are doubles (exact for integers below 2^53, which covers every offset we read).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace cx {

/** A parsed JSON value. Objects keep their key order. */
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  /** The member `key` of an object, or nullptr (also when this is not an object). */
  const Json* get(const std::string& key) const;
  bool is_null() const { return kind == Kind::Null; }
  bool is_number() const { return kind == Kind::Number; }
  bool is_string() const { return kind == Kind::String; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_object() const { return kind == Kind::Object; }
};

/** Parses `text`; throws cx::Error(CX_ERR_BAD_MODEL) naming `what` and the byte offset on bad input. */
Json parse_json(const char* text, size_t length, const std::string& what);

}  // namespace cx

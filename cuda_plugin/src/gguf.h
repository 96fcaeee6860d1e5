// gguf.h — memory-mapped GGUF files (v2/v3, single or split `-00001-of-0000N.gguf`): metadata,
// tensor infos and views into the data section. Every offset and length is checked against the
// file; nothing is copied. gguf_model.cpp turns a GgufSet into a ModelConfig and HF-named tensors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "safetensors.h"

namespace cx {

/** GGUF metadata value types (the file's numbering). */
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12
};

/** One metadata value: a number (integers kept exact), a bool, a string or an array of values. */
struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType element_type = GgufType::U8;  // arrays only
  int64_t integer = 0;   // every integer type (u64 above 2^63 - 1 is refused)
  double number = 0;     // f32 / f64, and integers as doubles
  bool boolean = false;
  std::string string;
  std::vector<GgufValue> items;  // arrays

  bool is_integer() const;
  bool is_number() const;  // integer or float
};

/** ggml's name of a ggml type id ("Q4_K", "IQ2_XS", ...; "type <id>" when unknown). */
std::string ggml_type_name(uint32_t type);

/** One GGUF file or all shards of a split one: the first shard's metadata and every shard's
 * tensors (under their GGUF names, with HF-style [ne1, ne0] shapes). */
class GgufSet {
 public:
  /** Opens `path`; when its name is `<stem>-0000K-of-0000N.gguf` every shard is opened. Throws
   * cx::Error (not_found, bad_model, unsupported_architecture for a tensor type the engine lacks). */
  static GgufSet open(const std::string& path);

  /** The metadata value `key`, or nullptr. */
  const GgufValue* find_value(const std::string& key) const;
  /** The tensor called `name` (GGUF naming) or nullptr. */
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  /** The mapped shards, to keep alive while the views are used. */
  const std::vector<std::shared_ptr<MappedFile>>& files() const { return files_; }
  const std::string& path() const { return path_; }

 private:
  void add_file(const std::string& path, int split_index);
  std::string path_;
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::map<std::string, GgufValue> metadata_;
  std::map<std::string, TensorView> tensors_;
};

/** True when `path` names a .gguf file (by its extension). */
bool is_gguf_path(const std::string& path);

}  // namespace cx

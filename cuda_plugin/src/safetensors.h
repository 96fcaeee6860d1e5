// safetensors.h — memory-mapped safetensors files (single file or sharded through
// model.safetensors.index.json). Tensors are views into the mapping; nothing is copied here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cx {

/** Weight types the engine computes with: plain element types, then the block-quantized GGUF types
 * of quant.h. `Other` tensors may exist in a file but cannot be used. */
enum class DType { F32 = 0, F16 = 1, BF16 = 2, Other = 3, Q8_0 = 4, Q4_0 = 5, Q4_K = 6, Q5_K = 7, Q6_K = 8 };

/** Bytes per element of a plain type (0 for Other and for the block-quantized types). */
size_t dtype_size(DType dtype);
/** "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k" or "other". */
const char* dtype_name(DType dtype);
/** True for the block-quantized types (Q8_0 ... Q6_K). */
bool dtype_is_quantized(DType dtype);
/** Elements per block: 1 for plain types, 32 for Q8_0/Q4_0, 256 for the K types (0 for Other). */
int64_t dtype_block_elements(DType dtype);
/** Bytes per block (dtype_size for plain types; 0 for Other). */
size_t dtype_block_bytes(DType dtype);
/** Bytes of a row of `cols` elements; `cols` must be a multiple of dtype_block_elements. */
size_t dtype_row_bytes(DType dtype, int64_t cols);

/** A read-only file mapping, unmapped on destruction. */
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws cx::Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/** One tensor inside a mapped file. */
struct TensorView {
  std::string name;
  std::string file;       // file name inside the model folder, for messages
  std::string dtype_tag;  // as written in the header ("BF16", "I64", ...)
  DType dtype = DType::Other;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t bytes = 0;

  int64_t elements() const;
  /** "[a, b]" for messages. */
  std::string shape_text() const;
};

/** Brings the pages of a tensor into the process (from the page cache, or read from the disk), so
 * that the load, not the first forward pass, pays for reading it; mapped pages are counted once in
 * the process's resident memory however many tensors alias them. */
void read_pages(const TensorView& view);

/** Drops the whole pages of a mapped tensor from the process's resident memory once a backend holds
 * its own copy (they are read back from the file should anyone touch them again). Only for views
 * into a MappedFile. */
void release_pages(const TensorView& view);

/** Every tensor of a model, with the files that back them kept mapped: a safetensors folder, or a GGUF
 * model whose tensors gguf_model.cpp adds under their Hugging Face names (`adopt`, `add_view`). */
class SafetensorsSet {
 public:
  /** Opens `folder`/model.safetensors.index.json if present, else `folder`/model.safetensors. */
  static SafetensorsSet open_folder(const std::string& folder);
  /** The tensor called `name` or nullptr. */
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  /** Keeps `file` mapped as long as the set lives (for views into it added with add_view). */
  void adopt(std::shared_ptr<MappedFile> file) { files_.push_back(std::move(file)); }
  /** Adds `view` under `name`; `source_name` is what the file calls it, for messages. */
  void add_view(const std::string& name, TensorView view, const std::string& source_name);
  /** What the file calls the tensor the loader calls `name` (the same name for safetensors). */
  std::string source_name(const std::string& name) const;

 private:
  void add_file(const std::string& folder, const std::string& file_name);
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> source_names_;  // loader name → file's name, where they differ
};

}  // namespace cx

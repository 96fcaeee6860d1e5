// gguf.cpp — GGUF parsing. Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 kv
// count; kv pairs (string key, u32 type, value); tensor infos (string name, u32 n_dims, u64 ne[n_dims],
// u32 ggml type, u64 offset); padding to general.alignment (default 32); the data section. Strings
// are u64 length + bytes; arrays are u32 element type + u64 count + elements.
#include "gguf.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "error.h"

namespace cx {

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16: case GgufType::U32:
    case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

bool GgufValue::is_number() const { return is_integer() || type == GgufType::F32 || type == GgufType::F64; }

std::string ggml_type_name(uint32_t type) {
  static const char* const names[] = {"F32", "F16", "Q4_0", "Q4_1", nullptr, nullptr, "Q5_0", "Q5_1", "Q8_0",
      "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL",
      "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8",
      "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4", "NVFP4", "Q1_0", "Q2_0"};
  if (type < sizeof(names) / sizeof(names[0]) && names[type] != nullptr) return names[type];
  return "type " + std::to_string(type);
}

bool is_gguf_path(const std::string& path) {
  return path.size() > 5 && (path.compare(path.size() - 5, 5, ".gguf") == 0
      || path.compare(path.size() - 5, 5, ".GGUF") == 0);
}

namespace {

// The engine's DType of a ggml type id, or Other for the types it does not compute with.
DType dtype_of_ggml(uint32_t type) {
  switch (type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 8: return DType::Q8_0;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    case 30: return DType::BF16;
    default: return DType::Other;
  }
}

// What a read is of, spelled out only for an error message: `base`, its element `index` (when ≥ 0),
// then `suffix`. A tokenizer's arrays hold ~300k strings, whose labels built eagerly took most of a
// small model's load.
struct Label {
  const std::string& base;
  int64_t index = -1;
  const char* suffix = "";

  Label(const std::string& text) : base(text) {}  // implicit: any string names a read
  Label(const std::string& text, int64_t element, const char* tail = "") : base(text), index(element), suffix(tail) {}
  Label with(const char* tail) const { return Label(base, index, tail); }
  std::string text() const { return base + (index >= 0 ? "[" + std::to_string(index) + "]" : "") + suffix; }
};

// A bounds-checked cursor over one mapped file; every read names what it was reading on failure.
class Reader {
 public:
  Reader(const MappedFile& file, std::string name) : file_(file), name_(std::move(name)) {}

  size_t position() const { return pos_; }

  const uint8_t* take(uint64_t bytes, const Label& what) {
    if (bytes > file_.size() - pos_) {
      throw Error(CX_ERR_BAD_MODEL, name_ + " is truncated: " + what.text() + " needs " + std::to_string(bytes)
          + " bytes at offset " + std::to_string(pos_) + " but the file has " + std::to_string(file_.size())
          + " bytes");
    }
    const uint8_t* at = file_.data() + pos_;
    pos_ += static_cast<size_t>(bytes);
    return at;
  }
  template <typename T>
  T scalar(const Label& what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  std::string string(const Label& what) {
    const uint64_t length = scalar<uint64_t>(what.with(" length"));
    const uint8_t* bytes = take(length, what);
    return std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
  }

  GgufValue value(uint32_t type_id, const Label& what, int depth) {
    if (type_id > static_cast<uint32_t>(GgufType::F64)) {
      throw Error(CX_ERR_BAD_MODEL, name_ + ": " + what.text() + " has unknown metadata type "
          + std::to_string(type_id));
    }
    GgufValue v;
    v.type = static_cast<GgufType>(type_id);
    switch (v.type) {
      case GgufType::U8: v.integer = scalar<uint8_t>(what); break;
      case GgufType::I8: v.integer = scalar<int8_t>(what); break;
      case GgufType::U16: v.integer = scalar<uint16_t>(what); break;
      case GgufType::I16: v.integer = scalar<int16_t>(what); break;
      case GgufType::U32: v.integer = scalar<uint32_t>(what); break;
      case GgufType::I32: v.integer = scalar<int32_t>(what); break;
      case GgufType::I64: v.integer = scalar<int64_t>(what); break;
      case GgufType::U64: {
        const uint64_t u = scalar<uint64_t>(what);
        if (u > static_cast<uint64_t>(INT64_MAX)) throw Error(CX_ERR_BAD_MODEL, name_ + ": " + what.text()
            + " is a u64 above 2^63 - 1");
        v.integer = static_cast<int64_t>(u);
        break;
      }
      case GgufType::F32: v.number = scalar<float>(what); break;
      case GgufType::F64: v.number = scalar<double>(what); break;
      case GgufType::Bool: {
        const uint8_t b = scalar<uint8_t>(what);
        if (b > 1) throw Error(CX_ERR_BAD_MODEL, name_ + ": " + what.text() + " is a bool holding "
            + std::to_string(b));
        v.boolean = b == 1;
        break;
      }
      case GgufType::String: v.string = string(what); break;
      case GgufType::Array: {
        const std::string array = what.text();  // once per array, not per element
        if (depth >= 8) throw Error(CX_ERR_BAD_MODEL, name_ + ": " + array + " nests arrays deeper than 8");
        const uint32_t element = scalar<uint32_t>(Label(array, -1, " element type"));
        const uint64_t count = scalar<uint64_t>(Label(array, -1, " count"));
        // Every element takes at least one byte: a count the rest of the file cannot hold is refused
        // before anything is allocated for it.
        if (count > file_.size() - pos_) throw Error(CX_ERR_BAD_MODEL, name_ + " is truncated: " + array
            + " claims " + std::to_string(count) + " elements but " + std::to_string(file_.size() - pos_)
            + " bytes remain");
        v.element_type = static_cast<GgufType>(element);
        v.items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; i++) {
          v.items.push_back(value(element, Label(array, static_cast<int64_t>(i)), depth + 1));
        }
        break;
      }
    }
    if (v.is_integer()) v.number = static_cast<double>(v.integer);
    return v;
  }

 private:
  const MappedFile& file_;
  std::string name_;
  size_t pos_ = 0;
};

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "<stem>-00002-of-00005.gguf" → stem, 2, 5; false for an unsplit name.
bool parse_split_name(const std::string& path, std::string& stem, int& number, int& count) {
  const std::string tail = "-00000-of-00000.gguf";
  if (path.size() <= tail.size()) return false;
  const std::string end = path.substr(path.size() - tail.size());
  int n = 0, c = 0;
  char check[8] = {0};
  if (std::sscanf(end.c_str(), "-%5d-of-%5d.gguf%1s", &n, &c, check) != 2 || end[0] != '-' || end[6] != '-'
      || n < 1 || c < 1 || n > c) return false;
  stem = path.substr(0, path.size() - tail.size());
  number = n;
  count = c;
  return true;
}

std::string split_name(const std::string& stem, int number, int count) {
  char tail[32];
  std::snprintf(tail, sizeof(tail), "-%05d-of-%05d.gguf", number, count);
  return stem + tail;
}

int64_t integer_value(const std::map<std::string, GgufValue>& metadata, const std::string& key, int64_t fallback,
    const std::string& file) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return fallback;
  if (!it->second.is_integer()) throw Error(CX_ERR_BAD_MODEL, file + ": metadata '" + key + "' is not an integer");
  return it->second.integer;
}

}  // namespace

void GgufSet::add_file(const std::string& path, int split_index) {
  const bool first = split_index == 0;
  auto file = std::make_shared<MappedFile>(path);
  const std::string name = base_name(path);
  Reader in(*file, name);
  const uint8_t* magic = in.take(4, std::string("the magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    throw Error(CX_ERR_BAD_MODEL, name + " is not a GGUF file (bad magic: the first 4 bytes are not \"GGUF\")");
  }
  const uint32_t version = in.scalar<uint32_t>(std::string("the version"));
  if (version != 2 && version != 3) throw Error(CX_ERR_BAD_MODEL, name + " has GGUF version "
      + std::to_string(version) + "; supported: 2, 3");
  const uint64_t tensor_count = in.scalar<uint64_t>(std::string("the tensor count"));
  const uint64_t kv_count = in.scalar<uint64_t>(std::string("the metadata count"));
  if (tensor_count > file->size() || kv_count > file->size()) throw Error(CX_ERR_BAD_MODEL, name
      + " is truncated or corrupt: it claims " + std::to_string(tensor_count) + " tensors and "
      + std::to_string(kv_count) + " metadata entries in " + std::to_string(file->size()) + " bytes");

  std::map<std::string, GgufValue> metadata;
  for (uint64_t i = 0; i < kv_count; i++) {
    const std::string key = in.string("metadata key " + std::to_string(i));
    const uint32_t type = in.scalar<uint32_t>("the type of metadata '" + key + "'");
    GgufValue value = in.value(type, "metadata '" + key + "'", 0);
    if (!metadata.emplace(key, std::move(value)).second) throw Error(CX_ERR_BAD_MODEL, name
        + " has metadata key '" + key + "' twice");
  }
  const int64_t alignment = integer_value(metadata, "general.alignment", 32, name);
  if (alignment < 1 || alignment > (1 << 20) || (alignment & (alignment - 1)) != 0) {
    throw Error(CX_ERR_BAD_MODEL, name + ": general.alignment " + std::to_string(alignment)
        + " is not a power of two");
  }

  struct Info {
    TensorView view;
    uint64_t offset;
  };
  std::vector<Info> infos;
  for (uint64_t i = 0; i < tensor_count; i++) {
    Info info;
    TensorView& view = info.view;
    view.name = in.string("tensor name " + std::to_string(i));
    view.file = name;
    const std::string where = "tensor '" + view.name + "' in " + name;
    const uint32_t n_dims = in.scalar<uint32_t>(where + " n_dims");
    if (n_dims < 1 || n_dims > 4) throw Error(CX_ERR_BAD_MODEL, where + " has " + std::to_string(n_dims)
        + " dimensions (1 to 4 allowed)");
    std::vector<int64_t> ne(n_dims);
    for (uint32_t d = 0; d < n_dims; d++) {
      const uint64_t n = in.scalar<uint64_t>(where + " ne[" + std::to_string(d) + "]");
      if (n > (uint64_t{1} << 40)) throw Error(CX_ERR_BAD_MODEL, where + " has an absurd dimension "
          + std::to_string(n));
      ne[d] = static_cast<int64_t>(n);
    }
    const uint32_t type = in.scalar<uint32_t>(where + " type");
    info.offset = in.scalar<uint64_t>(where + " offset");
    view.dtype_tag = ggml_type_name(type);
    view.dtype = dtype_of_ggml(type);
    if (view.dtype == DType::Other) {
      const bool known = view.dtype_tag.rfind("type ", 0) != 0;
      throw Error(known ? CX_ERR_UNSUPPORTED_ARCH : CX_ERR_BAD_MODEL, where + " has ggml type "
          + view.dtype_tag + (known ? " (id " + std::to_string(type) + "), which the engine does not compute with"
          : ", which is unknown") + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
    }
    for (uint32_t d = n_dims; d-- > 0;) view.shape.push_back(ne[d]);  // HF order: [ne1, ne0]
    const int64_t block = dtype_block_elements(view.dtype);
    if (ne[0] % block != 0) throw Error(CX_ERR_BAD_MODEL, where + " has rows of " + std::to_string(ne[0])
        + " elements, not a multiple of the " + view.dtype_tag + " block of " + std::to_string(block));
    uint64_t rows = 1;
    for (uint32_t d = 1; d < n_dims; d++) {
      rows *= static_cast<uint64_t>(ne[d]);
      if (rows > (uint64_t{1} << 40)) throw Error(CX_ERR_BAD_MODEL, where + " has an absurd row count");
    }
    const uint64_t row_bytes = dtype_row_bytes(view.dtype, ne[0]);
    if (row_bytes > 0 && rows > file->size() / row_bytes) {
      throw Error(CX_ERR_BAD_MODEL, name + " is truncated: " + where + " (" + view.dtype_tag + " "
          + view.shape_text() + ") needs more bytes than the file's " + std::to_string(file->size()));
    }
    view.bytes = static_cast<size_t>(rows * row_bytes);
    if (info.offset % static_cast<uint64_t>(alignment) != 0) throw Error(CX_ERR_BAD_MODEL, where + " has offset "
        + std::to_string(info.offset) + ", not a multiple of the alignment " + std::to_string(alignment));
    infos.push_back(std::move(info));
  }
  const uint64_t align = static_cast<uint64_t>(alignment);
  const uint64_t data_start = (in.position() + align - 1) / align * align;
  if (data_start > file->size()) throw Error(CX_ERR_BAD_MODEL, name + " is truncated: the data section would start at "
      + std::to_string(data_start) + " but the file has " + std::to_string(file->size()) + " bytes");
  const uint64_t data_bytes = file->size() - data_start;
  for (Info& info : infos) {
    TensorView& view = info.view;
    if (info.offset > data_bytes || view.bytes > data_bytes - info.offset) {
      throw Error(CX_ERR_BAD_MODEL, name + " is truncated: tensor '" + view.name + "' needs data bytes ["
          + std::to_string(info.offset) + ", " + std::to_string(info.offset + view.bytes) + ") but the data section "
          + "holds only " + std::to_string(data_bytes) + " bytes (file size " + std::to_string(file->size()) + ")");
    }
    view.data = file->data() + data_start + info.offset;
    auto existing = tensors_.find(view.name);
    if (existing != tensors_.end()) throw Error(CX_ERR_BAD_MODEL, "tensor '" + view.name + "' is defined twice ("
        + existing->second.file + " and " + name + ")");
    tensors_.emplace(view.name, std::move(view));
  }
  const int64_t split_no = integer_value(metadata, "split.no", 0, name);
  if (split_no != split_index) throw Error(CX_ERR_BAD_MODEL, name + " declares split.no " + std::to_string(split_no)
      + " but is shard " + std::to_string(split_index + 1) + " by its name");
  if (first) metadata_ = std::move(metadata);
  files_.push_back(std::move(file));
}

GgufSet GgufSet::open(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw Error(CX_ERR_NOT_FOUND, "model file " + path + " does not exist");
  if (!S_ISREG(info.st_mode)) throw Error(CX_ERR_BAD_MODEL, path + " is not a regular file");
  GgufSet set;
  set.path_ = path;
  std::string stem;
  int number = 0, count = 0;
  if (!parse_split_name(path, stem, number, count)) {
    set.add_file(path, 0);
    const int64_t splits = integer_value(set.metadata_, "split.count", 1, base_name(path));
    if (splits > 1) throw Error(CX_ERR_BAD_MODEL, base_name(path) + " is shard of a split GGUF (split.count "
        + std::to_string(splits) + ") but its name lacks the -0000K-of-0000N suffix to find the others");
    return set;
  }
  for (int k = 1; k <= count; k++) {
    const std::string shard = split_name(stem, k, count);
    set.add_file(shard, k - 1);
  }
  // Only the first shard's metadata is kept: check the split facts it declares against what was found.
  const std::string first = base_name(split_name(stem, 1, count));
  const int64_t declared = integer_value(set.metadata_, "split.count", count, first);
  if (declared != count) throw Error(CX_ERR_BAD_MODEL, first + " declares split.count " + std::to_string(declared)
      + " but its name says " + std::to_string(count) + " shards");
  const int64_t tensors = integer_value(set.metadata_, "split.tensors.count",
      static_cast<int64_t>(set.tensors_.size()), first);
  if (tensors != static_cast<int64_t>(set.tensors_.size())) throw Error(CX_ERR_BAD_MODEL, first
      + " declares split.tensors.count " + std::to_string(tensors) + " but the " + std::to_string(count)
      + " shards hold " + std::to_string(set.tensors_.size()) + " tensors");
  return set;
}

const GgufValue* GgufSet::find_value(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const TensorView* GgufSet::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace cx

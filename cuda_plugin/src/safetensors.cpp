// safetensors.cpp — header parsing and validation. Layout: u64 little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}}, then the data section.
#include "safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "error.h"
#include "json.h"

namespace cx {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    default: return 0;
  }
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_0: return "q4_0";
    case DType::Q4_K: return "q4_k";
    case DType::Q5_K: return "q5_k";
    case DType::Q6_K: return "q6_k";
    default: return "other";
  }
}

bool dtype_is_quantized(DType dtype) { return dtype_block_elements(dtype) > 1; }

int64_t dtype_block_elements(DType dtype) {
  switch (dtype) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: return 1;
    case DType::Q8_0:
    case DType::Q4_0: return 32;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return 256;
    default: return 0;
  }
}

size_t dtype_block_bytes(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return 34;
    case DType::Q4_0: return 18;
    case DType::Q4_K: return 144;
    case DType::Q5_K: return 176;
    case DType::Q6_K: return 210;
    default: return dtype_size(dtype);
  }
}

size_t dtype_row_bytes(DType dtype, int64_t cols) {
  const int64_t block = dtype_block_elements(dtype);
  return block == 0 ? 0 : static_cast<size_t>(cols / block) * dtype_block_bytes(dtype);
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cx_status code = errno == ENOENT ? CX_ERR_NOT_FOUND : CX_ERR_BAD_MODEL;
    throw Error(code, "cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    throw Error(CX_ERR_BAD_MODEL, "cannot stat " + path + ": " + std::strerror(saved));
  }
  size_ = static_cast<size_t>(info.st_size);
  if (size_ > 0) {
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) {
      int saved = errno;
      ::close(fd);
      throw Error(CX_ERR_BAD_MODEL, "cannot mmap " + path + ": " + std::strerror(saved));
    }
    data_ = static_cast<const uint8_t*>(mapped);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

int64_t TensorView::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorView::shape_text() const {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); i++) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {

DType parse_dtype(const std::string& tag) {
  if (tag == "F32") return DType::F32;
  if (tag == "F16") return DType::F16;
  if (tag == "BF16") return DType::BF16;
  return DType::Other;
}

int64_t as_count(const Json* value, const std::string& what) {
  if (value == nullptr || !value->is_number() || value->number < 0
      || value->number != static_cast<double>(static_cast<int64_t>(value->number))) {
    throw Error(CX_ERR_BAD_MODEL, what + " is not a non-negative integer");
  }
  return static_cast<int64_t>(value->number);
}

std::string read_small_file(const std::string& path) {
  MappedFile file(path);
  return std::string(reinterpret_cast<const char*>(file.data()), file.size());
}

}  // namespace

void SafetensorsSet::add_file(const std::string& folder, const std::string& file_name) {
  auto file = std::make_shared<MappedFile>(folder + "/" + file_name);
  const size_t size = file->size();
  if (size < 8) {
    throw Error(CX_ERR_BAD_MODEL, file_name + " is truncated: " + std::to_string(size)
        + " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_length = 0;
  std::memcpy(&header_length, file->data(), 8);  // little-endian on every host we build for
  if (header_length > size - 8) {
    throw Error(CX_ERR_BAD_MODEL, file_name + " is truncated: header claims " + std::to_string(header_length)
        + " bytes but the file has " + std::to_string(size - 8) + " after the length field");
  }
  const Json header = parse_json(reinterpret_cast<const char*>(file->data() + 8), header_length, file_name
      + " header");
  if (!header.is_object()) throw Error(CX_ERR_BAD_MODEL, file_name + " header is not a JSON object");
  const uint8_t* data_section = file->data() + 8 + header_length;
  const uint64_t data_bytes = size - 8 - header_length;

  for (const auto& member : header.object) {
    if (member.first == "__metadata__") continue;
    const Json& entry = member.second;
    const std::string where = "tensor '" + member.first + "' in " + file_name;
    const Json* dtype = entry.get("dtype");
    const Json* shape = entry.get("shape");
    const Json* offsets = entry.get("data_offsets");
    if (dtype == nullptr || !dtype->is_string() || shape == nullptr || !shape->is_array() || offsets == nullptr
        || !offsets->is_array() || offsets->array.size() != 2) {
      throw Error(CX_ERR_BAD_MODEL, where + " has a malformed header entry (needs dtype, shape, data_offsets)");
    }
    TensorView view;
    view.name = member.first;
    view.file = file_name;
    view.dtype_tag = dtype->string;
    view.dtype = parse_dtype(dtype->string);
    for (const Json& dim : shape->array) view.shape.push_back(as_count(&dim, where + " shape"));
    const int64_t begin = as_count(&offsets->array[0], where + " data_offsets[0]");
    const int64_t end = as_count(&offsets->array[1], where + " data_offsets[1]");
    if (end < begin) throw Error(CX_ERR_BAD_MODEL, where + " has data_offsets [" + std::to_string(begin) + ", "
        + std::to_string(end) + ") with end before begin");
    if (static_cast<uint64_t>(end) > data_bytes) {
      throw Error(CX_ERR_BAD_MODEL, file_name + " is truncated: " + where + " needs data bytes ["
          + std::to_string(begin) + ", " + std::to_string(end) + ") but the data section holds only "
          + std::to_string(data_bytes) + " bytes (file size " + std::to_string(size) + ")");
    }
    view.data = data_section + begin;
    view.bytes = static_cast<size_t>(end - begin);
    if (view.dtype != DType::Other && view.bytes != static_cast<size_t>(view.elements()) * dtype_size(view.dtype)) {
      throw Error(CX_ERR_BAD_MODEL, where + " has shape " + view.shape_text() + " (" + std::to_string(view.elements())
          + " " + view.dtype_tag + " elements) but " + std::to_string(view.bytes) + " data bytes");
    }
    if (tensors_.count(view.name) != 0) throw Error(CX_ERR_BAD_MODEL, where + " is also defined in "
        + tensors_[view.name].file);
    tensors_.emplace(view.name, std::move(view));
  }
  files_.push_back(std::move(file));
}

SafetensorsSet SafetensorsSet::open_folder(const std::string& folder) {
  SafetensorsSet set;
  const std::string index_path = folder + "/model.safetensors.index.json";
  struct stat info {};
  if (::stat(index_path.c_str(), &info) == 0) {
    const std::string text = read_small_file(index_path);
    const Json index = parse_json(text.data(), text.size(), "model.safetensors.index.json");
    const Json* map = index.get("weight_map");
    if (map == nullptr || !map->is_object()) throw Error(CX_ERR_BAD_MODEL,
        "model.safetensors.index.json has no weight_map object");
    std::set<std::string> shards;
    for (const auto& member : map->object) {
      if (!member.second.is_string()) throw Error(CX_ERR_BAD_MODEL, "model.safetensors.index.json maps '"
          + member.first + "' to a non-string");
      const std::string& shard = member.second.string;
      if (shard.find('/') != std::string::npos) throw Error(CX_ERR_BAD_MODEL,
          "model.safetensors.index.json names shard '" + shard + "' outside the folder");
      shards.insert(shard);
    }
    for (const std::string& shard : shards) set.add_file(folder, shard);
    for (const auto& member : map->object) {
      const TensorView* view = set.find(member.first);
      if (view == nullptr || view->file != member.second.string) {
        throw Error(CX_ERR_BAD_MODEL, "model.safetensors.index.json says tensor '" + member.first + "' is in "
            + member.second.string + " but that file does not hold it");
      }
    }
    return set;
  }
  const std::string single = folder + "/model.safetensors";
  if (::stat(single.c_str(), &info) != 0) {
    throw Error(CX_ERR_BAD_MODEL, folder + " has neither model.safetensors nor model.safetensors.index.json");
  }
  set.add_file(folder, "model.safetensors");
  return set;
}

const TensorView* SafetensorsSet::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void SafetensorsSet::add_view(const std::string& name, TensorView view, const std::string& source_name) {
  if (source_name != name) source_names_[name] = source_name;
  tensors_[name] = std::move(view);
}

std::string SafetensorsSet::source_name(const std::string& name) const {
  auto it = source_names_.find(name);
  return it == source_names_.end() ? name : it->second;
}

void read_pages(const TensorView& view) {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;  // Linux 5.14
#endif
  if (view.data == nullptr || view.bytes == 0) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(view.data) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(view.data) + view.bytes + page - 1) / page * page;
  void* start = reinterpret_cast<void*>(begin);
  // Asks for the whole range at once (one large read from a cold disk), then maps it in.
  ::madvise(start, end - begin, MADV_WILLNEED);
  if (::madvise(start, end - begin, MADV_POPULATE_READ) == 0) return;
  volatile uint8_t sink = 0;  // an older kernel: touch one byte a page
  for (uintptr_t at = begin; at < end; at += page) sink = sink + *reinterpret_cast<const uint8_t*>(at);
  (void)sink;
}

void release_pages(const TensorView& view) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(view.data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(view.data) + view.bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace cx

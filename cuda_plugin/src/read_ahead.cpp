// read_ahead.cpp — see read_ahead.h.
#include "read_ahead.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace cx {
namespace {

#ifndef MADV_POPULATE_READ
constexpr int MADV_POPULATE_READ = 22;  // Linux 5.14
#endif

constexpr size_t kSliceBytes = size_t{32} << 20;  // one madvise: long enough for the disk to stream

}  // namespace

ReadAhead::ReadAhead(const SafetensorsSet& files, size_t window) : window_(window) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (const auto& entry : files.tensors()) {
    const TensorView& view = entry.second;
    if (view.data == nullptr || view.bytes == 0) continue;
    const uintptr_t at = reinterpret_cast<uintptr_t>(view.data);
    spans_.push_back({at / page * page, (at + view.bytes + page - 1) / page * page});
  }
  std::sort(spans_.begin(), spans_.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // Only touching or overlapping spans merge, so a span never covers a hole between two mappings.
  std::vector<Span> merged;
  for (const Span& s : spans_) {
    if (!merged.empty() && s.begin <= merged.back().end) merged.back().end = std::max(merged.back().end, s.end);
    else merged.push_back(s);
  }
  spans_ = std::move(merged);
  thread_ = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  more_.notify_all();
  thread_.join();
}

void ReadAhead::taken(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    taken_ += bytes;
  }
  more_.notify_all();
}

// A failed madvise (an old kernel) only loses the head start: the loader reads each tensor itself.
void ReadAhead::run() {
  size_t read = 0;
  for (const Span& span : spans_) {
    for (uintptr_t at = span.begin; at < span.end; at += kSliceBytes) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        more_.wait(lock, [&] { return stop_ || read < taken_ + window_; });
        if (stop_) return;
      }
      const size_t bytes = std::min<size_t>(kSliceBytes, span.end - at);
      ::madvise(reinterpret_cast<void*>(at), bytes, MADV_POPULATE_READ);
      read += bytes;
    }
  }
}

}  // namespace cx

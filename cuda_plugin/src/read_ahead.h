// read_ahead.h — keeps the disk reading a model's weight files ahead of the loader. One thread maps
// the tensors' pages in (MADV_POPULATE_READ) in file order, a slice at a time, never more than a
// window of bytes ahead of what the loader has taken, so that a load from a cold page cache reads the
// disk as one stream while the loader uploads, quantizes or repacks what has arrived.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "safetensors.h"

namespace cx {

class ReadAhead {
 public:
  /** Starts reading `files`' tensors, at most `window` bytes ahead of taken(). */
  ReadAhead(const SafetensorsSet& files, size_t window);
  /** Stops the reading (a slice under way finishes) and waits for it. */
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  /** The loader has taken `bytes` more of the tensors: the reading may go that much further. */
  void taken(size_t bytes);

 private:
  void run();

  struct Span {
    uintptr_t begin, end;  // page-aligned
  };
  std::vector<Span> spans_;  // the tensors' pages in address order, adjacent ones merged
  size_t window_;
  std::mutex mutex_;
  std::condition_variable more_;
  size_t taken_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cx

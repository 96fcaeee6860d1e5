// nccl_loader.h — the NCCL all-reduce of tensor parallelism on CUDA devices, with libnccl.so.2 loaded
// through dlopen at run time (no NCCL headers or link dependency). It implements cx::Collective
// (src/collective.h), the interface CPU devices implement over shared memory.
//
// Use (one model sharded over CUDA devices d0..dN-1, each with its own worker thread and backend):
//   1. Rank 0 (anywhere): NcclUniqueId id = nccl_unique_id();  (to another process: nccl_id_to_hex)
//   2. On every rank's worker thread, concurrently (each call blocks until all ranks join):
//        std::unique_ptr<Collective> c = make_nccl_collective(backend, id, N, rank);
//   3. In the forward pass, after o_proj and after down_proj (Megatron row-parallel layers):
//        c->all_reduce_sum(s.xb, n * dim);   // enqueued on the backend's stream, in order
// No CUDA types appear here, so g++-compiled runtime code includes it; without CORTEX_WITH_CUDA the
// functions are inline fallbacks that report NCCL as unavailable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "backend.h"
#include "collective.h"
#include "error.h"

namespace cx {

/** NCCL's ncclUniqueId: 128 opaque bytes made by rank 0 and handed to every rank. */
struct NcclUniqueId {
  char bytes[128];
};

/** Lower-case hex of the id (256 characters), for passing it between processes. */
inline std::string nccl_id_to_hex(const NcclUniqueId& id) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(sizeof(id.bytes) * 2);
  for (char c : id.bytes) {
    const unsigned byte = static_cast<unsigned char>(c);
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 15]);
  }
  return hex;
}

/** Parses nccl_id_to_hex's output; throws CX_ERR_INVALID_ARGUMENT naming what is wrong. */
inline NcclUniqueId nccl_id_from_hex(const std::string& hex) {
  if (hex.size() != 256) {
    throw Error(CX_ERR_INVALID_ARGUMENT, "NCCL unique id must be 256 hex characters, got " + std::to_string(hex.size()));
  }
  auto nibble = [&](size_t i) -> unsigned {
    const char c = hex[i];
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
    throw Error(CX_ERR_INVALID_ARGUMENT, "NCCL unique id has a non-hex character at offset " + std::to_string(i));
  };
  NcclUniqueId id;
  for (size_t i = 0; i < sizeof(id.bytes); i++) id.bytes[i] = static_cast<char>((nibble(2 * i) << 4) | nibble(2 * i + 1));
  return id;
}

#ifdef CORTEX_WITH_CUDA

/** Whether libnccl loads (`CORTEX_NCCL_PATH`, else libnccl.so.2, libnccl.so); the reason otherwise. */
bool nccl_available(std::string* why);
/** NCCL's version code (e.g. 22703 for 2.27.3); 0 when unavailable. */
int nccl_version();
/** A fresh unique id (rank 0). Throws CX_ERR_UNSUPPORTED_ARCH when NCCL is missing. */
NcclUniqueId nccl_unique_id();
/** Joins communicator `id` as `rank` of `world_size` on a CUDA backend's device and stream. Blocks
 * until every rank has joined, so call it for all ranks concurrently (each on its worker thread).
 * NCCL failures throw cx::Error(CX_ERR_DEVICE_POISONED, fatal). */
std::unique_ptr<Collective> make_nccl_collective(const Backend& backend, const NcclUniqueId& id, int world_size,
                                                 int rank);
/** ncclCommAbort on an NCCL collective (from any thread, e.g. a watchdog): its pending and later
 * all-reduces fail, and it must then be destroyed. No-op for other collectives. */
void nccl_abort(Collective& collective);

#else

inline bool nccl_available(std::string* why) {
  if (why != nullptr) *why = "the plugin was built without nvcc";
  return false;
}
inline int nccl_version() { return 0; }
inline NcclUniqueId nccl_unique_id() {
  throw Error(CX_ERR_UNSUPPORTED_ARCH, "NCCL needs the CUDA build of the plugin");
}
inline std::unique_ptr<Collective> make_nccl_collective(const Backend&, const NcclUniqueId&, int, int) {
  throw Error(CX_ERR_UNSUPPORTED_ARCH, "NCCL needs the CUDA build of the plugin");
}
inline void nccl_abort(Collective&) {}

#endif

}  // namespace cx

// nccl_loader.cu — dlopen of libnccl and the NCCL implementation of cx::Collective. The function
// types below restate nccl.h's ABI (enums are int; ncclUniqueId is passed by value).
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <atomic>
#include <mutex>

#include "cuda_backend.h"
#include "dl_loader.h"
#include "nccl_loader.h"

namespace cx {
namespace {

using NcclComm = void*;
constexpr int kNcclFloat32 = 7;  // ncclFloat32
constexpr int kNcclSum = 0;      // ncclSum

struct NcclApi {
  int (*get_unique_id)(NcclUniqueId* id) = nullptr;
  int (*comm_init_rank)(NcclComm* comm, int nranks, NcclUniqueId id, int rank) = nullptr;
  int (*all_reduce)(const void* send, void* receive, size_t count, int datatype, int op, NcclComm comm,
                    cudaStream_t stream) = nullptr;
  int (*comm_destroy)(NcclComm comm) = nullptr;
  int (*comm_abort)(NcclComm comm) = nullptr;              // optional
  const char* (*get_error_string)(int result) = nullptr;  // optional
  int (*get_version)(int* version) = nullptr;             // optional
  std::string library;
};

NcclApi* try_load(std::string* why) {
  const DlOpened opened = dl_open_first("CORTEX_NCCL_PATH", {"libnccl.so.2", "libnccl.so"});
  void* library = opened.library;
  const std::string& loaded = opened.loaded;
  if (library == nullptr) {
    *why = "libnccl could not be loaded (" + opened.tried + ")";
    return nullptr;
  }
  auto* api = new NcclApi();
  api->library = loaded;
  const bool ok = dl_bind(library, "ncclGetUniqueId", &api->get_unique_id) &&
                  dl_bind(library, "ncclCommInitRank", &api->comm_init_rank) &&
                  dl_bind(library, "ncclAllReduce", &api->all_reduce) &&
                  dl_bind(library, "ncclCommDestroy", &api->comm_destroy);
  dl_bind(library, "ncclCommAbort", &api->comm_abort);
  dl_bind(library, "ncclGetErrorString", &api->get_error_string);
  dl_bind(library, "ncclGetVersion", &api->get_version);
  if (!ok) {
    *why = loaded + " lacks ncclGetUniqueId/ncclCommInitRank/ncclAllReduce/ncclCommDestroy";
    delete api;
    dlclose(library);
    return nullptr;
  }
  return api;
}

const NcclApi* nccl(std::string* why) {
  static std::once_flag once;
  static NcclApi* api = nullptr;
  static std::string failure;
  std::call_once(once, [] { api = try_load(&failure); });
  if (api == nullptr && why != nullptr) *why = failure;
  return api;
}

const NcclApi& require_nccl() {
  std::string why;
  const NcclApi* api = nccl(&why);
  if (api == nullptr) throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor parallelism on CUDA devices needs NCCL: " + why);
  return *api;
}

std::string describe(const NcclApi& api, int result) {
  std::string text = "NCCL error " + std::to_string(result);
  if (api.get_error_string != nullptr) text += std::string(" (") + api.get_error_string(result) + ")";
  return text;
}

class NcclCollective final : public Collective {
 public:
  NcclCollective(const NcclApi& api, NcclComm comm, cudaStream_t stream, int device, int rank, int world_size)
      : api_(api), comm_(comm), stream_(stream), device_(device), rank_(rank), world_size_(world_size) {}

  ~NcclCollective() override {
    if (cudaSetDevice(device_) == cudaSuccess) cudaStreamSynchronize(stream_);
    cudaGetLastError();
    if (aborted_) return;  // ncclCommAbort already released the communicator
    api_.comm_destroy(comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(float* data, int64_t count) override {
    if (count <= 0) return;
    if (aborted_) throw Error(CX_ERR_DEVICE_POISONED, "NCCL communicator was aborted", true);
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != device_) cudaSetDevice(device_);
    const int result = api_.all_reduce(data, data, static_cast<size_t>(count), kNcclFloat32, kNcclSum, comm_, stream_);
    if (result != 0) {
      throw Error(CX_ERR_DEVICE_POISONED, "ncclAllReduce of " + std::to_string(count) + " floats on rank " +
                                              std::to_string(rank_) + " failed: " + describe(api_, result),
                  true);
    }
  }

  void abort() {
    if (aborted_.exchange(true)) return;
    if (api_.comm_abort != nullptr) api_.comm_abort(comm_);
  }

 private:
  const NcclApi& api_;
  NcclComm comm_;
  cudaStream_t stream_;
  int device_;
  int rank_;
  int world_size_;
  std::atomic<bool> aborted_{false};
};

}  // namespace

bool nccl_available(std::string* why) { return nccl(why) != nullptr; }

int nccl_version() {
  const NcclApi* api = nccl(nullptr);
  int version = 0;
  if (api == nullptr || api->get_version == nullptr || api->get_version(&version) != 0) return 0;
  return version;
}

NcclUniqueId nccl_unique_id() {
  const NcclApi& api = require_nccl();
  NcclUniqueId id{};
  const int result = api.get_unique_id(&id);
  if (result != 0) throw Error(CX_ERR_INTERNAL, "ncclGetUniqueId failed: " + describe(api, result));
  return id;
}

std::unique_ptr<Collective> make_nccl_collective(const Backend& backend, const NcclUniqueId& id, int world_size,
                                                 int rank) {
  const NcclApi& api = require_nccl();
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw Error(CX_ERR_INVALID_ARGUMENT,
                "NCCL rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world_size));
  }
  const int device = cuda_backend_device(backend);
  auto stream = static_cast<cudaStream_t>(cuda_backend_stream(backend));
  const cudaError_t status = cudaSetDevice(device);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error(CX_ERR_DEVICE_POISONED, std::string("cudaSetDevice before NCCL init failed: ") + cudaGetErrorString(status),
                true);
  }
  NcclComm comm = nullptr;
  const int result = api.comm_init_rank(&comm, world_size, id, rank);
  if (result != 0) {
    throw Error(CX_ERR_DEVICE_POISONED, "ncclCommInitRank (rank " + std::to_string(rank) + " of " +
                                            std::to_string(world_size) + ", CUDA device " + std::to_string(device) +
                                            ") failed: " + describe(api, result),
                true);
  }
  return std::make_unique<NcclCollective>(api, comm, stream, device, rank, world_size);
}

void nccl_abort(Collective& collective) {
  if (auto* nccl_collective = dynamic_cast<NcclCollective*>(&collective)) nccl_collective->abort();
}

}  // namespace cx

// dl_loader.h — the dlopen boilerplate the optional CUDA libraries share (cuBLAS, NCCL, NVML):
// symbol binding, and opening the first loadable of an environment override or a list of sonames.
#pragma once

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace cx {

// Resolves `name` in `library` into `slot`; true when the symbol exists.
template <typename Fn>
inline bool dl_bind(void* library, const char* name, Fn* slot) {
  *slot = reinterpret_cast<Fn>(dlsym(library, name));
  return *slot != nullptr;
}

// What dl_open_first found.
struct DlOpened {
  void* library = nullptr;  // the handle; null when nothing could be loaded
  std::string loaded;       // the path or soname opened (with an override: the override, loaded or not)
  std::string tried;        // why nothing loaded: the override's dlerror, or each candidate's, "; "-separated
  bool overridden = false;  // the override variable was set (and was the only thing tried)
};

// Opens `$override_env` when it is set and not empty (and nothing else), else the first of `candidates`
// that loads. The library is opened RTLD_NOW | RTLD_LOCAL.
inline DlOpened dl_open_first(const char* override_env, std::initializer_list<const char*> candidates) {
  DlOpened out;
  const char* override_path = std::getenv(override_env);
  if (override_path != nullptr && override_path[0] != '\0') {
    out.overridden = true;
    out.library = dlopen(override_path, RTLD_NOW | RTLD_LOCAL);
    out.loaded = override_path;
    if (out.library == nullptr) {
      const char* error = dlerror();
      out.tried = error != nullptr ? error : override_path;
    }
    return out;
  }
  for (const char* name : candidates) {
    out.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (out.library != nullptr) {
      out.loaded = name;
      break;
    }
    const char* error = dlerror();
    out.tried += (out.tried.empty() ? "" : "; ") + std::string(error != nullptr ? error : name);
  }
  return out;
}

}  // namespace cx

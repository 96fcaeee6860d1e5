/* cortex_plugin.h — the C ABI of the cortex inference plugin.
 *
 * Rules of the boundary:
 * - Opaque int32 handles (runtimes, models, sequences, jobs); never raw pointers.
 * - Every call returns a cx_status (or a count); error text goes into a caller-provided buffer
 *   (`err`, `err_cap` bytes, always NUL-terminated when err_cap > 0). No C++ exception crosses it.
 * - Every input buffer is copied before the call returns, so callers may free it at once.
 * - Device work is asynchronous: `cx_submit_*` enqueues a job on the device's worker thread and
 *   returns its id at once. Finished job ids are collected with `cx_wait_any` (the only call meant
 *   to block; call it from a helper thread) and results are read with `cx_job_sizes` + `cx_job_take`.
 *
 * A process may hold several runtimes (e.g. Deno test modules share one process); each owns its
 * devices, worker threads and completion queue.
 */
#ifndef CORTEX_PLUGIN_H
#define CORTEX_PLUGIN_H

#include <stdint.h>

#if defined(__GNUC__)
#define CX_API __attribute__((visibility("default")))
#else
#define CX_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this ABI; bumped on every incompatible change. */
#define CX_ABI_VERSION 5

/** Status codes. Negative values are never returned as statuses. */
typedef enum cx_status {
  CX_OK = 0,
  CX_PENDING = 1,                /* job not finished yet */
  CX_ERR_BAD_MODEL = 2,          /* missing/misshaped/truncated files or tensors */
  CX_ERR_UNSUPPORTED_ARCH = 3,   /* architecture or feature not implemented */
  CX_ERR_OUT_OF_MEMORY = 4,      /* device memory budget (weights + KV cache) or KV slots exhausted */
  CX_ERR_INVALID_ARGUMENT = 5,   /* bad token id, bad sampling parameter, bad handle use */
  CX_ERR_CONTEXT_OVERFLOW = 6,   /* a sequence would pass its context length */
  CX_ERR_DEVICE_POISONED = 7,    /* a fatal error happened on the device earlier */
  CX_ERR_NOT_FOUND = 8,          /* unknown runtime/device/model/sequence/job handle, missing file */
  CX_ERR_INTERNAL = 9            /* anything else (also: runtime closed) */
} cx_status;

/* Fields written by cx_device_info into `out` (int64 each). */
#define CX_DEVICE_FIELD_BACKEND 0        /* 0 = cpu, 1 = cuda */
#define CX_DEVICE_FIELD_MEMORY_TOTAL 1   /* bytes (cpu: the configured budget) */
#define CX_DEVICE_FIELD_MEMORY_FREE 2    /* bytes (cpu: budget minus weights and KV caches) */
#define CX_DEVICE_FIELD_THREADS 3        /* compute threads of the device */
#define CX_DEVICE_FIELD_POISONED 4       /* 1 when poisoned */
#define CX_DEVICE_FIELD_CC_MAJOR 5       /* cuda compute capability, -1 on cpu */
#define CX_DEVICE_FIELD_CC_MINOR 6
#define CX_DEVICE_FIELD_CPU_ISA 7        /* cpu kernels: 1 = scalar, 2 = avx2, 3 = avx512; 0 on cuda */
#define CX_DEVICE_FIELDS 8

/* Fields written by cx_model_info into `out` (int64 each). */
#define CX_MODEL_FIELD_VOCAB 0
#define CX_MODEL_FIELD_CONTEXT 1         /* KV cache length per sequence */
#define CX_MODEL_FIELD_HIDDEN 2
#define CX_MODEL_FIELD_LAYERS 3
#define CX_MODEL_FIELD_DTYPE 4           /* of the embedding table: 0 = f32, 1 = f16, 2 = bf16, 4 = q8_0,
                                            5 = q4_0, 6 = q4_k, 7 = q5_k, 8 = q6_k */
#define CX_MODEL_FIELD_WEIGHT_BYTES 5   /* summed over a tensor-parallel model's devices */
#define CX_MODEL_FIELD_KV_BYTES 6
#define CX_MODEL_FIELD_BOS 7             /* -1 when the config has none */
#define CX_MODEL_FIELD_MAX_SEQUENCES 8
#define CX_MODEL_FIELD_N_DEVICES 9
#define CX_MODEL_FIELD_DEVICES 10        /* up to 8 device indexes */
#define CX_MODEL_FIELD_N_EOS 18
#define CX_MODEL_FIELD_EOS 19            /* up to 8 eos ids */
#define CX_MODEL_FIELD_WEIGHT_DTYPE 27   /* the type holding most matrix bytes (codes as CX_MODEL_FIELD_DTYPE) */
#define CX_MODEL_FIELD_PREFIX_REUSE 28   /* where a sequence may start from a prefix (cx_submit_new_sequence_ex): 1 any
                                            prefix; 2 (hybrids) only one a CX_STEP_SNAPSHOT step ended at */
#define CX_MODEL_FIELD_PREFIX_BLOCK_BYTES 29 /* device bytes of one prefix-cache block (cx_submit_prefix_store),
                                                summed over a tensor-parallel model's devices; 0 for hybrids */
#define CX_MODEL_FIELD_LOAD_US 30       /* the load, start to end, in microseconds (on the first device) */
#define CX_MODEL_FIELD_LOAD_READ_US 31  /* of which bringing the file's pages in (page cache or disk) */
#define CX_MODEL_FIELD_LOAD_ALLOCATE_US 32 /* of which faulting in the memory repacked weights and the KV cache take */
#define CX_MODEL_FIELD_LOAD_REPACK_US 33   /* of which moving weights into the layouts the kernels read */
/* Background repack (cx_submit_load_repack), read at each call: */
#define CX_MODEL_FIELD_REPACK_PENDING_BYTES 34 /* weight bytes still served from the mapped file, all devices */
#define CX_MODEL_FIELD_REPACK_US 35        /* device time spent repacking so far, summed over devices */
#define CX_MODEL_FIELD_REPACK_READY_US 36  /* from the load's start until nothing was pending (0 before) */
#define CX_MODEL_FIELD_REPACK_FAILED 37    /* 1 when it stopped on an error (the rest serves from the mapping) */
#define CX_MODEL_FIELD_REPACK_DEFERRED_BYTES 38 /* weight bytes the load left to it, all devices (fixed) */
#define CX_MODEL_FIELDS 40

/** Positions in one prefix-cache block (cx_submit_prefix_store). */
#define CX_PREFIX_BLOCK_TOKENS 32

/* Step entry flags. */
#define CX_STEP_SAMPLE 1       /* sample the next token natively with the entry's parameters */
#define CX_STEP_LOGITS 2       /* return the last position's logits */
#define CX_STEP_ALL_LOGITS 4   /* return the logits of every position of the entry */
#define CX_STEP_LOGPROBS 8     /* (cx_submit_step_ex, with CX_STEP_SAMPLE) return log-probabilities, see there */
#define CX_STEP_ALLOWED_ONLY 16 /* (cx_submit_step_ex, with CX_STEP_SAMPLE) only the entry's logit-bias tokens
                                   may be sampled, see there */
#define CX_STEP_SNAPSHOT 32    /* hybrid models: after the step, keep a copy of the sequence's DeltaNet states in its
                                   slot, so a later sequence may start from the prefix it has fed so far
                                   (cx_submit_new_sequence_ex); dense models need none and ignore it */

/** Most alternatives CX_STEP_LOGPROBS may return per entry (OpenAI's limit). */
#define CX_MAX_TOP_LOGPROBS 20
/** Bounds of a logit bias value (OpenAI's). */
#define CX_LOGIT_BIAS_MAX 100

/* Sampling parameters: 8 doubles per entry, in this order. temperature <= 0 means greedy. */
#define CX_SAMPLING_FIELDS 8   /* temperature, top_k, top_p, min_p, seed, presence, frequency, repetition */

/** Returns CX_ABI_VERSION of the compiled plugin. */
CX_API int32_t cx_abi_version(void);

/** Creates a runtime: enumerates CUDA devices (when built with CUDA and a driver answers) followed by
 * `cpu_devices` CPU devices. `cpu_budget_bytes` <= 0 means physical RAM divided evenly over the CPU devices; `cpu_threads` <= 0 means
 * the available cores divided by `cpu_devices`. Worker threads start when a device gets its first job. */
CX_API int32_t cx_runtime_open(int32_t cpu_devices, int64_t cpu_budget_bytes, int32_t cpu_threads,
                               int32_t* out_runtime, char* err, int32_t err_cap);
/** cx_runtime_open with a CPU kernel instruction set: `cpu_isa` 0 = the best the CPU has (cpuid),
 * 1 = scalar, 2 = AVX2 + FMA, 3 = AVX-512 (F, BW, VL), 4 = AVX-512 with Intel AMX (bf16 and Q8_0 /
 * Q4_K / Q6_K matmuls on AMX tiles, where Linux grants the tile state). Asking for one the CPU lacks is
 * CX_ERR_INVALID_ARGUMENT. Lets tests run every kernel path on one machine. */
CX_API int32_t cx_runtime_open_ex(int32_t cpu_devices, int64_t cpu_budget_bytes, int32_t cpu_threads,
                                  int32_t cpu_isa, int32_t* out_runtime, char* err, int32_t err_cap);
/** Stops and joins every worker thread of the runtime; queued jobs fail. Idempotent. */
CX_API int32_t cx_runtime_close(int32_t runtime);
/** Closes every runtime of the process (for exit paths). */
CX_API void cx_shutdown(void);

/** Number of devices of the runtime (negative status on a bad handle). */
CX_API int32_t cx_device_count(int32_t runtime);
/** Device description: CX_DEVICE_FIELDS int64s, name and feature string (compute capability or CPU
 * features). Memory figures are current (cpu: exact accounting; cuda: last figure the worker saw). */
CX_API int32_t cx_device_info(int32_t runtime, int32_t device, int64_t* out, char* name, int32_t name_cap,
                              char* features, int32_t features_cap, char* err, int32_t err_cap);

/** Waits up to `timeout_ms` for finished jobs; writes up to `max_ids` ids. Returns the count (0 on
 * timeout) or -1 once the runtime is closed and nothing is left to report. */
CX_API int32_t cx_wait_any(int32_t runtime, int32_t* ids, int32_t max_ids, int32_t timeout_ms);
/** For a finished job writes [status, n_ints, n_floats] and its error text; CX_PENDING if running. */
CX_API int32_t cx_job_sizes(int32_t runtime, int32_t job, int64_t* out3, char* err, int32_t err_cap);
/** Copies a finished job's results (int64 and float arrays) and forgets the job. */
CX_API int32_t cx_job_take(int32_t runtime, int32_t job, int64_t* ints, int64_t ints_cap, float* floats,
                           int64_t floats_cap);

/** Load a model: `path` is a Hugging Face folder (config.json + safetensors) or a .gguf file (a split
 * GGUF by any of its `-0000K-of-0000N.gguf` shards; architectures qwen3 and llama; tensor types F32,
 * F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, anything else CX_ERR_UNSUPPORTED_ARCH naming the tensor).
 * Result ints: [model handle].
 * `context_length` <= 0: max_position_embeddings capped at 4096; `max_sequences` <= 0: 8.
 * `n_devices` > 1 (at most 8, distinct, all CPU or all CUDA): tensor parallelism, rank i on devices[i];
 * heads, KV heads and intermediate_size must divide by n_devices (else CX_ERR_UNSUPPORTED_ARCH). Every
 * later job on the model runs on all its devices and reports once, with rank 0's result. */
CX_API int32_t cx_submit_load(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                              int32_t context_length, int32_t max_sequences, int32_t* out_job, char* err,
                              int32_t err_cap);
/** cx_submit_load with in-situ quantization: `quant` (NULL or "" = none) is q8_0, q4_0, q4_k, q5_k, q6_k or
 * q4_k_m (case-insensitive, '_' optional: q80, q4k, q4km, q6k) and quantizes a safetensors model's matrices
 * at load, the embedding and lm_head included (llama-quantize's per-tensor rules: the output matrix Q6_K
 * unless q8_0; q4_k_m = llama.cpp's Q4_K_M mix). A matrix whose columns are not whole blocks of its type
 * falls back to Q8_0 when cols % 32 == 0, else stays unquantized. Another value, or any quant with a .gguf
 * path, is CX_ERR_INVALID_ARGUMENT. Tensor parallelism splits quantized columns by whole blocks (else
 * CX_ERR_UNSUPPORTED_ARCH naming the tensor). Memory is reserved for the quantized bytes + KV cache. */
CX_API int32_t cx_submit_load_ex(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                                 int32_t context_length, int32_t max_sequences, const char* quant, int32_t* out_job,
                                 char* err, int32_t err_cap);
/* When a model's weights are moved into the layouts the kernels read fastest (cx_submit_load_repack). */
#define CX_REPACK_BACKGROUND 0 /* serve the mapped file's layout at once; repack while the device is idle */
#define CX_REPACK_AT_LOAD 1    /* repack before the load job finishes */
#define CX_REPACK_NEVER 2      /* serve the mapped file's layout for good (no second copy; slower prefill) */
/** cx_submit_load_ex choosing when weights are repacked (cx_submit_load_ex: CX_REPACK_BACKGROUND). With
 * CX_REPACK_BACKGROUND the load finishes once the file's pages are mapped in and the weights serve from the
 * mapping (the same results, from slower kernels) while the device, between jobs, builds its own layouts
 * of them a few MiB at a time and lets each weight's mapped pages go as its copy takes over;
 * CX_MODEL_FIELD_REPACK_PENDING_BYTES reaches 0 when all have. Another value is CX_ERR_INVALID_ARGUMENT. */
CX_API int32_t cx_submit_load_repack(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                                     int32_t context_length, int32_t max_sequences, const char* quant,
                                     int32_t repack, int32_t* out_job, char* err, int32_t err_cap);
/** Static facts of a loaded model: CX_MODEL_FIELDS int64s and the architecture name (the Hugging Face class
 * name, also for a GGUF: qwen3 → Qwen3ForCausalLM, llama → LlamaForCausalLM). */
CX_API int32_t cx_model_info(int32_t runtime, int32_t model, int64_t* out, char* architecture,
                             int32_t architecture_cap, char* err, int32_t err_cap);
/** Unload a model (frees weights, KV cache and its sequences). */
CX_API int32_t cx_submit_unload(int32_t runtime, int32_t model, int32_t* out_job, char* err, int32_t err_cap);
/** Take a KV slot. Result ints: [sequence handle]. */
CX_API int32_t cx_submit_new_sequence(int32_t runtime, int32_t model, int32_t* out_job, char* err,
                                      int32_t err_cap);
/** cx_submit_new_sequence in a chosen slot, optionally starting from a prefix already computed.
 * `slot`: the free KV slot to take (-1: the lowest free one). With `n_prefix` > 0 the sequence
 * starts at position n_prefix: positions 0 .. n_prefix - 1 of slot `source_slot` (any slot, busy
 * or free, or `slot` itself) hold the keys and values of `prefix_tokens` and are copied into `slot`,
 * and those tokens join the sampler's history. The caller vouches that they are that prefix's.
 * A hybrid model takes only a prefix that ends where a CX_STEP_SNAPSHOT step of `source_slot`'s
 * last sequence ended; its DeltaNet states come from that snapshot. Result ints: [sequence handle, slot]. */
CX_API int32_t cx_submit_new_sequence_ex(int32_t runtime, int32_t model, int32_t slot, int32_t source_slot,
                                         int32_t n_prefix, const int32_t* prefix_tokens, int32_t* out_job,
                                         char* err, int32_t err_cap);
/** cx_submit_new_sequence_ex whose prefix comes from the model's prefix-cache blocks instead of a slot: the
 * sequence takes free slot `slot` (-1: the lowest free one) and starts at position n_blocks ×
 * CX_PREFIX_BLOCK_TOKENS, block block_ids[i] giving positions i·B .. (i+1)·B − 1; `prefix_tokens` (that many)
 * are the tokens the blocks hold, which the caller vouches for. An id not in the pool is
 * CX_ERR_INVALID_ARGUMENT; hybrid models keep no blocks. Result ints: [sequence handle, slot]. */
CX_API int32_t cx_submit_new_sequence_from_blocks(int32_t runtime, int32_t model, int32_t slot, int32_t n_blocks,
                                                  const int32_t* block_ids, const int32_t* prefix_tokens,
                                                  int32_t* out_job, char* err, int32_t err_cap);
/** Prefix cache: copies positions first_position + i·B .. first_position + (i+1)·B − 1 of KV slot `slot` (busy
 * or free; B = CX_PREFIX_BLOCK_TOKENS) into a new block named block_ids[i] (caller-chosen ids, unused in
 * the model's pool). Each block's memory is reserved on the model's devices like the model's own, so a full
 * device answers CX_ERR_OUT_OF_MEMORY and stores nothing. Hybrid models keep no blocks
 * (CX_ERR_INVALID_ARGUMENT). Blocks live until cx_submit_prefix_drop or the model's unload. */
CX_API int32_t cx_submit_prefix_store(int32_t runtime, int32_t model, int32_t slot, int32_t first_position,
                                      int32_t n_blocks, const int32_t* block_ids, int32_t* out_job, char* err,
                                      int32_t err_cap);
/** Frees prefix-cache blocks and their memory; ids not in the pool are skipped. */
CX_API int32_t cx_submit_prefix_drop(int32_t runtime, int32_t model, int32_t n_blocks, const int32_t* block_ids,
                                     int32_t* out_job, char* err, int32_t err_cap);
/** Give a sequence's KV slot back (its slot's keys and values stay until another sequence writes them). */
CX_API int32_t cx_submit_free_sequence(int32_t runtime, int32_t model, int32_t sequence, int32_t* out_job,
                                       char* err, int32_t err_cap);
/** One batched forward over `n_entries` entries. Entry i feeds `token_counts[i]` tokens (taken in
 * order from `tokens`) to `sequences[i]`; `flags[i]` is a CX_STEP_* mask; `sampling` holds
 * CX_SAMPLING_FIELDS doubles per entry. Result ints: n_entries sampled tokens (-1 when not
 * sampled) then n_entries positions after the step. Result floats: the requested logits, entry by
 * entry (vocab floats per returned position). The whole step fails before touching any state when
 * an entry is invalid. When the forward pass itself fails, no sequence advances; a hybrid model's
 * sequences in it have lost their DeltaNet states and later steps on them fail until they are freed. */
CX_API int32_t cx_submit_step(int32_t runtime, int32_t model, int32_t n_entries, const int32_t* sequences,
                              const int32_t* token_counts, const int32_t* tokens, const int32_t* flags,
                              const double* sampling, int32_t* out_job, char* err, int32_t err_cap);
/** cx_submit_step plus, per entry, a logit bias and log-probabilities.
 * Logit bias: entry i adds `bias_values[j]` (finite, in [-CX_LOGIT_BIAS_MAX, CX_LOGIT_BIAS_MAX]) to the
 * logit of `bias_tokens[j]` for its `bias_counts[i]` pairs (taken in order; a token listed twice gets
 * both) before sampling — greedy included. `bias_counts` may be null: no bias anywhere.
 * Token masks (constrained decoding), exact whatever the sampling parameters: a value of -INFINITY
 * forbids its token; with flag CX_STEP_ALLOWED_ONLY every token the entry does not list is forbidden
 * (the listed ones keep their logit plus their value). A forbidden token's logit is -infinity, so it is
 * never sampled. An entry that would leave no token to sample (ALLOWED_ONLY with no finite value, or the
 * whole vocabulary at -INFINITY) is CX_ERR_INVALID_ARGUMENT.
 * Log-probabilities (flag CX_STEP_LOGPROBS, which needs CX_STEP_SAMPLE): the log-softmax of the
 * last position's logits after the bias and before penalties, temperature and truncation — the
 * model's own distribution as the request shaped it — for the sampled token and for the
 * `top_logprobs[i]` (0..CX_MAX_TOP_LOGPROBS; may be null: 0) most likely tokens, in descending order,
 * ties by lower id. Results: ints and floats as cx_submit_step, then for each CX_STEP_LOGPROBS
 * entry in order its top_logprobs[i] token ids (ints) and 1 + top_logprobs[i] floats: the sampled
 * token's log-probability, then the top tokens'; forbidden tokens have -infinity. Logits returned by
 * CX_STEP_LOGITS stay unbiased. */
CX_API int32_t cx_submit_step_ex(int32_t runtime, int32_t model, int32_t n_entries, const int32_t* sequences,
                                 const int32_t* token_counts, const int32_t* tokens, const int32_t* flags,
                                 const double* sampling, const int32_t* top_logprobs, const int32_t* bias_counts,
                                 const int32_t* bias_tokens, const float* bias_values, int32_t* out_job,
                                 char* err, int32_t err_cap);
/** Ask the device worker for fresh memory figures. Result ints: [total bytes, free bytes]. */
CX_API int32_t cx_submit_memory_query(int32_t runtime, int32_t device, int32_t* out_job, char* err,
                                      int32_t err_cap);

/** TEST HOOK: a job that sleeps `ms` milliseconds on the device worker (cut short by close). */
CX_API int32_t cx_debug_submit_sleep(int32_t runtime, int32_t device, int32_t ms, int32_t* out_job, char* err,
                                     int32_t err_cap);
/** DIAGNOSTIC: a job that streams a `bytes` buffer with the device's compute threads (several passes)
 * and returns the best read bandwidth seen, in bytes/s, as the job's single float. CPU devices only. */
CX_API int32_t cx_debug_submit_bandwidth(int32_t runtime, int32_t device, int64_t bytes, int32_t* out_job,
                                         char* err, int32_t err_cap);
/** TEST HOOK: a job that raises a fatal device fault, poisoning the device. */
CX_API int32_t cx_debug_submit_fault(int32_t runtime, int32_t device, int32_t* out_job, char* err,
                                     int32_t err_cap);

#ifdef __cplusplus
}
#endif

#endif

// jobs.h — the bodies of the jobs a device worker runs (load, unload, sequences, step, memory
// query, and two test hooks). Each returns a JobFn that captures copies of its inputs.
#pragma once

#include <cstdint>
#include <string>

#include "runtime.h"
#include "step.h"

namespace cx {

JobFn load_job(Runtime& runtime, int device, std::string folder, int context, int max_sequences);
JobFn unload_job(Runtime& runtime, int32_t model);
JobFn new_sequence_job(Runtime& runtime, int32_t model);
JobFn free_sequence_job(int32_t model, int32_t sequence);
JobFn step_job(int32_t model, StepRequest request);
JobFn memory_query_job();
/** TEST HOOK: sleeps `ms` on the worker, waking early when the runtime closes. */
JobFn debug_sleep_job(int ms);
/** TEST HOOK: raises a fatal error, which poisons the device. */
JobFn debug_fault_job();
/** Measures the device's read bandwidth over a `bytes` buffer; one float result (bytes/s). */
JobFn debug_bandwidth_job(int64_t bytes);

}  // namespace cx

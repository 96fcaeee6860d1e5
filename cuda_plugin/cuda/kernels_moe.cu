// kernels_moe.cu — the nvcc translation unit of kernels_moe.cuh (kept header-only so that
// kernels_check.cpp can run the same source under the host emulation).
#include "kernels_moe.cuh"

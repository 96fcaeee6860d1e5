// kernels_hybrid.cu — the nvcc translation unit of kernels_hybrid.cuh (header-only so that
// kernels_check.cpp can run the same source under the host emulation).
#include "kernels_hybrid.cuh"

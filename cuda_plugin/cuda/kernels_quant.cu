// kernels_quant.cu — the nvcc translation unit of kernels_quant.cuh (kept header-only so that
// kernels_check.cpp can run the same source under the host emulation).
#include "kernels_quant.cuh"

// The CUDA libraries Hearth's trainer uses, opened with dlopen at run time so that one
// hearth-worker binary runs on nodes with and without CUDA. No CUDA header is needed to build:
// the few types and functions used are declared in hearth_cuda.c. Every function returns 0 on
// success; on failure hc_error() holds one sentence saying what went wrong.
#ifndef HEARTH_CUDA_H
#define HEARTH_CUDA_H
#include <stddef.h>

/// The last error sentence (thread-local).
const char *hc_error(void);

/// Opens NVRTC alone (libnvrtc.so.12 or .13), searching the colon-separated `dirs` first, then
/// the dynamic linker's path. Enough to compile kernels on a machine without a GPU.
int hc_load_nvrtc(const char *dirs);
/// NVRTC's version.
int hc_nvrtc_version(int *major, int *minor);
/// Compiles CUDA C `src` to PTX. On success *ptx (NUL-terminated) is malloc'd; on a compile
/// error returns 1 with *log (NVRTC's log, malloc'd) set. Free both with hc_free_host.
int hc_nvrtc_compile(const char *src, const char *name, const char *const *opts, int nopts, char **ptx, char **log);
void hc_free_host(void *p);

/// Opens the driver (libcuda.so.1), the runtime, cuBLASLt, cuBLAS and NVRTC, initialises the
/// first visible GPU, its primary context and a cuBLAS handle.
int hc_load_all(const char *dirs);
/// The paths dlopen resolved ("" where not loaded): 0 driver, 1 runtime, 2 cublasLt, 3 cublas, 4 nvrtc.
const char *hc_library(int which);
/// Name, compute capability and multiprocessor count of the GPU in use.
int hc_device_info(char *name, int len, int *major, int *minor, int *sms);

int hc_malloc(unsigned long long *ptr, size_t bytes);
int hc_free(unsigned long long ptr);
int hc_htod(unsigned long long dst, const void *src, size_t bytes);
int hc_dtoh(void *dst, unsigned long long src, size_t bytes);
int hc_memset(unsigned long long ptr, int value, size_t bytes);
int hc_sync(void);

/// Loads a PTX module; *fn of each name through hc_function.
int hc_module_load(const char *ptx, void **module);
int hc_function(void *module, const char *name, void **fn);
/// Launches `fn` with its parameters packed in `args` (`size` bytes, each at its natural alignment).
int hc_launch(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
              unsigned shared, void *args, size_t size);

/// Column-major C[m,n] = alpha·op(A)·op(B) + beta·C (cuBLAS's convention), `batch` times with the
/// given strides (elements), through cuBLAS with FP32 storage. compute: 0 FP32, 1 TF32 tensor cores, 2 BF16 tensor cores.
int hc_gemm(int transA, int transB, int m, int n, int k, float alpha,
            unsigned long long a, int lda, long long strideA,
            unsigned long long b, int ldb, long long strideB, float beta,
            unsigned long long c, int ldc, long long strideC, int batch, int compute);
#endif

#define _GNU_SOURCE
#include "hearth_cuda.h"
#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- The declarations used, as in CUDA 12 and 13's headers (stable C ABI) ----
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef int cudaError_t;
typedef int cublasStatus_t;
typedef void *cublasHandle_t;
typedef int nvrtcResult;
typedef void *nvrtcProgram;
enum { CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
       CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76 };
enum { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2 };
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum { CUDA_R_32F = 0 };
enum { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum { CUBLAS_GEMM_DEFAULT = -1 };
#define CU_LAUNCH_PARAM_END ((void *)0x00)
#define CU_LAUNCH_PARAM_BUFFER_POINTER ((void *)0x01)
#define CU_LAUNCH_PARAM_BUFFER_SIZE ((void *)0x02)

static CUresult (*cuInit_)(unsigned);
static CUresult (*cuDeviceGetCount_)(int *);
static CUresult (*cuDeviceGet_)(CUdevice *, int);
static CUresult (*cuDeviceGetName_)(char *, int, CUdevice);
static CUresult (*cuDeviceGetAttribute_)(int *, int, CUdevice);
static CUresult (*cuGetErrorString_)(CUresult, const char **);
static CUresult (*cuCtxGetCurrent_)(CUcontext *);
static CUresult (*cuCtxSetCurrent_)(CUcontext);
static CUresult (*cuModuleLoadData_)(CUmodule *, const void *);
static CUresult (*cuModuleGetFunction_)(CUfunction *, CUmodule, const char *);
static CUresult (*cuLaunchKernel_)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                   CUstream, void **, void **);
static cudaError_t (*cudaSetDevice_)(int);
static cudaError_t (*cudaFree_)(void *);
static cudaError_t (*cudaMalloc_)(void **, size_t);
static cudaError_t (*cudaMemcpy_)(void *, const void *, size_t, int);
static cudaError_t (*cudaMemset_)(void *, int, size_t);
static cudaError_t (*cudaDeviceSynchronize_)(void);
static const char *(*cudaGetErrorString_)(cudaError_t);
static cublasStatus_t (*cublasCreate_)(cublasHandle_t *);
static cublasStatus_t (*cublasGemmEx_)(cublasHandle_t, int, int, int, int, int, const void *, const void *, int, int,
                                       const void *, int, int, const void *, void *, int, int, int, int);
static cublasStatus_t (*cublasGemmStridedBatchedEx_)(cublasHandle_t, int, int, int, int, int, const void *, const void *,
                                                     int, int, long long, const void *, int, int, long long,
                                                     const void *, void *, int, int, long long, int, int, int);
static nvrtcResult (*nvrtcVersion_)(int *, int *);
static nvrtcResult (*nvrtcCreateProgram_)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                                          const char *const *);
static nvrtcResult (*nvrtcCompileProgram_)(nvrtcProgram, int, const char *const *);
static nvrtcResult (*nvrtcGetPTXSize_)(nvrtcProgram, size_t *);
static nvrtcResult (*nvrtcGetPTX_)(nvrtcProgram, char *);
static nvrtcResult (*nvrtcGetProgramLogSize_)(nvrtcProgram, size_t *);
static nvrtcResult (*nvrtcGetProgramLog_)(nvrtcProgram, char *);
static nvrtcResult (*nvrtcDestroyProgram_)(nvrtcProgram *);
static const char *(*nvrtcGetErrorString_)(nvrtcResult);

static void *handles[5];
static char paths[5][512];
static CUcontext context;
static cublasHandle_t blas;
static _Thread_local char message[1024];

const char *hc_error(void) { return message; }

static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return -1;
}

// Opens the first of `sonames` found in `dirs` (colon-separated) or on the linker's path.
static int open_library(int slot, const char *const *sonames, int count, const char *dirs, const char *what) {
    if (handles[slot]) return 0;
    char candidate[512], firstError[512] = "";
    for (int i = 0; i < count; i++) {
        const char *d = dirs ? dirs : "";
        while (*d) {
            const char *end = strchr(d, ':');
            size_t len = end ? (size_t)(end - d) : strlen(d);
            if (len > 0 && len < 400) {
                snprintf(candidate, sizeof candidate, "%.*s/%s", (int)len, d, sonames[i]);
                handles[slot] = dlopen(candidate, RTLD_NOW | RTLD_GLOBAL);
                if (handles[slot]) break;
            }
            d += len + (end ? 1 : 0);
        }
        if (!handles[slot]) handles[slot] = dlopen(sonames[i], RTLD_NOW | RTLD_GLOBAL);
        if (handles[slot]) break;
        if (!firstError[0]) { const char *e = dlerror(); snprintf(firstError, sizeof firstError, "%s", e ? e : "not found"); }
    }
    if (!handles[slot]) {
        char names[256] = "";
        for (int i = 0; i < count; i++) {
            strncat(names, sonames[i], sizeof names - strlen(names) - 1);
            if (i + 1 < count) strncat(names, " or ", sizeof names - strlen(names) - 1);
        }
        return fail("%s (%s) is not installed on this node or not on the library path (%s)", names, what, firstError);
    }
    struct link_map *map = NULL;
    if (dlinfo(handles[slot], RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name)
        snprintf(paths[slot], sizeof paths[slot], "%s", map->l_name);
    return 0;
}

#define SYM(slot, var, name)                                                                        \
    do {                                                                                            \
        *(void **)&var = dlsym(handles[slot], name);                                                \
        if (!var) return fail("%s has no symbol %s (an unsupported CUDA version)", paths[slot], name); \
    } while (0)

int hc_load_nvrtc(const char *dirs) {
    static const char *const names[] = {"libnvrtc.so.12", "libnvrtc.so.13"};
    if (open_library(4, names, 2, dirs, "NVRTC, the CUDA runtime compiler")) return -1;
    SYM(4, nvrtcVersion_, "nvrtcVersion");
    SYM(4, nvrtcCreateProgram_, "nvrtcCreateProgram");
    SYM(4, nvrtcCompileProgram_, "nvrtcCompileProgram");
    SYM(4, nvrtcGetPTXSize_, "nvrtcGetPTXSize");
    SYM(4, nvrtcGetPTX_, "nvrtcGetPTX");
    SYM(4, nvrtcGetProgramLogSize_, "nvrtcGetProgramLogSize");
    SYM(4, nvrtcGetProgramLog_, "nvrtcGetProgramLog");
    SYM(4, nvrtcDestroyProgram_, "nvrtcDestroyProgram");
    SYM(4, nvrtcGetErrorString_, "nvrtcGetErrorString");
    return 0;
}

int hc_nvrtc_version(int *major, int *minor) {
    if (!nvrtcVersion_) return fail("NVRTC is not loaded");
    return nvrtcVersion_(major, minor) == 0 ? 0 : fail("nvrtcVersion failed");
}

void hc_free_host(void *p) { free(p); }

int hc_nvrtc_compile(const char *src, const char *name, const char *const *opts, int nopts, char **ptx, char **log) {
    *ptx = NULL;
    *log = NULL;
    if (!nvrtcCreateProgram_) return fail("NVRTC is not loaded");
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram_(&prog, src, name, 0, NULL, NULL);
    if (r) return fail("nvrtcCreateProgram: %s", nvrtcGetErrorString_(r));
    r = nvrtcCompileProgram_(prog, nopts, opts);
    size_t n = 0;
    nvrtcGetProgramLogSize_(prog, &n);
    if (n > 1) {
        *log = malloc(n);
        nvrtcGetProgramLog_(prog, *log);
    }
    if (r) {
        fail("%s does not compile: %s", name, nvrtcGetErrorString_(r));
        nvrtcDestroyProgram_(&prog);
        return 1;
    }
    nvrtcGetPTXSize_(prog, &n);
    *ptx = malloc(n + 1);
    nvrtcGetPTX_(prog, *ptx);
    (*ptx)[n] = 0;
    nvrtcDestroyProgram_(&prog);
    return 0;
}

static int cu(CUresult r, const char *what) {
    if (r == 0) return 0;
    const char *s = NULL;
    if (cuGetErrorString_) cuGetErrorString_(r, &s);
    return fail("%s failed: %s (CUDA driver error %d)", what, s ? s : "unknown", r);
}

static int rt(cudaError_t r, const char *what) {
    if (r == 0) return 0;
    return fail("%s failed: %s (CUDA runtime error %d)", what, cudaGetErrorString_ ? cudaGetErrorString_(r) : "?", r);
}

int hc_load_all(const char *dirs) {
    if (blas) return 0;
    static const char *const driver[] = {"libcuda.so.1"};
    static const char *const runtime[] = {"libcudart.so.12", "libcudart.so.13"};
    static const char *const lt[] = {"libcublasLt.so.12", "libcublasLt.so.13"};
    static const char *const cublas[] = {"libcublas.so.12", "libcublas.so.13"};
    if (open_library(0, driver, 1, dirs, "the NVIDIA driver")) return -1;
    SYM(0, cuInit_, "cuInit");
    SYM(0, cuDeviceGetCount_, "cuDeviceGetCount");
    SYM(0, cuDeviceGet_, "cuDeviceGet");
    SYM(0, cuDeviceGetName_, "cuDeviceGetName");
    SYM(0, cuDeviceGetAttribute_, "cuDeviceGetAttribute");
    SYM(0, cuGetErrorString_, "cuGetErrorString");
    SYM(0, cuCtxGetCurrent_, "cuCtxGetCurrent");
    SYM(0, cuCtxSetCurrent_, "cuCtxSetCurrent");
    SYM(0, cuModuleLoadData_, "cuModuleLoadData");
    SYM(0, cuModuleGetFunction_, "cuModuleGetFunction");
    SYM(0, cuLaunchKernel_, "cuLaunchKernel");
    if (open_library(1, runtime, 2, dirs, "the CUDA runtime")) return -1;
    SYM(1, cudaSetDevice_, "cudaSetDevice");
    SYM(1, cudaFree_, "cudaFree");
    SYM(1, cudaMalloc_, "cudaMalloc");
    SYM(1, cudaMemcpy_, "cudaMemcpy");
    SYM(1, cudaMemset_, "cudaMemset");
    SYM(1, cudaDeviceSynchronize_, "cudaDeviceSynchronize");
    SYM(1, cudaGetErrorString_, "cudaGetErrorString");
    if (open_library(2, lt, 2, dirs, "cuBLASLt")) return -1;
    if (open_library(3, cublas, 2, dirs, "cuBLAS")) return -1;
    SYM(3, cublasCreate_, "cublasCreate_v2");
    SYM(3, cublasGemmEx_, "cublasGemmEx");
    SYM(3, cublasGemmStridedBatchedEx_, "cublasGemmStridedBatchedEx");
    if (hc_load_nvrtc(dirs)) return -1;
    CUresult r = cuInit_(0);
    int count = 0;
    if (r == 100 || (r == 0 && cuDeviceGetCount_(&count) == 0 && count == 0)) {
        const char *v = getenv("CUDA_VISIBLE_DEVICES");
        return fail("no GPU is visible (CUDA_VISIBLE_DEVICES=%s)", v ? v : "unset");
    }
    if (cu(r, "cuInit")) return -1;
    if (rt(cudaSetDevice_(0), "cudaSetDevice(0)") || rt(cudaFree_(NULL), "creating the CUDA context")) return -1;
    if (cu(cuCtxGetCurrent_(&context), "cuCtxGetCurrent")) return -1;
    cublasStatus_t s = cublasCreate_(&blas);
    if (s) return fail("cublasCreate failed (cuBLAS status %d)", s);
    return 0;
}

const char *hc_library(int which) { return which >= 0 && which < 5 ? paths[which] : ""; }

int hc_device_info(char *name, int len, int *major, int *minor, int *sms) {
    CUdevice d;
    if (cu(cuDeviceGet_(&d, 0), "cuDeviceGet") || cu(cuDeviceGetName_(name, len, d), "cuDeviceGetName")) return -1;
    cuDeviceGetAttribute_(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
    cuDeviceGetAttribute_(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d);
    cuDeviceGetAttribute_(sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d);
    return 0;
}

int hc_malloc(unsigned long long *ptr, size_t bytes) {
    void *p = NULL;
    if (rt(cudaMalloc_(&p, bytes ? bytes : 4), "cudaMalloc")) return -1;
    *ptr = (unsigned long long)p;
    return 0;
}
int hc_free(unsigned long long ptr) { return rt(cudaFree_((void *)ptr), "cudaFree"); }
int hc_htod(unsigned long long dst, const void *src, size_t bytes) {
    return rt(cudaMemcpy_((void *)dst, src, bytes, cudaMemcpyHostToDevice), "copying to the GPU");
}
int hc_dtoh(void *dst, unsigned long long src, size_t bytes) {
    return rt(cudaMemcpy_(dst, (const void *)src, bytes, cudaMemcpyDeviceToHost), "copying from the GPU");
}
int hc_memset(unsigned long long ptr, int value, size_t bytes) {
    return rt(cudaMemset_((void *)ptr, value, bytes), "cudaMemset");
}
int hc_sync(void) { return rt(cudaDeviceSynchronize_(), "a GPU kernel"); }

// The driver calls below need the primary context current on the calling thread.
static int current(void) {
    CUcontext c = NULL;
    cuCtxGetCurrent_(&c);
    return c == context ? 0 : cu(cuCtxSetCurrent_(context), "cuCtxSetCurrent");
}

int hc_module_load(const char *ptx, void **module) {
    if (current()) return -1;
    return cu(cuModuleLoadData_((CUmodule *)module, ptx), "loading a kernel module (cuModuleLoadData)");
}
int hc_function(void *module, const char *name, void **fn) {
    CUresult r = cuModuleGetFunction_((CUfunction *)fn, module, name);
    if (r) return fail("kernel %s not found in its module (CUDA driver error %d)", name, r);
    return 0;
}

int hc_launch(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
              unsigned shared, void *args, size_t size) {
    if (current()) return -1;
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, args, CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END};
    return cu(cuLaunchKernel_((CUfunction)fn, gx, gy, gz, bx, by, bz, shared, NULL, NULL, extra), "cuLaunchKernel");
}

// Column-major, as cuBLAS takes it (the row-major mapping is done in Swift: ColumnMajorGemm).
int hc_gemm(int transA, int transB, int m, int n, int k, float alpha,
            unsigned long long a, int lda, long long strideA,
            unsigned long long b, int ldb, long long strideB, float beta,
            unsigned long long c, int ldc, long long strideC, int batch, int compute) {
    int ct = compute == 1 ? CUBLAS_COMPUTE_32F_FAST_TF32 : compute == 2 ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
    int opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N, opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t s;
    if (batch == 1)
        s = cublasGemmEx_(blas, opA, opB, m, n, k, &alpha, (void *)a, CUDA_R_32F, lda, (void *)b, CUDA_R_32F, ldb, &beta,
                          (void *)c, CUDA_R_32F, ldc, ct, CUBLAS_GEMM_DEFAULT);
    else
        s = cublasGemmStridedBatchedEx_(blas, opA, opB, m, n, k, &alpha, (void *)a, CUDA_R_32F, lda, strideA, (void *)b,
                                        CUDA_R_32F, ldb, strideB, &beta, (void *)c, CUDA_R_32F, ldc, strideC, batch, ct,
                                        CUBLAS_GEMM_DEFAULT);
    if (s) return fail("cuBLAS GEMM %dx%dx%d failed (cuBLAS status %d)", m, n, k, s);
    return 0;
}

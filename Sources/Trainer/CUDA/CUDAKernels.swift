/// The CUDA C sources of the GPU backend's kernels, compiled by NVRTC at start (PTX cached by
/// hash, see `KernelCache`). Each mirrors the CPU layer of the same name (`LayerNorm.swift`,
/// `GELU.swift`, ...): same formulas, same eps, same dropout hash. Reductions over rows
/// (LayerNorm and bias gradients, embedding gradients) use atomics, so GPU runs agree with the
/// CPU to float tolerance, not bit for bit.
enum CUDAKernels {
    /// One compilation unit: a name (for logs and the cache) and its source.
    struct Source: Sendable {
        let name: String
        let code: String
        /// The `extern "C"` kernels it defines.
        let kernels: [String]
    }

    /// Helpers every unit starts with.
    static let prelude = #"""
    #define HC_IDX (blockIdx.x * (long long)blockDim.x + threadIdx.x)
    __device__ __forceinline__ float hc_warp_sum(float v) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        return v;
    }
    __device__ __forceinline__ float hc_warp_max(float v) {
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        return v;
    }

    """#

    static let embedding = Source(name: "embedding.cu", code: prelude + #"""
    // out[r, :] = wte[tokens[r]] + wpe[r % T]
    extern "C" __global__ void embedding_forward(float* out, const int* tok, const float* wte, const float* wpe,
                                                 int BT, int T, int C) {
        long long i = HC_IDX;
        if (i >= (long long)BT * C) return;
        int r = (int)(i / C), c = (int)(i % C);
        out[i] = wte[(long long)tok[r] * C + c] + wpe[(long long)(r % T) * C + c];
    }
    extern "C" __global__ void embedding_backward(float* dwte, float* dwpe, const float* dout, const int* tok,
                                                  int BT, int T, int C) {
        long long i = HC_IDX;
        if (i >= (long long)BT * C) return;
        int r = (int)(i / C), c = (int)(i % C);
        float g = dout[i];
        atomicAdd(&dwte[(long long)tok[r] * C + c], g);
        atomicAdd(&dwpe[(long long)(r % T) * C + c], g);
    }
    """#, kernels: ["embedding_forward", "embedding_backward"])

    static let layerNorm = Source(name: "layernorm.cu", code: prelude + #"""
    // One warp per row; eps 1e-5 as LayerNorm.swift. b may be null (no bias).
    extern "C" __global__ void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                                 const float* w, const float* b, int N, int C) {
        int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
        if (row >= N) return;
        const float* x = inp + (long long)row * C;
        float s = 0.f;
        for (int i = lane; i < C; i += 32) s += x[i];
        float m = hc_warp_sum(s) / C;
        float v = 0.f;
        for (int i = lane; i < C; i += 32) { float d = x[i] - m; v += d * d; }
        float rs = 1.f / sqrtf(hc_warp_sum(v) / C + 1e-5f);
        float* y = out + (long long)row * C;
        for (int i = lane; i < C; i += 32) y[i] = (x[i] - m) * rs * w[i] + (b ? b[i] : 0.f);
        if (lane == 0) { mean[row] = m; rstd[row] = rs; }
    }
    // Adds into dinp, dw and db (db may be null). Shared memory: 2*C floats per block.
    extern "C" __global__ void layernorm_backward(float* dinp, float* dw, float* db, const float* dout,
                                                  const float* inp, const float* w, const float* mean,
                                                  const float* rstd, int N, int C) {
        extern __shared__ float sh[];
        float* sdw = sh; float* sdb = sh + C;
        for (int i = threadIdx.x; i < 2 * C; i += blockDim.x) sh[i] = 0.f;
        __syncthreads();
        int warps = blockDim.x / 32, lane = threadIdx.x % 32;
        for (int row = blockIdx.x * warps + threadIdx.x / 32; row < N; row += gridDim.x * warps) {
            const float* x = inp + (long long)row * C; const float* g = dout + (long long)row * C;
            float* dx = dinp + (long long)row * C;
            float m = mean[row], rs = rstd[row], s1 = 0.f, s2 = 0.f;
            for (int i = lane; i < C; i += 32) { float n = (x[i] - m) * rs, dn = g[i] * w[i]; s1 += dn; s2 += dn * n; }
            s1 = hc_warp_sum(s1) / C; s2 = hc_warp_sum(s2) / C;
            for (int i = lane; i < C; i += 32) {
                float n = (x[i] - m) * rs, dn = g[i] * w[i];
                dx[i] += (dn - s1 - n * s2) * rs;
                atomicAdd(&sdw[i], g[i] * n);
                atomicAdd(&sdb[i], g[i]);
            }
        }
        __syncthreads();
        for (int i = threadIdx.x; i < C; i += blockDim.x) {
            atomicAdd(&dw[i], sdw[i]);
            if (db) atomicAdd(&db[i], sdb[i]);
        }
    }
    """#, kernels: ["layernorm_forward", "layernorm_backward"])

    static let elementwise = Source(name: "elementwise.cu", code: prelude + #"""
    #define GELU_K 0.7978845608028654f
    #define GELU_A 0.044715f
    extern "C" __global__ void gelu_forward(float* out, const float* inp, long long n) {
        long long i = HC_IDX;
        if (i >= n) return;
        float x = inp[i];
        out[i] = 0.5f * x * (1.f + tanhf(GELU_K * (x + GELU_A * x * x * x)));
    }
    extern "C" __global__ void gelu_backward(float* dinp, const float* inp, const float* dout, long long n) {
        long long i = HC_IDX;
        if (i >= n) return;
        float x = inp[i], x2 = x * x;
        float th = tanhf(GELU_K * (x + GELU_A * x2 * x));
        float du = GELU_K * (1.f + 3.f * GELU_A * x2);
        dinp[i] = (0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du) * dout[i];
    }
    extern "C" __global__ void residual_add(float* into, const float* src, long long n) {
        long long i = HC_IDX;
        if (i < n) into[i] += src[i];
    }
    extern "C" __global__ void add_bias(float* out, const float* b, long long n, int oc) {
        long long i = HC_IDX;
        if (i < n) out[i] += b[i % oc];
    }
    // db[j] += sum over rows of dout[:, j]: 32 columns by 8 row lanes per block, row chunks over blockIdx.y.
    extern "C" __global__ void bias_backward(float* db, const float* dout, int N, int oc) {
        __shared__ float part[8][32];
        int col = blockIdx.x * 32 + threadIdx.x % 32, lane = threadIdx.x / 32;
        int chunk = (N + gridDim.y - 1) / gridDim.y, lo = blockIdx.y * chunk, hi = min(N, lo + chunk);
        float s = 0.f;
        if (col < oc) for (int r = lo + lane; r < hi; r += 8) s += dout[(long long)r * oc + col];
        part[lane][threadIdx.x % 32] = s;
        __syncthreads();
        if (lane == 0 && col < oc) {
            float t = 0.f;
            for (int k = 0; k < 8; k++) t += part[k][threadIdx.x % 32];
            atomicAdd(&db[col], t);
        }
    }
    // Dropout.swift's counter-based mask: keep when splitmix64(seed + site*phi + i*c) >> 11 >= threshold.
    extern "C" __global__ void dropout_mask(float* mask, long long n, unsigned long long threshold, float scale,
                                            unsigned long long seed, unsigned long long site) {
        long long i = HC_IDX;
        if (i >= n) return;
        unsigned long long z = seed + site * 0x9E3779B97F4A7C15ull + (unsigned long long)i * 0xD1B54A32D192ED03ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        mask[i] = (z >> 11) >= threshold ? scale : 0.f;
    }
    extern "C" __global__ void multiply(float* dst, const float* x, const float* m, long long n) {
        long long i = HC_IDX;
        if (i < n) dst[i] = x[i] * m[i];
    }
    """#, kernels: ["gelu_forward", "gelu_backward", "residual_add", "add_bias", "bias_backward", "dropout_mask", "multiply"])

    static let attention = Source(name: "attention.cu", code: prelude + #"""
    // qkv[B, T, 3C] <-> q, k, v [B, NH, T, HS]; y [B, NH, T, HS] <-> out [B, T, C].
    extern "C" __global__ void permute_qkv(float* q, float* k, float* v, const float* qkv, int B, int T, int NH, int HS) {
        long long i = HC_IDX;
        if (i >= (long long)B * NH * T * HS) return;
        int d = (int)(i % HS), t = (int)((i / HS) % T), h = (int)((i / ((long long)HS * T)) % NH), b = (int)(i / ((long long)HS * T * NH));
        int C = NH * HS;
        long long src = ((long long)b * T + t) * 3 * C + h * HS + d;
        q[i] = qkv[src]; k[i] = qkv[src + C]; v[i] = qkv[src + 2 * C];
    }
    extern "C" __global__ void permute_qkv_backward(float* dqkv, const float* dq, const float* dk, const float* dv,
                                                    int B, int T, int NH, int HS) {
        long long i = HC_IDX;
        if (i >= (long long)B * NH * T * HS) return;
        int d = (int)(i % HS), t = (int)((i / HS) % T), h = (int)((i / ((long long)HS * T)) % NH), b = (int)(i / ((long long)HS * T * NH));
        int C = NH * HS;
        long long dst = ((long long)b * T + t) * 3 * C + h * HS + d;
        dqkv[dst] = dq[i]; dqkv[dst + C] = dk[i]; dqkv[dst + 2 * C] = dv[i];
    }
    extern "C" __global__ void unpermute(float* out, const float* y, int B, int T, int NH, int HS) {
        long long i = HC_IDX;
        if (i >= (long long)B * NH * T * HS) return;
        int d = (int)(i % HS), t = (int)((i / HS) % T), h = (int)((i / ((long long)HS * T)) % NH), b = (int)(i / ((long long)HS * T * NH));
        out[((long long)b * T + t) * NH * HS + h * HS + d] = y[i];
    }
    extern "C" __global__ void unpermute_backward(float* dy, const float* dout, int B, int T, int NH, int HS) {
        long long i = HC_IDX;
        if (i >= (long long)B * NH * T * HS) return;
        int d = (int)(i % HS), t = (int)((i / HS) % T), h = (int)((i / ((long long)HS * T)) % NH), b = (int)(i / ((long long)HS * T * NH));
        dy[i] = dout[((long long)b * T + t) * NH * HS + h * HS + d];
    }
    // Softmax of the first t+1 entries of each row (t = row % T) in place, zero above the diagonal. One warp per row.
    extern "C" __global__ void causal_softmax(float* att, long long rows, int T) {
        long long row = blockIdx.x * (long long)(blockDim.x / 32) + threadIdx.x / 32;
        int lane = threadIdx.x % 32;
        if (row >= rows) return;
        float* p = att + row * T;
        int valid = (int)(row % T) + 1;
        float mx = -__int_as_float(0x7f800000);
        for (int j = lane; j < valid; j += 32) mx = fmaxf(mx, p[j]);
        mx = hc_warp_max(mx);
        float s = 0.f;
        for (int j = lane; j < valid; j += 32) { float e = expf(p[j] - mx); p[j] = e; s += e; }
        float inv = 1.f / hc_warp_sum(s);
        for (int j = lane; j < T; j += 32) p[j] = j < valid ? p[j] * inv : 0.f;
    }
    // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale in place of dP, zero above the diagonal.
    extern "C" __global__ void softmax_backward(float* dp, const float* att, long long rows, int T, float scale) {
        long long row = blockIdx.x * (long long)(blockDim.x / 32) + threadIdx.x / 32;
        int lane = threadIdx.x % 32;
        if (row >= rows) return;
        const float* p = att + row * T;
        float* d = dp + row * T;
        int valid = (int)(row % T) + 1;
        float dot = 0.f;
        for (int j = lane; j < valid; j += 32) dot += p[j] * d[j];
        dot = hc_warp_sum(dot);
        for (int j = lane; j < T; j += 32) d[j] = j < valid ? p[j] * (d[j] - dot) * scale : 0.f;
    }
    """#, kernels: ["permute_qkv", "permute_qkv_backward", "unpermute", "unpermute_backward", "causal_softmax", "softmax_backward"])

    static let crossEntropy = Source(name: "crossentropy.cu", code: prelude + #"""
    // Block-wide reductions over 256 threads (8 warps).
    __device__ float hc_block_max(float v, float* sh) {
        v = hc_warp_max(v);
        if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
        __syncthreads();
        float r = sh[0];
        for (int k = 1; k < blockDim.x / 32; k++) r = fmaxf(r, sh[k]);
        __syncthreads();
        return r;
    }
    __device__ float hc_block_sum(float v, float* sh) {
        v = hc_warp_sum(v);
        if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
        __syncthreads();
        float r = 0.f;
        for (int k = 0; k < blockDim.x / 32; k++) r += sh[k];
        __syncthreads();
        return r;
    }
    // Logits -> probabilities in place, one block per row; losses[r] = log Σ exp + max − logit[target].
    extern "C" __global__ void crossentropy_forward(float* probs, float* losses, const int* targets, int N, int V) {
        __shared__ float sh[32];
        int r = blockIdx.x;
        if (r >= N) return;
        float* row = probs + (long long)r * V;
        float target = targets ? row[targets[r]] : 0.f;
        float mx = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, row[j]);
        mx = hc_block_max(mx, sh);
        float s = 0.f;
        for (int j = threadIdx.x; j < V; j += blockDim.x) { float e = expf(row[j] - mx); row[j] = e; s += e; }
        s = hc_block_sum(s, sh);
        float inv = 1.f / s;
        for (int j = threadIdx.x; j < V; j += blockDim.x) row[j] *= inv;
        if (threadIdx.x == 0) losses[r] = targets ? (float)log((double)s) + mx - target : 0.f;
    }
    // Probabilities -> d(scale · loss)/d(logits) in place.
    extern "C" __global__ void crossentropy_backward(float* probs, const int* targets, int N, int V, float scale) {
        long long i = HC_IDX;
        if (i >= (long long)N * V) return;
        int r = (int)(i / V), j = (int)(i % V);
        float g = probs[i] * scale;
        probs[i] = j == targets[r] ? g - scale : g;
    }
    // The first most likely token of each row (as Scorer's scan). One block per row.
    extern "C" __global__ void row_argmax(int* best, const float* probs, int N, int V) {
        __shared__ float sv[256];
        __shared__ int si[256];
        int r = blockIdx.x;
        if (r >= N) return;
        const float* row = probs + (long long)r * V;
        float bv = -__int_as_float(0x7f800000); int bi = 0x7fffffff;
        for (int j = threadIdx.x; j < V; j += blockDim.x) if (row[j] > bv) { bv = row[j]; bi = j; }
        sv[threadIdx.x] = bv; si[threadIdx.x] = bi;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                float ov = sv[threadIdx.x + s]; int oi = si[threadIdx.x + s];
                if (ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && oi < si[threadIdx.x])) { sv[threadIdx.x] = ov; si[threadIdx.x] = oi; }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) best[r] = si[0];
    }
    """#, kernels: ["crossentropy_forward", "crossentropy_backward", "row_argmax"])

    static let adamW = Source(name: "adamw.cu", code: prelude + #"""
    // Per-block partial sums of squares (in double), summed on the host in block order.
    extern "C" __global__ void sum_squares(double* partial, const float* g, long long n) {
        __shared__ double sh[256];
        double s = 0.0;
        for (long long i = HC_IDX; i < n; i += (long long)gridDim.x * blockDim.x) { double x = g[i]; s += x * x; }
        sh[threadIdx.x] = s;
        __syncthreads();
        for (int k = blockDim.x / 2; k > 0; k >>= 1) {
            if (threadIdx.x < k) sh[threadIdx.x] += sh[threadIdx.x + k];
            __syncthreads();
        }
        if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
    }
    // AdamW.swift's fused update on one segment (keep = 1 − lr·wd where it decays, else 1).
    extern "C" __global__ void adamw(float* p, const float* g, float* m, float* v, long long n, float b1, float b2,
                                     float eps, float stepSize, float invC2, float keep, float scale) {
        long long i = HC_IDX;
        if (i >= n) return;
        float gi = g[i] * scale;
        float mi = b1 * m[i] + (1.f - b1) * gi;
        float vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] = p[i] * keep - stepSize * mi / (sqrtf(vi * invC2) + eps);
    }
    """#, kernels: ["sum_squares", "adamw"])

    /// Every unit, in the order they are compiled.
    static let all: [Source] = [embedding, layerNorm, elementwise, attention, crossEntropy, adamW]
}

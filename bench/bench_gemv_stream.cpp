// bench_gemv_stream: how fast the decode GEMV kernel's access pattern streams bf16 weights from memory, apart from
// everything else a decode step does. 600 MB of 1024-wide rows (more than any cache) are multiplied by one row
// with three kernels:
// - four rows per pass sharing each load of x: Lathe's gemvRows, kernels/bf16_gemv.cpp;
// - one row per pass with four accumulators (a single sequential stream);
// - the four-row kernel with software prefetch.
// GB/s is the best of 3 passes, 3 repetitions each, on the OpenMP threads OMP_NUM_THREADS gives. Compare with
// bench_model's "read bandwidth" line: a kernel near it streams at the machine's limit, and what a decode step
// loses beyond it is lost between the products.
//
//   OMP_NUM_THREADS=2 build/bin/bench_gemv_stream
#include <algorithm>
#include <immintrin.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>
#include <omp.h>
using u16 = std::uint16_t;
// Four rows per pass sharing each load of x (Lathe's gemvRows); with Prefetch, each row's next lines are fetched
// 4 rows (8 KB) ahead.
template <bool Prefetch>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void fourRows(const u16* W, const u16* x, float* y, long b, long e, long K) {
  for (long n = b; n + 4 <= e; n += 4) {
    const u16 *w0 = W + n*K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    __m512 a0=_mm512_setzero_ps(),a1=a0,a2=a0,a3=a0;
    for (long k = 0; k < K; k += 32) {
      if (Prefetch)
        for (const u16* w : {w0, w1, w2, w3})
          _mm_prefetch((const char*)(w + k + 4*K), _MM_HINT_T0);
      __m512bh xv = (__m512bh)_mm512_loadu_si512(x+k);
      a0=_mm512_dpbf16_ps(a0,(__m512bh)_mm512_loadu_si512(w0+k),xv);
      a1=_mm512_dpbf16_ps(a1,(__m512bh)_mm512_loadu_si512(w1+k),xv);
      a2=_mm512_dpbf16_ps(a2,(__m512bh)_mm512_loadu_si512(w2+k),xv);
      a3=_mm512_dpbf16_ps(a3,(__m512bh)_mm512_loadu_si512(w3+k),xv);
    }
    y[n]=_mm512_reduce_add_ps(a0);y[n+1]=_mm512_reduce_add_ps(a1);y[n+2]=_mm512_reduce_add_ps(a2);y[n+3]=_mm512_reduce_add_ps(a3);
  }
}
// one row at a time: a single sequential stream; 4 accumulators over 128 elements
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void one(const u16* W, const u16* x, float* y, long b, long e, long K) {
  for (long n = b; n < e; ++n) {
    const u16* w = W + n*K;
    __m512 a0=_mm512_setzero_ps(),a1=a0,a2=a0,a3=a0;
    for (long k = 0; k < K; k += 128) {
      a0=_mm512_dpbf16_ps(a0,(__m512bh)_mm512_loadu_si512(w+k),(__m512bh)_mm512_loadu_si512(x+k));
      a1=_mm512_dpbf16_ps(a1,(__m512bh)_mm512_loadu_si512(w+k+32),(__m512bh)_mm512_loadu_si512(x+k+32));
      a2=_mm512_dpbf16_ps(a2,(__m512bh)_mm512_loadu_si512(w+k+64),(__m512bh)_mm512_loadu_si512(x+k+64));
      a3=_mm512_dpbf16_ps(a3,(__m512bh)_mm512_loadu_si512(w+k+96),(__m512bh)_mm512_loadu_si512(x+k+96));
    }
    y[n]=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0,a1),_mm512_add_ps(a2,a3)));
  }
}
int main(int argc, char** argv) {
  const long K = 1024, N = 300L * 1024; // 600 MB of bf16 rows: 300k rows of 1024
  std::vector<u16> W(N * K); for (long i = 0; i < N*K; ++i) W[i] = 0x3f80 + (i & 7);
  std::vector<u16> x(K, 0x3f80); std::vector<float> y(N);
  using F = void(*)(const u16*, const u16*, float*, long, long, long);
  F fs[3] = {fourRows<false>, one, fourRows<true>}; const char* names[3] = {"four", "one", "fourpf"};
  for (int rep = 0; rep < 3; ++rep)
  for (int f = 0; f < 3; ++f) {
    double best = 1e9;
    for (int r = 0; r < 3; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      #pragma omp parallel
      { int t = omp_get_thread_num(), T = omp_get_num_threads(); long chunk = (N/64 + T - 1)/T*64;
        long b = t*chunk, e = std::min(N, b+chunk); fs[f](W.data(), x.data(), y.data(), b, e, K); }
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now()-t0).count(); best = std::min(best, s);
    }
    std::printf("%-7s %d threads: %.1f GB/s\n", names[f], omp_get_max_threads(), double(N*K*2)/best/1e9);
  }
}

// Which kernel runs each kind of bf16 product on the CPU, chosen by timing the candidates on the machine at
// hand rather than by its CPU flags.
//
// The same code runs on a 2-core AVX2 EPYC (libtorch 1.13's bf16 GEMM at ~1.6 GFLOP/s: widening the weights
// to float32 and using the float32 GEMM is ~100x faster), on a Zen 4 with AVX512-BF16 and on a Xeon with AMX
// (oneDNN's bf16 GEMM is the fastest thing there). A probe of a few tens of milliseconds times each candidate
// at the shapes of a 0.6B-class layer and picks the fastest; the result is cached per machine, libtorch build
// and thread count (~/.cache/lathe/kernel-paths.json), `lathe env` prints it and `lathe env --probe` measures
// again. LATHE_KERNELS forces paths (tests, benchmarks): e.g. LATHE_KERNELS=gemm=native,gemv=lathe.
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// How a product with bf16 weights and several activation rows runs.
enum class Bf16Path
{
    Native,  ///< libtorch's bf16 kernels (oneDNN on CPU): bf16 products, float32 accumulation, bf16 output
    Widened, ///< blocks of W widened to float32 and libtorch's float32 GEMM (OpenBLAS); same products
};

/// How a product with bf16 weights and one activation row (a decode step) runs.
enum class GemvPath
{
    Native, ///< libtorch's bf16 linear
    Lathe,  ///< Lathe's GEMV kernel (kernels/bf16_gemv.h): AVX512-BF16, or AVX2 with widening
};

/// How a LoRA adapter's thin float32 products (rank x thousands) run.
enum class ThinPath
{
    Blas,  ///< libtorch's mm (OpenBLAS)
    Lathe, ///< kernels/thin_products.h
};

struct KernelTiming
{
    std::string product;   ///< "gemm", "grad_input", "lm_head", "attention", "gemv", "lora"
    std::string candidate; ///< "native", "widened", "lathe"
    double gflops = 0;     ///< measured; 0 when not available on this machine
};

struct KernelPaths
{
    Bf16Path gemm = Bf16Path::Widened;      ///< prefill and the training forward of frozen bf16 linears
    Bf16Path gradInput = Bf16Path::Widened; ///< the backward's dx = dy W of frozen bf16 linears
    Bf16Path lmHead = Bf16Path::Widened;    ///< the fused loss's lm_head products (logits and their gradient)
    Bf16Path attention = Bf16Path::Widened; ///< the attention core without a KV cache (training, scoring): bf16
                                            ///< batched matmuls, or q, k, v widened to float32

    GemvPath gemv = GemvPath::Lathe;        ///< one activation row
    ThinPath lora = ThinPath::Blas;         ///< a LoRA adapter's products (forward and backward)
    /// The small ops between the products (kernels/inference_ops.h): Lathe's fused passes, or libtorch's op
    /// chains ("fused=torch", for A/B figures and tests). Not probed: a fused pass does the same arithmetic with
    /// fewer passes over memory and no dispatches, and where libtorch wins (a prefill's rows) the ops decline.
    bool fused = true;
    std::string source;                     ///< "probe (23 ms)", "cache", "LATHE_KERNELS"
    std::vector<KernelTiming> timings;      ///< what the probe measured (empty when forced)
};

/// The paths in force: LATHE_KERNELS if set, else the cached probe for this machine, else a probe now (once per
/// process; thread-safe).
const KernelPaths& kernelPaths();

/// Times every candidate now (at the current libtorch thread count) and returns the fastest of each; does not
/// change the paths in force.
KernelPaths probeKernelPaths();

/// Runs probeKernelPaths(), puts the result in force and updates the cache (`lathe env --probe`).
const KernelPaths& reprobeKernelPaths();

/// Overrides the paths in force (tests); parseKernelPaths reads LATHE_KERNELS's syntax
/// ("gemm=native,grad_input=widened,lm_head=native,attention=native,gemv=lathe,lora=lathe,fused=lathe"; unnamed products keep `base`'s path, for
/// LATHE_KERNELS what the CPU's flags suggest) and throws
/// lathe::Error on a bad entry.
void setKernelPaths(const KernelPaths& paths);
KernelPaths parseKernelPaths(const std::string& spec, const KernelPaths& base = {});

/// "gemm native (oneDNN bf16, 812 GFLOP/s; widened 205), ..." for `lathe env`.
std::string describeKernelPaths(const KernelPaths& paths);

const char* pathName(Bf16Path path);
/// The CPU's model name (/proc/cpuinfo), for `lathe env` and the benchmark records.
std::string cpuModelName();
const char* pathName(GemvPath path);
const char* pathName(ThinPath path);

} // namespace lathe

#include "kernels/kernel_paths.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "kernels/bf16_gemv.h"
#include "kernels/thin_products.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Shapes of a 0.6B-class layer (hidden 1024, 2048-wide projections), 128 rows for the products with several
// rows: large enough for the GEMMs to reach their speed, small enough that the slowest candidate (libtorch's
// bf16 GEMM on a CPU without native bf16, ~1.6 GFLOP/s) costs tens of milliseconds.
constexpr std::int64_t kRows = 128, kIn = 1024, kOut = 2048;
// A candidate this many times slower than the best so far after one run is not run again.
constexpr double kHopeless = 4.0;

/// Seconds per call: one more warm-up, then calls until 12 ms have passed (at most 24), the fastest counted.
template <typename Fn>
double secondsPerCall(const Fn& fn, double giveUpAfter)
{
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    fn();
    const double first = std::chrono::duration<double>(clock::now() - t0).count();
    if (first > giveUpAfter)
        return first;
    double best = first, spent = 0;
    for (int i = 0; i < 24 && spent < 0.012; ++i) {
        t0 = clock::now();
        fn();
        const double s = std::chrono::duration<double>(clock::now() - t0).count();
        best = std::min(best, s);
        spent += s;
    }
    return best;
}

} // namespace

std::string cpuModelName()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown CPU";
}

namespace {

/// The probe's own version: raised when its candidates change (3: Lathe's kernels on every thread), so caches of
/// the old ones are measured again.
constexpr int kProbeVersion = 3;

/// What the cached choice depends on: the probe, the CPU, its bf16 features, libtorch's build and the thread count.
std::string machineKey()
{
    std::ostringstream key;
    key << "probe " << kProbeVersion << " | " << cpuModelName() << " | avx512bf16=" << !!__builtin_cpu_supports("avx512bf16")
        << " avx2=" << !!__builtin_cpu_supports("avx2") << " | libtorch " << TORCH_VERSION
        << " | mkldnn=" << at::hasMKLDNN() << " | threads " << torch::get_num_threads();
    return key.str();
}

fs::path cachePath()
{
    if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir)
        return fs::path(dir) / "lathe" / "kernel-paths.json";
    if (const char* home = std::getenv("HOME"); home && *home)
        return fs::path(home) / ".cache" / "lathe" / "kernel-paths.json";
    return {};
}

json toJson(const KernelPaths& p)
{
    json timings = json::array();
    for (const auto& t : p.timings)
        timings.push_back({{"product", t.product}, {"candidate", t.candidate}, {"gflops", t.gflops}});
    return {{"gemm", pathName(p.gemm)},
            {"grad_input", pathName(p.gradInput)},
            {"lm_head", pathName(p.lmHead)},
            {"attention", pathName(p.attention)},
            {"gemv", pathName(p.gemv)},
            {"lora", pathName(p.lora)},
            {"timings", timings}};
}

KernelPaths fromJson(const json& j)
{
    KernelPaths p = parseKernelPaths("gemm=" + j.at("gemm").get<std::string>() + ",grad_input=" +
                                     j.at("grad_input").get<std::string>() + ",lm_head=" +
                                     j.at("lm_head").get<std::string>() + ",attention=" +
                                     j.at("attention").get<std::string>() + ",gemv=" + j.at("gemv").get<std::string>() +
                                     ",lora=" + j.at("lora").get<std::string>());
    for (const auto& t : j.at("timings"))
        p.timings.push_back({t.at("product").get<std::string>(), t.at("candidate").get<std::string>(),
                             t.at("gflops").get<double>()});
    return p;
}

std::optional<KernelPaths> readCache()
{
    const fs::path path = cachePath();
    std::error_code ec;
    if (path.empty() || !fs::is_regular_file(path, ec))
        return std::nullopt;
    try {
        const json all = parseJson<json>(readTextFile(path.string()), path.string());
        const std::string key = machineKey();
        if (!all.is_object() || !all.contains(key))
            return std::nullopt;
        KernelPaths p = fromJson(all.at(key));
        p.source = "measured earlier on this machine (" + path.string() + ")";
        return p;
    } catch (const std::exception&) {
        return std::nullopt; // a damaged cache is measured again
    }
}

void writeCache(const KernelPaths& paths)
{
    const fs::path path = cachePath();
    if (path.empty())
        return;
    try {
        json all = json::object();
        std::error_code ec;
        if (fs::is_regular_file(path, ec)) {
            try {
                all = parseJson<json>(readTextFile(path.string()), path.string());
            } catch (const std::exception&) {
            }
            if (!all.is_object())
                all = json::object();
        }
        all[machineKey()] = toJson(paths);
        fs::create_directories(path.parent_path(), ec);
        writeTextFileAtomic(path.string(), all.dump(2) + "\n");
    } catch (const std::exception&) {
        // A read-only home only costs the next process a probe.
    }
}

// The paths in force, read on every bf16 product: an atomic pointer, so reading takes no lock. Replaced paths are
// kept (a reader may still hold them; only tests and `lathe env --probe` replace them).
std::mutex g_mutex;
std::atomic<const KernelPaths*> g_current{nullptr};
std::vector<std::unique_ptr<KernelPaths>> g_all;

const KernelPaths& install(KernelPaths paths)
{
    g_all.push_back(std::make_unique<KernelPaths>(std::move(paths)));
    g_current.store(g_all.back().get(), std::memory_order_release);
    return *g_all.back();
}

} // namespace

const char* pathName(Bf16Path path)
{
    return path == Bf16Path::Native ? "native" : "widened";
}

const char* pathName(GemvPath path)
{
    return path == GemvPath::Native ? "native" : "lathe";
}

const char* pathName(ThinPath path)
{
    return path == ThinPath::Blas ? "blas" : "lathe";
}

KernelPaths parseKernelPaths(const std::string& spec, const KernelPaths& base)
{
    KernelPaths p = base;
    p.timings.clear();
    std::stringstream items(spec);
    std::string item;
    while (std::getline(items, item, ',')) {
        if (item.empty())
            continue;
        const auto eq = item.find('=');
        const std::string product = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        auto bf16 = [&](Bf16Path& into) {
            if (value == "native")
                into = Bf16Path::Native;
            else if (value == "widened")
                into = Bf16Path::Widened;
            else
                fail("LATHE_KERNELS: ", product, "=", value, ": the paths are native and widened");
        };
        if (product == "gemm")
            bf16(p.gemm);
        else if (product == "grad_input")
            bf16(p.gradInput);
        else if (product == "lm_head")
            bf16(p.lmHead);
        else if (product == "attention")
            bf16(p.attention);
        else if (product == "gemv") {
            if (value == "native")
                p.gemv = GemvPath::Native;
            else if (value == "lathe")
                p.gemv = GemvPath::Lathe;
            else
                fail("LATHE_KERNELS: gemv=", value, ": the paths are native and lathe");
        } else if (product == "lora") {
            if (value == "blas")
                p.lora = ThinPath::Blas;
            else if (value == "lathe")
                p.lora = ThinPath::Lathe;
            else
                fail("LATHE_KERNELS: lora=", value, ": the paths are blas and lathe");
        } else if (product == "fused") {
            if (value == "lathe" || value == "torch")
                p.fused = value == "lathe";
            else
                fail("LATHE_KERNELS: fused=", value, ": the paths are lathe and torch");
        } else {
            fail("LATHE_KERNELS: unknown product \"", product,
                 "\" (gemm, grad_input, lm_head, attention, gemv, lora, fused)");
        }
    }
    return p;
}

KernelPaths probeKernelPaths()
{
    torch::NoGradGuard noGrad;
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(0);
    const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
    const auto x = torch::randn({kRows, kIn}, bf16);
    const auto w = torch::randn({kOut, kIn}, bf16);
    const auto dy = torch::randn({kRows, kOut}, bf16);
    const auto x1 = torch::randn({1, kIn}, bf16);
    const double gemmFlops = 2.0 * kRows * kIn * kOut;
    KernelPaths p;
    // Wake the thread pools (and the CPU's clocks) for ~20 ms before anything is timed.
    {
        const auto a = torch::randn({256, 256});
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
        while (std::chrono::steady_clock::now() < until)
            (void)torch::mm(a, a);
    }

    // Times the candidates of one product, fastest first wins; `skip` marks candidates not available here.
    auto choose = [&](const std::string& product, double flops,
                      const std::vector<std::pair<std::string, std::function<void()>>>& candidates) {
        std::string bestName;
        double bestSeconds = 0;
        // A first call of each (thread pools waking, oneDNN compiling its kernel) before any is timed.
        for (const auto& [name, fn] : candidates)
            if (fn)
                fn();
        for (const auto& [name, fn] : candidates) {
            if (!fn) {
                p.timings.push_back({product, name, 0});
                continue;
            }
            const double s = secondsPerCall(fn, bestName.empty() ? 1e9 : kHopeless * bestSeconds);
            p.timings.push_back({product, name, flops / s / 1e9});
            if (bestName.empty() || s < bestSeconds) {
                bestName = name;
                bestSeconds = s;
            }
        }
        return bestName;
    };

    // Each widened candidate is called through the same function the engine calls.
    p.gemm = choose("gemm", gemmFlops,
                    {{"widened", [&] { (void)bf16LinearViaFloat(x, w, {}); }},
                     {"native", [&] { (void)torch::linear(x, w); }}}) == "native"
                 ? Bf16Path::Native
                 : Bf16Path::Widened;
    p.gradInput = choose("grad_input", gemmFlops,
                         {{"widened", [&] { (void)bf16LinearGradInput(dy, w); }},
                          {"native", [&] { (void)torch::matmul(dy, w); }}}) == "native"
                      ? Bf16Path::Native
                      : Bf16Path::Widened;
    // The fused loss: float32 logits of a vocabulary block, from bf16 hidden states and a bf16 block of W.
    const auto xf = x.to(torch::kFloat32);
    auto logits = torch::empty({kRows, kOut}, torch::kFloat32);
    p.lmHead = choose("lm_head", gemmFlops,
                      {{"widened", [&] { torch::mm_out(logits, xf, w.to(torch::kFloat32).t()); }},
                       {"native", [&] { logits.copy_(torch::mm(x, w.t())); }}}) == "native"
                   ? Bf16Path::Native
                   : Bf16Path::Widened;
    // The attention core of a 256-token sequence with 16 query heads on 8 kv heads of 128 (the query heads of a
    // kv head stacked along time), scores and their softmax included.
    const auto q = torch::randn({1, 8, 512, 128}, bf16), k = torch::randn({1, 8, 256, 128}, bf16),
               v = torch::randn({1, 8, 256, 128}, bf16);
    auto attention = [](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
        auto probs = torch::softmax(torch::matmul(q, k.transpose(-1, -2)), -1, torch::kFloat32).to(q.scalar_type());
        return torch::matmul(probs, v);
    };
    p.attention = choose("attention", 2.0 * 2 * 8 * 512 * 256 * 128,
                         {{"widened",
                           [&] {
                               (void)attention(q.to(torch::kFloat32), k.to(torch::kFloat32), v.to(torch::kFloat32))
                                   .to(torch::kBFloat16);
                           }},
                          {"native", [&] { (void)attention(q, k, v); }}}) == "native"
                      ? Bf16Path::Native
                      : Bf16Path::Widened;
    p.gemv = choose("gemv", 2.0 * kIn * kOut,
                    {{"lathe", bf16GemvAvailable() ? std::function<void()>([&] { (void)bf16Gemv(x1, w, {}); })
                                                   : std::function<void()>()},
                     {"native", [&] { (void)torch::linear(x1, w); }}}) == "lathe"
                 ? GemvPath::Lathe
                 : GemvPath::Native;
    // A rank-8 LoRA on a 1024 -> 2048 projection of 128 bf16 rows, forward and backward, each path as the engine
    // runs it. blas: PEFT's float32 copies of x and of the output gradient on libtorch's products, the sum added
    // to the base in float32 and cast back (t = x A^T, y = t B^T; g B, t^T g, dt^T x, dt A). lathe: the thin
    // kernels reading the bf16 tensors as they are, the sum added to the base in the same pass.
    {
        const std::int64_t r = 8;
        const double s = 2.0;
        const auto base = torch::randn({kRows, kOut}, bf16);
        const auto A = torch::randn({r, kIn}), B = torch::randn({kOut, r}), Bt = B.t().contiguous();
        const double flops = 2.0 * kRows * r * (kIn + kOut) * 3;
        p.lora = choose("lora", flops,
                        {{"blas",
                          [&] {
                              const auto xf = x.to(torch::kFloat32);
                              const auto t = torch::mm(xf, A.t());
                              (void)(base + torch::mm(t, B.t()) * s).to(torch::kBFloat16);
                              const auto gf = dy.to(torch::kFloat32) * s;
                              const auto dt = torch::mm(gf, B);
                              (void)torch::mm(gf.t(), t);
                              (void)torch::mm(dt.t(), xf);
                              (void)torch::mm(dt, A).to(torch::kBFloat16);
                          }},
                         {"lathe",
                          [&] {
                              const auto t = thinRowDots(x, A);
                              (void)thinRowCombos(t, Bt, s, base, torch::kBFloat16);
                              const auto dt = thinRowDots(dy, Bt, s);
                              (void)thinColumnSums(t, dy, s).t().contiguous();
                              (void)thinColumnSums(dt, x);
                              (void)thinRowCombos(dt, A, 1.0, {}, torch::kBFloat16);
                          }}}) == "lathe"
                     ? ThinPath::Lathe
                     : ThinPath::Blas;
    }
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream source;
    source << "measured now (" << static_cast<int>(ms) << " ms)";
    p.source = source.str();
    return p;
}

const KernelPaths& kernelPaths()
{
    if (const KernelPaths* current = g_current.load(std::memory_order_acquire))
        return *current;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (const KernelPaths* current = g_current.load(std::memory_order_acquire))
        return *current;
    if (const char* forced = std::getenv("LATHE_KERNELS"); forced && *forced) {
        // Products it does not name keep what the CPU's flags suggest.
        const KernelPaths byFlags =
            nativeBf16Available() ? parseKernelPaths("gemm=native,grad_input=native,lm_head=native,attention=native")
                                  : KernelPaths{};
        KernelPaths paths = parseKernelPaths(forced, byFlags);
        paths.source = std::string("LATHE_KERNELS=") + forced;
        return install(std::move(paths));
    }
    if (auto cached = readCache())
        return install(std::move(*cached));
    KernelPaths measured = probeKernelPaths();
    writeCache(measured);
    return install(std::move(measured));
}

const KernelPaths& reprobeKernelPaths()
{
    KernelPaths p = probeKernelPaths();
    writeCache(p);
    std::lock_guard<std::mutex> lock(g_mutex);
    return install(std::move(p));
}

void setKernelPaths(const KernelPaths& paths)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    install(paths);
}

std::string describeKernelPaths(const KernelPaths& p)
{
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(0);
    auto one = [&](const char* product, const char* chosen) {
        out << product << " " << chosen;
        std::string others;
        for (const auto& t : p.timings)
            if (t.product == product) {
                std::ostringstream o;
                o.setf(std::ios::fixed);
                o.precision(t.gflops < 10 ? 1 : 0);
                o << t.candidate << " ";
                if (t.gflops > 0)
                    o << t.gflops << " GFLOP/s";
                else
                    o << "not on this CPU";
                others += (others.empty() ? "" : ", ") + o.str();
            }
        if (!others.empty())
            out << " (" << others << ")";
        out << "; ";
    };
    one("gemm", pathName(p.gemm));
    one("grad_input", pathName(p.gradInput));
    one("lm_head", pathName(p.lmHead));
    one("attention", pathName(p.attention));
    one("gemv", pathName(p.gemv));
    one("lora", pathName(p.lora));
    out << "fused " << (p.fused ? "lathe" : "torch") << "; " << p.source;
    return out.str();
}

} // namespace lathe

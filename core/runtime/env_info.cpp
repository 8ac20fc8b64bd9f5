#include "runtime/env_info.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <torch/torch.h>
#include <torch/version.h>

#include "kernels/kernel_paths.h"
#include "lathe_version.h"
#include "model/arch/architecture.h"
#include "runtime/device.h"


namespace lathe {

std::string latheVersion()
{
    return LATHE_VERSION;
}

std::vector<std::string> loadedBlasLibraries()
{
    std::set<std::string> found;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos)
            continue;
        const std::string path = line.substr(slash);
        const std::string name = std::filesystem::path(path).filename().string();
        if (name.find("blas") != std::string::npos || name.find("mkl_") != std::string::npos ||
            name.find("lapack") != std::string::npos) {
            std::error_code ec;
            auto real = std::filesystem::canonical(path, ec);
            found.insert(ec ? path : real.string());
        }
    }
    return {found.begin(), found.end()};
}

std::pair<double, double> measureMatmulGflops(int n, double seconds)
{
    torch::NoGradGuard noGrad;
    auto run = [&](torch::ScalarType type) {
        auto a = torch::randn({n, n}).to(type), b = torch::randn({n, n}).to(type);
        torch::mm(a, b); // warm-up
        int iterations = 0;
        const auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
            torch::mm(a, b);
            ++iterations;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < seconds);
        return 2.0 * n * n * double(n) * iterations / elapsed / 1e9;
    };
    return {run(torch::kFloat32), run(torch::kBFloat16)};
}

std::vector<std::pair<std::string, std::string>> engineEnvironment(bool measure)
{
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("Lathe", latheVersion());
    out.emplace_back("libtorch", TORCH_VERSION);
    std::string blas;
    for (const auto& lib : loadedBlasLibraries())
        blas += (blas.empty() ? "" : ", ") + lib;
    out.emplace_back("BLAS", blas.empty() ? "(none mapped yet)" : blas);
    out.emplace_back("oneDNN (MKL-DNN)", at::hasMKLDNN() ? "yes" : "no");
    out.emplace_back("threads", std::to_string(torch::get_num_threads()));
    std::string devices;
    for (const auto& d : availableDevices())
        devices += (devices.empty() ? "" : ", ") + d;
    out.emplace_back("devices", devices);
    out.emplace_back("CUDA", torch::cuda::is_available() ? "available" : "not available");
    out.emplace_back("Ascend NPU", buildHasNpu() ? "built in" : "not in this build");
    std::string archs;
    for (const auto* a : architectures())
        archs += (archs.empty() ? "" : ", ") + std::string(a->model_type);
    out.emplace_back("architectures", archs);
    out.emplace_back("CPU", cpuModelName());
    if (measure) {
        out.emplace_back("bf16 kernels", describeKernelPaths(kernelPaths()));
        const auto [fp32, bf16] = measureMatmulGflops();
        std::ostringstream text;
        text.precision(1);
        text << std::fixed << "fp32 " << fp32 << " GFLOP/s, bf16 " << bf16 << " GFLOP/s (1024x1024x1024)";
        out.emplace_back("matmul", text.str());
    }
    return out;
}

std::vector<std::string> deviceChoices()
{
    return availableDevices();
}

} // namespace lathe

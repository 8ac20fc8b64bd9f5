#include "runtime/device.h"
#include "util/cpu_share.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include <torch/cuda.h>
#include <torch/torch.h>

#ifdef LATHE_HAVE_NPU
#include <torch_npu/csrc/core/npu/NPUFunctions.h>
#endif

#include "util/error.h"

namespace lathe {

namespace {

int npuCount()
{
#ifdef LATHE_HAVE_NPU
    return static_cast<int>(c10_npu::device_count());
#else
    return 0;
#endif
}

int parseIndex(const std::string& spec, std::size_t colon)
{
    if (colon == std::string::npos)
        return 0;
    const std::string digits = spec.substr(colon + 1);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit))
        fail("--device \"", spec, "\": the device index must be a number");
    if (digits.size() > 4) // std::stoi would throw std::out_of_range on a long one
        fail("--device \"", spec, "\": device index ", digits, " is out of range");
    return std::stoi(digits);
}

} // namespace

bool buildHasNpu()
{
#ifdef LATHE_HAVE_NPU
    return true;
#else
    return false;
#endif
}

torch::Device resolveDevice(const std::string& rawSpec)
{
    std::string spec = rawSpec;
    std::transform(spec.begin(), spec.end(), spec.begin(), ::tolower);
    if (spec.empty() || spec == "auto") {
        if (torch::cuda::is_available())
            return torch::Device(torch::kCUDA, 0);
        if (npuCount() > 0)
            return torch::Device(c10::DeviceType::PrivateUse1, 0);
        return torch::Device(torch::kCPU);
    }
    const auto colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    const int index = parseIndex(spec, colon);
    if (kind == "cpu")
        return torch::Device(torch::kCPU);
    if (kind == "cuda") {
        const int count = torch::cuda::device_count();
        if (count == 0)
            fail("--device ", rawSpec, ": no CUDA device is available (this libtorch ",
                 torch::cuda::is_available() ? "sees none" : "has no CUDA support or finds no driver", ")");
        if (index >= count)
            fail("--device ", rawSpec, ": only ", count, " CUDA device(s) present");
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    if (kind == "npu") {
        if (!buildHasNpu())
            fail("--device ", rawSpec,
                 ": this build of Lathe has no Ascend NPU support (configure with -DLATHE_WITH_NPU=ON where torch_npu "
                 "is installed)");
        const int count = npuCount();
        if (index >= count)
            fail("--device ", rawSpec, ": only ", count, " NPU device(s) present");
        return torch::Device(c10::DeviceType::PrivateUse1, static_cast<c10::DeviceIndex>(index));
    }
    fail("--device \"", rawSpec, "\" is not one of auto, cpu, cuda[:N], npu[:N]");
}

torch::ScalarType resolveDtype(const std::string& rawSpec, const torch::Device& device)
{
    std::string spec = rawSpec;
    std::transform(spec.begin(), spec.end(), spec.begin(), ::tolower);
    if (spec.empty() || spec == "auto")
        return device.is_cpu() ? torch::kFloat32 : torch::kBFloat16;
    if (spec == "fp32" || spec == "float32" || spec == "float")
        return torch::kFloat32;
    if (spec == "bf16" || spec == "bfloat16")
        return torch::kBFloat16;
    if (spec == "fp16" || spec == "float16" || spec == "half") {
        // libtorch 1.13 has no float16 matmul on CPU (2.x has); find out instead of failing mid-forward.
        try {
            torch::NoGradGuard noGrad;
            auto probe = torch::ones({1, 2}, torch::TensorOptions().dtype(torch::kHalf).device(device));
            (void)torch::linear(probe, torch::ones({2, 2}, probe.options()));
        } catch (const c10::Error&) {
            fail("--dtype ", rawSpec, ": this libtorch has no float16 matrix multiply on ", device.str(),
                 "; use bf16 or fp32");
        }
        return torch::kHalf;
    }
    fail("--dtype \"", rawSpec, "\" is not one of auto, fp32, bf16, fp16");
}

std::string dtypeName(torch::ScalarType type)
{
    switch (type) {
    case torch::kFloat32:
        return "float32";
    case torch::kBFloat16:
        return "bfloat16";
    case torch::kHalf:
        return "float16";
    default:
        return c10::toString(type);
    }
}

void setThreads(int threads)
{
    // libtorch's own default can be a single thread on small VMs (it counts cores through cpuinfo and the
    // OpenMP runtime); Lathe defaults to every core the OS gives us.
    // OMP_NUM_THREADS, when set, is the default (torchrun and `nproc_per_node` set it for each worker).
    if (threads <= 0)
        if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp && std::atoi(omp) > 0)
            threads = std::atoi(omp);
    if (threads <= 0)
        threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
}

AdaptiveThreads::AdaptiveThreads(bool enabled)
    : m_share(enabled ? std::make_unique<CpuShare>() : nullptr), m_max(torch::get_num_threads())
{
}

AdaptiveThreads::~AdaptiveThreads()
{
    if (m_share && torch::get_num_threads() != m_max)
        torch::set_num_threads(m_max);
}

int AdaptiveThreads::adapt(double minSeconds)
{
    if (!m_share)
        return 0;
    const int threads = m_share->threadsFor(m_max, torch::get_num_threads(), minSeconds);
    if (threads == torch::get_num_threads())
        return 0;
    torch::set_num_threads(threads);
    return threads;
}

std::vector<std::string> availableDevices()
{
    std::vector<std::string> out{"cpu"};
    const int cuda = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    for (int i = 0; i < cuda; ++i)
        out.push_back("cuda:" + std::to_string(i));
    for (int i = 0; i < npuCount(); ++i)
        out.push_back("npu:" + std::to_string(i));
    return out;
}

} // namespace lathe

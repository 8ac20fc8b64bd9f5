// Where the engine computes: device choice, compute dtype and thread count, all from user settings.
//
// `auto` picks CUDA, then Ascend NPU, then CPU. The NPU is libtorch's PrivateUse1 device named "npu" by
// torch_npu; it exists only in builds configured with -DLATHE_WITH_NPU=ON. This file is the only place
// that knows which backends the build has.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lathe {

/// Parses `auto|cpu|cuda[:N]|npu[:N]`; throws lathe::Error when the device is absent or unsupported.
torch::Device resolveDevice(const std::string& spec);

/// Parses `auto|fp32|float32|bf16|bfloat16|fp16|float16`. `auto` is bf16 on accelerators that support it,
/// float32 on CPU. `modelDtype` (config.json torch_dtype) is used when it is set and spec is auto on GPU.
torch::ScalarType resolveDtype(const std::string& spec, const torch::Device& device);

std::string dtypeName(torch::ScalarType type);

/// Sets intra-op threads (0: OMP_NUM_THREADS when set, else one per core the OS reports).
void setThreads(int threads);

class CpuShare;

/// While it lives, keeps libtorch's thread count at the cores other processes leave free (util/cpu_share.h), at
/// most the count in force at construction, which is restored at the end. Call adapt() between steps (a training
/// step, a decoded token); it returns the new count when it changed it, else 0. Does nothing when `enabled` is
/// false (GPU work).
class AdaptiveThreads
{
public:
    explicit AdaptiveThreads(bool enabled = true);
    ~AdaptiveThreads();
    AdaptiveThreads(const AdaptiveThreads&) = delete;
    AdaptiveThreads& operator=(const AdaptiveThreads&) = delete;

    int adapt(double minSeconds = 0.5);
    int maxThreads() const { return m_max; }

private:
    std::unique_ptr<CpuShare> m_share;
    int m_max;
};

/// Whether this build was configured with Ascend NPU support.
bool buildHasNpu();

/// Human-readable list of usable devices ("cpu", "cuda:0 (NVIDIA H100)", ...).
std::vector<std::string> availableDevices();

} // namespace lathe

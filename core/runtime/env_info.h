// What `lathe env` reports: versions, the BLAS library actually loaded, threads, devices.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lathe {

/// Lathe's version string (from CMake's project version).
std::string latheVersion();

/// Ordered key/value lines describing the engine's environment (no Qt: the app adds its own line).
std::vector<std::pair<std::string, std::string>> engineEnvironment(bool measure);

/// The devices a run can be placed on, as `device` settings: "cpu", then "cuda:N" and "npu:N" that this
/// build and machine have (the same list as runtime/device.h's availableDevices, without torch in the header).
std::vector<std::string> deviceChoices();

/// Paths of BLAS/LAPACK libraries mapped into this process (resolved through symlinks/alternatives).
std::vector<std::string> loadedBlasLibraries();

/// Measures fp32 and bf16 GEMM throughput (GFLOP/s) on the CPU with the current thread count.
std::pair<double, double> measureMatmulGflops(int size = 1024, double seconds = 0.3);

} // namespace lathe

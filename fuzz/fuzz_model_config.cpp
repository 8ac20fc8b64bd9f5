// A model folder's config.json, through the architecture table (every family's traits) to the checked
// ModelConfig, and back to JSON.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "model/model_config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string& dir = lathe::fuzz::scratchDir();
    lathe::fuzz::writeFile(dir + "/config.json", data, size);
    try {
        const lathe::ModelConfig c = lathe::ModelConfig::fromDir(dir);
        (void)c.toJson().dump();
    } catch (const lathe::Error&) {
    }
    return 0;
}

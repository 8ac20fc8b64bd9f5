// dataset_info.json: every entry parsed (columns, tags, formatting, ranking, num_samples) and written back.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "data/dataset_attr.h"
#include "fuzz_support.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string& dir = lathe::fuzz::scratchDir();
    lathe::fuzz::writeFile(dir + "/dataset_info.json", data, size);
    try {
        const lathe::DatasetRegistry registry = lathe::DatasetRegistry::load(dir);
        for (const auto& name : registry.names()) {
            try {
                const lathe::DatasetAttr attr = registry.get(name);
                (void)attr.toJson().dump();
                (void)lathe::datasetFilePath(dir, attr);
            } catch (const lathe::Error&) {
            }
        }
    } catch (const lathe::Error&) {
    }
    return 0;
}

// The header of a .safetensors file (model and adapter weights from anywhere). A parsed header promises that
// every tensor's bytes lie inside the file and match its dtype and shape: checked here for every input.
#include <cstdint>
#include <cstdlib>

#include "io/safetensors_header.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        const lathe::SafetensorsHeader h = lathe::parseSafetensorsHeader(data, size, "fuzz.safetensors");
        if (h.dataStart > size)
            std::abort();
        for (const auto& [name, e] : h.entries) {
            std::uint64_t numel = 1;
            for (const auto d : e.shape)
                numel *= static_cast<std::uint64_t>(d);
            if (e.begin > e.end || e.end > size - h.dataStart ||
                e.end - e.begin != numel * lathe::safetensorsElementSize(e.dtype))
                std::abort();
        }
    } catch (const lathe::Error&) {
    }
    return 0;
}

// A training config in YAML (LLaMA-Factory's keys): parsed against the argument schema, then written back as
// YAML and as a command line, as `lathe train --dry-run` does.
#include <cstdint>
#include <string>

#include "config/argument_schema.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const lathe::ArgumentSet args = lathe::ArgumentSet::fromYaml(text, "fuzz.yaml");
        (void)args.toYaml();
        (void)args.toCommandLine();
    } catch (const lathe::Error&) {
    }
    return 0;
}

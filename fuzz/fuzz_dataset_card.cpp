// A dataset repo's card (README.md from a hub): its YAML front matter's `configs` read for a subset's data files,
// and the globs matched against the repo's paths, as `subset` in dataset_info.json resolves them. The input is the
// card; its last line, when it starts with "#files:", lists paths (comma-separated) to match.
#include <cstdint>
#include <string>
#include <vector>

#include "hub/dataset_card.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string card(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> files = {"dpo_en.json", "data/train-00000.parquet", "en/train.jsonl", "a/b/c.json"};
    const auto marker = card.rfind("\n#files:");
    if (marker != std::string::npos) {
        std::string list = card.substr(marker + 8);
        card.resize(marker);
        for (std::size_t start = 0; start <= list.size();) {
            const auto comma = list.find(',', start);
            files.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
    }
    for (const char* subset : {"en", "default", "zh"}) {
        try {
            (void)lathe::dataFilesOfConfig(card, subset, "train", files, "fuzz");
        } catch (const lathe::Error&) {
        }
    }
    for (const auto& f : files)
        (void)lathe::globMatch(f, card.substr(0, 256));
    return 0;
}

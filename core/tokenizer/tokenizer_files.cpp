#include "tokenizer/tokenizer_files.h"

#include <filesystem>

#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

const std::vector<std::string>& tokenizerFileNames()
{
    static const std::vector<std::string> names = {
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
        "merges.txt",     "tokenizer.model",       "added_tokens.json",       "chat_template.jinja"};
    return names;
}

std::vector<std::string> copyTokenizerFiles(const std::string& fromDir, const std::string& toDir)
{
    namespace fs = std::filesystem;
    std::vector<std::string> copied;
    for (const auto& name : tokenizerFileNames()) {
        const fs::path src = fs::path(fromDir) / name;
        if (!fs::exists(src))
            continue;
        // Copied beside the target and renamed over it: a kill mid-copy leaves the previous file whole.
        const fs::path target = fs::path(toDir) / name;
        const fs::path tmp = fs::path(toDir) / ("." + name + ".tmp");
        std::error_code ec;
        fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
        if (ec) {
            const int err = ec.value();
            fs::remove(tmp, ec);
            fail(target.string(), ": cannot copy ", src.string(), ": ", writeFailure(target.string(), err));
        }
        fs::rename(tmp, target);
        copied.push_back(name);
    }
    return copied;
}

} // namespace lathe

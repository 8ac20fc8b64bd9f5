// A dataset file (LLaMA-Factory's local formats), read record by record and converted as alpaca, sharegpt,
// openai-style messages and ranked pairs, then checked for each training stage. The first byte of the input
// picks the file type (.json, .jsonl, .txt, .csv); the rest is the file.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/converter.h"
#include "data/dataset_attr.h"
#include "data/record_reader.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

std::vector<lathe::DatasetAttr> attrs()
{
    using ojson = nlohmann::ordered_json;
    const ojson entries[] = {
        ojson::parse(R"({"file_name": "x", "columns": {"prompt": "instruction", "query": "input", "response": "output",
                         "system": "system", "history": "history"}})"),
        ojson::parse(R"({"file_name": "x", "formatting": "sharegpt", "columns": {"messages": "conversations",
                         "system": "system", "tools": "tools"}})"),
        ojson::parse(R"({"file_name": "x", "formatting": "sharegpt", "columns": {"messages": "messages"},
                         "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                                  "assistant_tag": "assistant", "system_tag": "system"}})"),
        ojson::parse(R"({"file_name": "x", "ranking": true, "columns": {"prompt": "instruction", "query": "input",
                         "chosen": "chosen", "rejected": "rejected"}})"),
        ojson::parse(R"({"file_name": "x", "formatting": "sharegpt", "columns": {"messages": "messages",
                         "kto_tag": "label"}, "tags": {"role_tag": "role", "content_tag": "content",
                         "user_tag": "user", "assistant_tag": "assistant"}})"),
    };
    std::vector<lathe::DatasetAttr> out;
    for (const auto& e : entries)
        out.push_back(lathe::DatasetAttr::fromJson("fuzz", e, "dataset_info.json"));
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::vector<lathe::DatasetAttr> kAttrs = attrs();
    if (size == 0)
        return 0;
    static const char* kExtensions[] = {".json", ".jsonl", ".txt", ".csv"};
    const std::string path = lathe::fuzz::scratchDir() + "/data" + kExtensions[data[0] % 4];
    lathe::fuzz::writeFile(path, data + 1, size - 1);
    try {
        lathe::RecordReader reader(path);
        nlohmann::json record;
        for (int n = 0; n < 1000 && reader.next(record); ++n) {
            (void)record.dump(); // a record is JSON text again in previews and caches
            for (const auto& attr : kAttrs) {
                std::vector<lathe::DataIssue> issues;
                const auto example = lathe::convertRecord(attr, record, reader.index(), path, issues);
                if (!example)
                    continue;
                for (const char* stage : {"sft", "pt", "rm", "dpo", "kto"})
                    (void)lathe::checkForStage(stage, *example, attr, path, issues);
                for (const auto& issue : issues)
                    (void)issue.text();
            }
        }
    } catch (const lathe::Error&) {
    }
    return 0;
}

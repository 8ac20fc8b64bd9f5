// One entry of LLaMA-Factory's dataset_info.json, and the registry file itself.
//
// `<dataset_dir>/dataset_info.json` maps dataset names to where their data is (a local `file_name`, or a
// hub/script/cloud source Lathe cannot download yet) and how to read it: `formatting` (alpaca, sharegpt,
// openai), `ranking`, `columns` (record field names for prompt/query/response/history/messages/system/
// tools/chosen/rejected/kto_tag/...) and `tags` (the role and content keys of sharegpt messages). Defaults
// are LLaMA-Factory's DatasetAttr defaults (shared/docs/llamaboard-reference.md section 2.1).
//
// The registry keeps the file's key order, so registering a dataset appends one entry and leaves every
// other entry, and its formatting, as it was.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lathe {

enum class DataFormat
{
    Alpaca,
    ShareGpt,
    OpenAi,
};

const char* dataFormatName(DataFormat format);

struct DatasetAttr
{
    std::string name;
    /// Where the data is: "file" (file_name), or "hf_hub", "ms_hub", "om_hub", "script", "cloud_file".
    std::string source = "file";
    /// file_name, or the hub id / url for other sources.
    std::string location;
    DataFormat formatting = DataFormat::Alpaca;
    bool ranking = false;
    std::string subset, split = "train", folder;
    std::optional<long long> numSamples;

    // columns (empty = not used)
    std::string prompt = "instruction", query = "input", response = "output", history,
                messages = "conversations", system, tools, images, videos, audios, chosen, rejected, ktoTag;
    // tags (sharegpt / openai)
    std::string roleTag = "from", contentTag = "value", userTag = "human", assistantTag = "gpt",
                observationTag = "observation", functionTag = "function_call", systemTag = "system";

    /// Record fields named explicitly under "columns" (the others are defaults that may be absent).
    std::vector<std::string> explicitColumns;

    /// Whether Lathe can read it (a local file); hub datasets need a download first.
    bool isLocal() const { return source == "file"; }

    /// Parses one entry; throws lathe::Error naming `file`, the dataset and the key on bad values.
    static DatasetAttr fromJson(const std::string& name, const nlohmann::ordered_json& entry,
                                const std::string& file);
    /// The entry as dataset_info.json writes it (only keys that differ from the defaults).
    nlohmann::ordered_json toJson() const;
};

class DatasetRegistry
{
public:
    /// Reads `<datasetDir>/dataset_info.json`; throws lathe::Error naming the file when it is missing or not
    /// a JSON object of objects.
    static DatasetRegistry load(const std::string& datasetDir);

    const std::string& datasetDir() const { return m_dir; }
    std::string infoPath() const;
    std::vector<std::string> names() const;
    bool contains(const std::string& name) const;
    /// The entry; throws lathe::Error listing close names when there is none.
    DatasetAttr get(const std::string& name) const;

    /// Adds (or, with `overwrite`, replaces) an entry and writes dataset_info.json atomically, other entries
    /// untouched and in order. Throws lathe::Error when the name exists and `overwrite` is false.
    void add(const DatasetAttr& attr, bool overwrite = false);

private:
    std::string m_dir;
    nlohmann::ordered_json m_info;
};

/// `<datasetDir>/<file_name>`.
std::string datasetFilePath(const std::string& datasetDir, const DatasetAttr& attr);

} // namespace lathe

#include "data/dataset_attr.h"

#include <cstdlib>

#include <algorithm>
#include <filesystem>

#include "util/edit_distance.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

const char* dataFormatName(DataFormat format)
{
    switch (format) {
    case DataFormat::Alpaca:
        return "alpaca";
    case DataFormat::ShareGpt:
        return "sharegpt";
    case DataFormat::OpenAi:
        return "openai";
    }
    return "alpaca";
}

namespace {

// The key names of `columns` and `tags`, each with the DatasetAttr member it sets.
struct Field
{
    const char* key;
    std::string DatasetAttr::*member;
};

const std::vector<Field>& columnFields()
{
    static const std::vector<Field> fields = {
        {"prompt", &DatasetAttr::prompt},     {"query", &DatasetAttr::query},
        {"response", &DatasetAttr::response}, {"history", &DatasetAttr::history},
        {"messages", &DatasetAttr::messages}, {"system", &DatasetAttr::system},
        {"tools", &DatasetAttr::tools},       {"images", &DatasetAttr::images},
        {"videos", &DatasetAttr::videos},     {"audios", &DatasetAttr::audios},
        {"chosen", &DatasetAttr::chosen},     {"rejected", &DatasetAttr::rejected},
        {"kto_tag", &DatasetAttr::ktoTag},
    };
    return fields;
}

const std::vector<Field>& tagFields()
{
    static const std::vector<Field> fields = {
        {"role_tag", &DatasetAttr::roleTag},
        {"content_tag", &DatasetAttr::contentTag},
        {"user_tag", &DatasetAttr::userTag},
        {"assistant_tag", &DatasetAttr::assistantTag},
        {"observation_tag", &DatasetAttr::observationTag},
        {"function_tag", &DatasetAttr::functionTag},
        {"system_tag", &DatasetAttr::systemTag},
    };
    return fields;
}

std::string stringValue(const ojson& v, const std::string& file, const std::string& name,
                        const std::string& key)
{
    if (v.is_null())
        return {};
    if (!v.is_string())
        fail(file, ": dataset \"", name, "\": \"", key, "\" must be a string, not ", v.dump());
    return v.get<std::string>();
}

} // namespace

DatasetAttr DatasetAttr::fromJson(const std::string& name, const ojson& entry, const std::string& file)
{
    if (!entry.is_object())
        fail(file, ": dataset \"", name, "\" must be an object, not ", entry.dump());
    DatasetAttr attr;
    attr.name = name;
    // LLaMA-Factory's source choice (get_dataset_list): ms_hub_url with USE_MODELSCOPE_HUB or without
    // hf_hub_url, om_hub_url likewise with USE_OPENMIND_HUB, then hf_hub_url; then script, cloud file, file_name.
    auto useHub = [](const char* variable) {
        const char* v = std::getenv(variable);
        const std::string s = v ? v : "";
        return s == "1" || s == "true" || s == "TRUE" || s == "True" || s == "yes";
    };
    const bool hasHf = entry.contains("hf_hub_url"), hasMs = entry.contains("ms_hub_url"), hasOm = entry.contains("om_hub_url");
    const char* hubKey = hasMs && (useHub("USE_MODELSCOPE_HUB") || !hasHf)   ? "ms_hub_url"
                         : hasOm && (useHub("USE_OPENMIND_HUB") || !hasHf) ? "om_hub_url"
                         : hasHf                                           ? "hf_hub_url"
                                                                           : nullptr;
    static const std::pair<const char*, const char*> sources[] = {
        {"hf_hub_url", "hf_hub"}, {"ms_hub_url", "ms_hub"},          {"om_hub_url", "om_hub"},
        {"script_url", "script"}, {"cloud_file_name", "cloud_file"}, {"file_name", "file"},
    };
    bool found = false;
    for (const auto& [key, source] : sources) {
        if (std::string(key).find("_hub_url") != std::string::npos && (!hubKey || std::string(key) != hubKey))
            continue;
        if (entry.contains(key)) {
            attr.source = source;
            attr.location = stringValue(entry[key], file, name, key);
            found = true;
            break;
        }
    }
    if (!found)
        fail(file, ": dataset \"", name,
             "\" has none of file_name, hf_hub_url, ms_hub_url, om_hub_url, script_url, "
             "cloud_file_name");

    static const std::vector<std::string> known = {
        "hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name", "formatting",
        "ranking",    "subset",     "split",      "folder",     "num_samples",     "columns",   "tags"};
    for (auto it = entry.begin(); it != entry.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            fail(file, ": dataset \"", name, "\": unknown key \"", it.key(), "\"");

    if (entry.contains("formatting")) {
        const std::string f = stringValue(entry["formatting"], file, name, "formatting");
        if (f == "alpaca")
            attr.formatting = DataFormat::Alpaca;
        else if (f == "sharegpt")
            attr.formatting = DataFormat::ShareGpt;
        else if (f == "openai")
            attr.formatting = DataFormat::OpenAi;
        else
            fail(file, ": dataset \"", name, "\": formatting \"", f,
                 "\" is not one of alpaca, sharegpt, openai");
    }
    if (entry.contains("ranking")) {
        if (!entry["ranking"].is_boolean())
            fail(file, ": dataset \"", name, "\": \"ranking\" must be true or false");
        attr.ranking = entry["ranking"].get<bool>();
    }
    if (entry.contains("subset"))
        attr.subset = stringValue(entry["subset"], file, name, "subset");
    if (entry.contains("split"))
        attr.split = stringValue(entry["split"], file, name, "split");
    if (entry.contains("folder"))
        attr.folder = stringValue(entry["folder"], file, name, "folder");
    if (entry.contains("num_samples") && !entry["num_samples"].is_null()) {
        if (!entry["num_samples"].is_number_integer() || entry["num_samples"].get<long long>() <= 0)
            fail(file, ": dataset \"", name, "\": \"num_samples\" must be a positive integer");
        attr.numSamples = entry["num_samples"].get<long long>();
    }

    // sharegpt/openai keep their message key default; the alpaca prompt/query/response defaults do not apply
    // to them (LLaMA-Factory only reads those columns for alpaca).
    if (attr.formatting != DataFormat::Alpaca) {
        attr.prompt.clear();
        attr.query.clear();
        attr.response.clear();
    }
    auto readMap = [&](const char* key, const std::vector<Field>& fields) {
        if (!entry.contains(key))
            return;
        const auto& map = entry[key];
        if (!map.is_object())
            fail(file, ": dataset \"", name, "\": \"", key, "\" must be an object");
        for (auto it = map.begin(); it != map.end(); ++it) {
            auto f =
                std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return it.key() == x.key; });
            if (f == fields.end()) {
                std::string names;
                for (const auto& x : fields)
                    names += std::string(names.empty() ? "" : ", ") + x.key;
                fail(file, ": dataset \"", name, "\": unknown ", key, " key \"", it.key(),
                     "\" (known: ", names, ")");
            }
            attr.*(f->member) = stringValue(it.value(), file, name, std::string(key) + "." + it.key());
            if (&fields == &columnFields() && !(attr.*(f->member)).empty())
                attr.explicitColumns.push_back(attr.*(f->member));
        }
    };
    readMap("columns", columnFields());
    readMap("tags", tagFields());
    return attr;
}

ojson DatasetAttr::toJson() const
{
    const DatasetAttr defaults = [&] {
        ojson probe = {{"file_name", "x"}};
        if (formatting != DataFormat::Alpaca)
            probe["formatting"] = dataFormatName(formatting);
        return fromJson(name, probe, "");
    }();
    ojson out;
    static const std::pair<const char*, const char*> sources[] = {
        {"hf_hub", "hf_hub_url"}, {"ms_hub", "ms_hub_url"},          {"om_hub", "om_hub_url"},
        {"script", "script_url"}, {"cloud_file", "cloud_file_name"}, {"file", "file_name"},
    };
    for (const auto& [src, key] : sources)
        if (source == src)
            out[key] = location;
    if (formatting != DataFormat::Alpaca)
        out["formatting"] = dataFormatName(formatting);
    if (ranking)
        out["ranking"] = true;
    if (!subset.empty())
        out["subset"] = subset;
    if (split != "train")
        out["split"] = split;
    if (!folder.empty())
        out["folder"] = folder;
    if (numSamples)
        out["num_samples"] = *numSamples;
    ojson columns = ojson::object(), tags = ojson::object();
    for (const auto& f : columnFields())
        if (this->*(f.member) != defaults.*(f.member))
            columns[f.key] = this->*(f.member);
    for (const auto& f : tagFields())
        if (this->*(f.member) != defaults.*(f.member))
            tags[f.key] = this->*(f.member);
    if (!columns.empty())
        out["columns"] = columns;
    if (!tags.empty())
        out["tags"] = tags;
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------------------

DatasetRegistry DatasetRegistry::load(const std::string& datasetDir)
{
    DatasetRegistry r;
    r.m_dir = datasetDir;
    const std::string path = r.infoPath();
    if (!fs::exists(path))
        fail(path, ": not found (dataset_dir \"", datasetDir, "\" has no dataset_info.json)");
    try {
        r.m_info = parseJson<ojson>(readTextFile(path), path);
    } catch (const nlohmann::json::parse_error& e) {
        fail(path, ": not valid JSON: ", e.what());
    }
    if (!r.m_info.is_object())
        fail(path, ": must be a JSON object mapping dataset names to entries");
    return r;
}

std::string DatasetRegistry::infoPath() const
{
    return (fs::path(m_dir) / "dataset_info.json").string();
}

std::vector<std::string> DatasetRegistry::names() const
{
    std::vector<std::string> out;
    for (auto it = m_info.begin(); it != m_info.end(); ++it)
        out.push_back(it.key());
    return out;
}

bool DatasetRegistry::contains(const std::string& name) const
{
    return m_info.contains(name);
}

DatasetAttr DatasetRegistry::get(const std::string& name) const
{
    if (!m_info.contains(name)) {
        std::string hint;
        for (const auto& n : closestNames(name, names(), 3))
            hint += (hint.empty() ? "" : ", ") + n;
        fail(infoPath(), ": no dataset named \"", name, "\"",
             hint.empty() ? "" : " (did you mean " + hint + "?)");
    }
    return DatasetAttr::fromJson(name, m_info[name], infoPath());
}

void DatasetRegistry::add(const DatasetAttr& attr, bool overwrite)
{
    if (attr.name.empty())
        fail("a dataset needs a name");
    if (m_info.contains(attr.name) && !overwrite)
        fail(infoPath(), ": a dataset named \"", attr.name,
             "\" already exists (choose another name or overwrite it)");
    m_info[attr.name] = attr.toJson();
    writeTextFileAtomic(infoPath(), m_info.dump(2, ' ', false) + "\n");
}

std::string datasetFilePath(const std::string& datasetDir, const DatasetAttr& attr)
{
    return (fs::path(datasetDir) / attr.location).string();
}

} // namespace lathe

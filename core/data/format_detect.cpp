#include "data/format_detect.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "data/converter.h"
#include "data/record_reader.h"
#include "util/error.h"

namespace lathe {

using json = nlohmann::json;

DetectedFormat detectFormat(const std::string& path, int maxRecords)
{
    DetectedFormat out;
    RecordReader reader(path);
    std::vector<json> records;
    json r;
    while (int(records.size()) < maxRecords && reader.next(r))
        records.push_back(r);
    out.recordsRead = std::int64_t(records.size());
    if (records.empty())
        fail(path, ": no records");
    std::map<std::string, int> fieldCount;
    for (const auto& rec : records)
        if (rec.is_object())
            for (auto it = rec.begin(); it != rec.end(); ++it)
                ++fieldCount[it.key()];
    for (const auto& [k, n] : fieldCount)
        out.fields.push_back(k);
    auto has = [&](const std::string& k) { return fieldCount.count(k) != 0; };
    auto& a = out.attr;

    // Messages: a field holding a list of objects.
    std::string messagesField;
    for (const char* candidate : {"conversations", "messages", "conversation", "dialog", "turns"})
        if (has(candidate)) {
            messagesField = candidate;
            break;
        }
    if (messagesField.empty())
        for (const auto& [k, n] : fieldCount)
            if (records[0].contains(k) && records[0][k].is_array() && !records[0][k].empty() &&
                records[0][k][0].is_object()) {
                messagesField = k;
                break;
            }

    if (!messagesField.empty()) {
        a.formatting = DataFormat::ShareGpt;
        a.prompt.clear();
        a.query.clear();
        a.response.clear();
        a.messages = messagesField;
        // Tags: the key pair the messages use, and the role values in order of appearance.
        std::map<std::string, int> keys;
        std::vector<std::string> roles;
        for (const auto& rec : records) {
            if (!rec.contains(messagesField) || !rec[messagesField].is_array())
                continue;
            for (const auto& m : rec[messagesField]) {
                if (!m.is_object())
                    continue;
                for (auto it = m.begin(); it != m.end(); ++it)
                    ++keys[it.key()];
            }
        }
        if (keys.count("role") && keys.count("content")) {
            a.roleTag = "role";
            a.contentTag = "content";
        } else if (keys.count("from") && keys.count("value")) {
            a.roleTag = "from";
            a.contentTag = "value";
        }
        for (const auto& rec : records) {
            if (!rec.contains(messagesField) || !rec[messagesField].is_array())
                continue;
            for (const auto& m : rec[messagesField])
                if (m.is_object() && m.contains(a.roleTag) && m[a.roleTag].is_string()) {
                    const auto role = m[a.roleTag].get<std::string>();
                    if (std::find(roles.begin(), roles.end(), role) == roles.end())
                        roles.push_back(role);
                }
        }
        auto pick = [&](std::initializer_list<const char*> names, std::string& tag) {
            for (const char* n : names)
                if (std::find(roles.begin(), roles.end(), n) != roles.end()) {
                    tag = n;
                    return;
                }
        };
        pick({"human", "user"}, a.userTag);
        pick({"gpt", "assistant", "model", "bot"}, a.assistantTag);
        pick({"observation", "tool", "ipython"}, a.observationTag);
        pick({"function_call", "function", "tool_call"}, a.functionTag);
        pick({"system"}, a.systemTag);
        std::string roleList;
        for (const auto& r2 : roles)
            roleList += (roleList.empty() ? "" : ", ") + r2;
        out.notes.push_back(cat("sharegpt: turns in \"", messagesField, "\" with keys \"", a.roleTag, "\"/\"",
                                a.contentTag, "\"; roles seen: ", roleList));
        if (has("chosen") && has("rejected")) {
            a.ranking = true;
            a.chosen = "chosen";
            a.rejected = "rejected";
            out.notes.push_back("ranking: chosen/rejected messages");
        }
    } else if (has("text") && !has("instruction") && !has("output")) {
        a.prompt = "text";
        a.query.clear();
        a.response.clear();
        out.notes.push_back("pretraining text in \"text\"");
    } else {
        for (const auto& [p, q, rsp] :
             {std::tuple<const char*, const char*, const char*>{"instruction", "input", "output"},
              {"prompt", "query", "response"},
              {"question", "context", "answer"}}) {
            if (has(p)) {
                a.prompt = p;
                a.query = has(q) ? q : "";
                a.response = has(rsp) ? rsp : "";
                break;
            }
        }
        if (!has(a.prompt))
            fail(
                path,
                ": cannot tell the format: no messages list and no instruction/prompt/text field (fields: ",
                [&] {
                    std::string f;
                    for (const auto& x : out.fields)
                        f += (f.empty() ? "" : ", ") + x;
                    return f;
                }(),
                ")");
        out.notes.push_back(cat("alpaca: prompt \"", a.prompt, "\"",
                                a.query.empty() ? "" : ", query \"" + a.query + "\"",
                                a.response.empty() ? "" : ", response \"" + a.response + "\""));
        if (has("chosen") && has("rejected")) {
            a.ranking = true;
            a.chosen = "chosen";
            a.rejected = "rejected";
            a.response.clear();
            out.notes.push_back("ranking: chosen/rejected strings");
        }
        if (has("history")) {
            a.history = "history";
            out.notes.push_back("history pairs in \"history\"");
        }
    }
    if (has("system")) {
        a.system = "system";
        out.notes.push_back("system prompt in \"system\"");
    }
    if (has("tools")) {
        a.tools = "tools";
        out.notes.push_back("tool schemas in \"tools\"");
    }
    for (const char* k : {"kto_tag", "label"})
        if (has(k) && records[0].contains(k) && records[0][k].is_boolean()) {
            a.ktoTag = k;
            out.notes.push_back(cat("KTO desirability in \"", k, "\""));
            break;
        }
    return out;
}

RegistrationProposal proposeRegistration(const std::string& datasetDir, const std::string& file,
                                         const std::string& name)
{
    namespace fs = std::filesystem;
    // file_name is relative to dataset_dir, as dataset_info.json expects.
    const fs::path rel = fs::path(file).is_absolute() ? fs::relative(file, datasetDir) : fs::path(file);
    if (rel.empty() || rel.string().rfind("..", 0) == 0)
        fail(file, ": the file must be inside dataset_dir \"", datasetDir, "\" (copy it there first)");
    DetectedFormat detected = detectFormat((fs::path(datasetDir) / rel).string());
    RegistrationProposal p;
    p.attr = detected.attr;
    p.attr.name = name.empty() ? rel.stem().string() : name;
    p.attr.source = "file";
    p.attr.location = rel.string();
    p.notes = detected.notes;
    checkRegistration(datasetDir, p);
    return p;
}

void checkRegistration(const std::string& datasetDir, RegistrationProposal& p)
{
    const std::string path = (std::filesystem::path(datasetDir) / p.attr.location).string();
    std::vector<DataIssue> issues;
    RecordReader reader(path);
    nlohmann::json record;
    p.checked = p.usable = 0;
    while (p.checked < 200 && reader.next(record)) {
        ++p.checked;
        p.usable += convertRecord(p.attr, record, reader.index(), reader.currentFile(), issues).has_value();
    }
    p.problems.clear();
    for (std::size_t k = 0; k < issues.size() && k < 10; ++k)
        p.problems.push_back(issues[k].text());
}

} // namespace lathe

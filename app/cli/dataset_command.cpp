#include "cli/dataset_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "data/dataset_loader.h"
#include "data/dataset_preview.h"
#include "data/format_detect.h"
#include "data/processor.h"
#include "data/record_reader.h"
#include "template/chat_template.h"
#include "template/template_jinja.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace lathe {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string datasetDirOf(const Arguments& args)
{
    return args.get("dataset_dir", "data");
}

json issueJson(const DataIssue& i)
{
    return {{"dataset", i.dataset}, {"file", i.file},       {"record", i.record},
            {"field", i.field},     {"message", i.message}, {"dropped", i.dropped}};
}

DatasetLoadOptions loadOptionsOf(const Arguments& args)
{
    DatasetLoadOptions o;
    o.stage = args.get("stage", "sft");
    if (args.has("max_samples"))
        o.maxSamples = args.getInt("max_samples", 0);
    o.seed = std::uint64_t(args.getInt("seed", 42));
    return o;
}

int list(const Arguments& args)
{
    const auto registry = DatasetRegistry::load(datasetDirOf(args));
    json out = json::array();
    for (const auto& name : registry.names()) {
        const auto attr = registry.get(name);
        const bool present = attr.isLocal() && fs::exists(datasetFilePath(registry.datasetDir(), attr));
        out.push_back({{"name", name},
                       {"source", attr.source},
                       {"location", attr.location},
                       {"formatting", dataFormatName(attr.formatting)},
                       {"ranking", attr.ranking},
                       {"available", present}});
    }
    if (args.getBool("json")) {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& d : out) {
        std::string name = d["name"];
        name.resize(std::max<std::size_t>(name.size() + 1, 28), ' ');
        const std::string where =
            d["source"] == "file" ? d["location"].get<std::string>()
                                  : d["source"].get<std::string>() + ":" + d["location"].get<std::string>();
        std::cout << name << (d["available"] ? "  " : "- ") << d["formatting"].get<std::string>()
                  << (d["ranking"] ? " (ranking)" : "") << "  " << where
                  << (d["source"] != "file" ? "  [needs download]"
                      : d["available"]      ? ""
                                            : "  [file missing]")
                  << "\n";
    }
    return 0;
}

// Tokenizer and template, when the command was given a model (rendered view and stats need them).
struct Encoding
{
    std::shared_ptr<const Tokenizer> tokenizer;
    std::unique_ptr<TemplateEncoder> encoder;
    explicit operator bool() const { return encoder != nullptr; }
    const TemplateEncoder& operator*() const { return *encoder; }
};

Encoding encoderOf(const Arguments& args, bool required)
{
    Encoding e;
    if (!args.has("model_name_or_path")) {
        if (required)
            fail("missing required option --model_name_or_path (the tokenizer to count tokens with)");
        return e;
    }
    e.tokenizer = Tokenizer::fromDirectory(args.require("model_name_or_path"));
    e.encoder = std::make_unique<TemplateEncoder>(
        resolveChatTemplate(args.get("template", "auto"), *e.tokenizer, args.get("model_name_or_path")), e.tokenizer);
    return e;
}

ProcessOptions processOptionsOf(const Arguments& args)
{
    ProcessOptions p;
    p.cutoffLen = args.getInt("cutoff_len", 2048);
    p.trainOnPrompt = args.getBool("train_on_prompt");
    p.maskHistory = args.getBool("mask_history");
    if (args.has("enable_thinking"))
        p.chat.enableThinking = args.getBool("enable_thinking", true);
    return p;
}

json spansJson(const std::vector<LabeledSpan>& spans)
{
    json out = json::array();
    for (const auto& s : spans)
        out.push_back({{"text", s.text}, {"learned", s.learned}, {"tokens", s.tokens}});
    return out;
}

int preview(const Arguments& args)
{
    const auto registry = DatasetRegistry::load(datasetDirOf(args));
    const std::string name =
        splitNames(args.require("dataset")).front(); // LLaMA-Board previews the first one
    const std::int64_t pageSize = std::max<std::int64_t>(1, args.getInt("page_size", 2));
    const std::int64_t page = std::max<std::int64_t>(0, args.getInt("page", 0));
    const auto encoding = encoderOf(args, false);
    const auto options = processOptionsOf(args);
    const auto attr = registry.get(name);
    const auto pageData = previewRecords(registry, name, page, pageSize);
    std::vector<TrainingView> views;
    if (encoding)
        for (std::size_t k = 0; k < pageData.records.size(); ++k)
            views.push_back(trainingView(*encoding, *encoding.tokenizer, attr, pageData.records[k],
                                         pageData.firstIndex + std::int64_t(k), options));
    if (args.getBool("json")) {
        json out = {{"dataset", name},
                    {"count", pageData.count},
                    {"page", page},
                    {"page_size", pageSize},
                    {"samples", pageData.records}};
        if (encoding) {
            json rendered = json::array();
            for (const auto& v : views) {
                if (!v.error.empty())
                    rendered.push_back({{"record", v.record}, {"error", v.error}});
                else
                    rendered.push_back({{"record", v.record},
                                        {"tokens", v.tokens},
                                        {"truncated", v.truncated},
                                        {"spans", spansJson(v.spans)}});
            }
            out["rendered"] = rendered;
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << name << ": " << pageData.count << " records; page " << page << " (records "
              << pageData.firstIndex << ".." << std::min(pageData.count, pageData.firstIndex + pageSize) - 1
              << ")\n";
    for (std::size_t k = 0; k < pageData.records.size(); ++k) {
        std::cout << "\n--- record " << pageData.firstIndex + std::int64_t(k) << " ---\n"
                  << pageData.records[k].dump(2) << "\n";
        if (k >= views.size())
            continue;
        const auto& v = views[k];
        if (!v.error.empty()) {
            std::cout << "[no training view: " << v.error << "]\n";
            continue;
        }
        std::cout << "--- training view (" << v.tokens << " tokens" << (v.truncated ? ", truncated" : "")
                  << "; learned text between \u27e6 \u27e7) ---\n";
        for (const auto& s : v.spans)
            std::cout << (s.learned ? "\u27e6" : "") << s.text << (s.learned ? "\u27e7" : "");
        std::cout << "\n";
    }
    return 0;
}

int check(const Arguments& args)
{
    const auto registry = DatasetRegistry::load(datasetDirOf(args));
    const auto names = splitNames(args.require("dataset"));
    const auto options = loadOptionsOf(args);
    json report = json::array();
    std::int64_t usable = 0;
    bool fatal = false;
    for (const auto& name : names) {
        json entry = {{"dataset", name}};
        try {
            const auto d = loadDataset(registry, name, options);
            usable += std::int64_t(d.examples.size());
            json issues = json::array();
            for (const auto& i : d.issues)
                issues.push_back(issueJson(i));
            entry.update({{"file", d.path},
                          {"records", d.records},
                          {"usable", d.examples.size()},
                          {"dropped", d.dropped()},
                          {"issues", issues}});
        } catch (const Error& e) {
            fatal = true;
            entry["error"] = e.what();
        }
        report.push_back(entry);
    }
    if (args.getBool("json")) {
        std::cout << json{{"datasets", report}, {"usable", usable}}.dump(2) << "\n";
    } else {
        for (const auto& e : report) {
            if (e.contains("error")) {
                std::cout << e["dataset"].get<std::string>() << ": ERROR " << e["error"].get<std::string>()
                          << "\n";
                continue;
            }
            std::cout << e["dataset"].get<std::string>() << ": " << e["records"] << " records, "
                      << e["usable"] << " usable, " << e["dropped"] << " dropped ("
                      << e["file"].get<std::string>() << ")\n";
            // The same problem on many records is one line with the first few record numbers.
            std::vector<std::pair<std::string, std::vector<std::int64_t>>> groups;
            std::map<std::string, std::size_t> groupOf;
            for (const auto& issue : e["issues"]) {
                DataIssue i{issue["dataset"], issue["file"],    -1,
                            issue["field"],   issue["message"], issue["dropped"]};
                const std::string key = std::string(i.dropped ? "error: " : "warning: ") + i.text();
                auto [it, added] = groupOf.emplace(key, groups.size());
                if (added)
                    groups.push_back({key, {}});
                groups[it->second].second.push_back(issue["record"]);
            }
            const auto limit = std::size_t(args.getInt("max_issues", 5));
            for (const auto& [text, records] : groups) {
                std::string where;
                for (std::size_t k = 0; k < records.size() && k < limit; ++k)
                    if (records[k] >= 0)
                        where += (where.empty() ? "" : ", ") + std::to_string(records[k]);
                if (records.size() > limit)
                    where += cat(" and ", records.size() - limit, " more");
                std::cout << "  " << text << (where.empty() ? "" : " [record " + where + "]") << "\n";
            }
        }
        std::cout << "usable examples in total: " << usable << "\n";
    }
    return usable > 0 && !fatal ? 0 : 1;
}

int stats(const Arguments& args)
{
    const auto registry = DatasetRegistry::load(datasetDirOf(args));
    const auto encoding = encoderOf(args, true);
    const auto options = processOptionsOf(args);
    const auto load = loadOptionsOf(args);
    json out = json::array();
    for (const auto& name : splitNames(args.require("dataset"))) {
        const auto s = datasetStats(registry, name, *encoding, options, load);
        out.push_back({{"dataset", name},
                       {"records", s.records},
                       {"examples", s.examples},
                       {"dropped", s.dropped},
                       {"drop_reasons", s.dropReasons},
                       {"truncated", s.truncated},
                       {"learned_tokens", s.learnedTokens},
                       {"tokens",
                        {{"min", s.percentile(0)},
                         {"median", s.percentile(0.5)},
                         {"p95", s.percentile(0.95)},
                         {"max", s.percentile(1)}}},
                       {"histogram", {{"bin_width", s.binWidth}, {"counts", s.histogram}}}});
    }
    if (args.getBool("json")) {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& s : out) {
        std::cout << s["dataset"].get<std::string>() << ": " << s["examples"] << " examples (" << s["dropped"]
                  << " dropped), " << s["truncated"] << " truncated at cutoff_len " << options.cutoffLen
                  << "\n"
                  << "  tokens: min " << s["tokens"]["min"] << ", median " << s["tokens"]["median"]
                  << ", p95 " << s["tokens"]["p95"] << ", max " << s["tokens"]["max"] << "; learned "
                  << s["learned_tokens"] << "\n";
        const std::int64_t width = s["histogram"]["bin_width"];
        const auto& counts = s["histogram"]["counts"];
        std::int64_t most = 1;
        for (const auto& c : counts)
            most = std::max<std::int64_t>(most, c.get<std::int64_t>());
        for (std::size_t b = 0; b < counts.size(); ++b)
            std::cout << "  " << b * width << "-" << (b + 1) * width - 1 << "\t"
                      << std::string(std::size_t(40 * counts[b].get<std::int64_t>() / most), '#') << " "
                      << counts[b] << "\n";
        for (const auto& [reason, n] : s["drop_reasons"].items())
            std::cout << "  dropped " << n << ": " << reason << "\n";
    }
    return 0;
}

int registerDataset(const Arguments& args)
{
    const std::string dir = datasetDirOf(args);
    RegistrationProposal proposal = proposeRegistration(dir, args.require("file"), args.get("name", ""));
    auto& attr = proposal.attr;
    if (args.has("formatting") || args.has("ranking")) {
        if (args.has("formatting")) {
            const auto f = args.get("formatting");
            attr.formatting = f == "sharegpt" ? DataFormat::ShareGpt
                              : f == "openai" ? DataFormat::OpenAi
                                              : DataFormat::Alpaca;
        }
        if (args.has("ranking"))
            attr.ranking = args.getBool("ranking");
        checkRegistration(dir, proposal);
    }
    auto registry = DatasetRegistry::load(dir);
    const bool dryRun = args.getBool("dry_run");
    const bool ok = proposal.usable > 0;
    if (!dryRun && ok)
        registry.add(attr, args.getBool("overwrite"));
    if (args.getBool("json")) {
        std::cout << json{{"name", attr.name},          {"entry", attr.toJson()},   {"notes", proposal.notes},
                          {"checked", proposal.checked}, {"usable", proposal.usable}, {"written", !dryRun && ok}}
                         .dump(2)
                  << "\n";
    } else {
        for (const auto& note : proposal.notes)
            std::cout << "detected: " << note << "\n";
        std::cout << "\"" << attr.name << "\": " << attr.toJson().dump(2) << "\n";
        std::cout << proposal.usable << " of the first " << proposal.checked << " records convert cleanly\n";
        for (const auto& problem : proposal.problems)
            std::cout << "  " << problem << "\n";
        if (!ok)
            std::cout << "not registered: no record converts with this entry (give --formatting, or fix the "
                         "file)\n";
        else
            std::cout << (dryRun ? "dry run: not written to " : "registered in ") << registry.infoPath()
                      << "\n";
    }
    return ok ? 0 : 1;
}

} // namespace

int cmdDataset(const Arguments& args)
{
    const std::string sub = args.positional().empty() ? "" : args.positional()[0];
    if (sub == "list")
        return list(args);
    if (sub == "preview")
        return preview(args);
    if (sub == "check")
        return check(args);
    if (sub == "stats")
        return stats(args);
    if (sub == "register")
        return registerDataset(args);
    fail("usage: lathe dataset list|preview|check|stats|register [--dataset_dir DIR] [--dataset NAME[,NAME]] "
         "[--json]\n"
         "  preview --dataset N [--page P --page_size K] [--model_name_or_path M --template T]\n"
         "  check --dataset N[,N] [--stage sft|pt|dpo|kto]\n"
         "  stats --dataset N --model_name_or_path M --template T [--cutoff_len 2048]\n"
         "  register --file F [--name N] [--formatting alpaca|sharegpt|openai] [--overwrite] [--dry_run]");
}

} // namespace lathe

#include "data/dataset_loader.h"

#include "hub/hub.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>

#include "data/record_reader.h"
#include "util/error.h"

namespace lathe {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::int64_t LoadedDataset::dropped() const
{
    return std::count_if(issues.begin(), issues.end(),
                         [](const DataIssue& i) { return i.dropped && i.record >= 0; });
}

namespace {

// The record fields an entry expects: those named under "columns", plus the main text column (alpaca's
// prompt, sharegpt's messages) even when left at its default. Used to report a column no record has.
std::vector<std::string> expectedColumns(const DatasetAttr& a)
{
    std::vector<std::string> cols = a.explicitColumns;
    const std::string& main = a.formatting == DataFormat::Alpaca ? a.prompt : a.messages;
    if (!main.empty() && std::find(cols.begin(), cols.end(), main) == cols.end())
        cols.insert(cols.begin(), main);
    return cols;
}

} // namespace

LoadedDataset scanDataset(const DatasetRegistry& registry, const std::string& name,
                          const DatasetLoadOptions& options, const std::function<void(Example&&)>& sink)
{
    LoadedDataset out;
    out.attr = registry.get(name);
    const auto& attr = out.attr;
    if (attr.source == "hf_hub" || attr.source == "ms_hub" || attr.source == "om_hub") {
        // A hub dataset: its data files from the cache, downloaded there when missing (hub/hub.h).
        HubOptions hub;
        hub.log = options.log;
        const HubKind kind = attr.source == "ms_hub" ? HubKind::ModelScope : attr.source == "om_hub" ? HubKind::Modelers
                                                                                                   : HubKind::HuggingFace;
        try {
            out.path = resolveDatasetRepo(attr.location, kind, attr.folder, attr.split, attr.subset, hub).string();
        } catch (const Error& e) {
            fail(registry.infoPath(), ": dataset \"", name, "\": ", e.what());
        }
    } else if (!attr.isLocal()) {
        fail(registry.infoPath(), ": dataset \"", name, "\" comes from ", attr.source, " (", attr.location,
             "); only files and hub datasets are read: download it and register the local file");
    } else {
        out.path = datasetFilePath(registry.datasetDir(), attr);
    }
    if (!fs::exists(out.path))
        fail(registry.infoPath(), ": dataset \"", name, "\": file_name \"", attr.location,
             "\" not found in dataset_dir \"", registry.datasetDir(), "\"");

    RecordReader reader(out.path);
    const auto expected = expectedColumns(attr);
    std::vector<std::int64_t> seen(expected.size(), 0);
    std::set<std::string> fieldsSeen;
    json record;
    while (reader.next(record)) {
        if (options.recordLimit && out.records >= *options.recordLimit)
            break;
        ++out.records;
        if (record.is_object()) {
            for (std::size_t c = 0; c < expected.size(); ++c)
                seen[c] += record.contains(expected[c]);
            if (fieldsSeen.size() < 64)
                for (auto it = record.begin(); it != record.end(); ++it)
                    fieldsSeen.insert(it.key());
        }
        auto ex = convertRecord(attr, record, reader.index(), reader.currentFile(), out.issues);
        if (ex && checkForStage(options.stage, *ex, attr, reader.currentFile(), out.issues))
            sink(std::move(*ex));
    }
    if (out.records > 0) {
        std::string fields;
        for (const auto& f : fieldsSeen)
            fields += (fields.empty() ? "" : ", ") + f;
        for (std::size_t c = 0; c < expected.size(); ++c)
            if (seen[c] == 0)
                out.issues.push_back({name, out.path, -1, expected[c],
                                      cat("no record has this column (the records have: ", fields,
                                          "); check \"columns\" in dataset_info.json"),
                                      false});
    }
    return out;
}

LoadedDataset loadDataset(const DatasetRegistry& registry, const std::string& name,
                          const DatasetLoadOptions& options)
{
    std::vector<Example> examples;
    LoadedDataset out =
        scanDataset(registry, name, options, [&](Example&& ex) { examples.push_back(std::move(ex)); });
    out.examples = std::move(examples);
    const auto& attr = out.attr;
    if (attr.numSamples) {
        // LLaMA-Factory: a random permutation cut to N; beyond the dataset's size, extra draws with
        // replacement.
        std::mt19937_64 rng(options.seed);
        std::vector<std::size_t> order(out.examples.size());
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        const auto target = std::size_t(*attr.numSamples);
        if (target < order.size())
            order.resize(target);
        while (order.size() < target && !out.examples.empty())
            order.push_back(std::uniform_int_distribution<std::size_t>(0, out.examples.size() - 1)(rng));
        std::vector<Example> sampled;
        sampled.reserve(order.size());
        for (auto i : order)
            sampled.push_back(out.examples[i]);
        out.examples = std::move(sampled);
    }
    if (options.maxSamples && std::size_t(*options.maxSamples) < out.examples.size())
        out.examples.resize(std::size_t(*options.maxSamples));
    return out;
}

std::vector<LoadedDataset> loadDatasets(const DatasetRegistry& registry,
                                        const std::vector<std::string>& names,
                                        const DatasetLoadOptions& options)
{
    if (names.empty())
        fail("no dataset given (set dataset: name[,name...])");
    std::vector<LoadedDataset> out;
    for (const auto& n : names)
        out.push_back(loadDataset(registry, n, options));
    return out;
}

std::pair<std::vector<std::size_t>, std::size_t> validationOrder(std::size_t n, double valSize, std::uint64_t seed)
{
    const std::size_t evalCount =
        valSize < 1 ? std::size_t(std::ceil(valSize * double(n))) : std::size_t(valSize);
    if (evalCount >= n)
        fail("val_size ", valSize, " leaves no training examples (the datasets have ", n, ")");
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    return {std::move(order), evalCount};
}

std::pair<std::vector<Example>, std::vector<Example>> splitValidation(std::vector<Example> examples,
                                                                      double valSize, std::uint64_t seed)
{
    if (valSize <= 0)
        return {std::move(examples), {}};
    const std::size_t n = examples.size();
    const auto [order, evalCount] = validationOrder(n, valSize, seed);
    std::vector<Example> train, eval;
    for (std::size_t i = 0; i < n; ++i)
        (i < evalCount ? eval : train).push_back(std::move(examples[order[i]]));
    return {std::move(train), std::move(eval)};
}

std::vector<std::string> splitNames(const std::string& list)
{
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        const auto b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
        if (b != std::string::npos)
            out.push_back(cur.substr(b, e - b + 1));
        cur.clear();
    };
    for (char c : list) {
        if (c == ',')
            flush();
        else
            cur.push_back(c);
    }
    flush();
    return out;
}

} // namespace lathe

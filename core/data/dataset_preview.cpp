#include "data/dataset_preview.h"

#include <algorithm>

#include "data/record_reader.h"
#include "util/error.h"

namespace lathe {

PreviewPage previewRecords(const DatasetRegistry& registry, const std::string& name, std::int64_t page,
                           std::int64_t pageSize)
{
    const auto attr = registry.get(name);
    if (!attr.isLocal())
        fail("dataset \"", name, "\" is not a local file (", attr.source, "): nothing to preview");
    pageSize = std::max<std::int64_t>(1, pageSize);
    page = std::max<std::int64_t>(0, page);
    PreviewPage out;
    out.firstIndex = page * pageSize;
    RecordReader reader(datasetFilePath(registry.datasetDir(), attr));
    nlohmann::json record;
    while (reader.next(record)) {
        const std::int64_t i = out.count++;
        if (i >= out.firstIndex && i < out.firstIndex + pageSize)
            out.records.push_back(std::move(record));
    }
    return out;
}

TrainingView trainingView(const TemplateEncoder& encoder, const Tokenizer& tokenizer, const DatasetAttr& attr,
                          const nlohmann::json& record, std::int64_t index, const ProcessOptions& options)
{
    TrainingView view;
    view.record = index;
    std::vector<DataIssue> issues;
    const auto ex = convertRecord(attr, record, index, "", issues);
    if (!ex || !checkForStage("sft", *ex, attr, "", issues)) {
        for (const auto& i : issues)
            if (i.dropped)
                view.error = (i.field.empty() ? "" : "field \"" + i.field + "\": ") + i.message;
        return view;
    }
    const auto t = encodeSupervised(encoder, *ex, options);
    view.tokens = std::int64_t(t.inputIds.size());
    view.truncated = t.truncated;
    view.spans = labeledSpans(tokenizer, t);
    return view;
}

std::int64_t DatasetStats::percentile(double p) const
{
    if (lengths.empty())
        return 0;
    return lengths[std::size_t(p * double(lengths.size() - 1))];
}

DatasetStats datasetStats(const DatasetRegistry& registry, const std::string& name,
                          const TemplateEncoder& encoder, const ProcessOptions& options,
                          const DatasetLoadOptions& load)
{
    DatasetStats s;
    s.name = name;
    const auto d = loadDataset(registry, name, load);
    s.records = d.records;
    s.examples = std::int64_t(d.examples.size());
    s.dropped = d.dropped();
    for (const auto& i : d.issues)
        if (i.dropped)
            ++s.dropReasons[i.message];
    for (const auto& ex : d.examples) {
        const auto t = encodeSupervised(encoder, ex, options);
        s.lengths.push_back(std::int64_t(t.inputIds.size()));
        s.truncated += t.truncated;
        s.learnedTokens +=
            std::count_if(t.labels.begin(), t.labels.end(), [](TokenId l) { return l != kIgnoreIndex; });
    }
    std::sort(s.lengths.begin(), s.lengths.end());
    s.binWidth = (options.cutoffLen + 10) / 10;
    s.histogram.assign(10, 0);
    for (auto l : s.lengths)
        ++s.histogram[std::min<std::size_t>(9, std::size_t(l / s.binWidth))];
    return s;
}

} // namespace lathe

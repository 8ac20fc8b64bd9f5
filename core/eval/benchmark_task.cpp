#include "eval/benchmark_task.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------------------
// CSV: RFC 4180 (pandas' defaults: ',' separator, '"' quotes doubled inside, blank lines skipped)
// ---------------------------------------------------------------------------------------------------------

struct CsvRecord
{
    std::vector<std::string> cells;
    std::size_t line = 0;
};

std::vector<CsvRecord> parseCsv(const std::string& text, const std::string& name)
{
    std::vector<CsvRecord> records;
    std::size_t i = 0, line = 1;
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
        i = 3; // a UTF-8 byte-order mark
    const std::size_t n = text.size();
    while (i < n) {
        // Blank lines between records.
        if (text[i] == '\n' || text[i] == '\r') {
            if (text[i] == '\n')
                ++line;
            ++i;
            continue;
        }
        CsvRecord record;
        record.line = line;
        std::string cell;
        bool endOfRecord = false;
        while (!endOfRecord) {
            if (i < n && text[i] == '"') {
                const std::size_t openLine = line;
                ++i;
                for (;;) {
                    if (i >= n)
                        fail(name, ":", openLine, ": a quoted field is never closed");
                    if (text[i] == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            cell += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        break;
                    }
                    if (text[i] == '\n')
                        ++line;
                    cell += text[i++];
                }
                // After the closing quote: more text up to the separator is kept, as pandas does.
            }
            while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                cell += text[i++];
            record.cells.push_back(std::move(cell));
            cell.clear();
            if (i < n && text[i] == ',') {
                ++i;
                continue;
            }
            if (i < n && text[i] == '\r')
                ++i;
            if (i < n && text[i] == '\n') {
                ++i;
                ++line;
            }
            endOfRecord = true;
        }
        records.push_back(std::move(record));
    }
    return records;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to)
{
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// Where a subject's split is, in the three layouts; the first that exists.
struct SplitFile
{
    fs::path path;
    bool hasHeader = false;
};

std::vector<SplitFile> splitCandidates(const fs::path& dir, const std::string& subject, const std::string& folder)
{
    return {
        {dir / "data" / folder / (subject + "_" + folder + ".csv"), false}, // MMLU
        {dir / folder / (subject + "_" + folder + ".csv"), true},           // C-Eval
        {dir / folder / (subject + ".csv"), true},                          // CMMLU
    };
}

std::string folderOfSplit(const std::string& split)
{
    if (split == "train" || split == "dev")
        return "dev";
    if (split == "validation" || split == "val")
        return "val";
    if (split == "test")
        return "test";
    return {};
}

} // namespace

std::size_t BenchmarkTask::rowCount() const
{
    std::size_t n = 0;
    for (const auto& s : subjects)
        n += s.rows.size();
    return n;
}

std::vector<BenchmarkRow> readBenchmarkCsv(const fs::path& file, bool hasHeader, bool answersRequired)
{
    const std::string name = file.string();
    const auto records = parseCsv(readTextFile(name), name);
    // Column indexes of question, A, B, C, D, answer.
    std::array<std::size_t, 6> column = {0, 1, 2, 3, 4, 5};
    std::size_t width = 6;
    std::size_t first = 0;
    if (hasHeader) {
        if (records.empty())
            fail(name, ": empty (expected a header naming question, A, B, C, D, answer)");
        const auto& header = records[0].cells;
        const char* wanted[6] = {"question", "a", "b", "c", "d", "answer"};
        for (int k = 0; k < 6; ++k) {
            const auto it = std::find_if(header.begin(), header.end(), [&](const std::string& h) { return lower(h) == wanted[k]; });
            if (it == header.end()) {
                std::string have;
                for (const auto& h : header)
                    have += (have.empty() ? "" : ", ") + h;
                fail(name, ":", records[0].line, ": the header has no column \"", k == 0 ? "question" : k == 5 ? "answer" : std::string(1, char(std::toupper(wanted[k][0]))), "\" (it has: ", have, ")");
            }
            column[std::size_t(k)] = std::size_t(it - header.begin());
        }
        width = header.size();
        first = 1;
    }
    std::vector<BenchmarkRow> rows;
    for (std::size_t r = first; r < records.size(); ++r) {
        const auto& rec = records[r];
        if (rec.cells.size() != width)
            fail(name, ":", rec.line, ": ", rec.cells.size(), " columns, expected ", width,
                 hasHeader ? " (as the header)" : " (question, A, B, C, D, answer)");
        BenchmarkRow row;
        row.line = rec.line;
        row.question = rec.cells[column[0]];
        for (int k = 0; k < 4; ++k)
            row.choices[std::size_t(k)] = rec.cells[column[std::size_t(k + 1)]];
        std::string answer = rec.cells[column[5]];
        while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back())))
            answer.pop_back();
        while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.front())))
            answer.erase(answer.begin());
        if (answer.empty() && !answersRequired) {
            row.answer = 0;
        } else if (answer.size() == 1 && answer[0] >= 'A' && answer[0] <= 'D') {
            row.answer = answer[0];
        } else {
            fail(name, ":", rec.line, ": answer \"", answer, "\" is not one of A, B, C, D");
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

BenchmarkTask loadBenchmarkTask(const fs::path& taskDir, const std::string& task, bool needDev)
{
    const auto cut = task.rfind('_');
    if (task.empty() || cut == std::string::npos || cut == 0 || cut + 1 == task.size())
        fail("task: \"", task, "\" is not <name>_<split> (mmlu_test, cmmlu_test, ceval_validation)");
    BenchmarkTask t;
    t.name = task.substr(0, cut);
    t.split = task.substr(cut + 1);
    const std::string folder = folderOfSplit(t.split);
    if (folder.empty())
        fail("task: split \"", t.split, "\" of ", task, " is not one of train, validation, test");
    t.dir = taskDir / t.name;

    const fs::path mappingPath = t.dir / "mapping.json";
    std::error_code ec;
    if (!fs::is_regular_file(mappingPath, ec)) {
        std::string hint;
        if (fs::is_regular_file(t.dir / (t.name + ".zip"), ec))
            hint = cat(" (", (t.dir / (t.name + ".zip")).string(), " is there: extract it into ", t.dir.string(),
                       ", e.g. unzip ", t.name, ".zip)");
        fail(mappingPath.string(), ": not found; task_dir must hold <name>/mapping.json and the subjects' CSV splits"
             " (LLaMA-Factory's evaluation/ folder)", hint);
    }
    const auto mapping = parseJson<nlohmann::ordered_json>(readTextFile(mappingPath.string()), mappingPath.string());
    if (!mapping.is_object() || mapping.empty())
        fail(mappingPath.string(), ": expected an object {subject: {\"name\": ..., \"category\": ...}}");
    const auto& categories = benchmarkCategories();
    for (auto item = mapping.begin(); item != mapping.end(); ++item) {
        const std::string key = item.key();
        const auto& info = item.value();
        BenchmarkSubject s;
        s.key = key;
        if (!info.is_object() || !info.contains("name") || !info["name"].is_string() || !info.contains("category") ||
            !info["category"].is_string())
            fail(mappingPath.string(), ": subject \"", key, "\": needs string fields \"name\" and \"category\"");
        s.name = info["name"].get<std::string>();
        s.category = info["category"].get<std::string>();
        if (s.category == "Average" || std::find(categories.begin(), categories.end(), s.category) == categories.end())
            fail(mappingPath.string(), ": subject \"", key, "\": category \"", s.category,
                 "\" is not one of STEM, Social Sciences, Humanities, Other");

        auto locate = [&](const std::string& splitFolder) -> SplitFile {
            for (const auto& c : splitCandidates(t.dir, key, splitFolder))
                if (fs::is_regular_file(c.path, ec))
                    return c;
            return {};
        };
        const SplitFile rows = locate(folder);
        if (rows.path.empty()) {
            const auto c = splitCandidates(t.dir, key, folder);
            fail("subject \"", key, "\" of ", mappingPath.string(), ": no ", t.split, " split (looked for ",
                 c[0].path.string(), ", ", c[1].path.string(), ", ", c[2].path.string(), ")");
        }
        s.rowsFile = rows.path;
        s.rows = readBenchmarkCsv(rows.path, rows.hasHeader, false);
        if (!s.rows.empty() && std::all_of(s.rows.begin(), s.rows.end(), [](const BenchmarkRow& r) { return r.answer == 0; }))
            fail(rows.path.string(), ": the ", t.split, " split has no answers (C-Eval's test answers are not public: use ",
                 t.name, "_validation)");
        for (const auto& r : s.rows)
            if (r.answer == 0)
                fail(rows.path.string(), ":", r.line, ": the answer is empty");
        if (folder == "dev") {
            s.dev = s.rows;
        } else {
            const SplitFile dev = locate("dev");
            if (!dev.path.empty())
                s.dev = readBenchmarkCsv(dev.path, dev.hasHeader, true);
            else if (needDev)
                fail("subject \"", key, "\" of ", mappingPath.string(), ": no dev split for the few-shot examples (looked for ",
                     splitCandidates(t.dir, key, "dev")[0].path.string(), " and the other layouts); set n_shot: 0 to evaluate without");
        }
        if (needDev && s.dev.empty())
            fail("subject \"", key, "\": the dev split has no rows for the few-shot examples; set n_shot: 0 to evaluate without");
        t.subjects.push_back(std::move(s));
    }
    return t;
}

const EvalTemplate& evalTemplate(const std::string& lang)
{
    static const EvalTemplate en{"The following are multiple choice questions (with answers) about {subject}.\n\n",
                                 "\n{choice}. {content}", "\nAnswer:"};
    static const EvalTemplate zh{"以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n",
                                 "\n{choice}. {content}", "\n答案："};
    if (lang == "en")
        return en;
    if (lang == "zh")
        return zh;
    fail("lang: no evaluation template \"", lang, "\" (en, zh)");
}

std::string benchmarkAnswer(const BenchmarkRow& row, int choice, BenchmarkMode mode)
{
    const std::string letter(1, char('A' + choice));
    return mode == BenchmarkMode::Logits ? letter : letter + ". " + row.choices[std::size_t(choice)];
}

namespace {

// _parse_example: question + each choice + the answer cue.
std::string promptOf(const BenchmarkRow& row, const EvalTemplate& tpl)
{
    std::string text = row.question;
    for (int k = 0; k < 4; ++k)
        text += replaceAll(replaceAll(tpl.choice, "{choice}", std::string(1, char('A' + k))), "{content}",
                           row.choices[std::size_t(k)]);
    return text + tpl.answer;
}

} // namespace

std::vector<std::string> formatBenchmarkExample(const BenchmarkRow& target, const std::vector<const BenchmarkRow*>& support,
                                                const std::string& subjectName, const EvalTemplate& tpl, BenchmarkMode mode)
{
    std::vector<std::string> turns;
    for (const BenchmarkRow* row : support) {
        turns.push_back(promptOf(*row, tpl));
        turns.push_back(benchmarkAnswer(*row, row->answer - 'A', mode));
    }
    turns.push_back(promptOf(target, tpl));
    turns.push_back(benchmarkAnswer(target, target.answer ? target.answer - 'A' : 0, mode));
    // str.format(subject=...) on the system text, prepended to the first user message.
    turns[0] = replaceAll(tpl.system, "{subject}", subjectName) + turns[0];
    return turns;
}

std::vector<std::vector<const BenchmarkRow*>> benchmarkSupportSets(const BenchmarkSubject& subject, int nShot,
                                                                   std::uint64_t seed)
{
    // The seed mixed with the subject's name (FNV-1a), so a subject's prompts do not depend on the others.
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : subject.key)
        h = (h ^ c) * 1099511628211ULL;
    std::mt19937_64 rng(seed ^ h);
    const std::size_t take = std::min<std::size_t>(std::size_t(std::max(0, nShot)), subject.dev.size());
    std::vector<std::vector<const BenchmarkRow*>> out;
    std::vector<std::size_t> order(subject.dev.size());
    for (std::size_t r = 0; r < subject.rows.size(); ++r) {
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        // Fisher-Yates, drawn afresh for every row as shuffle().select(range(n)) is.
        for (std::size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[std::uniform_int_distribution<std::size_t>(0, i - 1)(rng)]);
        std::vector<const BenchmarkRow*> set;
        for (std::size_t i = 0; i < take; ++i)
            set.push_back(&subject.dev[order[i]]);
        out.push_back(std::move(set));
    }
    return out;
}

const std::vector<std::string>& benchmarkCategories()
{
    static const std::vector<std::string> list = {"Average", "STEM", "Social Sciences", "Humanities", "Other"};
    return list;
}

BenchmarkScores scoreBenchmark(const BenchmarkTask& task, const std::vector<std::vector<char>>& predictions)
{
    BenchmarkScores scores;
    for (const auto& c : benchmarkCategories())
        scores.category[c] = {0, 0};
    for (std::size_t s = 0; s < task.subjects.size() && s < predictions.size(); ++s) {
        const auto& subject = task.subjects[s];
        std::size_t correct = 0;
        for (std::size_t r = 0; r < subject.rows.size() && r < predictions[s].size(); ++r)
            correct += predictions[s][r] == subject.rows[r].answer;
        const std::size_t total = std::min(subject.rows.size(), predictions[s].size());
        scores.subject.push_back({subject.key, {correct, total}});
        for (const std::string& c : {subject.category, std::string("Average")}) {
            scores.category[c].first += correct;
            scores.category[c].second += total;
        }
    }
    return scores;
}

std::string benchmarkResultsLog(const BenchmarkScores& scores)
{
    std::string text;
    for (const auto& c : benchmarkCategories()) {
        const auto& [correct, total] = scores.category.at(c);
        if (total == 0)
            continue;
        char line[128];
        std::snprintf(line, sizeof line, "%15s: %.2f", c.c_str(), 100.0 * (double(correct) / double(total))); // 100 * np.mean
        text += (text.empty() ? "" : "\n") + std::string(line);
    }
    return text;
}

} // namespace lathe

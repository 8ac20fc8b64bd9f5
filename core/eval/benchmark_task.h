// Multiple-choice benchmarks (MMLU, C-Eval, CMMLU) as LLaMA-Factory's evaluator reads and prompts them
// (src/llamafactory/eval/{evaluator,template}.py, reference "Benchmark evaluation"): the task folder, the
// per-subject CSV splits, the en/zh evaluation templates, the few-shot support set, and the results files.
// Torch-free; core/eval/benchmark_runner runs the model on what this prepares.
//
// A task is "<name>_<split>" (mmlu_test, cmmlu_test, ceval_validation) read from <task_dir>/<name>/:
//   mapping.json                     {subject: {"name": display name, "category": STEM | Social Sciences |
//                                     Humanities | Other}}, in the order subjects are evaluated
//   data/{dev,val,test}/<subject>_{dev,val,test}.csv   MMLU's layout: no header, question,A,B,C,D,answer
//   {dev,val,test}/<subject>_{dev,val,test}.csv        C-Eval's layout: a header naming the columns
//   {dev,test}/<subject>.csv                           CMMLU's layout: a header naming the columns
// (what LLaMA-Factory's mmlu.py / ceval.py / cmmlu.py dataset scripts read after extracting the zip). The split
// "train" is the dev split (the few-shot pool), "validation" is val, "test" is test.
//
// Differences from LLaMA-Factory, on purpose:
//   * the support set of each question is drawn with a seeded shuffle (`seed` and the subject name), so a run
//     can be repeated; LLaMA-Factory's `dataset["train"].shuffle()` is unseeded and differs on every run;
//   * CSV cells are used as written; LLaMA-Factory goes through pandas, which turns an all-number column into
//     numbers ("2.0" for "2" when another cell of the column is "2.5") and an empty cell into "None".
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lathe {

struct BenchmarkRow
{
    std::string question;
    std::array<std::string, 4> choices; ///< A, B, C, D
    char answer = 'A';                  ///< 'A'..'D'
    std::size_t line = 0;               ///< first line of the row in its file (1-based)
};

struct BenchmarkSubject
{
    std::string key;      ///< mapping.json's key (file names)
    std::string name;     ///< display name, substituted for {subject}
    std::string category; ///< STEM, Social Sciences, Humanities or Other
    std::vector<BenchmarkRow> dev;  ///< the few-shot pool ("train")
    std::vector<BenchmarkRow> rows; ///< the evaluated split
    std::filesystem::path rowsFile;
};

struct BenchmarkTask
{
    std::string name;  ///< mmlu
    std::string split; ///< test, validation, train
    std::filesystem::path dir;
    std::vector<BenchmarkSubject> subjects; ///< mapping.json's order
    std::size_t rowCount() const;
};

/// Reads <taskDir>/<name>/ for task "<name>_<split>". Throws lathe::Error naming the file (and line, row or key)
/// for a missing mapping.json or subject file, a malformed CSV row, an answer outside A-D, an unknown category,
/// and a split without answers. `needDev`: the dev split must have rows (n_shot > 0).
BenchmarkTask loadBenchmarkTask(const std::filesystem::path& taskDir, const std::string& task, bool needDev);

/// The rows of one CSV file (RFC 4180 quoting, records may span lines). `hasHeader`: the first record names
/// the columns (question, A, B, C, D, answer; any case, other columns ignored); otherwise the columns are
/// those six in order.
std::vector<BenchmarkRow> readBenchmarkCsv(const std::filesystem::path& file, bool hasHeader, bool answersRequired);

/// LLaMA-Factory's eval templates (eval/template.py): "en" and "zh".
struct EvalTemplate
{
    std::string system; ///< with {subject}
    std::string choice; ///< with {choice} and {content}
    std::string answer;
};
/// Throws lathe::Error listing the languages for an unknown one.
const EvalTemplate& evalTemplate(const std::string& lang);

/// How a choice is scored: the letter's logit (LLaMA-Factory), or the mean loss of the completed answer.
enum class BenchmarkMode
{
    Logits,
    Perplexity,
};

/// The conversation LLaMA-Factory's format_example builds: for each support row a user turn (question, the
/// choices, the answer cue) and an assistant turn (its letter), then the target's user turn and its answer;
/// the system text with {subject} prepended to the first user turn. Even size, alternating user/assistant.
/// In Perplexity mode an assistant turn is the completed answer ("B. text") instead of the letter alone.
std::vector<std::string> formatBenchmarkExample(const BenchmarkRow& target, const std::vector<const BenchmarkRow*>& support,
                                                const std::string& subjectName, const EvalTemplate& tpl,
                                                BenchmarkMode mode = BenchmarkMode::Logits);

/// The assistant text for `choice` (0..3) of `row`: "A" (Logits) or "A. <choice text>" (Perplexity).
std::string benchmarkAnswer(const BenchmarkRow& row, int choice, BenchmarkMode mode);

/// The support set of each row of `subject`: min(nShot, dev size) dev rows after a seeded shuffle of the dev
/// split, drawn afresh for every row (as LLaMA-Factory's shuffle().select(range(n)) per row).
std::vector<std::vector<const BenchmarkRow*>> benchmarkSupportSets(const BenchmarkSubject& subject, int nShot,
                                                                   std::uint64_t seed);

/// The four categories and "Average", in LLaMA-Factory's order (Average first).
const std::vector<std::string>& benchmarkCategories();

/// Predictions of one run and their scores.
struct BenchmarkScores
{
    std::map<std::string, std::pair<std::size_t, std::size_t>> category; ///< correct, total
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> subject; ///< task order
};
BenchmarkScores scoreBenchmark(const BenchmarkTask& task, const std::vector<std::vector<char>>& predictions);

/// results.log as LLaMA-Factory writes it: "{category:>15}: {100*mean:.2f}" per category with rows, Average first,
/// joined by newlines, no final newline.
std::string benchmarkResultsLog(const BenchmarkScores& scores);

} // namespace lathe

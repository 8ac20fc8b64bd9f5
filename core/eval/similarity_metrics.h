// BLEU-4 and ROUGE-1/2/L of a generated answer against its reference, as LLaMA-Factory's ComputeSimilarity
// (train/sft/metric.py) computes them for predict_with_generate (reference section 7):
//
//   bleu-4  nltk sentence_bleu([list(label)], list(pred), weights (0.25,)*4, SmoothingFunction().method3):
//           over Unicode characters, clipped n-gram counts, NIST geometric smoothing of zero counts,
//           brevity penalty; x100, round(., 4).
//   rouge-* rouge_chinese Rouge().get_scores(" ".join(words(pred)), " ".join(words(label)))[0][k]["f"]:
//           sentences cut at 。！？? (cut_sent), n-gram *sets* (exclusive=True), summary-level LCS over the
//           set of LCS tokens; x100, round(., 4). 0 when either side has no words.
//
// words() stands in for jieba.cut, which Lathe does not have (no dictionary, no HMM): every CJK character is
// its own word, a run of ASCII letters/digits (with an optional ".digits" and "%", as jieba's HMM fallback
// keeps "3.14" and "50%") is one word, every whitespace character is its own token and every other character
// (punctuation, other scripts) is a word of one character. For English and other space-separated text this
// is what jieba yields; for Chinese jieba groups characters into dictionary words ("今天", "天气"), so
// ROUGE on Chinese here counts character n-grams, which usually scores higher than word n-grams. BLEU does not
// depend on the segmentation (it is character-level in LLaMA-Factory too).
//
// Plain C++17, no torch, no Qt. Text is UTF-8; invalid bytes count as one U+FFFD character each.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace lathe {

/// The scores of one (prediction, label) pair, each x100 and rounded to 4 decimals as LLaMA-Factory stores them.
struct SimilarityScores
{
    double bleu4 = 0;
    double rouge1 = 0;
    double rouge2 = 0;
    double rougeL = 0;
};

/// UTF-8 to code points (invalid bytes become U+FFFD, one per byte).
std::u32string utf8ToCodePoints(const std::string& text);

/// `text` with every invalid byte replaced by U+FFFD (as tokenizers' lossy decoding); valid text unchanged.
std::string toValidUtf8(const std::string& text);

/// The jieba substitute described above: the tokens of `text`, whitespace tokens included (as jieba.cut).
std::vector<std::string> segmentWords(const std::string& text);

/// nltk's sentence_bleu with one reference, uniform 4-gram weights and smoothing method3, over the
/// characters of both strings. In [0, 1], not scaled.
double sentenceBleu4(const std::string& reference, const std::string& hypothesis);

/// F-scores of rouge_chinese's Rouge().get_scores(hyp, ref) (defaults: exclusive=True), in [0, 1], not
/// scaled. The inputs are already segmented (words separated by spaces).
struct RougeF
{
    double rouge1 = 0, rouge2 = 0, rougeL = 0;
};
RougeF rougeChineseScores(const std::string& hypothesis, const std::string& reference);

/// Python's round(x, 4).
double roundTo4(double x);

/// One sample as ComputeSimilarity scores it.
SimilarityScores similarityScores(const std::string& prediction, const std::string& label);

/// Per-sample scores averaged (np.mean of the rounded values), keyed "bleu-4", "rouge-1", "rouge-2",
/// "rouge-l" as LLaMA-Factory's score_dict.
class SimilarityAccumulator
{
public:
    void add(const std::string& prediction, const std::string& label);
    void add(const SimilarityScores& scores);
    std::size_t count() const { return m_count; }
    /// The means; all 0 when nothing was added (LLaMA-Factory would give NaN).
    std::map<std::string, double> means() const;

private:
    std::size_t m_count = 0;
    SimilarityScores m_sum;
};

} // namespace lathe

// BLEU-4 and ROUGE-1/2/L of a generated answer against its reference, as LLaMA-Factory's ComputeSimilarity
// (train/sft/metric.py) and scripts/eval_bleu_rouge.py compute them (reference section 7):
//
//   bleu-4  nltk sentence_bleu([list(label)], list(pred), weights (0.25,)*4, SmoothingFunction().method3):
//           over Unicode characters, clipped n-gram counts, NIST geometric smoothing of zero counts,
//           brevity penalty; x100, round(., 4).
//   rouge-* rouge_chinese Rouge().get_scores(" ".join(jieba.cut(pred)), " ".join(jieba.cut(label)))[0][k]["f"]:
//           sentences cut at 。！？? (cut_sent), words split on single spaces (a whitespace-only sentence is the
//           empty word), n-gram *sets* (exclusive=True), ROUGE-L the LCS of the whole word lists; x100,
//           round(., 4). 0 when either side has no words.
//
// The words come from JiebaSegmenter (jieba's own dictionary and HMM, read from Debian's python3-jieba). Where
// jieba's data is not installed, segmentWords() stands in: every CJK character is its own word, a run of ASCII
// letters/digits (with an optional ".digits" and "%") is one word, every whitespace character is its own token
// and every other character a word of one character. For English text that is what jieba yields; on Chinese it
// counts character n-grams, which scores higher than LLaMA-Factory, so callers say so (similarityWordsSource).
// BLEU does not depend on the segmentation (it is character-level in LLaMA-Factory too).
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

/// Python's str.isspace() (re's \s on str patterns), which jieba and rouge_chinese split on.
bool isPythonSpace(char32_t c);

/// Code points to UTF-8.
std::string codePointsToUtf8(const std::u32string& text);

/// `text` with every invalid byte replaced by U+FFFD (as tokenizers' lossy decoding); valid text unchanged.
std::string toValidUtf8(const std::string& text);

class JiebaSegmenter;

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

/// The words rouge_chinese scores for an already segmented text (tokens joined by single spaces): cut_sent,
/// whitespace runs collapsed, split on " " (whitespace-only sentences give the empty word).
std::vector<std::string> rougeWords(const std::string& joinedTokens);

/// Python's round(x, 4).
double roundTo4(double x);

/// One sample as ComputeSimilarity scores it, the words cut by `jieba` (nullptr: segmentWords()).
SimilarityScores similarityScores(const std::string& prediction, const std::string& label, const JiebaSegmenter* jieba);
/// The same with JiebaSegmenter::shared() (segmentWords() when jieba's data is not installed).
SimilarityScores similarityScores(const std::string& prediction, const std::string& label);

/// What similarityScores(prediction, label) segments with: "jieba" or, when jieba's data is missing, a sentence
/// saying that ROUGE is counted on characters and why.
std::string similarityWordsSource();

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

#include "eval/similarity_metrics.h"

#include "eval/jieba_segmenter.h"
#include "util/utf8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace lathe {

namespace {

// ---------------------------------------------------------------------------------------------------------
// Characters
// ---------------------------------------------------------------------------------------------------------



bool isAsciiAlnum(char32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isDigit(char32_t c)
{
    return c >= '0' && c <= '9';
}

// Python's str.split() with no argument: runs of whitespace separate, no empty pieces.
std::vector<std::u32string> pySplit(const std::u32string& s)
{
    std::vector<std::u32string> out;
    std::u32string cur;
    for (char32_t c : s) {
        if (isPythonSpace(c)) {
            if (!cur.empty())
                out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty())
        out.push_back(std::move(cur));
    return out;
}

// Python's s.split(" "): every single space separates, empty pieces kept.
std::vector<std::u32string> splitOnSpace(const std::u32string& s)
{
    std::vector<std::u32string> out(1);
    for (char32_t c : s) {
        if (c == U' ')
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// rouge_chinese: Rouge.cut_sent and rouge_score.py (exclusive=True: n-grams are sets)
// ---------------------------------------------------------------------------------------------------------

bool oneOf(char32_t c, const std::u32string& set)
{
    return set.find(c) != std::u32string::npos;
}

const std::u32string kEnders = U"。！？?";
const std::u32string kQuotes = U"”’";

// re.sub(pattern, r"\1\n\2", s) for a pattern "<head of `headLen` chars>(<one char not in `notNext`>)": scans
// left to right and resumes after each match, as re.sub does.
template <typename Head>
std::u32string insertBreaks(const std::u32string& s, std::size_t headLen, Head head, const std::u32string& notNext)
{
    std::u32string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (i + headLen < s.size() && head(i) && !oneOf(s[i + headLen], notNext)) {
            out.append(s, i, headLen);
            out += U'\n';
            out += s[i + headLen];
            i += headLen + 1;
        } else {
            out += s[i++];
        }
    }
    return out;
}

// Rouge.cut_sent: the four re.sub passes, rstrip(), split("\n").
std::vector<std::u32string> cutSentences(std::u32string para)
{
    para = insertBreaks(para, 1, [&](std::size_t i) { return oneOf(para[i], kEnders); }, kQuotes);
    para = insertBreaks(para, 6,
                        [&](std::size_t i) {
                            for (std::size_t k = 0; k < 6; ++k)
                                if (para[i + k] != U'.')
                                    return false;
                            return true;
                        },
                        kQuotes);
    para = insertBreaks(para, 2, [&](std::size_t i) { return para[i] == U'…' && para[i + 1] == U'…'; },
                        kQuotes);
    para = insertBreaks(para, 2, [&](std::size_t i) { return oneOf(para[i], kEnders) && oneOf(para[i + 1], kQuotes); },
                        U"，。！？?");
    while (!para.empty() && isPythonSpace(para.back()))
        para.pop_back();
    std::vector<std::u32string> out(1);
    for (char32_t c : para) {
        if (c == U'\n')
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

// Rouge._get_scores: [" ".join(_.split()) for _ in cut_sent(text) if len(_) > 0]
std::vector<std::u32string> sentencesOf(const std::string& text)
{
    std::vector<std::u32string> out;
    for (const auto& piece : cutSentences(utf8ToCodePoints(text))) {
        if (piece.empty())
            continue;
        std::u32string joined;
        for (const auto& w : pySplit(piece)) {
            if (!joined.empty())
                joined += U' ';
            joined += w;
        }
        out.push_back(std::move(joined)); // may be "" (a piece of whitespace only), as in Python
    }
    return out;
}

// _split_into_words: every sentence split on " ", flattened.
std::vector<std::u32string> wordsOf(const std::vector<std::u32string>& sentences)
{
    std::vector<std::u32string> words;
    for (const auto& s : sentences)
        for (auto& w : splitOnSpace(s))
            words.push_back(std::move(w));
    return words;
}

std::set<std::vector<std::u32string>> ngramSet(const std::vector<std::u32string>& words, std::size_t n)
{
    std::set<std::vector<std::u32string>> out;
    for (std::size_t i = 0; i + n <= words.size(); ++i)
        out.insert(std::vector<std::u32string>(words.begin() + std::ptrdiff_t(i), words.begin() + std::ptrdiff_t(i + n)));
    return out;
}

// f_r_p_rouge_n
double rougeF(std::size_t evaluated, std::size_t reference, std::size_t overlapping)
{
    const double precision = evaluated == 0 ? 0.0 : double(overlapping) / double(evaluated);
    const double recall = reference == 0 ? 0.0 : double(overlapping) / double(reference);
    return 2.0 * ((precision * recall) / (precision + recall + 1e-8));
}

double rougeN(const std::vector<std::u32string>& hypWords, const std::vector<std::u32string>& refWords, std::size_t n)
{
    const auto hyp = ngramSet(hypWords, n), ref = ngramSet(refWords, n);
    std::size_t overlap = 0;
    for (const auto& g : hyp)
        overlap += ref.count(g);
    return rougeF(hyp.size(), ref.size(), overlap);
}

// rouge_l: the LCS of the whole word lists (repeats kept), p = lcs/|hyp|, r = lcs/|ref|.
double rougeL(const std::vector<std::u32string>& hypWords, const std::vector<std::u32string>& refWords)
{
    const std::size_t n = hypWords.size(), m = refWords.size();
    if (n == 0 || m == 0)
        return 0.0;
    std::vector<std::size_t> prev(m + 1, 0), cur(m + 1, 0);
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j)
            cur[j] = hypWords[i - 1] == refWords[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
        std::swap(prev, cur);
    }
    const double lcs = double(prev[m]);
    const double p = lcs / double(n), r = lcs / double(m);
    return 2.0 * ((p * r) / (p + r + 1e-8));
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// Public
// ---------------------------------------------------------------------------------------------------------

bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

std::u32string utf8ToCodePoints(const std::string& text)
{
    return utf8::toCodePoints(text);
}

std::string codePointsToUtf8(const std::u32string& text)
{
    return utf8::fromCodePoints(text);
}

std::vector<std::string> rougeWords(const std::string& joinedTokens)
{
    std::vector<std::string> out;
    for (const auto& w : wordsOf(sentencesOf(joinedTokens)))
        out.push_back(utf8::fromCodePoints(w));
    return out;
}

std::string toValidUtf8(const std::string& text)
{
    return utf8::fromCodePoints(utf8ToCodePoints(text));
}

std::vector<std::string> segmentWords(const std::string& text)
{
    const std::u32string s = utf8ToCodePoints(text);
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char32_t c = s[i];
        if (c == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') { // jieba's re_skip keeps "\r\n" whole
            out.push_back("\r\n");
            i += 2;
        } else if (isAsciiAlnum(c)) {
            // [a-zA-Z0-9]+(?:\.\d+)?%?  (jieba's finalseg re_skip)
            std::size_t j = i;
            while (j < s.size() && isAsciiAlnum(s[j]))
                ++j;
            if (j + 1 < s.size() && s[j] == U'.' && isDigit(s[j + 1])) {
                ++j;
                while (j < s.size() && isDigit(s[j]))
                    ++j;
            }
            if (j < s.size() && s[j] == U'%')
                ++j;
            out.push_back(utf8::fromCodePoints(s.substr(i, j - i)));
            i = j;
        } else {
            out.push_back(utf8::fromCodePoints(std::u32string(1, c))); // a CJK character, a space, punctuation, ...
            ++i;
        }
    }
    return out;
}

double sentenceBleu4(const std::string& reference, const std::string& hypothesis)
{
    const std::u32string ref = utf8ToCodePoints(reference), hyp = utf8ToCodePoints(hypothesis);
    long long numerators[4] = {0, 0, 0, 0}, denominators[4] = {1, 1, 1, 1};
    for (std::size_t n = 1; n <= 4; ++n) {
        // modified_precision: hypothesis n-gram counts clipped by the reference's; denominator max(1, total).
        std::map<std::u32string, long long> hypCounts, refCounts;
        for (std::size_t i = 0; i + n <= hyp.size(); ++i)
            ++hypCounts[hyp.substr(i, n)];
        for (std::size_t i = 0; i + n <= ref.size(); ++i)
            ++refCounts[ref.substr(i, n)];
        long long clipped = 0, total = 0;
        for (const auto& [gram, count] : hypCounts) {
            total += count;
            const auto it = refCounts.find(gram);
            clipped += std::min(count, it == refCounts.end() ? 0LL : it->second);
        }
        numerators[n - 1] = clipped;
        denominators[n - 1] = std::max(1LL, total);
    }
    if (numerators[0] == 0)
        return 0.0;
    // brevity_penalty(closest_ref_len, hyp_len)
    const double hypLen = double(hyp.size()), refLen = double(ref.size());
    const double bp = hypLen > refLen ? 1.0 : hypLen == 0 ? 0.0 : std::exp(1.0 - refLen / hypLen);
    // SmoothingFunction().method3: the k-th zero precision becomes 1 / (2^k * denominator).
    double logSum = 0;
    int k = 1;
    for (int n = 0; n < 4; ++n) {
        double p;
        if (numerators[n] == 0) {
            p = 1.0 / (std::ldexp(1.0, k) * double(denominators[n]));
            ++k;
        } else {
            p = double(numerators[n]) / double(denominators[n]);
        }
        logSum += 0.25 * std::log(p);
    }
    return bp * std::exp(logSum);
}

RougeF rougeChineseScores(const std::string& hypothesis, const std::string& reference)
{
    const auto hyp = sentencesOf(hypothesis), ref = sentencesOf(reference);
    RougeF f;
    if (hyp.empty() || ref.empty()) // rouge_score raises ValueError; ComputeSimilarity never gets here
        return f;
    const auto hypWords = wordsOf(hyp), refWords = wordsOf(ref);
    f.rouge1 = rougeN(hypWords, refWords, 1);
    f.rouge2 = rougeN(hypWords, refWords, 2);
    f.rougeL = rougeL(hypWords, refWords);
    return f;
}

double roundTo4(double x)
{
    // printf rounds the exact binary value, as Python's round() does.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", x);
    return std::strtod(buf, nullptr);
}

SimilarityScores similarityScores(const std::string& prediction, const std::string& label)
{
    return similarityScores(prediction, label, JiebaSegmenter::shared().get());
}

std::string similarityWordsSource()
{
    std::string why;
    if (JiebaSegmenter::shared(&why))
        return "jieba";
    return "ROUGE is counted on characters, not on jieba's words as LLaMA-Factory does: " + why;
}

SimilarityScores similarityScores(const std::string& prediction, const std::string& label, const JiebaSegmenter* jieba)
{
    auto joined = [](const std::vector<std::string>& words, bool& hasWord) {
        std::string out;
        hasWord = false;
        for (std::size_t i = 0; i < words.size(); ++i) {
            if (i)
                out += ' ';
            out += words[i];
        }
        // len(" ".join(words).split()) > 0
        for (char32_t c : utf8ToCodePoints(out))
            hasWord |= !isPythonSpace(c);
        return out;
    };
    bool predHasWord = false, labelHasWord = false;
    const auto words = [&](const std::string& text) { return jieba ? jieba->cut(text) : segmentWords(text); };
    const std::string hyp = joined(words(prediction), predHasWord);
    const std::string ref = joined(words(label), labelHasWord);
    SimilarityScores s;
    if (predHasWord && labelHasWord) {
        const auto f = rougeChineseScores(hyp, ref);
        s.rouge1 = roundTo4(f.rouge1 * 100);
        s.rouge2 = roundTo4(f.rouge2 * 100);
        s.rougeL = roundTo4(f.rougeL * 100);
    }
    s.bleu4 = roundTo4(sentenceBleu4(label, prediction) * 100);
    return s;
}

void SimilarityAccumulator::add(const std::string& prediction, const std::string& label)
{
    add(similarityScores(prediction, label));
}

void SimilarityAccumulator::add(const SimilarityScores& s)
{
    m_sum.bleu4 += s.bleu4;
    m_sum.rouge1 += s.rouge1;
    m_sum.rouge2 += s.rouge2;
    m_sum.rougeL += s.rougeL;
    ++m_count;
}

std::map<std::string, double> SimilarityAccumulator::means() const
{
    const double n = m_count ? double(m_count) : 1.0;
    return {{"bleu-4", m_sum.bleu4 / n},
            {"rouge-1", m_sum.rouge1 / n},
            {"rouge-2", m_sum.rouge2 / n},
            {"rouge-l", m_sum.rougeL / n}};
}

} // namespace lathe

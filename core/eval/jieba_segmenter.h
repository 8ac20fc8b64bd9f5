// Chinese word segmentation as jieba 0.42.1's default mode (`jieba.cut(text)`, cut_all=False, HMM on or off),
// which LLaMA-Factory applies to every prediction and label before rouge_chinese scores them.
//
// The segmenter is C++; it reads jieba's own data files, which Debian's `python3-jieba` installs (no Python runs):
//   dict.txt                 "word freq tag" per line: the prefix dictionary (every prefix of a word is kept
//                            with frequency 0, so the DAG scan can go on through it)
//   finalseg/prob_start.py   HMM log-probabilities over the states B, M, E, S as Python dict literals
//   finalseg/prob_trans.py
//   finalseg/prob_emit.py
//
// The algorithm, as jieba/__init__.py and jieba/finalseg/__init__.py write it:
//   1. The text splits into runs of [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] and the rest. The rest yields each
//      whitespace character ("\r\n" as one) and every other character as a token of its own.
//   2. A run becomes a DAG (k -> every i with text[k..i] a nonzero-frequency word) and takes the route of
//      maximum log-probability, log(freq or 1) - log(total) per word, ties to the larger end index.
//   3. HMM on: consecutive one-character words of the route are buffered; a buffer of two or more characters
//      that is not itself a dictionary word goes through the BMES Viterbi (CJK runs) or stays whole as
//      [a-zA-Z0-9]+(\.\d+)?%? pieces and the text between them. HMM off: only runs of single ASCII letters or
//      digits are merged.
//
// Thread-safe after construction (every method is const). Plain C++17: no torch, no Qt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lathe {

class JiebaSegmenter
{
public:
    /// Reads dict.txt and finalseg/prob_{start,trans,emit}.py under `jiebaDir` (the folder of jieba's
    /// __init__.py). Throws lathe::Error naming the file and line of anything it cannot read.
    static std::shared_ptr<const JiebaSegmenter> load(const std::filesystem::path& jiebaDir);

    /// Where jieba's data is looked for: $LATHE_JIEBA_DIR, then Debian's python3-jieba
    /// (/usr/lib/python3/dist-packages/jieba), then /usr/share/lathe/jieba. Empty when none holds dict.txt.
    static std::filesystem::path findDataDir();

    /// The segmenter of findDataDir(), loaded once per process and shared; nullptr when jieba's data is not
    /// installed or cannot be read (`why`, when given, then says which and how to install it).
    static std::shared_ptr<const JiebaSegmenter> shared(std::string* why = nullptr);

    /// jieba.lcut(text, HMM=hmm): the tokens, whitespace tokens included, concatenating back to `text`.
    std::vector<std::u32string> cut(const std::u32string& text, bool hmm = true) const;
    /// The same on UTF-8 (invalid bytes become U+FFFD, one per byte).
    std::vector<std::string> cut(const std::string& text, bool hmm = true) const;

    std::size_t dictionarySize() const { return m_freq.size(); }

private:
    JiebaSegmenter() = default;

    void cutBlock(const std::u32string& block, bool hmm, std::vector<std::u32string>& out) const;
    void cutDagHmm(const std::u32string& s, std::vector<std::u32string>& out) const;
    void cutDagNoHmm(const std::u32string& s, std::vector<std::u32string>& out) const;
    void finalsegCut(const std::u32string& s, std::vector<std::u32string>& out) const;
    void viterbi(const std::u32string& s, std::vector<std::u32string>& out) const;
    /// route[k] = (best log-probability from k, end index of the word taken at k)
    std::vector<std::pair<double, std::size_t>> bestRoute(const std::u32string& s) const;
    std::int64_t frequency(const std::u32string& word) const; // -1 when not a key

    std::unordered_map<std::u32string, std::int64_t> m_freq; // words and their prefixes (0)
    double m_logTotal = 0;

    // HMM: states B=0, M=1, E=2, S=3
    double m_start[4] = {};
    double m_trans[4][4] = {}; // m_trans[from][to], kMinFloat when absent
    std::unordered_map<char32_t, double> m_emit[4];
};

} // namespace lathe

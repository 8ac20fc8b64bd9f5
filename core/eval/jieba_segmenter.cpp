#include "eval/jieba_segmenter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "eval/similarity_metrics.h"
#include "util/error.h"

namespace lathe {

namespace fs = std::filesystem;

namespace {

constexpr double kMinFloat = -3.14e100; // finalseg.MIN_FLOAT
constexpr char kStates[4] = {'B', 'M', 'E', 'S'};
// finalseg.PrevStatus: the states each state may follow.
constexpr int kPrev[4][2] = {{2, 3} /*B: E S*/, {1, 0} /*M: M B*/, {0, 1} /*E: B M*/, {3, 2} /*S: S E*/};

int stateIndex(char c)
{
    switch (c) {
    case 'B': return 0;
    case 'M': return 1;
    case 'E': return 2;
    case 'S': return 3;
    default: return -1;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Characters, as jieba's regular expressions see them
// ---------------------------------------------------------------------------------------------------------

bool isAsciiAlnum(char32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isHan(char32_t c) // [\u4E00-\u9FD5]
{
    return c >= 0x4E00 && c <= 0x9FD5;
}

bool inHanDefault(char32_t c) // re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]
{
    return isHan(c) || isAsciiAlnum(c) || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' || c == '%' ||
           c == '-';
}

// ---------------------------------------------------------------------------------------------------------
// The HMM tables: `P={...}` Python dict literals of str -> float or str -> {str -> float}
// ---------------------------------------------------------------------------------------------------------

class PyDictReader
{
public:
    PyDictReader(std::string text, std::string file) : m_text(std::move(text)), m_file(std::move(file)) {}

    // Positions at the value of "P=".
    void seekAssignment()
    {
        std::size_t at = 0;
        while ((at = m_text.find("P", at)) != std::string::npos) {
            std::size_t j = at + 1;
            while (j < m_text.size() && (m_text[j] == ' ' || m_text[j] == '\t'))
                ++j;
            if ((at == 0 || m_text[at - 1] == '\n') && j < m_text.size() && m_text[j] == '=') {
                m_pos = j + 1;
                return;
            }
            at = j;
        }
        fail("no `P = {...}` assignment");
    }

    void expect(char c)
    {
        skipSpace();
        if (m_pos >= m_text.size() || m_text[m_pos] != c)
            fail(std::string("expected '") + c + "'");
        ++m_pos;
    }

    // Calls item(key) for each key; item reads the value. Returns at the closing brace.
    template <typename Item>
    void dict(Item item)
    {
        expect('{');
        for (;;) {
            skipSpace();
            if (peek() == '}') {
                ++m_pos;
                return;
            }
            const std::u32string key = string();
            expect(':');
            item(key);
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            expect('}');
            return;
        }
    }

    double number()
    {
        skipSpace();
        const char* begin = m_text.c_str() + m_pos;
        char* end = nullptr;
        const double v = std::strtod(begin, &end);
        if (end == begin)
            fail("expected a number");
        m_pos += std::size_t(end - begin);
        return v;
    }

    [[noreturn]] void fail(const std::string& what) const
    {
        const auto line = 1 + std::count(m_text.begin(), m_text.begin() + std::ptrdiff_t(std::min(m_pos, m_text.size())), '\n');
        throw Error(m_file + ":" + std::to_string(line) + ": " + what + " (jieba's HMM table)");
    }

private:
    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

    void skipSpace()
    {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' || m_text[m_pos] == '\r' ||
                                         m_text[m_pos] == '\t'))
            ++m_pos;
    }

    std::u32string string()
    {
        skipSpace();
        const char quote = peek();
        if (quote != '\'' && quote != '"')
            fail("expected a string");
        ++m_pos;
        std::string raw;
        while (m_pos < m_text.size() && m_text[m_pos] != quote) {
            if (m_text[m_pos] == '\\' && m_pos + 1 < m_text.size()) {
                const char e = m_text[m_pos + 1];
                if (e == 'u' || e == 'U' || e == 'x') {
                    const std::size_t digits = e == 'u' ? 4 : e == 'U' ? 8 : 2;
                    if (m_pos + 2 + digits > m_text.size())
                        fail("truncated escape");
                    const std::string hex = m_text.substr(m_pos + 2, digits);
                    char* end = nullptr;
                    const unsigned long cp = std::strtoul(hex.c_str(), &end, 16);
                    if (end != hex.c_str() + digits)
                        fail("bad escape \\" + std::string(1, e) + hex);
                    raw += codePointsToUtf8(std::u32string(1, char32_t(cp)));
                    m_pos += 2 + digits;
                    continue;
                }
                raw += e == 'n' ? '\n' : e == 't' ? '\t' : e;
                m_pos += 2;
                continue;
            }
            raw += m_text[m_pos++];
        }
        if (m_pos >= m_text.size())
            fail("unterminated string");
        ++m_pos;
        return utf8ToCodePoints(raw);
    }

    std::string m_text;
    std::string m_file;
    std::size_t m_pos = 0;
};

std::string readAll(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path.string() + ": cannot be read (jieba's data)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int stateOf(const std::u32string& key, PyDictReader& reader)
{
    const int s = key.size() == 1 && key[0] < 128 ? stateIndex(char(key[0])) : -1;
    if (s < 0)
        reader.fail("a state other than B, M, E, S");
    return s;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------------

std::shared_ptr<const JiebaSegmenter> JiebaSegmenter::load(const fs::path& dir)
{
    std::shared_ptr<JiebaSegmenter> seg(new JiebaSegmenter());

    // dict.txt, as gen_pfdict reads it: strip(), split(' ')[:2], int(freq); later lines replace earlier ones.
    const fs::path dictPath = dir / "dict.txt";
    const std::string dict = readAll(dictPath);
    seg->m_freq.reserve(600000);
    std::int64_t total = 0;
    std::size_t lineNo = 0, pos = 0;
    while (pos < dict.size()) {
        std::size_t end = dict.find('\n', pos);
        if (end == std::string::npos)
            end = dict.size();
        ++lineNo;
        std::size_t a = pos, b = end;
        pos = end + 1;
        auto asciiSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
        while (a < b && asciiSpace(dict[a]))
            ++a;
        while (b > a && asciiSpace(dict[b - 1]))
            --b;
        const std::string line = dict.substr(a, b - a);
        const std::size_t sp = line.find(' ');
        const auto bad = [&](const char* why) {
            return Error(dictPath.string() + ":" + std::to_string(lineNo) + ": invalid dictionary entry (" +
                                      why + "): " + line.substr(0, 80));
        };
        if (sp == std::string::npos)
            throw bad("no frequency");
        const std::size_t sp2 = line.find(' ', sp + 1);
        const std::string freqText = line.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1);
        char* endp = nullptr;
        const long long freq = std::strtoll(freqText.c_str(), &endp, 10);
        if (freqText.empty() || *endp != '\0')
            throw bad("the frequency is not an integer");
        const std::string wordUtf8 = line.substr(0, sp);
        const std::u32string word = utf8ToCodePoints(wordUtf8);
        if (codePointsToUtf8(word) != wordUtf8)
            throw bad("not UTF-8");
        seg->m_freq[word] = freq;
        total += freq;
        for (std::size_t n = 1; n < word.size(); ++n)
            seg->m_freq.try_emplace(word.substr(0, n), 0);
    }
    if (total <= 0)
        throw Error(dictPath.string() + ": no words with a frequency (jieba's dictionary)");
    seg->m_logTotal = std::log(double(total));

    // The HMM tables.
    std::fill(&seg->m_trans[0][0], &seg->m_trans[0][0] + 16, kMinFloat);
    {
        const fs::path p = dir / "finalseg" / "prob_start.py";
        PyDictReader r(readAll(p), p.string());
        r.seekAssignment();
        bool seen[4] = {};
        r.dict([&](const std::u32string& key) {
            const int s = stateOf(key, r);
            seg->m_start[s] = r.number();
            seen[s] = true;
        });
        if (!std::all_of(seen, seen + 4, [](bool b) { return b; }))
            r.fail("a state is missing");
    }
    {
        const fs::path p = dir / "finalseg" / "prob_trans.py";
        PyDictReader r(readAll(p), p.string());
        r.seekAssignment();
        r.dict([&](const std::u32string& from) {
            const int f = stateOf(from, r);
            r.dict([&](const std::u32string& to) { seg->m_trans[f][stateOf(to, r)] = r.number(); });
        });
    }
    {
        const fs::path p = dir / "finalseg" / "prob_emit.py";
        PyDictReader r(readAll(p), p.string());
        r.seekAssignment();
        r.dict([&](const std::u32string& state) {
            const int s = stateOf(state, r);
            r.dict([&](const std::u32string& ch) {
                if (ch.size() != 1)
                    r.fail("an emission key that is not one character");
                seg->m_emit[s][ch[0]] = r.number();
            });
        });
    }
    return seg;
}

fs::path JiebaSegmenter::findDataDir()
{
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("LATHE_JIEBA_DIR"); env && *env)
        candidates.emplace_back(env);
    candidates.emplace_back("/usr/lib/python3/dist-packages/jieba");
    candidates.emplace_back("/usr/share/lathe/jieba");
    for (const auto& dir : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(dir / "dict.txt", ec))
            return dir;
    }
    return {};
}

std::shared_ptr<const JiebaSegmenter> JiebaSegmenter::shared(std::string* why)
{
    static std::once_flag once;
    static std::shared_ptr<const JiebaSegmenter> instance;
    static std::string failure;
    std::call_once(once, [] {
        const fs::path dir = findDataDir();
        if (dir.empty()) {
            failure = "jieba's dictionary was not found (install Debian's python3-jieba, or set LATHE_JIEBA_DIR to "
                      "a folder holding jieba's dict.txt and finalseg/)";
            return;
        }
        try {
            instance = load(dir);
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    if (!instance && why)
        *why = failure;
    return instance;
}

// ---------------------------------------------------------------------------------------------------------
// Segmentation
// ---------------------------------------------------------------------------------------------------------

std::int64_t JiebaSegmenter::frequency(const std::u32string& word) const
{
    const auto it = m_freq.find(word);
    return it == m_freq.end() ? -1 : it->second;
}

std::vector<std::pair<double, std::size_t>> JiebaSegmenter::bestRoute(const std::u32string& s) const
{
    // get_DAG + calc
    const std::size_t n = s.size();
    std::vector<std::pair<double, std::size_t>> route(n + 1, {0.0, 0});
    std::vector<std::vector<std::size_t>> dag(n);
    std::u32string frag;
    for (std::size_t k = 0; k < n; ++k) {
        frag.assign(1, s[k]);
        std::size_t i = k;
        for (;;) {
            const auto it = m_freq.find(frag);
            if (it == m_freq.end())
                break;
            if (it->second)
                dag[k].push_back(i);
            if (++i >= n)
                break;
            frag += s[i];
        }
        if (dag[k].empty())
            dag[k].push_back(k);
    }
    for (std::size_t idx = n; idx-- > 0;) {
        bool first = true;
        std::pair<double, std::size_t> best{0.0, 0};
        for (std::size_t x : dag[idx]) {
            const std::int64_t f = frequency(s.substr(idx, x + 1 - idx));
            const double score = std::log(double(f > 0 ? f : 1)) - m_logTotal + route[x + 1].first;
            const std::pair<double, std::size_t> cand{score, x};
            if (first || cand > best)
                best = cand;
            first = false;
        }
        route[idx] = best;
    }
    return route;
}

void JiebaSegmenter::viterbi(const std::u32string& obs, std::vector<std::u32string>& out) const
{
    const std::size_t n = obs.size();
    if (n == 0)
        return;
    auto emit = [&](int state, char32_t c) {
        const auto it = m_emit[state].find(c);
        return it == m_emit[state].end() ? kMinFloat : it->second;
    };
    std::vector<std::array<double, 4>> v(n);
    std::vector<std::array<int, 4>> back(n);
    for (int y = 0; y < 4; ++y)
        v[0][y] = m_start[y] + emit(y, obs[0]);
    for (std::size_t t = 1; t < n; ++t) {
        for (int y = 0; y < 4; ++y) {
            const double em = emit(y, obs[t]);
            // max over (prob, state letter): ties go to the later letter, as Python's tuple max.
            int bestPrev = -1;
            double best = 0;
            for (int y0 : kPrev[y]) {
                const double p = v[t - 1][y0] + m_trans[y0][y] + em;
                if (bestPrev < 0 || p > best || (p == best && kStates[y0] > kStates[bestPrev])) {
                    best = p;
                    bestPrev = y0;
                }
            }
            v[t][y] = best;
            back[t][y] = bestPrev;
        }
    }
    // max((V[-1][y], y) for y in 'ES')
    int state = v[n - 1][3] >= v[n - 1][2] ? 3 : 2;
    std::vector<int> path(n);
    for (std::size_t t = n; t-- > 0;) {
        path[t] = state;
        if (t > 0)
            state = back[t][state];
    }
    std::size_t begin = 0, next = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const int pos = path[i];
        if (pos == 0) {
            begin = i;
        } else if (pos == 2) {
            out.push_back(obs.substr(begin, i + 1 - begin));
            next = i + 1;
        } else if (pos == 3) {
            out.emplace_back(1, obs[i]);
            next = i + 1;
        }
    }
    if (next < n)
        out.push_back(obs.substr(next));
}

void JiebaSegmenter::finalsegCut(const std::u32string& s, std::vector<std::u32string>& out) const
{
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = i;
        if (isHan(s[i])) {
            while (j < s.size() && isHan(s[j]))
                ++j;
            viterbi(s.substr(i, j - i), out);
            i = j;
            continue;
        }
        while (j < s.size() && !isHan(s[j]))
            ++j;
        // re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?): the matches and the text between them, empty pieces dropped
        const std::u32string block = s.substr(i, j - i);
        std::size_t k = 0, pending = 0;
        while (k < block.size()) {
            if (!isAsciiAlnum(block[k])) {
                ++k;
                continue;
            }
            std::size_t e = k;
            while (e < block.size() && isAsciiAlnum(block[e]))
                ++e;
            if (e + 1 < block.size() && block[e] == U'.' && block[e + 1] >= U'0' && block[e + 1] <= U'9') {
                e += 1;
                while (e < block.size() && block[e] >= U'0' && block[e] <= U'9')
                    ++e;
            }
            if (e < block.size() && block[e] == U'%')
                ++e;
            if (k > pending)
                out.push_back(block.substr(pending, k - pending));
            out.push_back(block.substr(k, e - k));
            pending = k = e;
        }
        if (block.size() > pending)
            out.push_back(block.substr(pending));
        i = j;
    }
}

void JiebaSegmenter::cutDagHmm(const std::u32string& s, std::vector<std::u32string>& out) const
{
    const auto route = bestRoute(s);
    std::u32string buf;
    auto flush = [&] {
        if (buf.empty())
            return;
        if (buf.size() == 1)
            out.push_back(buf);
        else if (frequency(buf) <= 0)
            finalsegCut(buf, out);
        else
            for (char32_t c : buf)
                out.emplace_back(1, c);
        buf.clear();
    };
    std::size_t x = 0;
    while (x < s.size()) {
        const std::size_t y = route[x].second + 1;
        if (y - x == 1) {
            buf += s[x];
        } else {
            flush();
            out.push_back(s.substr(x, y - x));
        }
        x = y;
    }
    flush();
}

void JiebaSegmenter::cutDagNoHmm(const std::u32string& s, std::vector<std::u32string>& out) const
{
    const auto route = bestRoute(s);
    std::u32string buf;
    std::size_t x = 0;
    while (x < s.size()) {
        const std::size_t y = route[x].second + 1;
        if (y - x == 1 && isAsciiAlnum(s[x])) {
            buf += s[x];
        } else {
            if (!buf.empty())
                out.push_back(std::move(buf));
            buf.clear();
            out.push_back(s.substr(x, y - x));
        }
        x = y;
    }
    if (!buf.empty())
        out.push_back(std::move(buf));
}

void JiebaSegmenter::cutBlock(const std::u32string& block, bool hmm, std::vector<std::u32string>& out) const
{
    if (hmm)
        cutDagHmm(block, out);
    else
        cutDagNoHmm(block, out);
}

std::vector<std::u32string> JiebaSegmenter::cut(const std::u32string& text, bool hmm) const
{
    std::vector<std::u32string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = i;
        if (inHanDefault(text[i])) {
            while (j < text.size() && inHanDefault(text[j]))
                ++j;
            cutBlock(text.substr(i, j - i), hmm, out);
        } else {
            // re_skip_default (\r\n|\s): each whitespace character ("\r\n" as one) and every other character alone
            while (j < text.size() && !inHanDefault(text[j])) {
                if (text[j] == U'\r' && j + 1 < text.size() && text[j + 1] == U'\n') {
                    out.emplace_back(U"\r\n");
                    j += 2;
                } else {
                    out.emplace_back(1, text[j]);
                    ++j;
                }
            }
        }
        i = j;
    }
    return out;
}

std::vector<std::string> JiebaSegmenter::cut(const std::string& text, bool hmm) const
{
    std::vector<std::string> out;
    for (const auto& w : cut(utf8ToCodePoints(text), hmm))
        out.push_back(codePointsToUtf8(w));
    return out;
}

} // namespace lathe

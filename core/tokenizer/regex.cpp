// PCRE2 wrapper (see regex.h). Match data and the JIT stack are per thread, so one compiled pattern
// serves every thread without locking.
#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {

// Per-thread scratch: the JIT stack (the default 32 KiB is too small for long whitespace runs) and a
// match-data block with room for the whole-match offsets.
struct MatchScratch
{
    pcre2_match_data* data = nullptr;
    pcre2_match_context* context = nullptr;
    pcre2_jit_stack* stack = nullptr;

    MatchScratch()
    {
        data = pcre2_match_data_create(1, nullptr);
        context = pcre2_match_context_create(nullptr);
        stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
        if (stack)
            pcre2_jit_stack_assign(context, nullptr, stack);
    }
    ~MatchScratch()
    {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
    }
};

MatchScratch& scratch()
{
    thread_local MatchScratch s;
    return s;
}

} // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : m_pattern(pattern)
{
    int errorCode = 0;
    PCRE2_SIZE errorOffset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(errorCode, message, sizeof message);
        fail(where, ": regex does not compile at offset ", errorOffset, ": ", reinterpret_cast<char*>(message),
             " (pattern ", pattern, ")");
    }
    m_code = code;
    m_jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex()
{
    pcre2_code_free(static_cast<pcre2_code*>(m_code));
}

void Regex::findAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const
{
    auto* code = static_cast<pcre2_code*>(m_code);
    MatchScratch& s = scratch();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t offset = 0;
    while (offset <= text.size()) {
        const int rc = m_jit ? pcre2_jit_match(code, subject, text.size(), offset, 0, s.data, s.context)
                             : pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, s.data, s.context);
        if (rc == PCRE2_ERROR_NOMATCH)
            return;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            fail("regex match failed (pattern ", m_pattern, "): ", reinterpret_cast<char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
        const std::size_t begin = ov[0], end = ov[1];
        if (end > begin) {
            out.emplace_back(begin, end);
            offset = end;
        } else {
            // An empty match yields nothing; step over one character as Oniguruma's iterator does.
            if (begin >= text.size())
                return;
            offset = begin + unicode::sequenceLength(static_cast<unsigned char>(text[begin]));
        }
    }
}

} // namespace lathe

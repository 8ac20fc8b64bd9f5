#include "util/json_text.h"

#include <algorithm>

namespace lathe {

std::size_t jsonNesting(std::string_view text)
{
    std::size_t depth = 0, deepest = 0;
    bool inString = false, escaped = false;
    for (const char c : text) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"')
            inString = true;
        else if (c == '[' || c == '{')
            deepest = std::max(deepest, ++depth);
        else if ((c == ']' || c == '}') && depth > 0)
            --depth;
    }
    return deepest;
}

void checkJsonNesting(std::string_view text, const std::string& what, std::size_t maxNesting)
{
    if (jsonNesting(text) > maxNesting)
        fail(what, ": JSON nests deeper than ", maxNesting, " levels");
}

} // namespace lathe

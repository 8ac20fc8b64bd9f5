// Errors the engine reports to its users.
//
// Every failure a user can cause (a malformed file, a bad setting, a missing tensor) is thrown as
// lathe::Error with a message that names the file, the record and the field, so the CLI can print it and
// the window can show it without either knowing where it came from.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lathe {

class Error : public std::runtime_error
{
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
inline void appendAll(std::ostringstream&) {}
template <typename T, typename... Rest>
void appendAll(std::ostringstream& out, T&& first, Rest&&... rest)
{
    out << std::forward<T>(first);
    appendAll(out, std::forward<Rest>(rest)...);
}
} // namespace detail

/// Concatenates its arguments with operator<< into one message.
template <typename... Parts>
std::string cat(Parts&&... parts)
{
    std::ostringstream out;
    detail::appendAll(out, std::forward<Parts>(parts)...);
    return out.str();
}

/// Throws lathe::Error built from the concatenated parts.
template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts)
{
    throw Error(cat(std::forward<Parts>(parts)...));
}

} // namespace lathe

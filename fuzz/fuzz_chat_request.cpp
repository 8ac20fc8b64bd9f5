// The body of POST /v1/chat/completions. Every input either parses or is refused with ApiError 400 (the
// server's answer to a client mistake); anything else escaping is a crash of the server.
#include <cstdint>
#include <string>

#include "serve/chat_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string body(reinterpret_cast<const char*>(data), size);
    try {
        const lathe::ChatRequest r = lathe::parseChatRequest(body, lathe::ChatGenerationOptions{});
        (void)r;
    } catch (const lathe::ApiError& e) {
        if (e.status != 400)
            __builtin_trap();
    }
    return 0;
}

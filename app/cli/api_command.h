// `lathe api config.yaml [key=value ...]`: llamafactory-cli api's twin, an OpenAI-compatible HTTP server on the
// chat engine (cpp-httplib).
//
//   GET  /v1/models             the one model, named API_MODEL_NAME (default gpt-3.5-turbo, as LLaMA-Factory)
//   POST /v1/chat/completions   non-streaming, or SSE streaming (role chunk, content deltas, finish chunk,
//                               [DONE]); usage; finish_reason stop / length / tool_calls; tools and tool
//                               calls in the template's tool format; reasoning_content for thinking models
//
// Environment, as LLaMA-Factory reads it: API_HOST (default 127.0.0.1, not LLaMA-Factory's 0.0.0.0: nothing
// listens on the network unless asked), API_PORT (8000; 0 picks a free port), API_KEY (when set, requests need
// "Authorization: Bearer <key>"), API_MODEL_NAME. Bad requests get OpenAI-style error JSON
// ({"error": {"message", "type", "param", "code"}}) with LLaMA-Factory's checks (roles, alternation, tools).
// Requests are queued on the one model (ChatEngine serves them in order); a client that disconnects while its
// reply streams cancels the generation. Bodies above 8 MB are refused.
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// Runs the server until SIGINT/SIGTERM; returns the exit code.
int runApiCommand(const std::vector<std::string>& args);

} // namespace lathe

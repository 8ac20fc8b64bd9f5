// `lathe chat config.yaml [key=value ...]`: llamafactory-cli chat's twin, a multi-turn REPL on the chat engine.
// Also the shared reading of the inference keys (model, adapters, template, generation) for `lathe api`.
#pragma once

#include <string>
#include <vector>

#include "config/argument_schema.h"
#include "generation/chat_engine.h"

namespace lathe {

/// model_name_or_path, adapter_name_or_path, template, infer_dtype (and --device) as the engine takes them.
ChatModelOptions chatModelOptions(const ArgumentSet& args, const std::string& device);

/// do_sample, temperature, top_p, top_k, repetition_penalty, max_new_tokens, enable_thinking, default_system
/// (LLaMA-Factory's defaults; temperature 0 means greedy, as its chat engine treats it).
ChatGenerationOptions chatGenerationOptions(const ArgumentSet& args);

/// Runs the REPL on stdin/stdout; returns the exit code.
int runChatCommand(const std::vector<std::string>& args);

} // namespace lathe

#include "cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <new>
#include <map>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtGlobal>

#include "cli/arguments.h"
#include "cli/dataset_command.h"
#include "cli/api_command.h"
#include "cli/chat_command.h"
#include "cli/export_command.h"
#include "cli/predict_command.h"
#include "cli/score_command.h"
#include "cli/train_command.h"
#include "generation/generator.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "runtime/device.h"
#include "kernels/kernel_paths.h"
#include "runtime/env_info.h"
#include "template/template_encoder.h"
#include "template/template_jinja.h"
#include "template/chat_format.h"
#include "util/json_text.h"
#include "serve/chat_request.h"
#include "template/hf_chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/memory_limits.h"
#include "util/file_util.h"

namespace lathe {

namespace {

using nlohmann::json;

struct Command
{
    const char* name;
    const char* summary;
    std::function<int(const Arguments&)> run;
    /// Commands that read LLaMA-Factory configs parse their arguments themselves (train).
    std::function<int(const std::vector<std::string>&)> runRaw = nullptr;
};

// Device, dtype and threads: the runtime settings every model command shares.
struct Runtime
{
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;
};

Runtime applyRuntime(const Arguments& args)
{
    setThreads(static_cast<int>(args.getInt("threads", 0)));
    Runtime rt;
    rt.device = resolveDevice(args.get("device", "auto"));
    // LLaMA-Factory calls the compute dtype `infer_dtype`; `dtype` is accepted as well.
    rt.dtype = resolveDtype(args.get("dtype", args.get("infer_dtype", "auto")), rt.device);
    return rt;
}

CausalLM loadFromArgs(const Arguments& args, const Runtime& rt)
{
    return loadModel(resolveModelPath(args.require("model_name_or_path"), consoleHubOptions()).string(),
                     LoadOptions{rt.device, rt.dtype});
}

int cmdVersion(const Arguments&)
{
    std::cout << "Lathe " << latheVersion() << " (libtorch " << TORCH_VERSION << ", Qt " << qVersion() << ")\n";
    return 0;
}

int cmdEnv(const Arguments& args)
{
    setThreads(static_cast<int>(args.getInt("threads", 0)));
    if (args.getBool("probe", false))
        reprobeKernelPaths(); // measured again; engineEnvironment prints it
    auto lines = engineEnvironment(!args.getBool("no_bench", false));
    lines.insert(lines.begin() + 2, {"Qt", qVersion()});
    if (args.getBool("json", false)) {
        json out = json::object();
        for (const auto& [key, value] : lines)
            out[key] = value;
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& [key, value] : lines)
        std::cout << "- " << key << ": " << value << "\n";
    return 0;
}

int cmdNewModel(const Arguments& args)
{
    NewModelOptions options;
    options.arch = args.get("arch", "qwen3");
    options.config = args.get("config", "tiny");
    options.tokenizerDir = args.get("tokenizer", "");
    options.outDir = args.require("out");
    options.seed = static_cast<std::uint64_t>(args.getInt("seed", 42));
    options.dtype = args.get("dtype", "bfloat16");
    if (options.dtype == "bf16")
        options.dtype = "bfloat16";
    if (options.dtype == "fp32")
        options.dtype = "float32";
    if (options.dtype == "fp16")
        options.dtype = "float16";
    const ModelConfig config = writeNewModel(options);
    std::cout << "wrote " << config.architecture << " (" << config.num_hidden_layers << " layers, hidden "
              << config.hidden_size << ", vocab " << config.vocab_size << ") to " << options.outDir << "\n";
    return 0;
}

// Comma-separated folder names ("a,b"), empty entries dropped.
std::vector<std::string> splitList(const std::string& text)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        if (end > start)
            out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// `--adapter_name_or_path a,b,c` as LLaMA-Factory loads it for inference: every adapter but the last is
// merged into the weights in order, the last stays attached.
void attachAdapters(CausalLM& model, const std::string& list)
{
    const auto dirs = splitList(list);
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        attachLoraAdapter(model, dirs[i]);
        if (i + 1 < dirs.size())
            mergeLoraAdapters(model);
    }
}

// `lathe generate --prompt TEXT --template NAME`: one user turn formatted with the chat template, greedy
// generation until a stop token, the answer decoded without special tokens.
int generateFromPrompt(const Arguments& args, CausalLM& model)
{
    const auto tokenizer = Tokenizer::fromDirectory(resolveModelPath(args.require("model_name_or_path"), consoleHubOptions()).string());
    const TemplateEncoder encoder(resolveChatTemplate(args.get("template"), *tokenizer, args.get("model_name_or_path")),
                                  tokenizer);
    if (args.has("adapter_name_or_path"))
        attachAdapters(model, args.get("adapter_name_or_path"));

    Conversation conversation;
    conversation.system = args.get("system", "");
    conversation.messages.push_back({Role::User, args.get("prompt")});
    ChatOptions chat;
    chat.enableThinking = args.getBool("enable_thinking", true); // LLaMA-Factory's default
    if (args.has("default_system"))
        chat.defaultSystem = args.get("default_system");
    const std::vector<TokenId> prompt = encoder.encodeGenerationPrompt(conversation, chat);

    GenerationOptions options;
    options.max_new_tokens = args.getInt("max_new_tokens", 512);
    options.use_cache = args.getBool("use_cache", true);
    const auto stops = encoder.stopTokenIds();
    options.eos_token_ids.assign(stops.begin(), stops.end());
    const std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
    const auto result = greedyGenerate(model, ids, options);

    // The stop token ends the answer; it is not part of it.
    std::vector<TokenId> answer(result.output_ids.begin(), result.output_ids.end());
    if (!answer.empty() && std::find(stops.begin(), stops.end(), answer.back()) != stops.end())
        answer.pop_back();
    const std::string text = tokenizer->decode(answer, /*skipSpecialTokens=*/true);
    if (args.getBool("json", false)) {
        nlohmann::ordered_json out;
        out["prompt_ids"] = ids;
        out["output_ids"] = result.output_ids;
        out["text"] = text;
        std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
        std::cout << text << std::endl; // before the speed line on stderr
        const double decodeTokens = double(result.output_ids.size() > 0 ? result.output_ids.size() - 1 : 0);
        std::fprintf(stderr, "prefill %zu tokens in %.3f s; decode %.0f tokens in %.3f s (%.1f tokens/s)\n",
                     ids.size(), result.prefill_seconds, decodeTokens, result.decode_seconds,
                     result.decode_seconds > 0 ? decodeTokens / result.decode_seconds : 0.0);
    }
    return 0;
}

int cmdGenerate(const Arguments& args)
{
    const Runtime rt = applyRuntime(args);
    if (args.has("prompt") && args.has("input_ids"))
        fail("give one of --prompt TEXT and --input_ids 1,2,3, not both");
    if (args.has("prompt") && !args.has("template"))
        fail("--prompt needs --template NAME (the chat template the model was trained with, e.g. "
             "qwen3_nothink)");
    CausalLM model = loadFromArgs(args, rt);
    if (args.has("prompt"))
        return generateFromPrompt(args, model);
    if (args.has("adapter_name_or_path"))
        attachAdapters(model, args.get("adapter_name_or_path"));
    const auto ids = args.getIntList("input_ids");
    GenerationOptions options;
    options.max_new_tokens = args.getInt("max_new_tokens", 24);
    options.use_cache = args.getBool("use_cache", true);
    if (args.getBool("stop_at_eos", false))
        options.eos_token_ids = model->config().eos_token_ids;
    const auto result = greedyGenerate(model, ids, options);
    if (args.getBool("json", false)) {
        auto logits = result.logits_last.contiguous();
        json out;
        out["input_ids"] = ids;
        out["output_ids"] = result.output_ids;
        out["logits_last"] = std::vector<float>(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
        std::cout << out.dump() << "\n";
    } else {
        for (std::size_t i = 0; i < result.output_ids.size(); ++i)
            std::cout << (i ? "," : "") << result.output_ids[i];
        std::cout << "\n";
        const double decodeTokens = double(result.output_ids.size() > 0 ? result.output_ids.size() - 1 : 0);
        std::fprintf(stderr, "prefill %zu tokens in %.3f s; decode %.0f tokens in %.3f s (%.1f tokens/s)\n",
                     ids.size(), result.prefill_seconds, decodeTokens, result.decode_seconds,
                     result.decode_seconds > 0 ? decodeTokens / result.decode_seconds : 0.0);
    }
    return 0;
}

int cmdPerplexity(const Arguments& args)
{
    const Runtime rt = applyRuntime(args);
    CausalLM model = loadFromArgs(args, rt);
    const auto result = perplexity(model, args.getIntList("input_ids"));
    if (args.getBool("json", false)) {
        std::cout << json{{"loss", result.loss}, {"perplexity", result.perplexity}, {"tokens", result.tokens}}.dump()
                  << "\n";
    } else {
        std::printf("loss %.6f  perplexity %.4f  (%lld predicted tokens)\n", result.loss, result.perplexity,
                    static_cast<long long>(result.tokens));
    }
    return 0;
}

// `lathe tokenize --chat FILE`: the prompt of a chat (OpenAI-style messages, optionally tools), written by the
// model's own Jinja chat template as transformers' apply_chat_template writes it, or with --template NAME by
// LLaMA-Factory's template as training and `lathe chat` write it.
std::string renderChatFile(const Arguments& args, const Tokenizer& tokenizer, const std::string& modelName)
{
    const std::string path = args.get("chat");
    using OrderedJson = nlohmann::ordered_json; // the tool schemas go into the prompt in the file's key order
    OrderedJson chat = parseJson<OrderedJson>(readTextFile(path), path);
    if (chat.is_array())
        chat = OrderedJson{{"messages", chat}};
    if (!chat.is_object() || !chat.contains("messages") || !chat["messages"].is_array())
        fail(path, ": expected {\"messages\": [...], \"tools\": [...]} or a list of messages");
    const bool generation = args.getBool("add_generation_prompt", true);
    const std::string name = args.get("template", "jinja");
    if (name == "jinja" || name.rfind("jinja:", 0) == 0) {
        HfChatOptions options;
        options.addGenerationPrompt = generation;
        if (chat.contains("tools"))
            options.tools = chat["tools"];
        if (args.has("enable_thinking"))
            options.extra["enable_thinking"] = args.getBool("enable_thinking", true);
        if (args.has("chat_kwargs")) {
            const auto extra = parseJson<nlohmann::ordered_json>(args.get("chat_kwargs"), "--chat_kwargs");
            if (!extra.is_object())
                fail("--chat_kwargs: expected a JSON object of template variables");
            for (auto it = extra.begin(); it != extra.end(); ++it)
                options.extra[it.key()] = it.value();
        }
        const HfChatTemplate hf =
            HfChatTemplate::fromTokenizer(tokenizer, modelName, name.size() > 6 ? name.substr(6) : std::string());
        return hf.render(chat["messages"], options);
    }
    // LLaMA-Factory's template: the chat as the API reads it, formatted as its prompt for the next answer.
    const ChatRequest request = parseChatRequest(chat.dump(), ChatGenerationOptions{});
    Conversation conversation = request.conversation;
    const ChatTemplate tpl = resolveChatTemplate(name, tokenizer, modelName);
    ChatOptions options;
    options.enableThinking = args.getBool("enable_thinking", true);
    const SpecialTokenText special{tokenizer.bosId ? tokenizer.bosToken : std::string(),
                                   effectiveEosToken(tpl, tokenizer.eosId ? tokenizer.eosToken : std::string())};
    if (!generation) {
        std::string text;
        for (const auto& turn : renderMultiturn(tpl, conversation, special, options))
            text += turn.prompt + turn.response;
        return text;
    }
    return renderGenerationPrompt(tpl, conversation, special, options);
}

// `lathe tokenize`: text to ids with the model's own tokenizer (HF-exact), for checking prompts and counting.
int cmdTokenize(const Arguments& args)
{
    const std::string modelName = args.require("model_name_or_path");
    const auto tokenizer = Tokenizer::fromDirectory(resolveModelPath(modelName, consoleHubOptions()).string());
    if (int(args.has("text")) + int(args.has("file")) + int(args.has("chat")) != 1)
        fail("give exactly one of --text T, --file F and --chat CHAT.json");
    const std::string text = args.has("text")   ? args.get("text")
                             : args.has("file") ? readTextFile(args.require("file"))
                                                : renderChatFile(args, *tokenizer, modelName);
    if (args.getBool("render", false)) {
        std::cout << text;
        return 0;
    }
    EncodeOptions options;
    // A rendered chat already holds its special tokens (apply_chat_template tokenizes without adding any).
    options.addSpecialTokens = !args.has("chat") && args.getBool("add_special_tokens", false);
    options.parseSpecialTokens = !args.getBool("no_special", false);
    const bool pieces = args.getBool("pieces", false), count = args.getBool("count", false);
    const bool ids = args.getBool("ids", false);
    if (int(pieces) + int(count) + int(ids) > 1)
        fail("give at most one of --ids, --pieces and --count");
    const std::vector<TokenId> encoded = tokenizer->encode(text, options);
    if (args.getBool("json", false)) {
        json out;
        out["count"] = encoded.size();
        if (!count)
            out["ids"] = encoded;
        if (pieces) {
            std::vector<std::string> tokens;
            for (const TokenId id : encoded)
                tokens.push_back(tokenizer->idToToken(id));
            out["pieces"] = tokens;
        }
        std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    } else if (count) {
        std::cout << encoded.size() << "\n";
    } else if (pieces) {
        // One JSON string per line: pieces may hold spaces, newlines or control characters.
        for (const TokenId id : encoded)
            std::cout << id << "\t" << json(tokenizer->idToToken(id)).dump(-1, ' ', false, json::error_handler_t::replace)
                      << "\n";
    } else {
        for (std::size_t i = 0; i < encoded.size(); ++i)
            std::cout << (i ? "," : "") << encoded[i];
        std::cout << "\n";
    }
    return 0;
}

const std::vector<Command>& commands()
{
    static const std::vector<Command> list = {
        {"version", "print the version of Lathe and its libraries", cmdVersion},
        {"env", "describe the environment: versions, BLAS, threads, devices, matmul speed, the bf16 kernels chosen "
                "(--probe measures them again)", cmdEnv},
        {"new-model", "write a randomly initialised model (--arch --config --tokenizer --out --seed)", cmdNewModel},
        {"generate",
         "greedy generation (--model_name_or_path (--prompt TEXT --template NAME | --input_ids 1,2,3) "
         "[--adapter_name_or_path DIR[,DIR2]] [--system TEXT] [--enable_thinking false] [--max_new_tokens N] "
         "[--json])",
         cmdGenerate},
        {"perplexity", "mean next-token loss and perplexity of token ids", cmdPerplexity},
        {"tokenize", "text or a chat to token ids (--model_name_or_path (--text T|--file F|--chat CHAT.json "
                     "[--template jinja|NAME] [--add_generation_prompt B] [--enable_thinking B] [--chat_kwargs JSON]) "
                     "[--render|--ids|--pieces|--count] [--json] [--no_special])",
         cmdTokenize},
        {"train", "fine-tune: lathe train config.yaml [key=value ...] (LLaMA-Factory keys)", nullptr,
         runTrainCommand},
        {"predict", "batch predict + BLEU/ROUGE: lathe predict config.yaml [key=value ...] (eval_dataset, "
         "per_device_eval_batch_size, max_new_tokens; writes generated_predictions.jsonl)", nullptr,
         runPredictCommand},
        {"score", "BLEU-4 / ROUGE of a predictions file as LLaMA-Factory's eval_bleu_rouge.py: lathe score "
                  "generated_predictions.jsonl [--per_example FILE.jsonl] [--output predictions_score.json]",
         cmdScore},
        {"eval", "evaluate: with task (mmlu_test, cmmlu_test, ceval_validation) a multiple-choice benchmark "
         "(task_dir, n_shot, lang, batch_size, save_dir, eval_mode logits|ppl; results.log, results.json); "
         "otherwise stage rm/dpo/kto reports the loss and reward metrics on eval_dataset (eval_results.json) and "
         "other stages predict", nullptr, runEvalCommand},
        {"export",
         "merge adapters and export: lathe export config.yaml (export_dir, export_format hf|gguf, "
         "export_quantization)",
         nullptr, runExportCommand},
        {"chat", "multi-turn chat in the terminal: lathe chat config.yaml [key=value ...] (clear, exit)", nullptr,
         runChatCommand},
        {"api", "OpenAI-compatible server: lathe api config.yaml (API_HOST=127.0.0.1 API_PORT=8000 API_KEY ...)",
         nullptr, runApiCommand},
        {"dataset", "datasets of dataset_info.json: list|preview|check|stats|register (--dataset_dir --dataset [--json])",
         cmdDataset},
    };
    return list;
}

} // namespace

bool isCommand(const std::string& name)
{
    if (name == "help" || name == "--help" || name == "-h")
        return true;
    for (const auto& c : commands())
        if (name == c.name)
            return true;
    return false;
}

std::string usageText()
{
    std::string text = "Usage: lathe                 open the workbench window\n"
                       "       lathe <command> [config.yaml] [--key value | key=value ...]\n\nCommands:\n";
    for (const auto& c : commands()) {
        std::string name = c.name;
        name.resize(12, ' ');
        text += "  " + name + c.summary + "\n";
    }
    text += "\nModel options: --device auto|cpu|cuda[:N]|npu[:N]  --dtype auto|fp32|bf16|fp16  --threads N\n";
    return text;
}

int runCommand(const std::string& name, const std::vector<std::string>& rawArgs)
{
    if (name == "help" || name == "--help" || name == "-h") {
        std::cout << usageText();
        return 0;
    }
    for (const auto& c : commands()) {
        if (name != c.name)
            continue;
        try {
            if (c.runRaw)
                return c.runRaw(rawArgs);
            const Arguments args = Arguments::parse(rawArgs);
            const int code = c.run(args);
            for (const auto& key : args.unusedKeys())
                std::cerr << "lathe " << name << ": warning: option --" << key << " was not used\n";
            return code;
        } catch (const Error& e) {
            std::cerr << "lathe " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const c10::Error& e) {
            std::cerr << "lathe " << name << ": internal error in libtorch: " << e.what_without_backtrace() << "\n";
            return 3;
        } catch (const std::bad_alloc&) {
            std::cerr << "lathe " << name << ": out of memory: " << memoryLimitsText() << "\n";
            return 3;
        } catch (const std::exception& e) {
            std::cerr << "lathe " << name << ": " << e.what() << "\n";
            return 3;
        }
    }
    std::cerr << "lathe: unknown command \"" << name << "\"\n\n" << usageText();
    return 1;
}

} // namespace lathe

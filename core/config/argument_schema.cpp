#include "config/argument_schema.h"

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/stages.h"
#include "util/edit_distance.h"
#include "util/json_text.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

using json = nlohmann::json;

namespace {

ArgSpec arg(const char* name, ArgType type, json def, const char* group, const char* help, const char* helpZh,
            std::vector<std::string> choices = {}, std::optional<double> lo = std::nullopt,
            std::optional<double> hi = std::nullopt)
{
    return ArgSpec{name, type, std::move(def), group, help, helpZh, std::move(choices), lo, hi};
}

constexpr auto B = ArgType::Bool;
constexpr auto I = ArgType::Int;
constexpr auto F = ArgType::Float;
constexpr auto S = ArgType::String;
constexpr auto C = ArgType::Choice;
const json kNull = nullptr;

std::vector<std::string> stageNames()
{
    std::vector<std::string> names;
    for (const auto& stage : trainingStages())
        names.push_back(stage.name);
    return names;
}

std::vector<ArgSpec> buildSchema()
{
    return {
        // ---- model
        arg("model_name_or_path", S, kNull, "model", "Model folder in Hugging Face layout (or a hub id).",
            "模型文件夹（Hugging Face 格式）或模型仓库名。"),
        arg("model_revision", S, "main", "model", "Branch, tag or commit of a hub model (model_name_or_path as a repo id).",
            "模型仓库的分支、标签或提交（model_name_or_path 为仓库名时）。"),
        arg("adapter_name_or_path", S, kNull, "model",
            "LoRA adapter folders, comma-separated (stacked in order).",
            "LoRA 适配器文件夹，多个用逗号分隔（按顺序叠加）。"),
        arg("template", S, "auto", "dataset",
            "Chat template name (qwen3, llama3, ...); auto: built from the model's own chat template; jinja: chat "
            "and API prompts rendered by the model's own chat template (jinja:NAME: its template of that name).",
            "对话模板名称（qwen3、llama3 等）；auto：由模型自带的对话模板生成；jinja：对话与 API 的提示词由模型自带的对话模板渲染（jinja:名称：使用该名称的模板）。"),
        arg("rope_scaling", C, kNull, "model", "RoPE scaling for longer contexts.",
            "RoPE 缩放方式，用于扩展上下文长度。", {"linear", "dynamic", "yarn", "llama3"}),
        arg("infer_dtype", C, "auto", "model", "Compute dtype for inference.", "推理计算精度。",
            {"auto", "float16", "bfloat16", "float32"}),
        arg("device", S, "auto", "model", "Device: auto, cpu, cuda[:N], npu[:N].",
            "计算设备：auto、cpu、cuda[:N]、npu[:N]。"),
        arg("nproc_per_node", I, kNull, "model",
            "Workers on this machine (torchrun's --nproc_per_node): one per GPU or NPU, or CPU processes. Empty: "
            "one per visible GPU/NPU, one on CPU.",
            "本机的训练进程数（torchrun 的 --nproc_per_node）：每块 GPU/NPU 一个，或多个 CPU 进程。留空：每块可见 "
            "GPU/NPU 一个，CPU 上一个。",
            {}, 1, 1024),
        arg("deepspeed", S, "", "train",
            "DeepSpeed config (ds_z0/ds_z2_config.json): its zero_optimization.stage 0, 1 or 2 shards the optimizer "
            "state (and gradients) between workers.",
            "DeepSpeed 配置（ds_z0/ds_z2_config.json）：zero_optimization.stage 为 0、1 或 2 时在各进程间切分优化器"
            "状态（及梯度）。"),
        arg("ddp_timeout", I, 1800, "train",
            "Seconds a worker waits for the others in a collective before stopping with an error.",
            "进程在集合通信中等待其他进程的秒数，超时则报错停止。", {}, 1, std::nullopt),
        arg("ddp_bucket_cap_mb", F, 25, "train", "Size of the gradient buckets all-reduced during the backward pass (MB).",
            "反向传播中分桶全归约的梯度桶大小（MB）。", {}, 0.001, 4096),
        // ---- method
        arg("stage", C, "sft", "method", "Training stage.", "训练阶段。", stageNames()),
        arg("do_train", B, false, "method", "Run training.", "执行训练。"),
        arg("do_eval", B, false, "method", "Run evaluation.", "执行评估。"),
        arg("do_predict", B, false, "method", "Run prediction on eval_dataset.",
            "在 eval_dataset 上执行预测。"),
        arg("finetuning_type", C, "lora", "method", "Which weights are trained.",
            "微调方法（训练哪些权重）。", {"lora", "freeze", "full"}),
        arg("train_from_scratch", B, false, "method", "Start from random weights instead of the checkpoint.",
            "从随机初始化的权重开始训练。"),
        arg("lora_rank", I, 8, "lora", "LoRA rank r.", "LoRA 秩 r。", {}, 1, 1024),
        arg("lora_alpha", I, kNull, "lora", "LoRA alpha (default: rank x 2).",
            "LoRA 缩放系数 alpha（默认：秩的两倍）。", {}, 1, 2048),
        arg("lora_dropout", F, 0.0, "lora", "Dropout on the LoRA input.", "LoRA 输入的随机丢弃率。", {}, 0,
            1),
        arg("lora_target", S, "all", "lora", "Modules to adapt: all, or names (q_proj,v_proj).",
            "应用 LoRA 的模块：all 或模块名（q_proj,v_proj）。"),
        arg("additional_target", S, kNull, "lora",
            "Extra modules trained in full and saved (modules_to_save).",
            "额外完整训练并保存的模块（modules_to_save）。"),
        arg("use_rslora", B, false, "lora", "Rank-stabilised LoRA: scale alpha / sqrt(r).",
            "使用 rsLoRA：缩放为 alpha / sqrt(r)。"),
        arg("use_dora", B, false, "lora", "Weight-decomposed LoRA (DoRA).", "使用权重分解的 LoRA（DoRA）。"),
        arg("create_new_adapter", B, false, "lora", "Add a new adapter on top of the given ones.",
            "在已有适配器之上创建新的适配器。"),
        arg("freeze_trainable_layers", I, 2, "freeze",
            "Trainable layers: last N if positive, first N if negative.",
            "可训练层数：正数为最后 N 层，负数为前 N 层。", {}, -1024, 1024),
        arg("freeze_trainable_modules", S, "all", "freeze", "Trainable modules in those layers.",
            "这些层中可训练的模块。"),
        arg("freeze_extra_modules", S, kNull, "freeze", "Modules outside the layers also trained.",
            "层之外额外训练的模块。"),
        arg("pref_beta", F, 0.1, "method", "Beta of the preference loss.", "偏好损失的 beta 参数。", {}, 0,
            10),
        arg("pref_loss", C, "sigmoid", "method", "Preference loss (dpo stage).", "偏好损失类型（DPO 阶段）。",
            {"sigmoid", "hinge", "ipo", "orpo", "simpo"}),
        arg("pref_ftx", F, 0.0, "method", "Weight of the SFT loss on the chosen answers added to the preference loss.",
            "偏好损失中加入的 SFT 损失（选中回答）权重。", {}, 0, std::nullopt),
        arg("dpo_label_smoothing", F, 0.0, "method", "Label smoothing of the sigmoid DPO loss (cDPO), 0 to 0.5.",
            "sigmoid DPO 损失的标签平滑系数（cDPO），0 到 0.5。", {}, 0, 0.5),
        arg("simpo_gamma", F, 0.5, "method", "Target reward margin of the SimPO loss.", "SimPO 损失的目标奖励差。"),
        arg("ld_alpha", F, kNull, "method", "LD-DPO: weight of the response tokens past the shorter answer's length.",
            "LD-DPO：超出较短回答长度部分的词元权重。", {}, 0, 1),
        arg("pref_bco_weight", F, 0.0, "method", "Weight of the BCO loss mixed into DPO (MPO).",
            "混入 DPO 的 BCO 损失权重（MPO）。", {}, 0, std::nullopt),
        arg("kto_chosen_weight", F, 1.0, "method", "KTO: weight of the desirable examples' loss.",
            "KTO：正例损失的权重。", {}, 0, std::nullopt),
        arg("kto_rejected_weight", F, 1.0, "method", "KTO: weight of the undesirable examples' loss.",
            "KTO：负例损失的权重。", {}, 0, std::nullopt),
        arg("ref_model", S, kNull, "method",
            "Reference model for dpo/kto (default: the model itself; without its LoRA adapter when training LoRA).",
            "DPO/KTO 的参考模型（默认：模型本身；LoRA 训练时为关闭适配器的模型）。"),
        arg("ref_model_adapters", S, kNull, "method", "LoRA adapters merged into the reference model.",
            "合并到参考模型中的 LoRA 适配器。"),
        // ---- dataset
        arg("dataset", S, kNull, "dataset", "Training datasets from dataset_info.json, comma-separated.",
            "训练数据集（dataset_info.json 中的名称，逗号分隔）。"),
        arg("eval_dataset", S, kNull, "dataset", "Evaluation datasets, comma-separated.",
            "评估数据集，逗号分隔。"),
        arg("dataset_dir", S, "data", "dataset", "Folder holding dataset_info.json.",
            "包含 dataset_info.json 的文件夹。"),
        arg("cutoff_len", I, 2048, "dataset", "Maximum tokens per example.", "每个样本的最大词元数。", {}, 4,
            1 << 20),
        arg("max_samples", I, kNull, "dataset", "Use at most this many examples of each dataset.",
            "每个数据集最多使用的样本数。", {}, 1, std::nullopt),
        arg("preprocessing_num_workers", I, kNull, "dataset", "Threads for tokenizing the data.",
            "数据预处理（分词）的线程数。", {}, 1, 256),
        arg("overwrite_cache", B, false, "dataset", "Rebuild the tokenized-data cache.",
            "重新生成分词缓存。"),
        arg("val_size", F, 0.0, "dataset", "Held-out share (< 1) or count of examples for evaluation.",
            "验证集比例（小于 1）或样本数。", {}, 0, std::nullopt),
        arg("packing", B, kNull, "dataset", "Pack examples into full-length sequences (default for pt).",
            "将样本拼接为定长序列（预训练默认开启）。"),
        arg("neat_packing", B, false, "dataset", "Packing without attention across examples.",
            "拼接时样本之间互不注意（neat packing）。"),
        arg("train_on_prompt", B, false, "dataset", "Also learn the prompt tokens.",
            "同时学习提示部分的词元。"),
        arg("mask_history", B, false, "dataset", "Learn only the last turn of a conversation.",
            "只学习对话的最后一轮。"),
        arg("enable_thinking", B, true, "dataset", "Thinking mode of reasoning templates.",
            "推理模板的思考模式。"),
        arg("default_system", S, kNull, "dataset", "System prompt replacing the template's default.",
            "替换模板默认值的系统提示词。"),
        arg("tool_format", S, kNull, "dataset", "Tool-call format overriding the template's.",
            "覆盖模板的工具调用格式。"),
        // ---- output
        arg("output_dir", S, kNull, "output", "Run folder (adapter, checkpoints, logs).",
            "输出目录（适配器、检查点、日志）。"),
        arg("logging_steps", I, 5, "output", "Log every N steps.", "每 N 步记录一次日志。", {}, 1,
            std::nullopt),
        arg("save_steps", I, 500, "output", "Save a checkpoint every N steps.", "每 N 步保存一次检查点。", {},
            1, std::nullopt),
        arg("save_total_limit", I, kNull, "output", "Keep at most N checkpoints.", "最多保留的检查点数量。",
            {}, 1, std::nullopt),
        arg("plot_loss", B, false, "output", "Write training_loss.png at the end.",
            "训练结束时绘制损失曲线。"),
        arg("overwrite_output_dir", B, false, "output",
            "Overwrite an existing run folder instead of resuming.", "覆盖已有的输出目录而不是继续训练。"),
        arg("save_only_model", B, false, "output", "Checkpoints without optimizer state.",
            "检查点只保存模型，不保存优化器状态。"),
        arg("report_to", S, "none", "output", "Experiment trackers (Lathe writes its own logs).",
            "实验跟踪工具（Lathe 使用自己的日志）。"),
        // ---- train
        arg("per_device_train_batch_size", I, 8, "train", "Examples per device per step.",
            "每个设备每步的样本数。", {}, 1, 4096),
        arg("gradient_accumulation_steps", I, 1, "train", "Steps accumulated per optimizer update.",
            "梯度累积步数。", {}, 1, 4096),
        arg("learning_rate", F, 5e-5, "train", "Peak learning rate of AdamW.", "AdamW 的初始学习率。", {}, 0,
            1),
        arg("num_train_epochs", F, 3.0, "train", "Passes over the training data.", "训练轮数。", {}, 0,
            std::nullopt),
        arg("max_steps", I, -1, "train", "Stop after N optimizer steps (overrides epochs when > 0).",
            "最大训练步数（大于 0 时覆盖训练轮数）。", {}, -1, std::nullopt),
        arg("lr_scheduler_type", C, "linear", "train", "Learning-rate schedule.", "学习率调节器。",
            {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
             "inverse_sqrt", "cosine_with_min_lr"}),
        arg("warmup_ratio", F, 0.0, "train", "Share of steps with a linear warm-up.", "学习率预热步数占比。",
            {}, 0, 1),
        arg("warmup_steps", I, 0, "train", "Warm-up steps (overrides warmup_ratio).",
            "学习率预热步数（覆盖预热比例）。", {}, 0, std::nullopt),
        arg("weight_decay", F, 0.0, "train", "AdamW weight decay.", "AdamW 权重衰减。", {}, 0, 1),
        arg("adam_beta1", F, 0.9, "train", "AdamW beta1.", "AdamW beta1。", {}, 0, 1),
        arg("adam_beta2", F, 0.999, "train", "AdamW beta2.", "AdamW beta2。", {}, 0, 1),
        arg("adam_epsilon", F, 1e-8, "train", "AdamW epsilon.", "AdamW epsilon。", {}, 0, 1),
        arg("max_grad_norm", F, 1.0, "train", "Gradient clipping norm.", "梯度裁剪阈值。", {}, 0,
            std::nullopt),
        arg("bf16", B, false, "train", "Mixed precision in bfloat16.", "使用 bf16 混合精度。"),
        arg("fp16", B, false, "train", "Mixed precision in float16.", "使用 fp16 混合精度。"),
        arg("pure_bf16", B, false, "train", "Everything in bfloat16, no fp32 master weights.",
            "纯 bf16 训练（不保留 fp32 权重）。"),
        arg("seed", I, 42, "train", "Random seed.", "随机种子。"),
        arg("optim", C, "adamw_torch", "train",
            "Optimizer: AdamW (transformers' adamw_torch; the other names are the same AdamW here).",
            "优化器：AdamW（transformers 的 adamw_torch；其余名称在此均为同一 AdamW）。",
            {"adamw_torch", "adamw_hf", "adamw_torch_fused"}),
        arg("disable_gradient_checkpointing", B, false, "train",
            "Keep activations instead of recomputing them.", "禁用梯度检查点。"),
        arg("neftune_noise_alpha", F, kNull, "train", "NEFTune embedding noise.", "NEFTune 嵌入噪声强度。",
            {}, 0, std::nullopt),
        arg("resume_from_checkpoint", S, kNull, "train", "Checkpoint folder to resume from.",
            "从该检查点继续训练。"),
        arg("gradient_checkpointing", B, true, "train",
            "Recompute activations in the backward pass to save memory.",
            "反向传播时重新计算激活以节省显存。"),
        arg("tokenized_path", S, kNull, "dataset", "Folder for the tokenized-data cache.",
            "分词数据缓存的文件夹。"),
        arg("reward_model", S, kNull, "method", "Reward model for PPO.", "PPO 使用的奖励模型。"),
        // ---- eval
        arg("per_device_eval_batch_size", I, 8, "eval", "Examples per device per evaluation step.",
            "每个设备每步评估的样本数。", {}, 1, 4096),
        arg("eval_strategy", C, "no", "eval", "When to evaluate.", "评估时机。", {"no", "steps", "epoch"}),
        arg("eval_steps", I, kNull, "eval", "Evaluate every N steps.", "每 N 步评估一次。", {}, 1,
            std::nullopt),
        arg("load_best_model_at_end", B, false, "eval", "Keep the checkpoint with the lowest eval loss.",
            "训练结束时加载评估损失最低的检查点。"),
        arg("predict_with_generate", B, false, "eval", "Generate answers when predicting (BLEU/ROUGE).",
            "预测时生成回答（计算 BLEU/ROUGE）。"),
        // ---- benchmark (lathe eval, LLaMA-Factory's EvaluationArguments)
        arg("task", S, kNull, "benchmark",
            "Benchmark and split to evaluate, <name>_<split>: mmlu_test, cmmlu_test, ceval_validation.",
            "要评测的基准与划分（<名称>_<划分>）：mmlu_test、cmmlu_test、ceval_validation。"),
        arg("task_dir", S, "evaluation", "benchmark",
            "Folder holding the benchmark folders (<task_dir>/<name>/mapping.json and its CSV splits).",
            "存放评测基准的文件夹（<task_dir>/<名称>/mapping.json 及其 CSV 划分）。"),
        arg("batch_size", I, 4, "benchmark", "Questions per forward pass.", "每次前向计算的题目数。", {}, 1, 4096),
        arg("lang", C, "en", "benchmark", "Language of the evaluation prompt.", "评测提示词的语言。", {"en", "zh"}),
        arg("n_shot", I, 5, "benchmark", "Solved examples from the dev split before each question.",
            "每道题前给出的开发集示例数。", {}, 0, 64),
        arg("save_dir", S, kNull, "benchmark", "Folder for results.log and results.json (must not exist yet).",
            "保存 results.log 与 results.json 的文件夹（须不存在）。"),
        arg("eval_mode", C, "logits", "benchmark",
            "logits: the answer letter with the highest probability (LLaMA-Factory); ppl: the choice whose "
            "completed answer has the lowest mean token loss (OpenCompass-style, for base models).",
            "logits：概率最高的答案字母（LLaMA-Factory）；ppl：补全答案平均词元损失最低的选项（OpenCompass "
            "风格，适合基座模型）。",
            {"logits", "ppl"}),
        // ---- export
        arg("export_dir", S, kNull, "export", "Folder the merged or converted model is written to.",
            "导出模型的目标文件夹。"),
        arg("export_size", I, 5, "export", "Shard size in GB of exported safetensors.",
            "导出 safetensors 的分片大小（GB）。", {}, 1, 1024),
        arg("export_device", C, "cpu", "export", "Device used to merge adapters.", "合并适配器使用的设备。",
            {"cpu", "auto"}),
        arg("export_legacy_format", B, false, "export",
            "Write .bin weights instead of safetensors (not supported).", "导出 .bin 格式权重（暂不支持）。"),
        arg("export_format", C, "hf", "export",
            "hf: safetensors folder; gguf: one GGUF file for llama.cpp/Ollama; gguf_lora: the LoRA adapter alone "
            "as a GGUF adapter (llama-cli --lora).",
            "hf：safetensors 文件夹；gguf：供 llama.cpp/Ollama 使用的 GGUF 文件；gguf_lora：仅将 LoRA 适配器导出为 "
            "GGUF 适配器（llama-cli --lora）。",
            {"hf", "gguf", "gguf_lora"}),
        arg("export_quantization", C, "f16", "export", "GGUF tensor type.", "GGUF 张量类型。",
            {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q6_k", "q4_k", "q4_k_m"}),
        // ---- generation
        arg("do_sample", B, true, "generation", "Sample instead of greedy decoding.",
            "使用采样而非贪心解码。"),
        arg("temperature", F, 0.95, "generation", "Sampling temperature.", "采样温度。", {}, 0, 100),
        arg("top_p", F, 0.7, "generation", "Nucleus sampling mass.", "核采样概率阈值。", {}, 0, 1),
        arg("top_k", I, 50, "generation", "Sample among the K most likely tokens.",
            "只在概率最高的 K 个词元中采样。", {}, 0, std::nullopt),
        arg("max_new_tokens", I, 1024, "generation", "Most tokens to generate.", "最多生成的词元数。", {}, 1,
            std::nullopt),
        arg("repetition_penalty", F, 1.0, "generation", "Penalty on repeated tokens.", "重复惩罚系数。", {},
            0, 10),
        arg("skip_special_tokens", B, true, "generation", "Drop special tokens when decoding predictions.",
            "解码预测结果时去掉特殊词元。"),
    };
}

const std::vector<std::pair<const char*, const char*>>& ignoredTable()
{
    static const std::vector<std::pair<const char*, const char*>> table = {
        {"trust_remote_code",
         "Lathe runs no model code from the model folder; the architectures are built in"},
        {"flash_attn", "attention kernels are chosen by libtorch for the device"},
        {"dataloader_num_workers",
         "data is read from the token cache; preprocessing_num_workers sets the threads"},
        {"quantization_bit", "quantized (QLoRA) training is not supported yet"},
        {"quantization_method", "quantized (QLoRA) training is not supported yet"},
        {"enable_liger_kernel", "Liger kernels are Triton kernels for PyTorch; not available in libtorch"},
        {"use_unsloth", "Unsloth patches PyTorch models; not available in libtorch"},
        {"cache_dir", "there is no hub download; model paths are local folders"},
        {"upcast_layernorm", "RMSNorm is always computed in float32"},
        {"ray_run_name", "Ray is not supported"},
        {"ray_num_workers",
         "Ray is not supported; several devices are used through libtorch's distributed backends"},
        {"double_quantization", "quantized (QLoRA) training is not supported yet"},
        {"export_quantization_bit",
         "GPTQ export is not supported; use export_format: gguf with export_quantization"},
        {"export_quantization_dataset",
         "GPTQ export is not supported; use export_format: gguf with export_quantization"},
        {"infer_backend", "Lathe has one inference engine (vLLM and SGLang are Python servers)"},
        {"gradient_checkpointing_kwargs", "Lathe's gradient checkpointing has no options"},
        {"use_reentrant_gc", "Lathe's gradient checkpointing has no options"},
        {"image_max_pixels", "multimodal models are not supported yet"},
        {"video_max_pixels", "multimodal models are not supported yet"},
        {"video_fps", "multimodal models are not supported yet"},
        {"video_maxlen", "multimodal models are not supported yet"},
        {"freeze_vision_tower", "multimodal models are not supported yet"},
        {"freeze_multi_modal_projector", "multimodal models are not supported yet"},
        {"freeze_language_model", "multimodal models are not supported yet"},
        {"download_mode", "benchmark task folders are read from task_dir on disk"},
    };
    return table;
}

// YAML scalar text to a JSON value of the spec's type.
json parseValue(const ArgSpec& spec, const std::string& text, const std::string& origin)
{
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == "null" || lower == "~" || lower == "none")
        return nullptr;
    auto bad = [&](const char* what) -> json {
        fail(origin, ": ", spec.name, ": \"", text, "\" is not ", what);
    };
    switch (spec.type) {
    case ArgType::Bool:
        if (lower == "true" || lower == "yes" || lower == "1")
            return true;
        if (lower == "false" || lower == "no" || lower == "0")
            return false;
        return bad("true or false");
    case ArgType::Int: {
        try {
            std::size_t used = 0;
            const long long v = std::stoll(text, &used);
            if (used == text.size())
                return v;
            const double d = std::stod(text, &used); // "1e3" is an integer written as a float
            if (used == text.size() && d == std::floor(d))
                return static_cast<long long>(d);
        } catch (const std::exception&) {
        }
        return bad("an integer");
    }
    case ArgType::Float: {
        try {
            std::size_t used = 0;
            const double v = std::stod(text, &used);
            if (used == text.size())
                return v;
        } catch (const std::exception&) {
        }
        return bad("a number");
    }
    case ArgType::String:
    case ArgType::Choice:
        return text;
    }
    return text;
}

} // namespace

const std::vector<ArgSpec>& argumentSchema()
{
    static const std::vector<ArgSpec> schema = buildSchema();
    return schema;
}

const ArgSpec* findArgument(const std::string& name)
{
    for (const auto& s : argumentSchema())
        if (s.name == name)
            return &s;
    return nullptr;
}

const char* ignoredArgumentReason(const std::string& name)
{
    for (const auto& [key, reason] : ignoredTable())
        if (name == key)
            return reason;
    return nullptr;
}

std::string closestArgument(const std::string& name)
{
    std::vector<std::string> names;
    for (const auto& s : argumentSchema())
        names.push_back(s.name);
    const auto near = closestNames(name, names);
    return near.empty() ? std::string() : near.front();
}

// ---------------------------------------------------------------------------------------------------------
// ArgumentSet
// ---------------------------------------------------------------------------------------------------------

void ArgumentSet::setValue(const std::string& name, const json& value, const std::string& origin)
{
    if (const char* reason = ignoredArgumentReason(name)) {
        m_ignored.emplace_back(name, reason);
        return;
    }
    const ArgSpec* spec = findArgument(name);
    if (!spec) {
        const std::string near = closestArgument(name);
        fail(origin, ": unknown argument \"", name, "\"",
             near.empty() ? "" : " (did you mean \"" + near + "\"?)");
    }
    json v = value;
    if (v.is_string() && spec->type != ArgType::String && spec->type != ArgType::Choice)
        v = parseValue(*spec, v.get<std::string>(), origin);
    if (!v.is_null()) {
        switch (spec->type) {
        case ArgType::Bool:
            if (!v.is_boolean())
                fail(origin, ": ", name, ": ", v.dump(), " is not true or false");
            break;
        case ArgType::Int:
            if (v.is_number_float() && v.get<double>() == std::floor(v.get<double>()))
                v = static_cast<long long>(v.get<double>());
            if (!v.is_number_integer())
                fail(origin, ": ", name, ": ", v.dump(), " is not an integer");
            break;
        case ArgType::Float:
            if (!v.is_number())
                fail(origin, ": ", name, ": ", v.dump(), " is not a number");
            v = v.get<double>();
            break;
        case ArgType::String:
            if (v.is_array()) { // a YAML list of names, as in "dataset: [a, b]"
                std::string joined;
                for (const auto& x : v)
                    joined += (joined.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
                v = joined;
            } else if (!v.is_string()) {
                v = v.dump();
            }
            break;
        case ArgType::Choice: {
            if (!v.is_string())
                v = v.dump();
            const auto& c = spec->choices;
            if (std::find(c.begin(), c.end(), v.get<std::string>()) == c.end()) {
                std::string list;
                for (const auto& x : c)
                    list += (list.empty() ? "" : ", ") + x;
                const auto near = closestNames(v.get<std::string>(), c);
                const bool close = !near.empty() && editDistance(near.front(), v.get<std::string>()) <= 3;
                fail(origin, ": ", name, ": \"", v.get<std::string>(), "\" is not one of ", list,
                     close ? " (did you mean \"" + near.front() + "\"?)" : std::string());
            }
            break;
        }
        }
        if (v.is_number()) {
            const double d = v.get<double>();
            if (spec->minimum && d < *spec->minimum)
                fail(origin, ": ", name, ": ", v.dump(), " is below the minimum ", *spec->minimum);
            if (spec->maximum && d > *spec->maximum)
                fail(origin, ": ", name, ": ", v.dump(), " is above the maximum ", *spec->maximum);
        }
    }
    m_values[name] = v;
}

void ArgumentSet::set(const std::string& name, const std::string& text, const std::string& origin)
{
    if (unicode::firstInvalidUtf8(name) != std::string::npos || unicode::firstInvalidUtf8(text) != std::string::npos)
        fail(origin, ": ", unicode::lossyUtf8(name), ": not valid UTF-8");
    const ArgSpec* spec = findArgument(name);
    setValue(name, spec ? parseValue(*spec, text, origin) : json(text), origin);
}

namespace {

// yaml-cpp keeps an alias as a second reference to its anchor's node, so nine anchors of nine aliases each (a
// few hundred bytes) stand for 9^9 values; converting them to JSON copies each reference. The conversion counts
// what it makes and stops at limits no config comes near.
constexpr std::size_t kMaxYamlValues = 100'000;
constexpr int kMaxYamlDepth = 64;

struct YamlBudget
{
    const std::string& origin;
    std::size_t values = 0;
};

const std::string& utf8Key(const YAML::Node& key, const YamlBudget& budget)
{
    if (unicode::firstInvalidUtf8(key.Scalar()) != std::string::npos)
        fail(budget.origin, ": line ", key.Mark().line + 1, ": a key is not valid UTF-8");
    return key.Scalar();
}

json yamlToJson(const YAML::Node& node, YamlBudget& budget, int depth = 0)
{
    if (++budget.values > kMaxYamlValues)
        fail(budget.origin, ": the YAML expands to more than ", kMaxYamlValues,
             " values (aliases of aliases?); no config is that large");
    if (depth > kMaxYamlDepth)
        fail(budget.origin, ": the YAML nests deeper than ", kMaxYamlDepth, " levels");
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        return nullptr;
    case YAML::NodeType::Scalar: {
        const std::string s = node.Scalar();
        if (unicode::firstInvalidUtf8(s) != std::string::npos) // an escape such as "\xff" in a quoted scalar
            fail(budget.origin, ": line ", node.Mark().line + 1, ": a value is not valid UTF-8");
        if (node.Tag() == "!") // quoted: a string
            return s;
        std::string lower = s;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (lower == "true" || lower == "false")
            return lower == "true";
        if (lower == "null" || lower == "~")
            return nullptr;
        try {
            std::size_t used = 0;
            const long long i = std::stoll(s, &used);
            if (used == s.size())
                return i;
            const double d = std::stod(s, &used);
            if (used == s.size())
                return d;
        } catch (const std::exception&) {
        }
        return s;
    }
    case YAML::NodeType::Sequence: {
        json out = json::array();
        for (const auto& x : node)
            out.push_back(yamlToJson(x, budget, depth + 1));
        return out;
    }
    case YAML::NodeType::Map: {
        json out = json::object();
        for (const auto& kv : node)
            out[utf8Key(kv.first, budget)] = yamlToJson(kv.second, budget, depth + 1);
        return out;
    }
    }
    return nullptr;
}

} // namespace

ArgumentSet ArgumentSet::fromYaml(const std::string& text, const std::string& origin)
{
    // Keys and values become JSON strings (training_args.yaml, the window's form), which must be UTF-8.
    const std::size_t bad = unicode::firstInvalidUtf8(text);
    if (bad != std::string::npos)
        fail(origin, ": line ", 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(bad), '\n'),
             " is not valid UTF-8 (byte ", bad, "); save the file as UTF-8");
    // YAML allows no NUL, and yaml-cpp reads garbage after one (found by fuzz/fuzz_yaml_args).
    if (const auto nul = text.find('\0'); nul != std::string::npos)
        fail(origin, ": line ", 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(nul), '\n'),
             " holds a NUL byte: not a YAML text file");
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        fail(origin, ": not valid YAML: line ", e.mark.line + 1, ": ", e.msg);
    }
    ArgumentSet set;
    if (root.IsNull())
        return set;
    if (!root.IsMap())
        fail(origin, ": must be a mapping of argument: value");
    YamlBudget budget{origin};
    for (const auto& kv : root) {
        const std::string key = utf8Key(kv.first, budget);
        set.setValue(key, yamlToJson(kv.second, budget), cat(origin, ": line ", kv.first.Mark().line + 1));
    }
    return set;
}

ArgumentSet ArgumentSet::fromYamlFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, ": cannot read");
    std::stringstream ss;
    ss << in.rdbuf();
    return fromYaml(ss.str(), path);
}

json ArgumentSet::get(const std::string& name) const
{
    if (m_values.contains(name))
        return m_values[name];
    const ArgSpec* spec = findArgument(name);
    if (!spec)
        fail("internal error: no argument \"", name, "\" in the schema");
    return spec->defaultValue;
}

bool ArgumentSet::isSet(const std::string& name) const
{
    return m_values.contains(name);
}

std::string ArgumentSet::getString(const std::string& name) const
{
    const auto v = get(name);
    return v.is_null() ? std::string() : v.is_string() ? v.get<std::string>() : v.dump();
}

double ArgumentSet::getFloat(const std::string& name) const
{
    const auto v = get(name);
    return v.is_number() ? v.get<double>() : 0.0;
}

long long ArgumentSet::getInt(const std::string& name) const
{
    const auto v = get(name);
    return v.is_number() ? v.get<long long>() : 0;
}

bool ArgumentSet::getBool(const std::string& name) const
{
    const auto v = get(name);
    return v.is_boolean() && v.get<bool>();
}

std::vector<std::string> ArgumentSet::keys() const
{
    std::vector<std::string> out;
    for (auto it = m_values.begin(); it != m_values.end(); ++it)
        out.push_back(it.key());
    return out;
}

void applyJsonArguments(ArgumentSet& args, const std::string& jsonObject, const std::string& origin)
{
    const json extra = parseJsonOrDiscard<json>(jsonObject, origin); // nesting bounded, as every JSON Lathe reads
    if (extra.is_discarded() || !extra.is_object())
        fail("not a JSON object (", extra.is_discarded() ? "a syntax error" : "another JSON value", ")");
    for (const auto& [key, v] : extra.items()) {
        std::string value;
        if (v.is_string()) {
            value = v.get<std::string>();
        } else if (v.is_boolean() || v.is_null() || v.is_number()) {
            value = v.dump();
        } else if (v.is_array()) { // a list of names, as lora_target takes them
            for (const auto& item : v)
                value += (value.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : item.dump());
        } else {
            fail(key, " must be a string, number, boolean or list");
        }
        args.set(key, value, origin);
    }
}

std::vector<std::string> ArgumentSet::validate() const
{
    std::vector<std::string> problems;
    if (getBool("do_train")) {
        if (getString("model_name_or_path").empty())
            problems.push_back("model_name_or_path: required for training");
        if (getString("dataset").empty())
            problems.push_back("dataset: required for training");
        if (getString("output_dir").empty())
            problems.push_back("output_dir: required for training");
        if (getInt("max_steps") <= 0 && getFloat("num_train_epochs") <= 0)
            problems.push_back("num_train_epochs or max_steps must be positive");
    }
    if (getBool("train_on_prompt") && getBool("mask_history"))
        problems.push_back("train_on_prompt and mask_history cannot both be set");
    if (getBool("bf16") && getBool("fp16"))
        problems.push_back("bf16 and fp16 cannot both be set");
    else if (getBool("pure_bf16") && (getBool("bf16") || getBool("fp16")))
        problems.push_back("pure_bf16 cannot be combined with bf16 or fp16");
    if (getBool("neat_packing") && getString("stage") != "sft")
        problems.push_back("neat_packing is only for stage sft");
    if (getString("eval_strategy") == "steps" && get("eval_steps").is_null() && get("save_steps").is_null())
        problems.push_back("eval_strategy steps needs eval_steps");
    if (getBool("load_best_model_at_end") && getString("eval_strategy") == "no")
        problems.push_back("load_best_model_at_end needs an eval_strategy other than no");
    return problems;
}

std::string ArgumentSet::toCommandLine(const std::string& program) const
{
    auto quote = [](const std::string& word) {
        if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                    "_-+=.,/:@%") == std::string::npos)
            return word;
        std::string out = "'";
        for (char c : word)
            out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    };
    std::string line = program;
    for (const auto& s : argumentSchema()) {
        if (!m_values.contains(s.name))
            continue;
        const json& v = m_values[s.name];
        const std::string text = v.is_null() ? "null" : v.is_string() ? v.get<std::string>() : v.dump();
        line += " " + quote(s.name + "=" + text);
    }
    return line;
}

namespace {

// The shortest text that reads back as the same double, written as PyYAML (YAML 1.1, what LLaMA-Factory reads)
// takes a float: with a "." in the mantissa ("0.05", "3.0", "1.0e-05"), never "0.050000000000000003" or "1e-05".
std::string yamlFloat(double v)
{
    if (!std::isfinite(v))
        return std::isnan(v) ? ".nan" : v > 0 ? ".inf" : "-.inf";
    char buf[40];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v)
            break;
    }
    std::string text = buf;
    const auto e = text.find_first_of("eE");
    std::string mantissa = text.substr(0, e), exponent = e == std::string::npos ? "" : text.substr(e);
    if (mantissa.find('.') == std::string::npos)
        mantissa += ".0";
    return mantissa + exponent;
}

} // namespace

std::string ArgumentSet::toYaml() const
{
    // Group headers as in LLaMA-Factory's examples; keys within a group in schema order.
    static const char* groups[] = {"model", "method", "lora",       "freeze", "dataset",  "output",
                                   "train", "eval",   "generation", "export", "benchmark"};
    YAML::Emitter out;
    std::string text;
    for (const char* g : groups) {
        std::vector<const ArgSpec*> specs;
        for (const auto& s : argumentSchema())
            if (s.group == g && m_values.contains(s.name))
                specs.push_back(&s);
        if (specs.empty())
            continue;
        text += std::string(text.empty() ? "" : "\n") + "### " + g + "\n";
        for (const auto* s : specs) {
            const json& v = m_values[s->name];
            YAML::Emitter e;
            e << YAML::BeginMap << YAML::Key << s->name << YAML::Value;
            if (v.is_null())
                e << YAML::Null;
            else if (v.is_boolean())
                e << v.get<bool>();
            else if (v.is_number_integer())
                e << v.get<long long>();
            else if (v.is_number())
                e << yamlFloat(v.get<double>());
            else
                e << v.get<std::string>();
            e << YAML::EndMap;
            text += std::string(e.c_str()) + "\n";
        }
    }
    return text;
}

} // namespace lathe

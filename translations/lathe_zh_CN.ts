<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>lathe::ArgumentForm</name>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>训练轮数</translation>
    </message>
    <message>
        <source>Maximum gradient norm</source>
        <translation>最大梯度范数</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>Max samples</source>
        <translation>最大样本数</translation>
    </message>
    <message>
        <source>Cutoff length</source>
        <translation>截断长度</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批处理大小</translation>
    </message>
    <message>
        <source>Gradient accumulation</source>
        <translation>梯度累积</translation>
    </message>
    <message>
        <source>Val size</source>
        <translation>验证集比例</translation>
    </message>
    <message>
        <source>LR scheduler</source>
        <translation>学习率调节器</translation>
    </message>
    <message>
        <source>Logging steps</source>
        <translation>日志间隔</translation>
    </message>
    <message>
        <source>Save steps</source>
        <translation>保存间隔</translation>
    </message>
    <message>
        <source>Warmup steps</source>
        <translation>预热步数</translation>
    </message>
    <message>
        <source>NEFTune alpha</source>
        <translation>NEFTune 噪声参数</translation>
    </message>
    <message>
        <source>Pack sequences</source>
        <translation>序列打包</translation>
    </message>
    <message>
        <source>Use neat packing</source>
        <translation>使用无污染打包</translation>
    </message>
    <message>
        <source>Train on prompt</source>
        <translation>学习提示词</translation>
    </message>
    <message>
        <source>Mask history</source>
        <translation>不学习历史对话</translation>
    </message>
    <message>
        <source>Enable thinking</source>
        <translation>启用思考模式</translation>
    </message>
    <message>
        <source>Enable external logger</source>
        <translation>启用外部记录面板</translation>
    </message>
    <message>
        <source>Trainable layers</source>
        <translation>可训练层数</translation>
    </message>
    <message>
        <source>Trainable modules</source>
        <translation>可训练模块</translation>
    </message>
    <message>
        <source>Extra modules (optional)</source>
        <translation>额外模块（非必填）</translation>
    </message>
    <message>
        <source>LoRA rank</source>
        <translation>LoRA 秩</translation>
    </message>
    <message>
        <source>LoRA alpha</source>
        <translation>LoRA 缩放系数</translation>
    </message>
    <message>
        <source>LoRA dropout</source>
        <translation>LoRA 随机丢弃</translation>
    </message>
    <message>
        <source>Create new adapter</source>
        <translation>新建适配器</translation>
    </message>
    <message>
        <source>Use rslora</source>
        <translation>使用 rslora</translation>
    </message>
    <message>
        <source>Use DoRA</source>
        <translation>使用 DoRA</translation>
    </message>
    <message>
        <source>LoRA modules (optional)</source>
        <translation>LoRA 作用模块（非必填）</translation>
    </message>
    <message>
        <source>Additional modules (optional)</source>
        <translation>附加模块（非必填）</translation>
    </message>
    <message>
        <source>Beta value</source>
        <translation>Beta 参数</translation>
    </message>
    <message>
        <source>Loss type</source>
        <translation>损失类型</translation>
    </message>
    <message>
        <source>Reward model</source>
        <translation>奖励模型</translation>
    </message>
    <message>
        <source>en</source>
        <comment>code of the interface language</comment>
        <translation>zh</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Extra configurations</source>
        <translation>其它参数设置</translation>
    </message>
    <message>
        <source>Freeze tuning configurations</source>
        <translation>部分参数微调设置</translation>
    </message>
    <message>
        <source>LoRA configurations</source>
        <translation>LoRA 参数设置</translation>
    </message>
    <message>
        <source>RLHF configurations</source>
        <translation>RLHF 参数设置</translation>
    </message>
    <message>
        <source>Ftx gamma</source>
        <translation>Ftx gamma</translation>
    </message>
    <message>
        <source>Model revision</source>
        <translation>模型版本</translation>
    </message>
    <message>
        <source>Train from scratch</source>
        <translation>从头训练</translation>
    </message>
    <message>
        <source>DPO label smoothing</source>
        <translation>DPO 标签平滑</translation>
    </message>
    <message>
        <source>SimPO gamma</source>
        <translation>SimPO gamma</translation>
    </message>
    <message>
        <source>LD-DPO alpha</source>
        <translation>LD-DPO alpha</translation>
    </message>
    <message>
        <source>BCO weight</source>
        <translation>BCO 权重</translation>
    </message>
    <message>
        <source>KTO desirable weight</source>
        <translation>KTO 正样本权重</translation>
    </message>
    <message>
        <source>KTO undesirable weight</source>
        <translation>KTO 负样本权重</translation>
    </message>
    <message>
        <source>Reference model</source>
        <translation>参考模型</translation>
    </message>
    <message>
        <source>Reference model adapters</source>
        <translation>参考模型适配器</translation>
    </message>
    <message>
        <source>Evaluation dataset</source>
        <translation>评估数据集</translation>
    </message>
    <message>
        <source>Preprocessing workers</source>
        <translation>预处理进程数</translation>
    </message>
    <message>
        <source>Overwrite the token cache</source>
        <translation>覆盖分词缓存</translation>
    </message>
    <message>
        <source>Default system prompt</source>
        <translation>默认系统提示词</translation>
    </message>
    <message>
        <source>Tool format</source>
        <translation>工具格式</translation>
    </message>
    <message>
        <source>Checkpoints kept</source>
        <translation>保留的检查点数</translation>
    </message>
    <message>
        <source>Plot the loss</source>
        <translation>绘制损失曲线</translation>
    </message>
    <message>
        <source>Overwrite output dir</source>
        <translation>覆盖输出目录</translation>
    </message>
    <message>
        <source>Save only the model</source>
        <translation>仅保存模型</translation>
    </message>
    <message>
        <source>Max steps</source>
        <translation>最大步数</translation>
    </message>
    <message>
        <source>Warmup ratio</source>
        <translation>预热比例</translation>
    </message>
    <message>
        <source>Weight decay</source>
        <translation>权重衰减</translation>
    </message>
    <message>
        <source>Adam beta1</source>
        <translation>Adam beta1</translation>
    </message>
    <message>
        <source>Adam beta2</source>
        <translation>Adam beta2</translation>
    </message>
    <message>
        <source>Adam epsilon</source>
        <translation>Adam epsilon</translation>
    </message>
    <message>
        <source>bf16 mixed precision</source>
        <translation>bf16 混合精度</translation>
    </message>
    <message>
        <source>fp16 mixed precision</source>
        <translation>fp16 混合精度</translation>
    </message>
    <message>
        <source>Pure bf16 training</source>
        <translation>纯 bf16 训练</translation>
    </message>
    <message>
        <source>Optimizer</source>
        <translation>优化器</translation>
    </message>
    <message>
        <source>Disable gradient checkpointing</source>
        <translation>禁用梯度检查点</translation>
    </message>
    <message>
        <source>Resume from checkpoint</source>
        <translation>从检查点恢复</translation>
    </message>
    <message>
        <source>Tokenized data path</source>
        <translation>分词数据路径</translation>
    </message>
    <message>
        <source>Eval batch size</source>
        <translation>评估批处理大小</translation>
    </message>
    <message>
        <source>Evaluation strategy</source>
        <translation>评估策略</translation>
    </message>
    <message>
        <source>Eval steps</source>
        <translation>评估间隔</translation>
    </message>
    <message>
        <source>Load the best model at the end</source>
        <translation>结束时加载最佳模型</translation>
    </message>
    <message>
        <source>Auto (on for pre-training)</source>
        <translation>自动（预训练时开启）</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>On</source>
        <translation>开启</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Compute type</source>
        <translation>计算类型</translation>
    </message>
    <message>
        <source>Whether to use mixed precision training.</source>
        <translation>是否使用混合精度训练。</translation>
    </message>
    <message>
        <source>DeepSpeed config (ZeRO stage)</source>
        <translation>DeepSpeed 配置（ZeRO 阶段）</translation>
    </message>
    <message>
        <source>Worker timeout (s)</source>
        <translation>进程等待超时（秒）</translation>
    </message>
    <message>
        <source>Gradient bucket (MB)</source>
        <translation>梯度桶大小（MB）</translation>
    </message>
</context>
<context>
    <name>lathe::ChatTab</name>
    <message>
        <source>Invalid JSON schema.</source>
        <translation>Json 格式错误。</translation>
    </message>
    <message>
        <source>Tool name not found.</source>
        <translation>工具名称未找到。</translation>
    </message>
    <message>
        <source>User</source>
        <translation>用户</translation>
    </message>
    <message>
        <source>Observation</source>
        <translation>工具结果</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
    <message>
        <source>Thought</source>
        <translation>思考完成</translation>
    </message>
    <message>
        <source>You have loaded a model, please unload it first.</source>
        <translation>模型已存在，请先卸载模型。</translation>
    </message>
    <message>
        <source>Please select a model.</source>
        <translation>请选择模型。</translation>
    </message>
    <message>
        <source>%1 tokens · %2 tokens/s</source>
        <translation>%1 个 token · %2 token/秒</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Last reply: %1 tokens/s</source>
        <translation>上次回复：%1 token/秒</translation>
    </message>
    <message>
        <source>Inference data type</source>
        <translation>推理数据类型</translation>
    </message>
    <message>
        <source>Load model</source>
        <translation>加载模型</translation>
    </message>
    <message>
        <source>Unload model</source>
        <translation>卸载模型</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>System prompt (optional)</source>
        <translation>系统提示词（非必填）</translation>
    </message>
    <message>
        <source>Tools (optional)</source>
        <translation>工具列表（非必填）</translation>
    </message>
    <message>
        <source>Input...</source>
        <translation>输入...</translation>
    </message>
    <message>
        <source>Submit</source>
        <translation>提交</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Maximum new tokens</source>
        <translation>最大生成长度</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p 采样值</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度系数</translation>
    </message>
    <message>
        <source>0 decodes greedily (always the most likely token).</source>
        <translation>为 0 时使用贪心解码（总是选择概率最高的 token）。</translation>
    </message>
    <message>
        <source>Enable thinking</source>
        <translation>启用思考模式</translation>
    </message>
    <message>
        <source>Whether or not to enable thinking mode for reasoning models.</source>
        <translation>是否启用推理模型的思考模式。</translation>
    </message>
    <message>
        <source>Clear history</source>
        <translation>清空历史</translation>
    </message>
    <message>
        <source>Model unloaded, please load a model first.</source>
        <translation>模型未加载，请先加载模型。</translation>
    </message>
    <message>
        <source>Loading model...</source>
        <translation>加载中……</translation>
    </message>
    <message>
        <source>Model loaded, now you can chat with your model!</source>
        <translation>模型已加载，可以开始聊天了！</translation>
    </message>
    <message>
        <source>Model unloaded.</source>
        <translation>模型已卸载。</translation>
    </message>
    <message>
        <source>Please select an adapter.</source>
        <translation>请选择适配器。</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>对比</translation>
    </message>
    <message>
        <source>Answer the query with the base model and with the base model + the chosen adapters, side by side.</source>
        <translation>分别用基础模型和“基础模型 + 所选适配器”回答输入内容，并排显示。</translation>
    </message>
    <message>
        <source>Send the query (Ctrl+Enter in the input box).</source>
        <translation>发送输入内容（在输入框中按 Ctrl+Enter）。</translation>
    </message>
    <message>
        <source>Type a query to compare the answers of the base model and the adapters.</source>
        <translation>请输入内容，以比较基础模型与适配器的回答。</translation>
    </message>
    <message>
        <source>Skip special tokens</source>
        <translation>跳过特殊 token</translation>
    </message>
    <message>
        <source>Whether or not to skip special tokens in the reply.</source>
        <translation>是否跳过回复中的特殊 token。</translation>
    </message>
    <message>
        <source>Escape HTML tags</source>
        <translation>转义 HTML 标签</translation>
    </message>
    <message>
        <source>Whether or not to escape HTML tags in the reply.</source>
        <translation>是否转义回复中的 HTML 标签。</translation>
    </message>
</context>
<context>
    <name>lathe::ComparePanel</name>
    <message>
        <source>%1 tokens · %2 tokens/s</source>
        <translation>%1 个 token · %2 token/秒</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Loading model...</source>
        <translation>加载中……</translation>
    </message>
    <message>
        <source>Compare: the same prompt, without and with the adapters</source>
        <translation>对比：同一输入，不加与加上适配器</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Hide the comparison and free its two models.</source>
        <translation>隐藏对比并释放其两个模型。</translation>
    </message>
    <message>
        <source>Base model</source>
        <translation>基础模型</translation>
    </message>
    <message>
        <source>Base model + adapters</source>
        <translation>基础模型 + 适配器</translation>
    </message>
    <message>
        <source>Base model + %1</source>
        <translation>基础模型 + %1</translation>
    </message>
</context>
<context>
    <name>lathe::DatasetPreviewDialog</name>
    <message>
        <source>Previous</source>
        <translation>上一页</translation>
    </message>
    <message>
        <source>Next</source>
        <translation>下一页</translation>
    </message>
    <message>
        <source>Preview of %1</source>
        <translation>%1 预览</translation>
    </message>
    <message>
        <source>Choose a model and a template in the top bar to see the training view.</source>
        <translation>在顶栏选择模型和对话模板后可查看训练视图。</translation>
    </message>
    <message>
        <source>Records per page</source>
        <translation>每页记录数</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>Content</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Page %1 of %2 (%3 records)</source>
        <translation>第 %1 页，共 %2 页（%3 条记录）</translation>
    </message>
    <message>
        <source>%1 tokens; learned text is highlighted.</source>
        <translation>共 %1 个词元；高亮部分为学习的文本。</translation>
    </message>
    <message>
        <source>Truncated to cutoff_len.</source>
        <translation>已按 cutoff_len 截断。</translation>
    </message>
</context>
<context>
    <name>lathe::EvalTab</name>
    <message>
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <source>Choose a dataset: none is registered in %1.</source>
        <translation>请选择数据集：%1 中没有注册任何数据集。</translation>
    </message>
    <message>
        <source>Choose an output folder.</source>
        <translation>请选择输出目录。</translation>
    </message>
    <message>
        <source>Generating...</source>
        <translation>生成中……</translation>
    </message>
    <message>
        <source>Running %1/%2: %3 &lt; %4</source>
        <translation>运行中 %1/%2：%3 &lt; %4</translation>
    </message>
    <message>
        <source>Aborted: nothing was written.</source>
        <translation>已中断：没有写入任何文件。</translation>
    </message>
    <message>
        <source>aborted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <source>BLEU-4 %1, ROUGE-1 %2, ROUGE-2 %3, ROUGE-L %4; %5 samples in %6 s. Saved in %7.</source>
        <translation>BLEU-4 %1，ROUGE-1 %2，ROUGE-2 %3，ROUGE-L %4；%5 个样本，用时 %6 秒。已保存到 %7。</translation>
    </message>
    <message>
        <source>Data dir</source>
        <translation>数据路径</translation>
    </message>
    <message>
        <source>Dataset</source>
        <translation>数据集</translation>
    </message>
    <message>
        <source>Cutoff length</source>
        <translation>截断长度</translation>
    </message>
    <message>
        <source>Max samples</source>
        <translation>最大样本数</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批处理大小</translation>
    </message>
    <message>
        <source>Maximum new tokens</source>
        <translation>最大生成长度</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p 采样值</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度系数</translation>
    </message>
    <message>
        <source>Output dir</source>
        <translation>输出目录</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Abort</source>
        <translation>中断</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Prediction</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Evaluating...</source>
        <translation>正在评估……</translation>
    </message>
    <message>
        <source>Loss %1, accuracy %2. Saved in %3.</source>
        <translation>损失 %1，准确率 %2。已保存到 %3。</translation>
    </message>
    <message>
        <source>Loss %1, reward accuracy %2, reward margin %3 (chosen %4, rejected %5). Saved in %6.</source>
        <translation>损失 %1，奖励准确率 %2，奖励差值 %3（选中 %4，拒绝 %5）。已保存到 %6。</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>训练阶段</translation>
    </message>
    <message>
        <source>Supervised Fine-Tuning</source>
        <translation>监督微调</translation>
    </message>
    <message>
        <source>Reward Modeling</source>
        <translation>奖励模型训练</translation>
    </message>
    <message>
        <source>DPO</source>
        <translation>DPO</translation>
    </message>
    <message>
        <source>KTO</source>
        <translation>KTO</translation>
    </message>
    <message>
        <source>Choose a benchmark task, such as mmlu_test.</source>
        <translation>请选择评测任务，例如 mmlu_test。</translation>
    </message>
    <message>
        <source>Output dir already exists: %1. A benchmark never overwrites results: choose a new folder.</source>
        <translation>输出目录已存在：%1。评测不会覆盖已有结果，请选择新的文件夹。</translation>
    </message>
    <message>
        <source>%1: average accuracy %2% over %3 questions (%4-shot) in %5 s. Saved in %6.</source>
        <translation>%1：%3 道题（%4-shot）平均准确率 %2%，用时 %5 秒。已保存到 %6。</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>Accuracy (%)</source>
        <translation>准确率（%）</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>科目</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Benchmark (MMLU, C-Eval, CMMLU)</source>
        <translation>基准评测（MMLU、C-Eval、CMMLU）</translation>
    </message>
    <message>
        <source>Supervised: generate answers and score them with BLEU and ROUGE (jieba words, as LLaMA-Factory). Reward Modeling, DPO, KTO: the stage&apos;s loss and reward metrics on the dataset. Benchmark: multiple-choice accuracy per subject and category.</source>
        <translation>监督微调：生成回答并用 BLEU 与 ROUGE 评分（与 LLaMA-Factory 相同，按 jieba 分词）。奖励模型训练、DPO、KTO：该阶段在数据集上的损失与奖励指标。基准评测：按科目和类别统计的选择题准确率。</translation>
    </message>
    <message>
        <source>Task</source>
        <translation>评测任务</translation>
    </message>
    <message>
        <source>&lt;name&gt;_&lt;split&gt;: mmlu_test, cmmlu_test, ceval_validation</source>
        <translation>&lt;名称&gt;_&lt;划分&gt;：mmlu_test、cmmlu_test、ceval_validation</translation>
    </message>
    <message>
        <source>Task dir</source>
        <translation>评测数据路径</translation>
    </message>
    <message>
        <source>The folder holding &lt;name&gt;/mapping.json and the subjects&apos; CSV splits (LLaMA-Factory&apos;s evaluation folder, extracted)</source>
        <translation>存放 &lt;名称&gt;/mapping.json 及各科目 CSV 划分的文件夹（LLaMA-Factory 的 evaluation 文件夹，需解压）</translation>
    </message>
    <message>
        <source>Few-shot examples</source>
        <translation>少样本示例数</translation>
    </message>
    <message>
        <source>Prompt language</source>
        <translation>提示词语言</translation>
    </message>
    <message>
        <source>Scoring</source>
        <translation>评分方式</translation>
    </message>
    <message>
        <source>Answer letter logits</source>
        <translation>答案字母的 logits</translation>
    </message>
    <message>
        <source>Lowest answer perplexity</source>
        <translation>答案困惑度最低</translation>
    </message>
    <message>
        <source>Answer letter logits: LLaMA-Factory&apos;s way. Lowest answer perplexity: the choice whose completed answer the model finds most likely, as OpenCompass scores base models.</source>
        <translation>答案字母的 logits：LLaMA-Factory 的方式。答案困惑度最低：选择模型认为补全后最可能的答案，与 OpenCompass 评测基座模型的方式相同。</translation>
    </message>
</context>
<context>
    <name>lathe::ExportTab</name>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Merge the LoRA adapters of the chosen checkpoint into the base model and write the result as safetensors shards of a chosen size, or as a GGUF file for llama.cpp, optionally quantized.</source>
        <translation>将所选检查点的 LoRA 适配器合并到基础模型中，并将结果保存为指定大小的 safetensors 分块，或保存为供 llama.cpp 使用的 GGUF 文件，可选择量化。</translation>
    </message>
    <message>
        <source>Export wizard…</source>
        <translation>导出向导…</translation>
    </message>
    <message>
        <source>Last export</source>
        <translation>上次导出</translation>
    </message>
    <message>
        <source>Choose a model (and the checkpoints to merge) in the bar above.</source>
        <translation>请在上方选择模型（以及要合并的检查点）。</translation>
    </message>
    <message>
        <source>Would export %1 with %2, chat template %3.</source>
        <translation>将导出 %1，适配器：%2，对话模板：%3。</translation>
    </message>
    <message>
        <source>no adapter</source>
        <translation>无适配器</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Double-click to open the folder</source>
        <translation>双击打开文件夹</translation>
    </message>
    <message>
        <source>Recent exports</source>
        <translation>最近的导出</translation>
    </message>
</context>
<context>
    <name>lathe::ExportWizard</name>
    <message>
        <source>Model not found.</source>
        <translation>模型未找到。</translation>
    </message>
    <message>
        <source>Adapter not found: %1</source>
        <translation>未找到适配器：%1</translation>
    </message>
    <message>
        <source>A LoRA-only GGUF needs exactly one adapter (checkpoint).</source>
        <translation>仅导出 LoRA 的 GGUF 需要恰好一个适配器（检查点）。</translation>
    </message>
    <message>
        <source>A LoRA adapter GGUF is written as f32, f16, bf16 or q8_0.</source>
        <translation>LoRA 适配器 GGUF 只能保存为 f32、f16、bf16 或 q8_0。</translation>
    </message>
    <message>
        <source>Export dir</source>
        <translation>导出目录</translation>
    </message>
    <message>
        <source>Writing %1 (%2 of %3)</source>
        <translation>正在写入 %1（第 %2 个，共 %3 个）</translation>
    </message>
    <message>
        <source>Model exported.</source>
        <translation>模型导出完成。</translation>
    </message>
    <message>
        <source>%1 in %2 s</source>
        <translation>%1，用时 %2 秒</translation>
    </message>
    <message>
        <source>Export cancelled.</source>
        <translation>导出已取消。</translation>
    </message>
    <message>
        <source>Failed.</source>
        <translation>导出出错。</translation>
    </message>
    <message>
        <source>Exporting model...</source>
        <translation>正在导出模型……</translation>
    </message>
    <message>
        <source>Total: %1 in %2</source>
        <translation>共 %1，位于 %2</translation>
    </message>
    <message>
        <source>(no Modelfile: give a template to write one)</source>
        <translation>（未生成 Modelfile：指定对话模板后才会生成）</translation>
    </message>
    <message>
        <source>Export model</source>
        <translation>导出模型</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>The model and the checkpoints (adapters) chosen in the top bar; adapters are merged in order.</source>
        <translation>顶栏中选择的模型和检查点（适配器）；适配器按顺序合并。</translation>
    </message>
    <message>
        <source>Model path</source>
        <translation>模型路径</translation>
    </message>
    <message>
        <source>Adapters</source>
        <translation>适配器</translation>
    </message>
    <message>
        <source>none (comma-separated folders)</source>
        <translation>无（多个文件夹用逗号分隔）</translation>
    </message>
    <message>
        <source>Chat template</source>
        <translation>对话模板</translation>
    </message>
    <message>
        <source>for the Ollama Modelfile (optional)</source>
        <translation>用于 Ollama Modelfile（非必填）</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>How the model is written.</source>
        <translation>模型的保存方式。</translation>
    </message>
    <message>
        <source>Merged Hugging Face model (safetensors)</source>
        <translation>合并后的 Hugging Face 模型（safetensors）</translation>
    </message>
    <message>
        <source>GGUF file for llama.cpp and Ollama</source>
        <translation>供 llama.cpp 和 Ollama 使用的 GGUF 文件</translation>
    </message>
    <message>
        <source>LoRA adapter only, as a GGUF adapter</source>
        <translation>仅导出 LoRA 适配器（GGUF 适配器）</translation>
    </message>
    <message>
        <source>Max shard size (GB)</source>
        <translation>最大分块大小（GB）</translation>
    </message>
    <message>
        <source>The maximum size for a model file.</source>
        <translation>单个模型文件的最大大小。</translation>
    </message>
    <message>
        <source>Data type</source>
        <translation>数据类型</translation>
    </message>
    <message>
        <source>GGUF type</source>
        <translation>GGUF 类型</translation>
    </message>
    <message>
        <source>f32/f16/bf16 keep full weights; q8_0 … q4_k_m quantize them.</source>
        <translation>f32/f16/bf16 保留完整权重；q8_0 … q4_k_m 对权重进行量化。</translation>
    </message>
    <message>
        <source>Pre-tokenizer</source>
        <translation>预分词器</translation>
    </message>
    <message>
        <source>recognised from tokenizer.json</source>
        <translation>从 tokenizer.json 自动识别</translation>
    </message>
    <message>
        <source>tokenizer.ggml.pre of the GGUF file; leave empty unless the tokenizer&apos;s split pattern is not recognised.</source>
        <translation>GGUF 文件的 tokenizer.ggml.pre；除非分词器的切分规则无法识别，否则留空。</translation>
    </message>
    <message>
        <source>Destination</source>
        <translation>目标位置</translation>
    </message>
    <message>
        <source>Directory to save exported model.</source>
        <translation>保存导出模型的文件夹路径。</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>This folder is not empty. Its files may be replaced (a Hugging Face export replaces the whole folder).</source>
        <translation>该文件夹不为空，其中的文件可能被替换（Hugging Face 导出会替换整个文件夹）。</translation>
    </message>
    <message>
        <source>Overwrite the folder&apos;s contents</source>
        <translation>覆盖文件夹中的内容</translation>
    </message>
    <message>
        <source>Writing the model; this may take a while for large models.</source>
        <translation>正在写入模型；大模型可能需要一段时间。</translation>
    </message>
    <message>
        <source>Cancel export</source>
        <translation>取消导出</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>总结</translation>
    </message>
    <message>
        <source>What was written and how to try it.</source>
        <translation>写入了哪些文件，以及如何试用。</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Ollama Modelfile</source>
        <translation>Ollama Modelfile</translation>
    </message>
    <message>
        <source>Try it</source>
        <translation>试用</translation>
    </message>
    <message>
        <source>Export device</source>
        <translation>导出设备</translation>
    </message>
    <message>
        <source>Which device should be used to export model.</source>
        <translation>导出模型使用的设备类型。</translation>
    </message>
    <message>
        <source>Back to the settings</source>
        <translation>返回设置</translation>
    </message>
    <message>
        <source>No chat template is written and no Modelfile: the tokenizer files are copied as they are. Give the template the model was trained with.</source>
        <translation>不写入对话模板，也不生成 Modelfile：分词器文件原样复制。请填写模型训练时使用的模板。</translation>
    </message>
    <message>
        <source>The export will prompt with the %1 template: the model has no chat template of its own, so %1 is written as Jinja.</source>
        <translation>导出的模型将使用 %1 模板生成提示词：模型本身没有对话模板，因此 %1 以 Jinja 形式写入。</translation>
    </message>
    <message>
        <source>The export will prompt with the %1 template, written as Jinja in place of the model&apos;s own (as LLaMA-Factory does for %1).</source>
        <translation>导出的模型将使用 %1 模板生成提示词，以 Jinja 形式替换模型自带的模板（与 LLaMA-Factory 对 %1 的处理相同）。</translation>
    </message>
    <message>
        <source>The export keeps the model&apos;s own chat template (the auto template was built from it).</source>
        <translation>导出保留模型自带的对话模板（auto 模板即由它生成）。</translation>
    </message>
    <message>
        <source>The export keeps the model&apos;s own chat template: it writes the same prompts as the %1 template used in training.</source>
        <translation>导出保留模型自带的对话模板：它生成的提示词与训练时使用的 %1 模板相同。</translation>
    </message>
    <message>
        <source>The export will prompt with the %1 template, written as Jinja: the model&apos;s own chat template writes other prompts (%2).</source>
        <translation>导出的模型将使用 %1 模板生成提示词，以 Jinja 形式写入：模型自带的对话模板生成的提示词不同（%2）。</translation>
    </message>
    <message>
        <source>Chat template: %1</source>
        <translation>对话模板：%1</translation>
    </message>
</context>
<context>
    <name>lathe::MainWindow</name>
    <message>
        <source>Lathe</source>
        <translation>Lathe</translation>
    </message>
    <message>
        <source>Lathe: fine-tuning workbench for large language models</source>
        <translation>Lathe：大语言模型微调工作台</translation>
    </message>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Evaluate &amp;&amp; Predict</source>
        <translation>评估与预测</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行记录</translation>
    </message>
    <message>
        <source>A run is still going. Stop it and close? A training run saves a checkpoint and the model first.</source>
        <translation>仍有任务在运行。要停止并关闭吗？训练任务会先保存检查点和模型。</translation>
    </message>
    <message>
        <source>Runs are saved in %1</source>
        <translation>训练结果保存在 %1</translation>
    </message>
</context>
<context>
    <name>lathe::PlaceholderPage</name>
    <message>
        <source>This tab is not available yet; it arrives in a later version of Lathe. The model, method and template chosen above will apply to it.</source>
        <translation>此标签页暂不可用，将在 Lathe 的后续版本中提供。上方选择的模型、微调方法和对话模板将应用于此。</translation>
    </message>
</context>
<context>
    <name>lathe::RegisterDatasetDialog</name>
    <message>
        <source>Replace an entry of that name</source>
        <translation>替换同名条目</translation>
    </message>
    <message>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <source>Register</source>
        <translation>注册</translation>
    </message>
    <message>
        <source>Register a dataset in %1</source>
        <translation>在 %1 中注册数据集</translation>
    </message>
    <message>
        <source>Data file</source>
        <translation>数据文件</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Proposed entry</source>
        <translation>建议的条目</translation>
    </message>
    <message>
        <source>Data (*.json *.jsonl *.csv *.txt)</source>
        <translation>数据 (*.json *.jsonl *.csv *.txt)</translation>
    </message>
    <message>
        <source>Detected: %1</source>
        <translation>检测到：%1</translation>
    </message>
    <message>
        <source>%1 of the first %2 records convert cleanly.</source>
        <translation>前 %2 条记录中有 %1 条可以正确转换。</translation>
    </message>
    <message>
        <source>Nothing to register: no record of the file converts with this entry.</source>
        <translation>无可注册内容：按此条目，文件中没有记录可以转换。</translation>
    </message>
</context>
<context>
    <name>lathe::RunsModel</name>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Final loss</source>
        <translation>最终损失</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>用时</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>训练阶段</translation>
    </message>
    <message>
        <source>Reward accuracy</source>
        <translation>奖励准确率</translation>
    </message>
    <message>
        <source>Reward margin</source>
        <translation>奖励差值</translation>
    </message>
    <message>
        <source>Benchmarks (average %)</source>
        <translation>基准评测（平均 %）</translation>
    </message>
</context>
<context>
    <name>lathe::RunsPanel</name>
    <message>
        <source>step</source>
        <translation>步</translation>
    </message>
    <message>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <source>Folder to list runs from</source>
        <translation>要列出其中运行记录的文件夹</translation>
    </message>
    <message>
        <source>Folder...</source>
        <translation>文件夹...</translation>
    </message>
    <message>
        <source>List the runs of another folder (remembered)</source>
        <translation>列出另一个文件夹中的运行记录（会被记住）</translation>
    </message>
    <message>
        <source>Runs under %1, however they were started (the list follows the folder); select several to compare their loss curves.</source>
        <translation>%1 下的运行记录，无论以何种方式启动（列表随文件夹自动更新）；选择多个可比较其损失曲线。</translation>
    </message>
</context>
<context>
    <name>lathe::TopBar</name>
    <message>
        <source>Look for checkpoints again in %1</source>
        <translation>重新在 %1 中查找检查点</translation>
    </message>
    <message>
        <source>Choose a model folder</source>
        <translation>选择模型文件夹</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Model name</source>
        <translation>模型名称</translation>
    </message>
    <message>
        <source>Input the initial name to search for the model.</source>
        <translation>输入首单词以检索模型。</translation>
    </message>
    <message>
        <source>Choose or type a model name</source>
        <translation>选择或输入模型名称</translation>
    </message>
    <message>
        <source>Model path</source>
        <translation>模型路径</translation>
    </message>
    <message>
        <source>Path to pretrained model or model identifier from Hugging Face.</source>
        <translation>本地模型的文件路径或 Hugging Face 的模型标识符。</translation>
    </message>
    <message>
        <source>Hugging Face id or local folder</source>
        <translation>Hugging Face 模型标识符或本地文件夹</translation>
    </message>
    <message>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <source>Choose a model folder on this computer.</source>
        <translation>选择本机上的模型文件夹。</translation>
    </message>
    <message>
        <source>Finetuning method</source>
        <translation>微调方法</translation>
    </message>
    <message>
        <source>Checkpoint path</source>
        <translation>检查点路径</translation>
    </message>
    <message>
        <source>None: start from the base model</source>
        <translation>无：从基础模型开始</translation>
    </message>
    <message>
        <source>Chat template</source>
        <translation>对话模板</translation>
    </message>
    <message>
        <source>The chat template used in constructing prompts.</source>
        <translation>构建提示词时使用的模板。</translation>
    </message>
    <message>
        <source>%1 does not exist.</source>
        <translation>%1 不存在。</translation>
    </message>
    <message>
        <source>Not a model folder: no config.json in %1.</source>
        <translation>不是模型文件夹：%1 中没有 config.json。</translation>
    </message>
    <message>
        <source>%1 is not valid JSON.</source>
        <translation>%1 不是有效的 JSON。</translation>
    </message>
    <message>
        <source>%1, but no .safetensors weights in %2.</source>
        <translation>%1，但 %2 中没有 .safetensors 权重。</translation>
    </message>
    <message>
        <source>%1 · %2 parameters · %3 · %4 GB on disk · context %5</source>
        <translation>%1 · %2 参数 · %3 · 磁盘占用 %4 GB · 上下文长度 %5</translation>
    </message>
    <message>
        <source>None (tick several LoRA checkpoints to stack)</source>
        <translation>无（勾选多个 LoRA 检查点可叠加）</translation>
    </message>
    <message>
        <source>Hub name</source>
        <translation>模型下载源</translation>
    </message>
    <message>
        <source>Choose the model download source.</source>
        <translation>选择模型下载源。（网络受限环境推荐使用 ModelScope）</translation>
    </message>
    <message>
        <source>RoPE scaling</source>
        <translation>RoPE 插值方法</translation>
    </message>
    <message>
        <source>RoPE scaling method to use.</source>
        <translation>RoPE 插值时使用的方法。</translation>
    </message>
    <message>
        <source>Where training, evaluation and chat compute: auto picks CUDA, then Ascend NPU, then the CPU.</source>
        <translation>训练、评估和对话使用的计算设备：自动时依次选择 CUDA、昇腾 NPU、CPU。</translation>
    </message>
    <message>
        <source>Connecting...</source>
        <translation>正在连接……</translation>
    </message>
    <message>
        <source>%1  %2 / %3 MB  %4 MB/s  %5 left</source>
        <translation>%1  %2 / %3 MB  %4 MB/秒  剩余 %5</translation>
    </message>
    <message>
        <source>Download cancelled; the part already fetched is kept and the next download resumes it.</source>
        <translation>下载已取消；已下载的部分会保留，下次下载将从中断处继续。</translation>
    </message>
    <message>
        <source>Download failed: %1</source>
        <translation>下载失败：%1</translation>
    </message>
    <message>
        <source>From the %1 cache: %2</source>
        <translation>来自 %1 缓存：%2</translation>
    </message>
    <message>
        <source>%1 is not in the cache %2 and HF_HUB_OFFLINE is set.</source>
        <translation>%1 不在缓存 %2 中，且已设置 HF_HUB_OFFLINE。</translation>
    </message>
    <message>
        <source>Not downloaded yet: Download (or Start) fetches it into %1.</source>
        <translation>尚未下载：点击“下载”（或“开始”）会将其下载到 %1。</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Fetch this hub model into the local cache (Hugging Face, ModelScope), where Python tools find it too; an interrupted download resumes.</source>
        <translation>将此模型从模型仓库下载到本地缓存（Hugging Face、ModelScope），Python 工具也能找到它；中断的下载可以继续。</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>The model&apos;s own chat template (%1) is %2; %3 prompts it differently.</source>
        <translation>模型自带的对话模板（%1）是 %2；%3 的提示格式与之不同。</translation>
    </message>
    <message>
        <source>Template from the model list.</source>
        <translation>模板来自模型列表。</translation>
    </message>
    <message>
        <source>Template detected from the model&apos;s %1.</source>
        <translation>模板由模型的 %1 识别。</translation>
    </message>
    <message>
        <source>The model&apos;s own chat template (%1) matches no registered template; auto builds the template from it, %2 prompts it differently.</source>
        <translation>模型自带的对话模板（%1）不属于任何已注册的模板；auto 会据此生成模板，%2 的提示词与之不同。</translation>
    </message>
    <message>
        <source>Template built from the model&apos;s %1 (auto).</source>
        <translation>模板由模型的 %1 生成（auto）。</translation>
    </message>
    <message>
        <source>Device and workers</source>
        <translation>设备与进程数</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source> workers</source>
        <translation> 个进程</translation>
    </message>
    <message>
        <source>Training workers (nproc_per_node): one per GPU or NPU, or several CPU processes that share the cores. They train as one job: the batch size is per worker, the loss is their mean. auto: one per visible GPU or NPU, one on the CPU.</source>
        <translation>训练进程数（nproc_per_node）：每块 GPU 或 NPU 一个，或共享 CPU 核心的多个 CPU 进程。它们作为一个任务训练：批大小按每个进程计，损失取各进程的平均。自动：每块可见 GPU 或 NPU 一个，CPU 上一个。</translation>
    </message>
</context>
<context>
    <name>lathe::TrainCharts</name>
    <message>
        <source>Loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>original</source>
        <translation>原始</translation>
    </message>
    <message>
        <source>smoothed</source>
        <translation>平滑</translation>
    </message>
    <message>
        <source>eval loss</source>
        <translation>验证损失</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Rewards</source>
        <translation>奖励</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>margin</source>
        <translation>奖励差值</translation>
    </message>
    <message>
        <source>eval margin</source>
        <translation>验证奖励差值</translation>
    </message>
</context>
<context>
    <name>lathe::TrainRunner</name>
    <message>
        <source>Unexpected error: %1</source>
        <translation>意外错误：%1</translation>
    </message>
</context>
<context>
    <name>lathe::TrainTab</name>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Save arguments</source>
        <translation>保存训练参数</translation>
    </message>
    <message>
        <source>YAML files (*.yaml *.yml)</source>
        <translation>YAML 文件 (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Load arguments</source>
        <translation>载入训练参数</translation>
    </message>
    <message>
        <source>YAML files (*.yaml *.yml *.json)</source>
        <translation>YAML 文件 (*.yaml *.yml *.json)</translation>
    </message>
    <message>
        <source>Aborted at step %1; what was trained is saved in %2.</source>
        <translation>已在第 %1 步中断；已训练的权重保存在 %2。</translation>
    </message>
    <message>
        <source>Finished.</source>
        <translation>训练完毕。</translation>
    </message>
    <message>
        <source>Failed.</source>
        <translation>训练出错。</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>准备就绪。</translation>
    </message>
    <message>
        <source>No dataset of %1 suits this stage.</source>
        <translation>%1 中没有适用于该训练阶段的数据集。</translation>
    </message>
    <message>
        <source>No dataset_info.json in %1.</source>
        <translation>%1 中没有 dataset_info.json。</translation>
    </message>
    <message>
        <source>Please select a model.</source>
        <translation>请选择模型。</translation>
    </message>
    <message>
        <source>Please choose a dataset.</source>
        <translation>请选择数据集。</translation>
    </message>
    <message>
        <source>Please provide output dir.</source>
        <translation>请填写输出目录。</translation>
    </message>
    <message>
        <source>Lathe does not train the stage %1 yet.</source>
        <translation>Lathe 暂不支持训练阶段 %1。</translation>
    </message>
    <message>
        <source>Arguments have been saved at: %1</source>
        <translation>训练参数已保存至：%1</translation>
    </message>
    <message>
        <source>Arguments have been restored.</source>
        <translation>训练参数已载入。</translation>
    </message>
    <message>
        <source>A process is in running, please abort it first.</source>
        <translation>任务已存在，请先中断训练。</translation>
    </message>
    <message>
        <source>Loading model...</source>
        <translation>加载中……</translation>
    </message>
    <message>
        <source>Aborted, wait for terminating...</source>
        <translation>训练中断，正在等待进程结束……</translation>
    </message>
    <message>
        <source>Running %1/%2: %3 &lt; %4</source>
        <translation>运行中 %1/%2：%3 &lt; %4</translation>
    </message>
    <message>
        <source>%1 tokens/s, peak memory %2</source>
        <translation>%1 词元/秒，峰值内存 %2</translation>
    </message>
    <message>
        <source>Training...</source>
        <translation>训练中……</translation>
    </message>
    <message>
        <source>Supervised Fine-Tuning</source>
        <translation>监督微调</translation>
    </message>
    <message>
        <source>Reward Modeling</source>
        <translation>奖励模型训练</translation>
    </message>
    <message>
        <source>PPO</source>
        <translation>PPO</translation>
    </message>
    <message>
        <source>DPO</source>
        <translation>DPO</translation>
    </message>
    <message>
        <source>KTO</source>
        <translation>KTO</translation>
    </message>
    <message>
        <source>Pre-Training</source>
        <translation>预训练</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>训练阶段</translation>
    </message>
    <message>
        <source>The stage to perform in training.</source>
        <translation>目前采用的训练方式。</translation>
    </message>
    <message>
        <source>Data dir</source>
        <translation>数据路径</translation>
    </message>
    <message>
        <source>Path to the data directory.</source>
        <translation>数据文件夹的路径。</translation>
    </message>
    <message>
        <source>Dataset</source>
        <translation>数据集</translation>
    </message>
    <message>
        <source>Read dataset_info.json of the data dir again.</source>
        <translation>重新读取数据路径中的 dataset_info.json。</translation>
    </message>
    <message>
        <source>Preview command</source>
        <translation>预览命令</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Abort</source>
        <translation>中断</translation>
    </message>
    <message>
        <source>Output dir</source>
        <translation>输出目录</translation>
    </message>
    <message>
        <source>Directory for saving results.</source>
        <translation>保存结果的路径。</translation>
    </message>
    <message>
        <source>Memory estimate: %1</source>
        <translation>内存估计：%1</translation>
    </message>
    <message>
        <source>Choose a dataset to preview.</source>
        <translation>请选择要预览的数据集。</translation>
    </message>
    <message>
        <source>Preview dataset</source>
        <translation>预览数据集</translation>
    </message>
    <message>
        <source>Pages of raw records and the exact training text with the learned part marked.</source>
        <translation>分页查看原始记录，以及标出学习部分的实际训练文本。</translation>
    </message>
    <message>
        <source>Register dataset...</source>
        <translation>注册数据集...</translation>
    </message>
    <message>
        <source>Add a data file of the data dir to dataset_info.json.</source>
        <translation>将数据路径中的数据文件添加到 dataset_info.json。</translation>
    </message>
    <message>
        <source>Output dir already exists and holds no checkpoint: %1.</source>
        <translation>输出目录已存在且没有检查点：%1。</translation>
    </message>
    <message>
        <source>Output dir already exists: %1. Start resumes it from %2.</source>
        <translation>输出目录已存在：%1。开始后将从 %2 恢复训练。</translation>
    </message>
    <message>
        <source>Output dir already exists: %1. Start trains from scratch and replaces it (overwrite_output_dir).</source>
        <translation>输出目录已存在：%1。开始后将从头训练并覆盖它（overwrite_output_dir）。</translation>
    </message>
    <message>
        <source>Start resumes the run from its last checkpoint.</source>
        <translation>开始后将从最后一个检查点恢复训练。</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>恢复训练</translation>
    </message>
    <message>
        <source>Load this run&apos;s arguments and continue it from its last checkpoint.</source>
        <translation>载入该运行的参数，并从其最后一个检查点继续训练。</translation>
    </message>
    <message>
        <source>Overwrite</source>
        <translation>覆盖</translation>
    </message>
    <message>
        <source>Keep these arguments and train from scratch into this folder.</source>
        <translation>保留当前参数，从头训练并写入此文件夹。</translation>
    </message>
    <message>
        <source>New run</source>
        <translation>新建运行</translation>
    </message>
    <message>
        <source>Use a new output folder.</source>
        <translation>使用新的输出目录。</translation>
    </message>
    <message>
        <source>%1 (weights %2, trainable %3, gradients and AdamW %4, activations %5)</source>
        <translation>%1（权重 %2，可训练参数 %3，梯度与 AdamW %4，激活值 %5）</translation>
    </message>
    <message>
        <source>exceeds the %1 available: lower the batch size or cutoff length, or keep gradient checkpointing on.</source>
        <translation>超过可用的 %1：请减小批处理大小或截断长度，或保持梯度检查点开启。</translation>
    </message>
    <message>
        <source>not available (%1)</source>
        <translation>无法估计（%1）</translation>
    </message>
    <message>
        <source>Memory estimate: choose a model to see it.</source>
        <translation>内存估计：选择模型后显示。</translation>
    </message>
    <message>
        <source>PPO needs a reward model and generation inside the training loop; Lathe does not train it yet.</source>
        <translation>PPO 需要奖励模型并在训练循环中生成回答；Lathe 暂不支持该训练阶段。</translation>
    </message>
    <message>
        <source>Aborted at %1/%2 after %3</source>
        <translation>已在 %1/%2 处中断，用时 %3</translation>
    </message>
    <message>
        <source>Finished %1/%2 in %3</source>
        <translation>已完成 %1/%2，用时 %3</translation>
    </message>
    <message>
        <source>Failed before the first step</source>
        <translation>在第一步之前失败</translation>
    </message>
    <message>
        <source>Failed at %1/%2</source>
        <translation>在 %1/%2 处失败</translation>
    </message>
    <message>
        <source>%1 already holds a run: the config&apos;s overwrite_output_dir was not applied. Choose Resume, Overwrite or New run.</source>
        <translation>%1 中已有一次训练：未应用配置中的 overwrite_output_dir。请选择“恢复训练”“覆盖”或“新建运行”。</translation>
    </message>
    <message>
        <source>%1 is not a model folder: it has no config.json.</source>
        <translation>%1 不是模型文件夹：其中没有 config.json。</translation>
    </message>
    <message>
        <source>The model path %1 does not exist.</source>
        <translation>模型路径 %1 不存在。</translation>
    </message>
    <message>
        <source>dataset_info.json cannot be read: %1</source>
        <translation>无法读取 dataset_info.json：%1</translation>
    </message>
    <message>
        <source>Downloading the model...</source>
        <translation>正在下载模型……</translation>
    </message>
    <message>
        <source>The %1 template has no thinking mode.</source>
        <translation>%1 模板没有思考模式。</translation>
    </message>
    <message>
        <source>Extra arguments: %1</source>
        <translation>额外参数：%1</translation>
    </message>
    <message>
        <source>Extra arguments</source>
        <translation>额外参数</translation>
    </message>
    <message>
        <source>Extra arguments passed to the trainer in JSON format.</source>
        <translation>以 JSON 格式传递给训练器的额外参数。</translation>
    </message>
    <message>
        <source>Config path</source>
        <translation>配置路径</translation>
    </message>
    <message>
        <source>Where Save and Load keep the arguments (a bare name is in %1).</source>
        <translation>保存与载入参数所用的文件（仅文件名时位于 %1）。</translation>
    </message>
    <message>
        <source>per device, %1 workers</source>
        <translation>（每个设备，共 %1 个进程）</translation>
    </message>
</context>
</TS>

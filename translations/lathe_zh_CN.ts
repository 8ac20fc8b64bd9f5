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
</context>
<context>
    <name>lathe::ChatTab</name>
    <message>
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Load the model and checkpoint chosen above and chat with it through its chat template: a system prompt, tools, replies streamed as they are generated with the model&apos;s thinking shown apart, and sampling settings.</source>
        <translation>加载上方选择的模型和检查点，通过其对话模板与模型对话：支持系统提示词、工具列表、边生成边显示的流式回复（模型的思考过程单独显示）以及采样参数设置。</translation>
    </message>
</context>
<context>
    <name>lathe::EvalTab</name>
    <message>
        <source>Evaluate &amp; Predict</source>
        <translation>评估与预测</translation>
    </message>
    <message>
        <source>Score the model and checkpoint chosen above on a dataset and save its predictions, with BLEU and ROUGE metrics. Generation is controlled by the maximum number of new tokens, top-p and temperature.</source>
        <translation>在数据集上评估上方选择的模型和检查点并保存预测结果，给出 BLEU 和 ROUGE 指标。生成过程由最大生成长度、Top-p 采样值和温度系数控制。</translation>
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
</context>
<context>
    <name>lathe::PlaceholderPage</name>
    <message>
        <source>This tab is not available yet; it arrives in a later version of Lathe. The model, method and template chosen above will apply to it.</source>
        <translation>此标签页暂不可用，将在 Lathe 的后续版本中提供。上方选择的模型、微调方法和对话模板将应用于此。</translation>
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
        <source>Lathe does not train this stage yet.</source>
        <translation>Lathe 暂不支持该训练阶段。</translation>
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
        <source>Memory estimate: computed once the model is loaded.</source>
        <translation>内存估计：模型加载后计算。</translation>
    </message>
    <message>
        <source>Memory estimate: %1</source>
        <translation>内存估计：%1</translation>
    </message>
</context>
</TS>

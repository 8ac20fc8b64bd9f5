<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
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
    <name>lathe::TrainTab</name>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Fine-tune the model chosen above on your datasets: pick the training stage and the datasets, set the learning rate, epochs, batch size and LoRA rank, preview the equivalent command, then start a run and follow its progress and loss curve. Runs are saved under saves/&lt;model&gt;/&lt;method&gt;/, and their checkpoints appear in the checkpoint picker.</source>
        <translation>在你的数据集上微调上方选择的模型：选择训练阶段和数据集，设置学习率、训练轮数、批处理大小和 LoRA 秩，预览命令，然后开始训练并跟踪进度和损失曲线。训练结果保存在 saves/&lt;模型名称&gt;/&lt;微调方法&gt;/ 下，其检查点会出现在检查点路径列表中。</translation>
    </message>
</context>
</TS>

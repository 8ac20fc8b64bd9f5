// What the top bar selects, resolved as LLaMA-Board resolves it for the Chat and Export tabs: the model folder,
// the adapters (LoRA checkpoints, several separated by commas), the template, RoPE scaling and device. A
// checkpoint name is a run (or run/checkpoint-N) under saves/<model>/<method>/; a full or freeze checkpoint replaces the model instead of being an adapter.
#pragma once

#include <QString>
#include <QStringList>

namespace lathe {

class TopBar;

struct ModelSelection
{
    QString modelPath;
    QStringList adapters;
    QString templateName;
    QString finetuningType;
    /// The rope_scaling argument ("" for none) and the device argument (auto, cpu, cuda:N, npu:N).
    QString ropeScaling;
    QString device = QStringLiteral("auto");
    int workers = 0; ///< nproc_per_node; 0: auto
};

/// The selection of `bar`; empty when `bar` is null.
ModelSelection modelSelection(const TopBar* bar);

} // namespace lathe

// Finds the checkpoints a run left under saves/<model>/<finetuning type>/, for the checkpoint picker.
//
// LLaMA-Board (control.list_checkpoints) lists each immediate sub-folder that directly holds weights
// (adapter_model.safetensors, model.safetensors, ...). Its trainer also writes intermediate
// run/checkpoint-N/ folders, which LLaMA-Board misses (issue #9766); this lister looks one level deeper and
// lists those as "run/checkpoint-N".
#pragma once

#include <QString>
#include <QStringList>

namespace lathe {

class CheckpointLister
{
public:
    /// The folder holding one model's runs for one fine-tuning type: <savesRoot>/<model>/<type>, with the
    /// spaces dropped from the model name as LLaMA-Board's get_save_dir does.
    static QString saveDir(const QString& savesRoot, const QString& modelName, const QString& finetuningType);

    /// Checkpoints under saveDir(...), as paths relative to it, sorted by name (natural order, so
    /// checkpoint-100 follows checkpoint-20).
    static QStringList list(const QString& savesRoot, const QString& modelName,
                            const QString& finetuningType);

    /// True when `dir` directly contains a weights file that LLaMA-Board recognises as a checkpoint.
    static bool isCheckpoint(const QString& dir);
};

} // namespace lathe

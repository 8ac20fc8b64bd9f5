// LLaMA-Board's list of known models: display name, where to download it, and its default chat template.
//
// Read from the embedded :/data/supported_models.json (LLaMA-Factory's extras/constants.py as data). The top
// bar offers these names; choosing one fills the model path and chat template, as LLaMA-Board's
// `get_model_info` does. A name not in the list ("Custom", or one the user types) keeps whatever path the
// user gives.
#pragma once

#include <QHash>
#include <QString>
#include <QStringList>

namespace lathe {

class ModelCatalog
{
public:
    /// The catalogue compiled into the program (loaded once).
    static const ModelCatalog& builtIn();

    /// Parses a supported_models.json document; an unreadable file gives an empty catalogue.
    static ModelCatalog fromFile(const QString& path);

    /// Display names in LLaMA-Board's order.
    QStringList modelNames() const { return m_names; }

    /// Every chat template named by the catalogue, plus the generic ones, sorted, "default" first.
    QStringList templates() const { return m_templates; }

    bool contains(const QString& name) const { return m_hubPaths.contains(name); }

    /// The model's id on a download source ("Qwen/Qwen3-4B-Instruct-2507"), or "" for an unknown name.
    /// `hub` is LLaMA-Board's hub name: huggingface (the default), modelscope or openmind; a model without an
    /// id there keeps its Hugging Face id, as LLaMA-Board's get_model_path does.
    QString hubPath(const QString& name, const QString& hub = QStringLiteral("huggingface")) const;

    /// LLaMA-Board's download sources, in its order.
    static QStringList hubs();

    /// The template LLaMA-Board preselects: the group's template for chat/instruct/distill/thinking and
    /// multimodal models, otherwise "default" (base models need fine-tuning before they can chat).
    QString defaultTemplate(const QString& name) const;

private:
    QStringList m_names;
    QStringList m_templates;
    QHash<QString, QString> m_hubPaths;
    /// "ms:" or "om:" + name -> the ModelScope / Modelers id, where the catalogue has one.
    QHash<QString, QString> m_otherHubPaths;
    QHash<QString, QString> m_defaultTemplates;
};

} // namespace lathe

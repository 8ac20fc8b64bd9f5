// LLaMA-Board's list of known models (see model_catalog.h).
#include "model_catalog.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

namespace lathe {

const ModelCatalog& ModelCatalog::builtIn()
{
    static const ModelCatalog catalog = fromFile(QStringLiteral(":/data/supported_models.json"));
    return catalog;
}

ModelCatalog ModelCatalog::fromFile(const QString& path)
{
    ModelCatalog catalog;
    // Templates that exist without any model group naming them (LLaMA-Board lists them too).
    QSet<QString> templates = {QStringLiteral("alpaca"), QStringLiteral("chatml"), QStringLiteral("empty"),
                               QStringLiteral("fewshot")}; // fewshot: benchmark prompts for base models

    QFile file(path);
    if (file.open(QIODevice::ReadOnly)) {
        const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
        for (const QJsonValue& groupValue : root.value(QStringLiteral("groups")).toArray()) {
            const QJsonObject group = groupValue.toObject();
            const QJsonObject paths = group.value(QStringLiteral("paths")).toObject();
            const QString groupTemplate = group.value(QStringLiteral("template")).toString();
            if (!groupTemplate.isEmpty())
                templates.insert(groupTemplate);
            for (const QJsonValue& nameValue : group.value(QStringLiteral("models")).toArray()) {
                const QString name = nameValue.toString();
                if (name.isEmpty())
                    continue;
                // A name registered twice keeps its first place and takes the later path, as in
                // LLaMA-Board's OrderedDict.
                if (!catalog.m_hubPaths.contains(name))
                    catalog.m_names.append(name);
                const QJsonObject ids = paths.value(name).toObject();
                catalog.m_hubPaths.insert(name, ids.value(QStringLiteral("hf")).toString());
                for (const QString source : {QStringLiteral("ms"), QStringLiteral("om")})
                    if (ids.contains(source))
                        catalog.m_otherHubPaths.insert(source + QLatin1Char(':') + name, ids.value(source).toString());
            }
        }
        const QJsonObject defaults = root.value(QStringLiteral("DEFAULT_TEMPLATE")).toObject();
        for (auto it = defaults.begin(); it != defaults.end(); ++it)
            catalog.m_defaultTemplates.insert(it.key(), it.value().toString());
    }

    templates.remove(QStringLiteral("default"));
    catalog.m_templates = QStringList(templates.begin(), templates.end());
    catalog.m_templates.sort();
    // "auto": built from the model's own Jinja chat template (LLaMA-Factory's parse_template), for families no
    // registered template covers.
    catalog.m_templates.prepend(QStringLiteral("auto"));
    catalog.m_templates.prepend(QStringLiteral("default"));
    return catalog;
}

QStringList ModelCatalog::hubs()
{
    return {QStringLiteral("huggingface"), QStringLiteral("modelscope"), QStringLiteral("openmind")};
}

QString ModelCatalog::hubPath(const QString& name, const QString& hub) const
{
    const QString source = hub == QLatin1String("modelscope") ? QStringLiteral("ms")
                           : hub == QLatin1String("openmind") ? QStringLiteral("om")
                                                                : QString();
    if (!source.isEmpty())
        if (const auto it = m_otherHubPaths.constFind(source + QLatin1Char(':') + name); it != m_otherHubPaths.cend())
            return *it;
    return m_hubPaths.value(name);
}

QString ModelCatalog::defaultTemplate(const QString& name) const
{
    return m_defaultTemplates.value(name, QStringLiteral("default"));
}

} // namespace lathe

// Switches the user-interface language while the program runs (see language_switcher.h).
#include "language_switcher.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

namespace lathe {

LanguageSwitcher::LanguageSwitcher(QObject* parent) : QObject(parent) {}

LanguageSwitcher::~LanguageSwitcher()
{
    removeTranslators();
}

QStringList LanguageSwitcher::languages()
{
    return {QStringLiteral("en"), QStringLiteral("zh")};
}

QString LanguageSwitcher::systemLanguage()
{
    return QLocale::system().language() == QLocale::Chinese ? QStringLiteral("zh") : QStringLiteral("en");
}

QString LanguageSwitcher::translationFile(const QString& code)
{
    if (code == QLatin1String("zh"))
        return QStringLiteral(":/i18n/lathe_zh_CN.qm");
    return {};
}

bool LanguageSwitcher::setLanguage(const QString& code)
{
    if (!languages().contains(code))
        return false;
    if (code == m_language)
        return true;

    std::unique_ptr<QTranslator> app;
    std::unique_ptr<QTranslator> qt;
    const QString file = translationFile(code);
    if (!file.isEmpty()) {
        app = std::make_unique<QTranslator>();
        if (!app->load(file))
            return false;
        // Qt's own strings (standard buttons, the file dialog) when the system has them; optional.
        qt = std::make_unique<QTranslator>();
        if (!qt->load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("qtbase"),
                      QStringLiteral("_"), QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
            qt.reset();
    }

    removeTranslators();
    m_appTranslator = std::move(app);
    m_qtTranslator = std::move(qt);
    if (m_qtTranslator)
        QCoreApplication::installTranslator(m_qtTranslator.get());
    // Installing (or, back to English, removing) a translator makes Qt post LanguageChange to every window.
    if (m_appTranslator)
        QCoreApplication::installTranslator(m_appTranslator.get());

    m_language = code;
    Q_EMIT languageChanged(code);
    return true;
}

void LanguageSwitcher::removeTranslators()
{
    if (m_appTranslator)
        QCoreApplication::removeTranslator(m_appTranslator.get());
    if (m_qtTranslator)
        QCoreApplication::removeTranslator(m_qtTranslator.get());
    m_appTranslator.reset();
    m_qtTranslator.reset();
}

} // namespace lathe

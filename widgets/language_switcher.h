// Switches the user-interface language while the program runs.
//
// English is the source language of every tr() string; other languages come from .qm files embedded
// under :/i18n (built from translations/*.ts). Installing or removing a QTranslator makes Qt send a
// QEvent::LanguageChange to every widget, and each widget re-reads its texts in retranslateUi().
#pragma once

#include <memory>

#include <QObject>
#include <QString>
#include <QStringList>

class QTranslator;

namespace lathe {

class LanguageSwitcher : public QObject
{
    Q_OBJECT
public:
    explicit LanguageSwitcher(QObject* parent = nullptr);
    ~LanguageSwitcher() override;

    /// Language codes offered in the top bar, as LLaMA-Board spells them ("en", "zh").
    static QStringList languages();

    /// The code of the system locale's language if Lathe has it, else "en".
    static QString systemLanguage();

    /// The embedded .qm file for a language code ("" for English, which needs none).
    static QString translationFile(const QString& code);

    /// The language currently shown.
    QString language() const { return m_language; }

    /// Shows the interface in `code`; returns false (and keeps the current language) for an unknown code
    /// or a translation that fails to load.
    bool setLanguage(const QString& code);

Q_SIGNALS:
    void languageChanged(const QString& code);

private:
    void removeTranslators();

    QString m_language = QStringLiteral("en");
    std::unique_ptr<QTranslator> m_appTranslator;
    std::unique_ptr<QTranslator> m_qtTranslator;
};

} // namespace lathe

// Tests of translations/lathe_zh_CN.ts: every tr() string of widgets/ has a finished Chinese translation,
// LLaMA-Board's own Chinese wording is used where it has one, and the embedded .qm carries it.
#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTranslator>
#include <QXmlStreamReader>
#include <QtTest/QtTest>

#include "test_support.h"

namespace {

struct TsMessage
{
    QString context;
    QString source;
    QString translation;
    QString type; ///< the translation's type attribute: "" when finished, else unfinished/obsolete/vanished
};

struct TsFile
{
    QString language;
    QList<TsMessage> messages;
    QString error;
};

TsFile readTs(const QString& path)
{
    TsFile ts;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        ts.error = "cannot open " + path;
        return ts;
    }
    QXmlStreamReader xml(&file);
    QString context;
    TsMessage message;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement())
            continue;
        const auto name = xml.name();
        if (name == QLatin1String("TS")) {
            ts.language = xml.attributes().value("language").toString();
        } else if (name == QLatin1String("context")) {
            context.clear();
        } else if (name == QLatin1String("name")) {
            context = xml.readElementText();
        } else if (name == QLatin1String("message")) {
            message = TsMessage{context, {}, {}, {}};
        } else if (name == QLatin1String("source")) {
            message.source = xml.readElementText();
        } else if (name == QLatin1String("translation")) {
            message.type = xml.attributes().value("type").toString();
            message.translation = xml.readElementText(QXmlStreamReader::IncludeChildElements);
            ts.messages.append(message);
        }
    }
    if (xml.hasError())
        ts.error = xml.errorString();
    return ts;
}

QString committedTs()
{
    const QString source = qEnvironmentVariable("LATHE_SOURCE_DIR");
    return source.isEmpty() ? QString() : source + "/translations/lathe_zh_CN.ts";
}

QStringList placeholders(const QString& text)
{
    QStringList found;
    static const QRegularExpression re(QStringLiteral("%L?\\d+"));
    for (auto it = re.globalMatch(text); it.hasNext();)
        found << it.next().captured();
    found.sort();
    return found;
}

} // namespace

class TestTranslations : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void everyEntryIsFinished();
    void placeholdersSurviveTranslation();
    void everyTrStringIsInTheTsFile();
    void llamaBoardWordingIsUsed();
    void embeddedQmTranslates();

private:
    TsFile m_ts;
};

void TestTranslations::initTestCase()
{
    if (committedTs().isEmpty())
        QSKIP("LATHE_SOURCE_DIR not set (run through ctest)");
    m_ts = readTs(committedTs());
    QVERIFY2(m_ts.error.isEmpty(), qPrintable(m_ts.error));
}

void TestTranslations::everyEntryIsFinished()
{
    QCOMPARE(m_ts.language, QStringLiteral("zh_CN"));
    QVERIFY(m_ts.messages.size() >= 20);
    for (const TsMessage& m : m_ts.messages) {
        const QString where = m.context + ": " + m.source;
        QVERIFY2(m.type.isEmpty(), qPrintable(where + " is " + m.type));
        QVERIFY2(!m.translation.trimmed().isEmpty(), qPrintable(where + " has no translation"));
    }
}

void TestTranslations::placeholdersSurviveTranslation()
{
    for (const TsMessage& m : m_ts.messages)
        QVERIFY2(placeholders(m.source) == placeholders(m.translation),
                 qPrintable(m.context + ": " + m.source));
}

void TestTranslations::everyTrStringIsInTheTsFile()
{
    // lupdate over widgets/ into a scratch file: what the sources ask for today.
    const QString lupdate = qEnvironmentVariable("LATHE_LUPDATE");
    if (lupdate.isEmpty() || !QFileInfo(lupdate).isExecutable())
        QSKIP("lupdate not found (LATHE_LUPDATE)");
    const QString fresh = lathe::test::scratchDir("translations") + "/fresh_zh_CN.ts";
    QProcess process;
    process.start(lupdate, {"-no-obsolete", "-locations", "none",
                            qEnvironmentVariable("LATHE_SOURCE_DIR") + "/widgets", "-ts", fresh});
    QVERIFY(process.waitForFinished(120000));
    QVERIFY2(process.exitCode() == 0, process.readAllStandardError().constData());

    const TsFile wanted = readTs(fresh);
    QVERIFY2(wanted.error.isEmpty(), qPrintable(wanted.error));
    QVERIFY(!wanted.messages.isEmpty());
    QSet<QString> have;
    for (const TsMessage& m : m_ts.messages)
        have.insert(m.context + '\x1f' + m.source);
    QStringList missing;
    for (const TsMessage& m : wanted.messages) {
        if (!have.contains(m.context + '\x1f' + m.source))
            missing << m.context + ": " + m.source;
    }
    QVERIFY2(missing.isEmpty(),
             qPrintable("not in lathe_zh_CN.ts (run `ninja update_translations` and translate): " +
                        missing.join(" | ")));
    // And nothing stale: every entry is still used.
    QCOMPARE(m_ts.messages.size(), wanted.messages.size());
}

void TestTranslations::llamaBoardWordingIsUsed()
{
    // Where a string is one of LLaMA-Board's labels or hints, its Chinese must be LLaMA-Board's too.
    LATHE_REQUIRE_SHARED();
    QFile file(lathe::test::sharedDir() + "/data/llamaboard_locales.json");
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject locales = QJsonDocument::fromJson(file.readAll()).object().value("LOCALES").toObject();
    QHash<QString, QString> zhFor;
    for (const QJsonValue& entry : locales) {
        const QJsonObject en = entry.toObject().value("en").toObject();
        const QJsonObject zh = entry.toObject().value("zh").toObject();
        // Labels, hints and placeholders; not button values ("Export" is the button "开始导出" there,
        // while here it is the tab "导出").
        for (const char* field : {"label", "info", "placeholder"}) {
            if (en.value(field).isString() && zh.value(field).isString())
                zhFor.insert(en.value(field).toString(), zh.value(field).toString());
        }
    }
    int matched = 0;
    for (const TsMessage& m : m_ts.messages) {
        const auto it = zhFor.constFind(m.source);
        if (it == zhFor.constEnd())
            continue;
        ++matched;
        QCOMPARE(m.translation, it.value());
    }
    QVERIFY2(matched >= 8, "the top bar's labels should be LLaMA-Board's");
}

void TestTranslations::embeddedQmTranslates()
{
    QTranslator translator;
    QVERIFY(translator.load(QStringLiteral(":/i18n/lathe_zh_CN.qm")));
    QCOMPARE(translator.translate("lathe::MainWindow", "Train"), QStringLiteral("训练"));
    QCOMPARE(translator.translate("lathe::MainWindow", "Evaluate && Predict"), QStringLiteral("评估与预测"));
    QCOMPARE(translator.translate("lathe::TopBar", "Model name"), QStringLiteral("模型名称"));
    // Every finished entry of the .ts made it into the .qm.
    for (const TsMessage& m : m_ts.messages)
        QCOMPARE(translator.translate(m.context.toUtf8().constData(), m.source.toUtf8().constData()),
                 m.translation);
}

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"

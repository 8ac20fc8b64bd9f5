// The Chat tab (see chat_tab.h).
#include "chat_tab.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QEvent>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QKeyEvent>
#include <QScrollBar>
#include <QSpinBox>
#include <QTextBrowser>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

#include "chat_runner.h"
#include "compare_panel.h"
#include "model_selection.h"
#include "top_bar.h"

namespace lathe {

namespace {

std::vector<std::string> toStd(const QStringList& list)
{
    std::vector<std::string> out;
    for (const QString& s : list)
        out.push_back(s.toStdString());
    return out;
}

QString escaped(const QByteArray& utf8)
{
    return QString::fromUtf8(utf8).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
}

} // namespace

ChatTab::ChatTab(QWidget* parent) : QWidget(parent), m_runner(new ChatRunner(this))
{
    // Model row: infer dtype, Load / Unload, the info box.
    m_dtypeLabel = new QLabel(this);
    m_dtype = new QComboBox(this);
    m_dtype->addItems({QStringLiteral("auto"), QStringLiteral("float16"), QStringLiteral("bfloat16"),
                       QStringLiteral("float32")});
    m_dtypeLabel->setBuddy(m_dtype);
    m_load = new QPushButton(this);
    m_unload = new QPushButton(this);
    m_info = new QLineEdit(this);
    m_info->setReadOnly(true);
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(m_dtypeLabel);
    modelRow->addWidget(m_dtype);
    modelRow->addWidget(m_load);
    modelRow->addWidget(m_unload);
    modelRow->addWidget(m_info, 1);

    // The chat: the view, then role / system / tools / query on the left, the settings on the right.
    m_view = new QTextBrowser(this);
    m_view->setOpenLinks(false);
    m_view->setMinimumHeight(220);

    m_roleLabel = new QLabel(this);
    m_role = new QComboBox(this);
    m_role->addItems({QStringLiteral("user"), QStringLiteral("observation")});
    m_roleLabel->setBuddy(m_role);
    m_system = new QLineEdit(this);
    m_tools = new QPlainTextEdit(this);
    m_tools->setFixedHeight(m_tools->fontMetrics().lineSpacing() * 3 + 12);
    m_toolsError = new QLabel(this);
    m_toolsError->setStyleSheet(QStringLiteral("color: #c0392b;"));
    m_toolsError->setWordWrap(true);
    m_toolsError->hide();
    m_query = new QPlainTextEdit(this);
    m_query->setFixedHeight(m_query->fontMetrics().lineSpacing() * 5 + 12);
    m_submit = new QPushButton(this);
    m_submit->setDefault(true);
    m_stop = new QPushButton(this);
    m_compareButton = new QPushButton(this);
    m_compare = new ComparePanel(this);
    m_compare->hide();

    auto* roleRow = new QHBoxLayout;
    roleRow->addWidget(m_roleLabel);
    roleRow->addWidget(m_role);
    roleRow->addWidget(m_system, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_submit, 1);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_compareButton);
    auto* left = new QVBoxLayout;
    left->addLayout(roleRow);
    left->addWidget(m_tools);
    left->addWidget(m_toolsError);
    left->addWidget(m_query);
    left->addLayout(buttons);

    m_maxNewTokensLabel = new QLabel(this);
    m_maxNewTokens = new QSpinBox(this);
    m_maxNewTokens->setRange(8, 8192);
    m_maxNewTokens->setValue(1024);
    m_topPLabel = new QLabel(this);
    m_topP = new QDoubleSpinBox(this);
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.01);
    m_topP->setValue(0.7);
    m_temperatureLabel = new QLabel(this);
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setRange(0.0, 1.5);
    m_temperature->setSingleStep(0.01);
    m_temperature->setValue(0.95);
    m_enableThinking = new QCheckBox(this);
    m_enableThinking->setChecked(true);
    m_skipSpecialTokens = new QCheckBox(this);
    m_skipSpecialTokens->setChecked(true);
    m_escapeHtml = new QCheckBox(this);
    m_escapeHtml->setChecked(true);
    m_clear = new QPushButton(this);
    m_speed = new QLabel(this);
    auto* settings = new QFormLayout;
    settings->addRow(m_maxNewTokensLabel, m_maxNewTokens);
    settings->addRow(m_topPLabel, m_topP);
    settings->addRow(m_temperatureLabel, m_temperature);
    settings->addRow(m_enableThinking);
    settings->addRow(m_skipSpecialTokens);
    settings->addRow(m_escapeHtml);
    settings->addRow(m_clear);
    settings->addRow(m_speed);

    auto* inputRow = new QHBoxLayout;
    inputRow->addLayout(left, 3);
    inputRow->addLayout(settings, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(modelRow);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_compare, 1);
    layout->addLayout(inputRow);

    connect(m_load, &QPushButton::clicked, this, &ChatTab::loadModel);
    connect(m_unload, &QPushButton::clicked, this, &ChatTab::unloadModel);
    connect(m_submit, &QPushButton::clicked, this, &ChatTab::submit);
    // Enter writes a new line in the query; Ctrl+Enter sends it (see eventFilter).
    m_query->installEventFilter(this);
    connect(m_stop, &QPushButton::clicked, this, &ChatTab::stopReply);
    connect(m_compareButton, &QPushButton::clicked, this, &ChatTab::compare);
    connect(m_escapeHtml, &QCheckBox::toggled, this, &ChatTab::render); // the shown replies change at once
    connect(m_compare, &ComparePanel::finished, this, &ChatTab::updateState);
    connect(m_clear, &QPushButton::clicked, this, &ChatTab::clearHistory);
    connect(m_view, &QTextBrowser::anchorClicked, this, &ChatTab::onAnchor);
    connect(m_tools, &QPlainTextEdit::textChanged, this, [this] {
        const QString error = validateTools(m_tools->toPlainText());
        m_toolsError->setText(error);
        m_toolsError->setVisible(!error.isEmpty());
    });
    connect(m_runner, &ChatRunner::loadFinished, this, [this](bool ok, const QString& message) {
        if (ok) {
            m_statusKind = StatusKind::Loaded;
            retranslateUi();
        } else {
            setStatus(message, true);
        }
    });
    connect(m_runner, &ChatRunner::delta, this, &ChatTab::onDelta);
    connect(m_runner, &ChatRunner::replyFinished, this, &ChatTab::onReplyFinished);
    connect(m_runner, &ChatRunner::replyFailed, this, &ChatTab::onReplyFailed);
    connect(m_runner, &ChatRunner::idle, this, &ChatTab::updateState);

    retranslateUi();
    updateState();
    render();
}

ChatTab::~ChatTab() = default;

void ChatTab::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
    if (!m_topBar)
        return;
    // A *_nothink template never thinks: the box is off and not offered (issue 23, item 10).
    auto follow = [this](const QString& tpl) {
        const bool nothink = tpl.endsWith(QLatin1String("_nothink"));
        if (nothink)
            m_enableThinking->setChecked(false);
        m_enableThinking->setEnabled(!nothink);
    };
    connect(m_topBar->templateCombo(), &QComboBox::currentTextChanged, this, follow);
    follow(m_topBar->chatTemplate());
}

ChatSessionOptions ChatTab::loadOptions() const
{
    const ModelSelection s = modelSelection(m_topBar);
    ChatSessionOptions o;
    o.modelDir = s.modelPath.toStdString();
    o.adapters = toStd(s.adapters);
    o.templateName = s.templateName.toStdString();
    o.dtype = m_dtype->currentText().toStdString();
    o.device = s.device.toStdString();
    o.ropeScaling = s.ropeScaling.toStdString();
    return o;
}

ChatSessionRequest ChatTab::request() const
{
    ChatSessionRequest r;
    r.system = m_system->text().toStdString();
    r.tools = m_tools->toPlainText().trimmed().toStdString();
    for (const Entry& e : m_entries) {
        if (e.streaming)
            continue;
        r.turns.push_back({e.role, e.history.toStdString()});
    }
    r.maxNewTokens = m_maxNewTokens->value();
    r.topP = m_topP->value();
    r.temperature = m_temperature->value();
    r.enableThinking = m_enableThinking->isChecked();
    r.skipSpecialTokens = m_skipSpecialTokens->isChecked();
    return r;
}

QString ChatTab::validateTools(const QString& text)
{
    // LLaMA-Board's check: a JSON list whose items all have a "name".
    if (text.trimmed().isEmpty())
        return {};
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isArray())
        return tr("Invalid JSON schema.");
    for (const QJsonValue& tool : doc.array()) {
        const QJsonObject o = tool.toObject();
        const QJsonObject function = o.value(QStringLiteral("function")).toObject();
        if (!tool.isObject() || (!o.value(QStringLiteral("name")).isString() &&
                                 !function.value(QStringLiteral("name")).isString()))
            return tr("Tool name not found.");
    }
    return {};
}

QString ChatTab::entryHtml(const Entry& e, int index, bool escapeHtml)
{
    auto text = [escapeHtml](const QByteArray& utf8) {
        return escapeHtml ? escaped(utf8) : QString::fromUtf8(utf8).replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    };
    QString who;
    QString color;
    switch (e.role) {
    case ChatTurnRole::User: who = tr("User"); color = QStringLiteral("#2d6cdf"); break;
    case ChatTurnRole::Observation: who = tr("Observation"); color = QStringLiteral("#8e44ad"); break;
    case ChatTurnRole::Assistant:
    case ChatTurnRole::Function: who = tr("Assistant"); color = QStringLiteral("#16a085"); break;
    }
    QString html = QStringLiteral("<p style='margin-top:10px'><b style='color:%1'>%2</b></p>").arg(color, who);
    if (!e.reasoning.isEmpty()) {
        const QString summary = e.streaming && e.content.isEmpty() ? tr("Thinking…") : tr("Thought");
        html += QStringLiteral("<p><a href='toggle:%1'>%2 %3</a></p>")
                    .arg(index)
                    .arg(e.thoughtOpen ? QStringLiteral("▾") : QStringLiteral("▸"), summary);
        if (e.thoughtOpen)
            html += QStringLiteral("<blockquote style='color:#666666'>%1</blockquote>").arg(text(e.reasoning));
    }
    if (!e.toolCalls.isEmpty())
        html += QStringLiteral("<pre>%1</pre>").arg(e.toolCalls.toHtmlEscaped());
    else if (!e.content.isEmpty())
        html += QStringLiteral("<p>%1</p>").arg(text(e.content));
    else if (e.streaming && e.reasoning.isEmpty())
        html += QStringLiteral("<p style='color:#888888'>…</p>");
    if (!e.stats.isEmpty())
        html += QStringLiteral("<p style='color:#888888'><small>%1</small></p>").arg(e.stats.toHtmlEscaped());
    return html;
}

QString ChatTab::status() const
{
    return m_info->text();
}

void ChatTab::setStatus(const QString& text, bool error)
{
    m_statusKind = StatusKind::Custom;
    m_info->setText(text);
    m_info->setStyleSheet(error ? QStringLiteral("color: #c0392b;") : QString());
}

void ChatTab::loadModel()
{
    if (m_runner->isBusy())
        return;
    if (m_runner->isLoaded()) {
        setStatus(tr("You have loaded a model, please unload it first."), true);
        return;
    }
    const ChatSessionOptions o = loadOptions();
    if (o.modelDir.empty()) {
        setStatus(tr("Please select a model."), true);
        return;
    }
    m_runner->load(o);
    m_statusKind = StatusKind::Loading;
    m_info->setStyleSheet(QString());
    retranslateUi();
    updateState();
}

void ChatTab::unloadModel()
{
    if (m_runner->isBusy() || !m_runner->isLoaded())
        return;
    m_runner->unload();
    m_statusKind = StatusKind::Unloading;
    m_info->setStyleSheet(QString());
    retranslateUi();
    updateState();
}

void ChatTab::submit()
{
    if (m_runner->isBusy() || !m_runner->isLoaded())
        return;
    const QString query = m_query->toPlainText();
    if (query.trimmed().isEmpty())
        return;
    const QString toolsError = validateTools(m_tools->toPlainText());
    if (!toolsError.isEmpty()) {
        m_toolsError->setText(toolsError);
        m_toolsError->show();
        setStatus(toolsError, true);
        return;
    }
    Entry user;
    user.role = m_role->currentIndex() == 1 ? ChatTurnRole::Observation : ChatTurnRole::User;
    user.content = user.history = query.toUtf8();
    m_entries.append(user);
    const ChatSessionRequest r = request();
    Entry reply;
    reply.role = ChatTurnRole::Assistant;
    reply.streaming = true;
    reply.thoughtOpen = true; // open while thinking, as LLaMA-Board's <details open>
    m_entries.append(reply);
    m_query->clear();
    m_runner->chat(r);
    updateState();
    render();
}

bool ChatTab::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_query && event->type() == QEvent::KeyPress) {
        const auto* key = static_cast<QKeyEvent*>(event);
        if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) && (key->modifiers() & Qt::ControlModifier)) {
            if (m_submit->isEnabled())
                submit();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

bool ChatTab::compare()
{
    const QString query = m_query->toPlainText();
    if (m_compare->isBusy())
        return false;
    if (query.trimmed().isEmpty()) { // said, not silently ignored (issue 23, item 10)
        setStatus(tr("Type a query to compare the answers of the base model and the adapters."), true);
        return false;
    }
    const ChatSessionOptions o = loadOptions();
    if (o.adapters.empty()) {
        setStatus(tr("Please select an adapter."), true);
        return false;
    }
    const QString toolsError = validateTools(m_tools->toPlainText());
    if (!toolsError.isEmpty()) {
        setStatus(toolsError, true);
        return false;
    }
    // One turn, the settings of the tab; the chat history stays out of it.
    ChatSessionRequest r = request();
    r.turns = {{ChatTurnRole::User, query.toStdString()}};
    const bool started = m_compare->compare(o, r);
    updateState();
    return started;
}

void ChatTab::stopReply()
{
    m_runner->stop();
}

void ChatTab::clearHistory()
{
    if (m_runner->isBusy())
        return;
    m_entries.clear();
    m_speed->clear();
    m_lastTokensPerSecond = 0;
    render();
}

void ChatTab::onDelta(const QByteArray& reasoning, const QByteArray& content)
{
    if (m_entries.isEmpty() || !m_entries.last().streaming)
        return;
    Entry& e = m_entries.last();
    e.reasoning += reasoning;
    e.content += content;
    scheduleRender();
}

void ChatTab::onReplyFinished(const ChatSessionReply& reply)
{
    if (m_entries.isEmpty() || !m_entries.last().streaming)
        return;
    Entry& e = m_entries.last();
    e.streaming = false;
    e.thoughtOpen = false;
    e.reasoning = QByteArray::fromStdString(reply.reasoning);
    e.content = QByteArray::fromStdString(reply.content);
    e.toolCalls = QString::fromStdString(reply.toolCallsJson());
    e.stopped = reply.finishReason == "cancelled";
    if (!reply.toolCalls.empty()) {
        e.role = ChatTurnRole::Function;
        e.history = QByteArray::fromStdString(reply.toolCallsJson());
    } else {
        e.history = QByteArray::fromStdString(reply.text);
    }
    m_lastTokensPerSecond = reply.tokensPerSecond();
    e.stats = tr("%1 tokens · %2 tokens/s").arg(reply.completionTokens).arg(m_lastTokensPerSecond, 0, 'f', 1);
    if (e.stopped)
        e.stats += QStringLiteral(" · ") + tr("stopped");
    m_speed->setText(tr("Last reply: %1 tokens/s").arg(m_lastTokensPerSecond, 0, 'f', 1));
    render();
    Q_EMIT replyDone();
}

void ChatTab::onReplyFailed(const QString& message)
{
    if (!m_entries.isEmpty() && m_entries.last().streaming) {
        m_entries.removeLast();
        if (!m_entries.isEmpty())
            m_entries.removeLast(); // the turn it answered, so the history stays aligned
    }
    setStatus(message, true);
    render();
    Q_EMIT replyDone();
}

void ChatTab::onAnchor(const QUrl& url)
{
    if (url.scheme() != QLatin1String("toggle"))
        return;
    bool ok = false;
    const int index = url.path().toInt(&ok);
    if (!ok || index < 0 || index >= m_entries.size())
        return;
    m_entries[index].thoughtOpen = !m_entries[index].thoughtOpen;
    render();
}

void ChatTab::scheduleRender()
{
    // Deltas come faster than anyone reads: draw at most every 40 ms, and never more than a tenth of the time (a long
    // conversation takes longer to lay out; drawing it must not take the cores the model decodes on, issue 23 item 11).
    if (m_renderPending)
        return;
    m_renderPending = true;
    const int interval = std::clamp(int(10 * m_lastRenderMs), 40, 1000);
    QTimer::singleShot(interval, this, [this] {
        m_renderPending = false;
        render();
    });
}

void ChatTab::render()
{
    QElapsedTimer timer;
    timer.start();
    QScrollBar* bar = m_view->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    QString html;
    for (int i = 0; i < m_entries.size(); ++i)
        html += entryHtml(m_entries[i], i, m_escapeHtml->isChecked());
    m_view->setHtml(html);
    if (atEnd)
        bar->setValue(bar->maximum());
    m_lastRenderMs = double(timer.nsecsElapsed()) / 1e6;
}

void ChatTab::updateState()
{
    const bool busy = m_runner->isBusy();
    const bool loaded = m_runner->isLoaded();
    const bool replying = busy && loaded;
    m_load->setEnabled(!busy && !loaded);
    m_unload->setEnabled(!busy && loaded);
    m_dtype->setEnabled(!busy && !loaded);
    m_submit->setEnabled(loaded && !busy);
    m_stop->setEnabled(replying);
    m_clear->setEnabled(!busy);
    m_compareButton->setEnabled(!m_compare->isBusy());
}

void ChatTab::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange) {
        retranslateUi();
        render();
    }
    QWidget::changeEvent(event);
}

void ChatTab::retranslateUi()
{
    m_dtypeLabel->setText(tr("Inference data type"));
    m_load->setText(tr("Load model"));
    m_unload->setText(tr("Unload model"));
    m_roleLabel->setText(tr("Role"));
    m_system->setPlaceholderText(tr("System prompt (optional)"));
    m_tools->setPlaceholderText(tr("Tools (optional)"));
    m_query->setPlaceholderText(tr("Input..."));
    m_submit->setText(tr("Submit"));
    m_submit->setToolTip(tr("Send the query (Ctrl+Enter in the input box)."));
    m_compareButton->setText(tr("Compare"));
    m_compareButton->setToolTip(tr("Answer the query with the base model and with the base model + the chosen "
                                   "adapters, side by side."));
    m_stop->setText(tr("Stop"));
    m_maxNewTokensLabel->setText(tr("Maximum new tokens"));
    m_topPLabel->setText(tr("Top-p"));
    m_temperatureLabel->setText(tr("Temperature"));
    m_temperature->setToolTip(tr("0 decodes greedily (always the most likely token)."));
    m_enableThinking->setText(tr("Enable thinking"));
    m_skipSpecialTokens->setText(tr("Skip special tokens"));
    m_skipSpecialTokens->setToolTip(tr("Whether or not to skip special tokens in the reply."));
    m_escapeHtml->setText(tr("Escape HTML tags"));
    m_escapeHtml->setToolTip(tr("Whether or not to escape HTML tags in the reply."));
    m_enableThinking->setToolTip(tr("Whether or not to enable thinking mode for reasoning models."));
    m_clear->setText(tr("Clear history"));
    if (!m_toolsError->text().isEmpty())
        m_toolsError->setText(validateTools(m_tools->toPlainText()));
    if (m_lastTokensPerSecond > 0)
        m_speed->setText(tr("Last reply: %1 tokens/s").arg(m_lastTokensPerSecond, 0, 'f', 1));
    switch (m_statusKind) {
    case StatusKind::Unloaded: m_info->setText(tr("Model unloaded, please load a model first.")); break;
    case StatusKind::Loading: m_info->setText(tr("Loading model...")); break;
    case StatusKind::Loaded: m_info->setText(tr("Model loaded, now you can chat with your model!")); break;
    case StatusKind::Unloading: m_info->setText(tr("Model unloaded.")); break;
    case StatusKind::Custom: break;
    }
}

} // namespace lathe

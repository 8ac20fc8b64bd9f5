// Base model and base + adapters side by side (see compare_panel.h).
#include "compare_panel.h"

#include <QEvent>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "chat_runner.h"

namespace lathe {

namespace {

bool sameOptions(const ChatSessionOptions& a, const ChatSessionOptions& b)
{
    return a.modelDir == b.modelDir && a.adapters == b.adapters && a.templateName == b.templateName &&
           a.dtype == b.dtype && a.device == b.device && a.ropeScaling == b.ropeScaling;
}

} // namespace

ComparePanel::ComparePanel(QWidget* parent) : QWidget(parent)
{
    m_heading = new QLabel(this);
    m_stop = new QPushButton(this);
    m_close = new QPushButton(this);
    auto* top = new QHBoxLayout;
    top->addWidget(m_heading, 1);
    top->addWidget(m_stop);
    top->addWidget(m_close);

    auto* grid = new QGridLayout;
    for (int i = 0; i < 2; ++i) {
        SideState& s = m_sides[i];
        s.runner = new ChatRunner(this);
        s.title = new QLabel(this);
        s.title->setWordWrap(true);
        s.view = new QTextBrowser(this);
        s.view->setMinimumHeight(90); // with the chat above it, 900 px windows still fit both (no overlap)
        s.stats = new QLabel(this);
        grid->addWidget(s.title, 0, i);
        grid->addWidget(s.view, 1, i);
        grid->addWidget(s.stats, 2, i);
        grid->setColumnStretch(i, 1);
        const Side side = Side(i);
        connect(s.runner, &ChatRunner::loadFinished, this, [this, side](bool ok, const QString& message) {
            SideState& st = m_sides[side];
            st.hasModel = ok;
            if (!ok) {
                st.error = message;
                render(side);
            }
        });
        connect(s.runner, &ChatRunner::delta, this, [this, side](const QByteArray& reasoning, const QByteArray& content) {
            m_sides[side].reasoning += reasoning;
            m_sides[side].content += content;
            render(side);
        });
        connect(s.runner, &ChatRunner::replyFinished, this, [this, side](const ChatSessionReply& reply) {
            SideState& st = m_sides[side];
            st.reasoning = QByteArray::fromStdString(reply.reasoning);
            st.content = QByteArray::fromStdString(reply.content);
            st.statsText = tr("%1 tokens · %2 tokens/s").arg(reply.completionTokens).arg(reply.tokensPerSecond(), 0, 'f', 1);
            if (reply.finishReason == "cancelled")
                st.statsText += QStringLiteral(" · ") + tr("stopped");
            render(side);
        });
        connect(s.runner, &ChatRunner::replyFailed, this, [this, side](const QString& message) {
            m_sides[side].error = message;
            render(side);
        });
        // A load ends in idle() too: then the waiting request goes; a reply's idle() ends the side.
        connect(s.runner, &ChatRunner::idle, this, [this, side] {
            SideState& st = m_sides[side];
            if (!st.running)
                return;
            if (!st.asked && st.hasModel && st.runner->chat(st.pending)) {
                st.asked = true; // loaded: now answering
                return;
            }
            sideDone(side);
        });
    }
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addLayout(grid);

    connect(m_stop, &QPushButton::clicked, this, &ComparePanel::stop);
    connect(m_close, &QPushButton::clicked, this, &ComparePanel::closePanel);
    retranslateUi();
    m_stop->setEnabled(false);
}

ComparePanel::~ComparePanel() = default; // the runners (children) stop and wait

bool ComparePanel::isBusy() const
{
    return m_sides[Base].running || m_sides[Adapted].running;
}

bool ComparePanel::compare(const ChatSessionOptions& options, const ChatSessionRequest& request)
{
    if (isBusy() || options.adapters.empty())
        return false;
    m_adapterNames.clear();
    for (const std::string& a : options.adapters)
        m_adapterNames << QFileInfo(QString::fromStdString(a)).fileName();
    ChatSessionOptions base = options;
    base.adapters.clear();
    show();
    retranslateUi();
    m_sides[Base].pending = m_sides[Adapted].pending = request;
    startSide(Base, base);
    startSide(Adapted, options);
    m_stop->setEnabled(true);
    return true;
}

void ComparePanel::startSide(Side side, const ChatSessionOptions& options)
{
    SideState& s = m_sides[side];
    s.reasoning.clear();
    s.content.clear();
    s.error.clear();
    s.statsText.clear();
    s.running = true;
    s.asked = s.hasModel && sameOptions(s.loaded, options) && s.runner->chat(s.pending);
    if (!s.asked) {
        if (s.hasModel)
            s.runner->unload(); // synchronous when idle: frees the old model before the new one loads
        s.hasModel = false;
        s.loaded = options;
        s.runner->load(options);
    }
    render(side);
}

void ComparePanel::stop()
{
    for (SideState& s : m_sides)
        s.runner->stop();
}

void ComparePanel::closePanel()
{
    stop();
    for (SideState& s : m_sides) {
        // A load cannot be interrupted: it finishes in its thread and its model is freed with the next
        // comparison's load or with the panel.
        s.running = false;
        if (!s.runner->isBusy() && s.hasModel) {
            s.runner->unload();
            s.hasModel = false;
        }
    }
    m_stop->setEnabled(false);
    hide();
}

QString ComparePanel::answer(Side side) const
{
    return QString::fromUtf8(m_sides[side].content);
}

void ComparePanel::render(Side side)
{
    const SideState& s = m_sides[side];
    QString html;
    if (!s.reasoning.isEmpty())
        html += QStringLiteral("<p style=\"color:gray\"><i>") + QString::fromUtf8(s.reasoning).toHtmlEscaped() +
                QStringLiteral("</i></p>");
    html += QStringLiteral("<p style=\"white-space:pre-wrap\">") + QString::fromUtf8(s.content).toHtmlEscaped() +
            QStringLiteral("</p>");
    if (!s.error.isEmpty())
        html += QStringLiteral("<p style=\"color:#c0392b\">") + s.error.toHtmlEscaped() + QStringLiteral("</p>");
    s.view->setHtml(html);
    const bool loading = s.running && !s.hasModel && s.error.isEmpty();
    s.stats->setText(loading ? tr("Loading model...") : s.statsText);
}

void ComparePanel::sideDone(Side side)
{
    m_sides[side].running = false;
    render(side);
    if (!isBusy()) {
        m_stop->setEnabled(false);
        Q_EMIT finished();
    }
}

void ComparePanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ComparePanel::retranslateUi()
{
    m_heading->setText(tr("Compare: the same prompt, without and with the adapters"));
    m_stop->setText(tr("Stop"));
    m_close->setText(tr("Close"));
    m_close->setToolTip(tr("Hide the comparison and free its two models."));
    m_sides[Base].title->setText(tr("Base model"));
    m_sides[Adapted].title->setText(m_adapterNames.isEmpty()
                                        ? tr("Base model + adapters")
                                        : tr("Base model + %1").arg(m_adapterNames.join(QStringLiteral(" + "))));
}

} // namespace lathe

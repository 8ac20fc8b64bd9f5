// The Chat tab (LLaMA-Board's infer.*): loads the model, checkpoints and template chosen in the top bar and
// chats with it. A system prompt and tools (a JSON list, checked before sending), replies streamed as they are
// generated (on a worker thread, see ChatRunner), the model's thinking folded apart ("Thinking…" while it
// streams, "Thought" afterwards, a click unfolds it), tool calls shown as JSON, sampling settings, Stop, Clear
// history, and the decoding speed of every reply. Compare (beyond LLaMA-Board) answers the query with the base
// model and with base + adapters side by side (ComparePanel).
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QWidget>

#include "session/chat_session.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;
class QUrl;

namespace lathe {

class ChatRunner;
class ComparePanel;
class TopBar;

class ChatTab : public QWidget
{
    Q_OBJECT
public:
    explicit ChatTab(QWidget* parent = nullptr);
    ~ChatTab() override;

    /// The top bar the model, method, checkpoints and template come from.
    void setTopBar(TopBar* topBar);

    /// One message of the chat view.
    struct Entry
    {
        ChatTurnRole role = ChatTurnRole::User;
        QByteArray content;   ///< UTF-8, as the model wrote it (raw bytes while streaming)
        QByteArray reasoning; ///< the thought, UTF-8
        QString toolCalls;    ///< JSON of the tool calls, or empty
        QByteArray history;   ///< what goes back to the model in later requests
        QString stats;        ///< "12 tokens · 34.5 tokens/s"
        bool streaming = false;
        bool thoughtOpen = false;
        bool stopped = false;
    };

    /// The options load() would use.
    ChatSessionOptions loadOptions() const;
    /// The request a submit would send for the current history.
    ChatSessionRequest request() const;
    /// An error message for the tools text, or empty when it is empty or a valid JSON list of named tools.
    static QString validateTools(const QString& text);
    /// The HTML of one message (what the chat view shows).
    /// `escapeHtml` false shows the model's text as HTML (LLaMA-Board with "Escape HTML tags" off).
    static QString entryHtml(const Entry& entry, int index, bool escapeHtml = true);

    const QList<Entry>& entries() const { return m_entries; }
    ChatRunner* runner() const { return m_runner; }
    QString status() const;
    /// Tokens per second of the last reply (0 before any).
    double lastTokensPerSecond() const { return m_lastTokensPerSecond; }

    QComboBox* dtypeCombo() const { return m_dtype; }
    QPushButton* loadButton() const { return m_load; }
    QPushButton* unloadButton() const { return m_unload; }
    QLineEdit* systemEdit() const { return m_system; }
    QPlainTextEdit* toolsEdit() const { return m_tools; }
    QComboBox* roleCombo() const { return m_role; }
    QPlainTextEdit* queryEdit() const { return m_query; }
    QPushButton* submitButton() const { return m_submit; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* clearButton() const { return m_clear; }
    QSpinBox* maxNewTokensSpin() const { return m_maxNewTokens; }
    QDoubleSpinBox* topPSpin() const { return m_topP; }
    QDoubleSpinBox* temperatureSpin() const { return m_temperature; }
    QCheckBox* enableThinkingCheck() const { return m_enableThinking; }
    /// LLaMA-Board's "Skip special tokens" (decoding) and "Escape HTML tags" (showing the reply as text).
    QCheckBox* skipSpecialTokensCheck() const { return m_skipSpecialTokens; }
    QCheckBox* escapeHtmlCheck() const { return m_escapeHtml; }
    QTextBrowser* chatView() const { return m_view; }
    QLabel* speedLabel() const { return m_speed; }
    QPushButton* compareButton() const { return m_compareButton; }
    ComparePanel* comparePanel() const { return m_compare; }

public Q_SLOTS:
    void loadModel();
    void unloadModel();
    /// Sends the query (as the chosen role) and streams the reply.
    void submit();
    void stopReply();
    void clearHistory();
    /// Compare: the query answered by the base model and by base + the top bar's adapters, side by side (one
    /// turn, this tab's system prompt, tools and sampling settings). False when there is no query or adapter.
    bool compare();

Q_SIGNALS:
    /// A reply ended (finished, stopped or failed).
    void replyDone();

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void retranslateUi();
    void updateState();
    void setStatus(const QString& text, bool error = false);
    void render();
    void scheduleRender();
    void onDelta(const QByteArray& reasoning, const QByteArray& content);
    void onReplyFinished(const ChatSessionReply& reply);
    void onReplyFailed(const QString& message);
    void onAnchor(const QUrl& url);

    TopBar* m_topBar = nullptr;
    ChatRunner* m_runner = nullptr;
    QList<Entry> m_entries;
    double m_lastTokensPerSecond = 0;
    bool m_renderPending = false;
    enum class StatusKind { Unloaded, Loading, Loaded, Unloading, Custom } m_statusKind = StatusKind::Unloaded;

    QLabel* m_dtypeLabel = nullptr;
    QComboBox* m_dtype = nullptr;
    QPushButton* m_load = nullptr;
    QPushButton* m_unload = nullptr;
    QLineEdit* m_info = nullptr;
    QTextBrowser* m_view = nullptr;
    QLabel* m_roleLabel = nullptr;
    QComboBox* m_role = nullptr;
    QLineEdit* m_system = nullptr;
    QPlainTextEdit* m_tools = nullptr;
    QLabel* m_toolsError = nullptr;
    QPlainTextEdit* m_query = nullptr;
    QPushButton* m_submit = nullptr;
    QPushButton* m_stop = nullptr;
    QPushButton* m_compareButton = nullptr;
    ComparePanel* m_compare = nullptr;
    QLabel* m_maxNewTokensLabel = nullptr;
    QSpinBox* m_maxNewTokens = nullptr;
    QLabel* m_topPLabel = nullptr;
    QDoubleSpinBox* m_topP = nullptr;
    QLabel* m_temperatureLabel = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QCheckBox* m_enableThinking = nullptr;
    QCheckBox* m_skipSpecialTokens = nullptr;
    double m_lastRenderMs = 0; ///< how long the last redraw took (the next one waits ten times as long, 40 ms at least)
    QCheckBox* m_escapeHtml = nullptr;
    QPushButton* m_clear = nullptr;
    QLabel* m_speed = nullptr;
};

} // namespace lathe

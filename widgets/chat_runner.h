// Runs the Chat tab's model work in a worker thread: loading a model and answering a request through the
// torch-free ChatSession, with the streamed deltas and the results handed to the GUI thread as queued signals.
// Widgets are never touched from the worker, and the GUI thread never waits on the model.
//
// stop() sets the cancel flag the engine checks after each token. Destroying the runner stops and waits.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include <QByteArray>
#include <QObject>
#include <QString>

#include "session/chat_session.h"

Q_DECLARE_METATYPE(lathe::ChatSessionReply)

namespace lathe {

class ChatRunner : public QObject
{
    Q_OBJECT
public:
    explicit ChatRunner(QObject* parent = nullptr);
    ~ChatRunner() override;

    /// A load or a reply is in progress.
    bool isBusy() const { return m_busy; }
    bool isLoaded() const { return m_loaded; }

    /// Starts loading; false (nothing started) while busy.
    bool load(const ChatSessionOptions& options);
    /// Frees the model; false while busy.
    bool unload();
    /// Starts answering; false while busy or with no model.
    bool chat(const ChatSessionRequest& request);
    /// Asks the reply in progress to stop after the current token.
    void stop();

Q_SIGNALS:
    void loadFinished(bool ok, const QString& message);
    /// Raw UTF-8 bytes of the reasoning and answer that came since the last delta.
    void delta(const QByteArray& reasoning, const QByteArray& content);
    void replyFinished(const lathe::ChatSessionReply& reply);
    void replyFailed(const QString& message);
    /// After loadFinished, replyFinished or replyFailed: the worker has ended.
    void idle();

private:
    template <typename Work> void startWorker(Work work);
    void finish();

    std::shared_ptr<ChatSession> m_session;
    std::thread m_thread;
    std::atomic<bool> m_cancel{false};
    bool m_busy = false, m_loaded = false;
};

} // namespace lathe

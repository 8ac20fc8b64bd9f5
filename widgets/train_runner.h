// Runs one training in a worker thread for the window: the same runTraining() the `lathe train` command
// calls, with its callbacks handed to the GUI thread as queued signals (the window is an adapter on the
// engine, not a second trainer). Widgets are never touched from the worker.
//
// Abort sets the atomic flag the trainer checks after each step; the run then saves a checkpoint and the
// model and ends normally, reported by succeeded(aborted = true). Destroying the runner aborts and waits.
#pragma once

#include <atomic>
#include <thread>

#include <QObject>
#include <QString>

#include "config/argument_schema.h"
#include "train/trainer.h"

Q_DECLARE_METATYPE(lathe::TrainProgress)

namespace lathe {

class TrainRunner : public QObject
{
    Q_OBJECT
public:
    explicit TrainRunner(QObject* parent = nullptr);
    ~TrainRunner() override;

    bool isRunning() const { return m_running; }
    /// Starts a run of `args`; false (and nothing started) while one is running.
    bool start(const ArgumentSet& args);
    /// Asks the run to stop after the current step.
    void abort();
    bool abortRequested() const { return m_abort.load(); }

Q_SIGNALS:
    /// A line of the running log.
    void logLine(const QString& line);
    /// After each optimizer step and each evaluation.
    void progress(const lathe::TrainProgress& progress);
    /// The run ended normally (also after an abort, which saves what was trained).
    void succeeded(const QString& outputDir, bool aborted, qint64 globalStep);
    /// runTraining threw: the message for the user.
    void failed(const QString& message);
    /// After succeeded() or failed(); the worker thread has ended and a new run may start.
    void finished();

private:
    void finish();

    std::thread m_thread;
    std::atomic<bool> m_abort{false};
    bool m_running = false;
};

} // namespace lathe

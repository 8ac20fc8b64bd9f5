// Runs one export of the Export wizard in a worker thread (runExportJob of the app layer), with its progress
// and result handed to the GUI thread as queued signals. cancel() sets the flag checked before each tensor;
// destroying the runner cancels and waits.
#pragma once

#include <atomic>
#include <thread>

#include <QObject>
#include <QString>

#include "session/export_job.h"

Q_DECLARE_METATYPE(lathe::ExportJobSummary)

namespace lathe {

class ExportRunner : public QObject
{
    Q_OBJECT
public:
    explicit ExportRunner(QObject* parent = nullptr);
    ~ExportRunner() override;

    bool isRunning() const { return m_running; }
    /// Starts the export; false (nothing started) while one runs.
    bool start(const ExportJobOptions& options);
    void cancel();

Q_SIGNALS:
    void progress(qint64 done, qint64 total, const QString& what);
    void succeeded(const lathe::ExportJobSummary& summary);
    void failed(const QString& message, bool cancelled);
    /// After succeeded() or failed(): the worker has ended.
    void finished();

private:
    void finish();

    std::thread m_thread;
    std::atomic<bool> m_cancel{false};
    bool m_running = false;
};

} // namespace lathe

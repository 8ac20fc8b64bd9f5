// Chat speed in the window against the engine alone (issue 23, item 11): the same model, prompt and greedy settings
// answered (a) by ChatSession on this thread, as `lathe chat` does, and (b) by the Chat tab on its worker thread
// while the window streams the reply into its view (offscreen platform, the same drawing work as on screen).
//
//   bench_chat_window MODEL_DIR [--template qwen3_nothink] [--tokens 256] [--runs 3] [--keep 1]
//
// The figure of each is the reply's own decode tokens/s (ChatSessionReply::tokensPerSecond, what both show).
#include <cstdio>
#include <string>

#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QDoubleSpinBox>

#include "chat_runner.h"
#include "chat_tab.h"
#include "session/chat_session.h"
#include "top_bar.h"

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen"); // xvfb-run with QT_QPA_PLATFORM=xcb draws on an X server
    QApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_chat_window MODEL_DIR [--template T] [--tokens N] [--runs R]\n");
        return 2;
    }
    const std::string model = argv[1];
    std::string tpl = "qwen3_nothink";
    int tokens = 256, runs = 3;
    bool keep = false; // --keep 1: the conversation grows run after run (the view redraws all of it)
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--template")
            tpl = argv[i + 1];
        else if (k == "--tokens")
            tokens = std::stoi(argv[i + 1]);
        else if (k == "--runs")
            runs = std::stoi(argv[i + 1]);
        else if (k == "--keep")
            keep = std::string(argv[i + 1]) != "0";
    }
    const std::string prompt = "Tell me a long story about a lathe, a workbench and a model that learns.";

    // (a) The engine alone.
    lathe::ChatSession session;
    lathe::ChatSessionOptions options;
    options.modelDir = model;
    options.templateName = tpl;
    session.load(options);
    lathe::ChatSessionRequest request;
    request.turns = {{lathe::ChatTurnRole::User, prompt}};
    request.maxNewTokens = tokens;
    request.temperature = 0;
    std::vector<double> direct;
    for (int r = 0; r < runs + 1; ++r) { // the first run warms up
        const auto reply = session.chat(request);
        if (r > 0)
            direct.push_back(reply.tokensPerSecond());
        if (keep) { // the same growing conversation as the window's (its prompt grows too)
            request.turns.push_back({lathe::ChatTurnRole::Assistant, reply.text});
            request.turns.push_back({lathe::ChatTurnRole::User, prompt});
        }
    }
    session.unload();

    // (b) The Chat tab, streaming into its view.
    lathe::TopBar bar;
    bar.modelNameCombo()->setCurrentText("Custom");
    bar.modelPathEdit()->setText(QString::fromStdString(model));
    bar.templateCombo()->setCurrentText(QString::fromStdString(tpl));
    lathe::ChatTab tab;
    tab.setTopBar(&bar);
    tab.resize(1000, 700);
    tab.show();
    QSignalSpy loaded(tab.runner(), &lathe::ChatRunner::loadFinished);
    tab.loadModel();
    while (loaded.isEmpty())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    if (!loaded.first().at(0).toBool()) {
        std::fprintf(stderr, "load failed: %s\n", qPrintable(loaded.first().at(1).toString()));
        return 1;
    }
    tab.maxNewTokensSpin()->setValue(tokens);
    tab.temperatureSpin()->setValue(0);
    std::vector<double> window;
    for (int r = 0; r < runs + 1; ++r) {
        if (!keep)
            tab.clearButton()->click();
        tab.queryEdit()->setPlainText(QString::fromStdString(prompt));
        QSignalSpy done(&tab, &lathe::ChatTab::replyDone);
        tab.submit();
        while (done.isEmpty())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        if (r > 0)
            window.push_back(tab.lastTokensPerSecond());
    }
    auto line = [](const char* what, const std::vector<double>& v) {
        std::printf("%-28s", what);
        for (double x : v)
            std::printf(" %7.1f", x);
        std::printf("  tokens/s\n");
    };
    std::printf("model %s, template %s, %d tokens, greedy\n", model.c_str(), tpl.c_str(), tokens);
    line("engine alone (lathe chat)", direct);
    line("Chat tab, streaming", window);
    double a = 0, b = 0;
    for (double x : direct)
        a += x;
    for (double x : window)
        b += x;
    std::printf("window / engine: %.2f\n", b / a);
    return 0;
}

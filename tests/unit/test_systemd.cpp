// The pure parts of the systemd integration: which of the app's notify lines are passed on,
// and when stderr counts as the journal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "run/audit.hpp"
#include "run/systemd.hpp"

using namespace bulwark;

TEST_CASE("the app's notify lines: what systemd may hear, and what it must not", "[systemd]") {
    CHECK(sd::filter_app_notify("READY=1") == "READY=1");
    CHECK(sd::filter_app_notify("READY=1\nSTATUS=serving\nMAINPID=1") == "READY=1\nSTATUS=serving");
    CHECK(sd::filter_app_notify("STATUS=a=b c\n") == "STATUS=a=b c");
    for (auto kept : {"RELOADING=1", "STOPPING=1", "ERRNO=2", "BUSERROR=org.x.Y", "WATCHDOG=1",
                      "WATCHDOG=trigger", "WATCHDOG_USEC=5000000", "EXTEND_TIMEOUT_USEC=1000"})
        CHECK(sd::filter_app_notify(kept) == kept);
    // A pid of the sandbox's namespace, the supervisor's fd store, barriers, unknown names,
    // prefixes that only look alike, and NULs: dropped.
    for (auto dropped :
         {"MAINPID=1", "FDSTORE=1", "FDNAME=x", "FDSTOREREMOVE=1", "BARRIER=1", "READY=0",
          "READY=1x", "XREADY=1", "STATUSX=1", "NOTIFYACCESS=all", "", "\n\n"})
        CHECK(sd::filter_app_notify(dropped) == "");
    CHECK(sd::filter_app_notify(std::string("READY=1\0x", 9)) == "");
    CHECK(sd::filter_app_notify(std::string("STATUS=ok\nREADY=1\0", 18)) == "STATUS=ok");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names it", "[systemd]") {
    struct stat st {};
    REQUIRE(fstat(STDERR_FILENO, &st) == 0);
    auto mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    CHECK(sd::stderr_is_journal(mine.c_str()));
    auto other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    CHECK_FALSE(sd::stderr_is_journal(other.c_str()));
    for (auto bad : {"", ":", "12", "12:", ":34", "a:b", "12:34x", "-1:2"})
        CHECK_FALSE(sd::stderr_is_journal(bad));
    CHECK_FALSE(sd::stderr_is_journal(nullptr));
}

TEST_CASE("audit events become journal entries with a field per key", "[systemd][audit]") {
    Json ev{{"type", "REQUEST_BLOCKED"},
            {"reason", "drop_pattern"},
            {"src", "198.18.0.9"},
            {"src_port", 41526},
            {"pattern", "traversal:../"},
            {"service", "web"},
            {"time", "2026-11-30T00:00:00.000000Z"},
            {"prev", std::string(64, '0')},
            {"command", {"/bin/httpd", "-f"}},
            {"odd-key", true}};
    auto f = audit::journal_fields(ev, "LINE");
    auto has = [&](const std::string& item) {
        return std::find(f.begin(), f.end(), item) != f.end();
    };
    CHECK(f.front() == "MESSAGE=LINE");
    CHECK(has("PRIORITY=4"));
    CHECK(has("SYSLOG_IDENTIFIER=bulwark"));
    CHECK(has("TYPE=REQUEST_BLOCKED"));
    CHECK(has("REASON=drop_pattern"));
    CHECK(has("SRC=198.18.0.9"));
    CHECK(has("SRC_PORT=41526"));
    CHECK(has("PATTERN=traversal:../"));
    CHECK(has("SERVICE=web"));
    CHECK(has(R"(COMMAND=["/bin/httpd","-f"])"));
    CHECK(has("ODD_KEY=true"));
    for (auto& item : f) {  // the chain and the time stay in MESSAGE; journald keeps its own
        CHECK(item.rfind("PREV=", 0) != 0);
        CHECK(item.rfind("TIME=", 0) != 0);
    }
    CHECK(audit::journal_fields({{"type", "ENFORCEMENT_ERROR"}}, "x")[1] == "PRIORITY=3");
    CHECK(audit::journal_fields({{"type", "SANDBOX_START"}}, "x")[1] == "PRIORITY=5");
    // A spray beginning is a warning, its end a notice.
    CHECK(audit::journal_fields({{"type", "SPRAY_MODE_ON"}}, "x")[1] == "PRIORITY=4");
    CHECK(audit::journal_fields({{"type", "SPRAY_MODE_OFF"}}, "x")[1] == "PRIORITY=5");
    // Field names the journal accepts: never starting with '_' or a digit.
    auto g = audit::journal_fields({{"_x", 1}, {"9y", 2}}, "x");
    CHECK(std::find(g.begin(), g.end(), "BULWARK__X=1") != g.end());
    CHECK(std::find(g.begin(), g.end(), "BULWARK_9Y=2") != g.end());
}

// The audit log: one JSON object per line (design: "Events and the audit log"), appended to a
// 0600 file and copied to stderr, or, when stderr is the journal, sent to it with each key as a
// field (SERVICE=, SRC=, REASON=, PATTERN=...). Lifecycle events are fsync'ed. A failing
// write is reported once on stderr and never stops the service: enforcement is in the kernel.
// Lines form a hash chain: each carries "prev", the SHA-256 (HMAC-SHA-256 with a key) of the
// line before it as written, so an edited, removed or reordered line breaks the chain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/fd.hpp"
#include "core/json_util.hpp"
#include "run/systemd.hpp"

namespace bulwark {
class Libcrypto;
}

namespace bulwark::audit {

int64_t realtime_ns();

// "prev" of a log's first line.
inline const std::string kGenesis(64, '0');

// The digest that links a line to the next one: hex SHA-256 of the line (without its newline),
// or HMAC-SHA-256 when the key is not empty. With a key it loads libcrypto once, at
// construction (throws InputError naming it when it is missing), so each line costs one MAC.
class Chain {
  public:
    explicit Chain(std::string key);
    ~Chain();
    std::string digest(const std::string& line) const;

  private:
    std::string key_;
    std::unique_ptr<const Libcrypto> crypto_;
};

// The first line whose "prev" does not match the line before it (1-based), or 0 if the chain
// holds; `lines` counts the lines read. A last line without its newline counts as torn.
struct ChainCheck {
    size_t lines = 0;
    size_t bad_line = 0;
    std::string why;
};
ChainCheck verify_chain(const std::string& text, const std::string& key);

// The journal entry for an audit line (pure): MESSAGE= the line itself, PRIORITY= by type
// (err: ENFORCEMENT_ERROR, SECCOMP_VIOLATION; warning: network and resource-limit events;
// notice: the rest), SYSLOG_IDENTIFIER=bulwark, and every key but "prev" and "time" as an
// upper-case field: strings as they are, other values as JSON ("src" -> SRC=198.18.0.9).
std::vector<std::string> journal_fields(const Json& event, const std::string& line);

class Log {
  public:
    // Empty path: stderr only. Throws SysError when the file cannot be opened. An existing
    // file's chain continues from its last line. key: HMAC key bytes, empty for SHA-256.
    Log(const std::string& path, std::string service, std::string key = "");
    // Adds `time` (now, unless present) and `service`, writes one line.
    void write(Json event, bool lifecycle);
    // A network event already shaped by guard::event_json.
    void write_network(const Json& event) { write(event, false); }
    bool failing() const { return failing_; }
    // Under systemd: lines go to the journal with fields instead of stderr (nullptr: stderr).
    void set_journal(const sd::Systemd* journal) { journal_ = journal; }

  private:
    std::string path_, service_, prev_ = kGenesis;
    Chain chain_;
    const sd::Systemd* journal_ = nullptr;
    UniqueFd fd_;
    bool failing_ = false;
};

}  // namespace bulwark::audit

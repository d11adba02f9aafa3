#include "run/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/openssl.hpp"
#include "core/sys.hpp"

namespace bulwark::audit {

int64_t realtime_ns() {
    return clock_ns(CLOCK_REALTIME);
}

Chain::Chain(std::string key)
    : key_(std::move(key)), crypto_(key_.empty() ? nullptr : std::make_unique<Libcrypto>()) {}

Chain::~Chain() = default;

std::string Chain::digest(const std::string& line) const {
    if (!crypto_) return sha256_hex(line);
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (!crypto_->q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_.data(), key_.size(),
                        reinterpret_cast<const unsigned char*>(line.data()), line.size(), md,
                        sizeof md, &len))
        throw std::runtime_error("EVP_Q_mac(HMAC-SHA256) failed");
    return to_hex(md, len);
}

ChainCheck verify_chain(const std::string& text, const std::string& key) {
    ChainCheck c;
    Chain chain(key);
    std::string prev = kGenesis;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        ++c.lines;
        if (nl == std::string::npos) {
            c.bad_line = c.lines;
            c.why = "torn: the last line has no newline";
            return c;
        }
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        std::string got;
        try {
            auto j = Json::parse(line);
            if (j.is_object() && j.contains("prev") && j["prev"].is_string()) got = j["prev"];
        } catch (const Json::exception&) {
        }
        // Constant time: how much of a forged digest matched must not show in the timing.
        if (got.size() != prev.size() || CRYPTO_memcmp(got.data(), prev.data(), prev.size()) != 0) {
            c.bad_line = c.lines;
            c.why = got.empty() ? "no \"prev\": not a bulwark audit line, or edited"
                    : c.lines == 1
                        ? "the first line does not start a chain: lines before it were removed"
                        : "\"prev\" is not the digest of line " + std::to_string(c.lines - 1) +
                              ": that line was edited, or lines were removed or reordered";
            return c;
        }
        prev = chain.digest(line);
    }
    return c;
}

std::vector<std::string> journal_fields(const Json& event, const std::string& line) {
    std::string type = event.value("type", "");
    int priority = type == "ENFORCEMENT_ERROR" || type == "SECCOMP_VIOLATION" ? 3
                   : type == "REQUEST_BLOCKED" || type == "RATE_LIMIT_EXCEEDED" ||
                           type == "SUSPICIOUS_ACTIVITY" || type == "RESOURCE_LIMIT" ||
                           type == "SOURCE_BANNED" || type == "SPRAY_MODE_ON"
                       ? 4
                       : 5;
    std::vector<std::string> f{"MESSAGE=" + line, "PRIORITY=" + std::to_string(priority),
                               "SYSLOG_IDENTIFIER=bulwark"};
    for (auto& [k, v] : event.items()) {
        if (k == "prev" || k == "time") continue;
        // Journal field names: upper-case letters, digits and '_', not starting with '_'
        // (those are the journal's own trusted fields).
        std::string name;
        for (unsigned char c : k)
            name += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
        if (name.empty() || !std::isupper(static_cast<unsigned char>(name[0])))
            name = "BULWARK_" + name;
        f.push_back(name + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    return f;
}

Log::Log(const std::string& path, std::string service, std::string key)
    // The HMAC's libcrypto is loaded by chain_, here in the launcher, before any namespace.
    : path_(path), service_(std::move(service)), chain_(std::move(key)) {
    if (path.empty()) return;
    fd_.reset(open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_) throw_sys("open audit log " + path);
    // Continue the chain from the last line already there (a restart appends to the same file).
    off_t size = lseek(fd_.get(), 0, SEEK_END);
    if (size > 0) {
        off_t from = size > 65536 ? size - 65536 : 0;
        std::string tail(static_cast<size_t>(size - from), '\0');
        if (pread(fd_.get(), tail.data(), tail.size(), from) != static_cast<ssize_t>(tail.size()))
            throw_sys("read audit log " + path);
        if (tail.back() != '\n') {
            // A torn last write: end it, so the next line starts clean; verify will name it.
            if (!write_all(fd_.get(), "\n", 1)) throw_sys("write audit log " + path);
            tail += '\n';
        }
        auto start = tail.rfind('\n', tail.size() - 2);
        prev_ = chain_.digest(
            tail.substr(start == std::string::npos ? 0 : start + 1,
                        tail.size() - 1 - (start == std::string::npos ? 0 : start + 1)));
    }
}

void Log::write(Json event, bool lifecycle) {
    if (!event.contains("time")) event["time"] = rfc3339(realtime_ns());
    event["service"] = service_;
    event["prev"] = prev_;
    auto text = event.dump();
    prev_ = chain_.digest(text);
    auto line = text + "\n";
    // stderr is the journal's stream under systemd, where the native protocol adds the fields;
    // a closed stderr must not stop the file.
    if (!journal_ || !journal_->journal_send(journal_fields(event, text)))
        (void)!::write(STDERR_FILENO, line.data(), line.size());
    if (!fd_) return;
    bool ok = ::write(fd_.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (ok && lifecycle) ok = fsync(fd_.get()) == 0;
    if (!ok && !failing_) {
        std::fprintf(stderr, "bulwark: write audit log %s: %s (the guard keeps enforcing)\n",
                     path_.c_str(), std::strerror(errno));
        failing_ = true;
    } else if (ok) {
        failing_ = false;
    }
}

}  // namespace bulwark::audit

#include "sandbox/manifest.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"

namespace bulwark::manifest {

namespace fs = std::filesystem;

namespace {

std::string type_of(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISCHR(m)) return "char";
    if (S_ISBLK(m)) return "block";
    if (S_ISFIFO(m)) return "fifo";
    return "socket";
}

Entry entry_of(const std::string& full, const std::string& rel, const struct stat& st) {
    Entry e;
    e.path = rel.empty() ? "/" : rel;
    e.type = type_of(st.st_mode);
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    if (S_ISREG(st.st_mode)) {
        e.size = static_cast<uint64_t>(st.st_size);
        // O_NOFOLLOW: the entry was lstat'ed as a file; refuse if it was swapped for a link.
        UniqueFd fd(open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
        if (!fd) throw_sys("open(" + full + ")");
        e.sha256 = sha256_fd_hex(fd.get(), full);
    } else if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        e.target = fs::read_symlink(full, ec).string();
        if (ec) throw SysError("readlink(" + full + ")", ec.value());
    }
    return e;
}

bool same_digest(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::vector<Entry> scan(const std::string& root) {
    struct stat rst {};
    if (lstat(root.c_str(), &rst) != 0) throw_sys("lstat(" + root + ")");
    if (!S_ISDIR(rst.st_mode)) throw InputError(root + ": not a directory");
    std::vector<Entry> out{entry_of(root, "", rst)};
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    if (ec) throw SysError("opendir(" + root + ")", ec.value());
    for (; it != end; it.increment(ec)) {
        if (ec) throw SysError("readdir(" + root + ")", ec.value());
        auto full = it->path().string();
        struct stat st {};
        if (lstat(full.c_str(), &st) != 0) throw_sys("lstat(" + full + ")");
        // Another filesystem mounted inside is not part of the image.
        if (S_ISDIR(st.st_mode) && st.st_dev != rst.st_dev) {
            it.disable_recursion_pending();
            continue;
        }
        out.push_back(entry_of(full, full.substr(root.size() - (root.back() == '/' ? 1 : 0)), st));
    }
    if (ec) throw SysError("readdir(" + root + ")", ec.value());
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.path < b.path; });
    return out;
}

Json to_json(const std::vector<Entry>& entries) {
    Json list = Json::array();
    for (auto& e : entries) {
        Json j{
            {"path", e.path}, {"type", e.type}, {"mode", e.mode}, {"uid", e.uid}, {"gid", e.gid}};
        if (e.type == "file") {
            j["size"] = e.size;
            j["sha256"] = e.sha256;
        }
        if (e.type == "symlink") j["target"] = e.target;
        list.push_back(j);
    }
    return Json{{"bulwark_rootfs_manifest", 1}, {"entries", list}};
}

std::vector<Entry> from_json(const Json& doc, const std::string& file) {
    JsonAt root(doc, file);
    root.only_keys({"bulwark_rootfs_manifest", "entries"});
    if (root.at("bulwark_rootfs_manifest").u64(1) != 1)
        root.at("bulwark_rootfs_manifest").fail("unsupported manifest version");
    auto list = root.at("entries");
    std::vector<Entry> out;
    for (size_t i = 0; i < list.size(); ++i) {
        auto j = list[i];
        j.only_keys({"path", "type", "mode", "uid", "gid", "size", "sha256", "target"});
        Entry e;
        e.path = j.at("path").str();
        e.type = j.at("type").str();
        static const std::vector<std::string> types = {"file",  "dir",  "symlink", "char",
                                                       "block", "fifo", "socket"};
        if (std::find(types.begin(), types.end(), e.type) == types.end())
            j.at("type").fail("unknown type \"" + e.type + "\"");
        e.mode = static_cast<uint32_t>(j.at("mode").u64(07777));
        e.uid = static_cast<uint32_t>(j.at("uid").u64(UINT32_MAX));
        e.gid = static_cast<uint32_t>(j.at("gid").u64(UINT32_MAX));
        if (e.type == "file") {
            e.size = j.at("size").u64(UINT64_MAX);
            e.sha256 = j.at("sha256").str();
            if (e.sha256.size() != 64) j.at("sha256").fail("expected 64 hex digits");
        }
        if (e.type == "symlink") e.target = j.at("target").str();
        out.push_back(std::move(e));
    }
    return out;
}

Diff compare(const std::vector<Entry>& sealed, const std::vector<Entry>& now) {
    std::map<std::string, const Entry*> was;
    for (auto& e : sealed) was[e.path] = &e;
    Diff d;
    for (auto& e : now) {
        auto it = was.find(e.path);
        if (it == was.end()) {
            d.added.push_back(e.path);
            continue;
        }
        const Entry& s = *it->second;
        std::string what;
        auto note = [&](bool differs, const char* field) {
            if (differs) what += (what.empty() ? "" : ", ") + std::string(field);
        };
        note(s.type != e.type, "type");
        note(s.mode != e.mode, "mode");
        note(s.uid != e.uid || s.gid != e.gid, "owner");
        note(s.size != e.size, "size");
        note(!same_digest(s.sha256, e.sha256), "sha256");
        note(s.target != e.target, "target");
        if (!what.empty()) d.changed.push_back(e.path + " (" + what + ")");
        was.erase(it);
    }
    for (auto& [path, e] : was) d.removed.push_back(path);
    return d;
}

std::string describe(const Diff& d) {
    std::string out;
    auto part = [&](const std::vector<std::string>& v, const char* what) {
        if (v.empty()) return;
        if (!out.empty()) out += "; ";
        out += std::to_string(v.size()) + " " + what + ": ";
        for (size_t i = 0; i < v.size() && i < 5; ++i) out += (i ? ", " : "") + v[i];
        if (v.size() > 5) out += ", ...";
    };
    part(d.added, "added");
    part(d.removed, "removed");
    part(d.changed, "changed");
    return out;
}

}  // namespace bulwark::manifest

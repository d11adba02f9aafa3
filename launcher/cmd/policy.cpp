// bulwark policy reload|test: a new policy in force on a running instance; the verdicts a policy
// gives to requests, by the kernel's own program (BPF_PROG_TEST_RUN).
#include <iostream>
#include <sstream>

#include "cmd/commands.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"
#include "guard/policy.hpp"
#include "guard/policy_test.hpp"
#include "guard/reload.hpp"

namespace bulwark::cmd {

int policy_reload(const Args& args) {
    Flags f("policy reload");
    f.add()("name", po::value<std::string>(), "instance name")(
        "trust-key", po::value<std::string>(),
        "Ed25519 public key PEM the policy must be signed by");
    f.positional("file");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name") || !f.has("file")) return f.usage_error("--name and a FILE are required");
    try {
        auto p = policy::load_policy(f.str("file"), f.str("trust-key"));
        std::cout << guard::reload(f.str("name"), p) << "\n";
        return kOk;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: policy reload: " << e.what() << " (policy in force unchanged)\n";
        return kFailed;
    }
}

namespace {

// Each file (or stdin, or "-") one raw request; with --jsonl, JSON lines of strings or
// {"request": ..., "id": ...} objects.
int test_requests(const Flags& f) {
    std::string expect = f.str("expect");
    if (!expect.empty() && expect != "pass" && expect != "drop") {
        return f.usage_error("--expect " + expect + ": expected pass or drop");
    }
    auto files = f.has("files") ? f.list("files") : std::vector<std::string>{"-"};
    // Every input is read and checked before the program is loaded.
    std::vector<std::pair<std::string, std::string>> requests;  // (name, bytes)
    for (auto& file : files) {
        std::string text;
        if (file == "-") {
            std::ostringstream ss;
            ss << std::cin.rdbuf();
            text = ss.str();
        } else {
            text = read_file(file);
        }
        std::string name = file == "-" ? "stdin" : file;
        if (!f.has("jsonl")) {
            requests.emplace_back(name, text);
            continue;
        }
        std::istringstream in(text);
        std::string line;
        for (size_t n = 1; std::getline(in, line); ++n) {
            if (line.empty()) continue;
            auto j = parse_json(line, name + ":" + std::to_string(n));
            JsonAt at(j, name + ":" + std::to_string(n));
            if (j.is_string()) {
                requests.emplace_back(name + ":" + std::to_string(n), j.get<std::string>());
            } else {
                at.only_keys({"request", "id", "class", "expect"});
                auto id = at.get("id") ? at.at("id").str() : name + ":" + std::to_string(n);
                requests.emplace_back(id, at.at("request").str());
            }
        }
    }
    auto p = policy::load_policy(f.str("policy"));
    policy_test::Tester tester(p, f.str("src"), f.has("verbose"));
    Json all = Json::array();
    int differ = 0;
    for (auto& [name, req] : requests) {
        auto v = tester.run(req);
        const char* verdict = v.dropped ? "drop" : "pass";
        differ += !expect.empty() && expect != verdict;
        if (f.has("json")) {
            Json j{{"request", name},
                   {"verdict", verdict},
                   {"reason", v.reason},
                   {"segments", v.segments}};
            j["matched"] = v.matched.empty() ? Json(nullptr) : Json(v.matched);
            all.push_back(j);
        } else {
            std::cout << name << ": " << verdict;
            if (v.dropped) std::cout << " " << v.reason;
            if (!v.matched.empty()) std::cout << " " << v.matched;
            std::cout << "\n";
        }
    }
    if (f.has("json")) std::cout << all.dump(2) << "\n";
    if (differ)
        std::cerr << "bulwark: policy test: " << differ << " of " << requests.size()
                  << " requests not " << expect << "\n";
    return differ ? kFailed : 0;
}

}  // namespace

int policy_test(const Args& args) {
    Flags f("policy test");
    f.add()("policy", po::value<std::string>(), "policy JSON")(
        "json", "one JSON array of verdicts")("jsonl", "inputs are JSON lines of requests")(
        "src", po::value<std::string>(), "one source address for every request")(
        "expect", po::value<std::string>(), "pass or drop: exit 1 if any verdict differs")(
        "verbose", "libbpf's messages and the verifier's log even when the load succeeds");
    f.positional("files", -1);
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("policy")) return f.usage_error("--policy is required");
    try {
        return test_requests(f);
    } catch (const std::exception& e) {
        std::cerr << "bulwark: policy test: " << e.what() << "\n";
        return kFailed;
    }
}

}  // namespace bulwark::cmd

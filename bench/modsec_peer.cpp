// The peer for detection: ModSecurity 3 with the OWASP Core Rule Set (Debian's libmodsecurity3
// and modsecurity-crs, CRS's defaults: paranoia level 1, anomaly scoring, inbound threshold 5),
// given the same raw requests as `bulwark policy test`. Reads JSON lines, each a request string
// or an object with a "request" (tests/corpus), from the files named or stdin, and prints a JSON
// array: per request its verdict ("drop" when CRS intervenes) and the rule ids that matched.
//
//   bench_modsec [--crs DIR] [FILE...]
#include <cstdlib>  // intervention.h uses free() and NULL without including them

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using namespace modsecurity;  // the C API's functions are in it when compiled as C++

// What a server in front of CRS sets up (ModSecurity's recommended configuration: the engine
// on, bodies read, JSON and XML bodies parsed), then CRS as Debian installs it.
std::string config(const std::string& crs) {
    return "SecRuleEngine On\n"
           "SecRequestBodyAccess On\n"
           "SecRequestBodyLimit 13107200\n"
           "SecRequestBodyNoFilesLimit 131072\n"
           "SecRequestBodyLimitAction ProcessPartial\n"
           "SecRule REQUEST_HEADERS:Content-Type \"^(?:application(?:/soap\\+|/)|text/)xml\" "
           "\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n"
           "SecRule REQUEST_HEADERS:Content-Type \"^application/json\" "
           "\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
           "SecPcreMatchLimit 100000\n"
           "SecPcreMatchLimitRecursion 100000\n"
           "Include /etc/modsecurity/crs/crs-setup.conf\n"
           // The methods a JSON API serves (CRS allows GET, HEAD, POST and OPTIONS unless told).
           "SecAction \"id:900200,phase:1,nolog,pass,t:none,"
           "setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'\"\n"
           "Include " +
           crs + "/rules/*.conf\n";
}

struct Request {
    std::string method, target, version;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// A raw HTTP/1.x request: the request line, header lines up to the blank line, the rest body.
Request parse(std::string_view raw) {
    Request r;
    size_t head_end = raw.find("\r\n\r\n");
    size_t skip = 4;
    if (head_end == std::string_view::npos) {
        head_end = raw.find("\n\n");
        skip = 2;
    }
    std::string_view head = raw.substr(0, head_end);
    if (head_end != std::string_view::npos) r.body = std::string(raw.substr(head_end + skip));
    auto next_line = [&head] {
        size_t eol = head.find('\n');
        std::string_view line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return line;
    };
    std::string_view request_line = next_line();  // METHOD TARGET HTTP/1.1
    size_t a = request_line.find(' '), b = request_line.rfind(' ');
    r.method = std::string(request_line.substr(0, a));
    if (a != std::string_view::npos && b > a) {
        r.target = std::string(request_line.substr(a + 1, b - a - 1));
        std::string_view v = request_line.substr(b + 1);
        size_t slash = v.find('/');
        r.version = std::string(slash == std::string_view::npos ? v : v.substr(slash + 1));
    } else if (a != std::string_view::npos) {
        r.target = std::string(request_line.substr(a + 1));
        r.version = "1.1";
    }
    while (!head.empty()) {
        std::string_view line = next_line();
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return r;
}

struct Engine {
    ModSecurity* ms = msc_init();
    RulesSet* rules = msc_create_rules_set();
    ~Engine() {
        msc_rules_cleanup(rules);
        msc_cleanup(ms);
    }
};

// The rule ids of the messages ModSecurity logs for a transaction.
void on_log(void* data, const void* msg) {
    static const std::regex id(R"re(\[id "(\d+)"\])re");
    std::smatch m;
    std::string s(static_cast<const char*>(msg));
    if (std::regex_search(s, m, id)) static_cast<std::vector<std::string>*>(data)->push_back(m[1]);
}

nlohmann::json judge(Engine& e, const std::string& raw) {
    Request r = parse(raw);
    std::vector<std::string> ids;
    Transaction* t = msc_new_transaction(e.ms, e.rules, &ids);
    ModSecurityIntervention it{200, 0, nullptr, nullptr, 0};
    bool blocked = false;
    auto check = [&] {
        if (!blocked && msc_intervention(t, &it) && it.status >= 400) blocked = true;
        free(it.url);
        free(it.log);
        it.url = it.log = nullptr;
    };
    msc_process_connection(t, "198.18.0.9", 40000, "198.18.0.1", 80);
    msc_process_uri(t, r.target.c_str(), r.method.c_str(), r.version.c_str());
    check();
    for (auto& [k, v] : r.headers)
        msc_add_n_request_header(t, reinterpret_cast<const unsigned char*>(k.data()), k.size(),
                                 reinterpret_cast<const unsigned char*>(v.data()), v.size());
    msc_process_request_headers(t);
    check();
    msc_append_request_body(t, reinterpret_cast<const unsigned char*>(r.body.data()),
                            r.body.size());
    msc_process_request_body(t);
    check();
    msc_transaction_cleanup(t);
    return {{"verdict", blocked ? "drop" : "pass"}, {"rules", ids}};
}

}  // namespace

int main(int argc, char** argv) {
    std::string crs = "/usr/share/modsecurity-crs";
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--crs" && i + 1 < argc)
            crs = argv[++i];
        else
            files.push_back(a);
    }
    Engine e;
    msc_set_connector_info(e.ms, "bulwark bench_modsec");
    msc_set_log_cb(e.ms, on_log);
    const char* error = nullptr;
    if (msc_rules_add(e.rules, config(crs).c_str(), &error) < 0) {
        std::cerr << "bench_modsec: loading CRS from " << crs << ": " << (error ? error : "?")
                  << "\n";
        return 1;
    }
    nlohmann::json out = nlohmann::json::array();
    auto run = [&](std::istream& in, const std::string& name) {
        std::string line;
        size_t n = 0;
        while (std::getline(in, line)) {
            ++n;
            if (line.empty()) continue;
            try {
                auto j = nlohmann::json::parse(line);
                out.push_back(judge(
                    e, j.is_string() ? j.get<std::string>() : j.at("request").get<std::string>()));
            } catch (const nlohmann::json::exception& ex) {
                std::cerr << "bench_modsec: " << name << ":" << n << ": " << ex.what() << "\n";
                std::exit(1);
            }
        }
    };
    if (files.empty()) run(std::cin, "stdin");
    for (auto& f : files) {
        std::ifstream in(f);
        if (!in) {
            std::cerr << "bench_modsec: " << f << ": cannot open\n";
            return 1;
        }
        run(in, f);
    }
    std::cout << out.dump() << "\n";
    return 0;
}

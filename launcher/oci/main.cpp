// bulwark-oci: an OCI runtime with runc's command line, so Podman (conmon), containerd's runc
// shim and through it Kubernetes start containers with bulwark's sandbox and guard. Global flags
// come before the command, the command's own after it, as runc's callers write them.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "oci/runtime.hpp"

namespace po = boost::program_options;
using namespace bulwark;

namespace {

// Where errors go besides stderr: --log, in text or in the JSON lines containerd and Podman
// read the last error from.
struct Log {
    std::string file, format = "text";
    void write(const char* level, const std::string& msg) const {
        if (file.empty()) return;
        std::string line;
        auto now = rfc3339(clock_ns(CLOCK_REALTIME));
        if (format == "json")
            line = Json{{"level", level}, {"msg", msg}, {"time", now}}.dump();
        else
            line = "time=\"" + now + "\" level=" + level + " msg=\"" + msg + "\"";
        line += "\n";
        if (FILE* f = fopen(file.c_str(), "ae")) {
            fputs(line.c_str(), f);
            fclose(f);
        }
    }
};

const char* kUsage =
    "usage: bulwark-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] "
    "COMMAND ...\n"
    "commands: create start state kill delete run exec ps list pause resume update features "
    "spec\n";

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d,
                        const po::positional_options_description& pos) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
    return vm;
}

// Where the options end in `args`, as runc's flag parser ends them: at the first word that is not
// an option or an option's value (the container ID), or after "--". What follows is the
// command's own (`exec ID sh -c CMD`: -c is sh's).
size_t options_end(const std::vector<std::string>& args, const po::options_description& d) {
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--") return i;
        if (a.size() < 2 || a[0] != '-') return i;
        bool is_long = a[1] == '-';
        if (is_long ? a.find('=') != std::string::npos : a.size() > 2) continue;  // value attached
        auto* o = d.find_nothrow(is_long ? a.substr(2) : a, false);
        if (o && o->semantic()->max_tokens() > 0) ++i;  // its value
    }
    return args.size();
}

std::string one_id(const po::variables_map& vm) {
    if (!vm.count("id")) throw UsageError("a container ID is required");
    return vm["id"].as<std::string>();
}

int dispatch(const std::string& cmd, const std::vector<std::string>& args, const oci::Globals& g) {
    po::positional_options_description id_pos;
    id_pos.add("id", 1);
    po::options_description base;
    base.add_options()("id", po::value<std::string>());

    if (cmd == "create" || cmd == "run") {
        po::options_description d;
        d.add(base).add_options()("bundle,b", po::value<std::string>()->default_value("."))(
            "pid-file", po::value<std::string>())("console-socket", po::value<std::string>())(
            "preserve-fds", po::value<int>()->default_value(0))("no-pivot", po::bool_switch())(
            "no-new-keyring", po::bool_switch())("detach,d", po::bool_switch())(
            "keep", po::bool_switch())("no-subreaper", po::bool_switch());
        auto vm = parse(args, d, id_pos);
        if (vm["no-pivot"].as<bool>())
            throw UsageError("--no-pivot is not supported: bulwark-oci always uses pivot_root");
        oci::CreateOptions o;
        o.id = one_id(vm);
        o.bundle = vm["bundle"].as<std::string>();
        if (vm.count("pid-file")) o.pid_file = vm["pid-file"].as<std::string>();
        if (vm.count("console-socket")) o.console_socket = vm["console-socket"].as<std::string>();
        o.preserve_fds = vm["preserve-fds"].as<int>();
        if (cmd == "run") return oci::run(g, o, vm["detach"].as<bool>());
        oci::create(g, o);
        return 0;
    }
    if (cmd == "start" || cmd == "state" || cmd == "pause" || cmd == "resume") {
        auto vm = parse(args, base, id_pos);
        auto id = one_id(vm);
        if (cmd == "start") oci::start(g, id);
        if (cmd == "pause" || cmd == "resume") oci::pause(g, id, cmd == "pause");
        if (cmd == "state") std::cout << oci::state_json(oci::load_state(g, id)).dump(2) << "\n";
        return 0;
    }
    if (cmd == "kill") {
        po::options_description d;
        d.add(base).add_options()("signal", po::value<std::string>()->default_value("SIGTERM"))(
            "all,a", po::bool_switch());
        po::positional_options_description pos;
        pos.add("id", 1).add("signal", 1);
        auto vm = parse(args, d, pos);
        oci::kill(g, one_id(vm), oci::parse_signal(vm["signal"].as<std::string>()),
                  vm["all"].as<bool>());
        return 0;
    }
    if (cmd == "delete") {
        po::options_description d;
        d.add(base).add_options()("force,f", po::bool_switch());
        auto vm = parse(args, d, id_pos);
        auto id = one_id(vm);
        try {
            oci::remove(g, id, vm["force"].as<bool>());
        } catch (const InputError& e) {
            // runc's callers delete what may already be gone; --force makes that no error.
            if (!vm["force"].as<bool>() ||
                std::string(e.what()).find("does not exist") == std::string::npos)
                throw;
        }
        return 0;
    }
    if (cmd == "list") {
        po::options_description d;
        d.add_options()("format,f", po::value<std::string>()->default_value("table"))(
            "quiet,q", po::bool_switch());
        auto vm = parse(args, d, {});
        auto all = oci::list(g);
        if (vm["format"].as<std::string>() == "json") {
            Json out = Json::array();
            for (auto& s : all) out.push_back(oci::state_json(s));
            std::cout << out.dump() << "\n";
        } else {
            if (!vm["quiet"].as<bool>())
                printf("%-24s %-8s %-10s %-30s %s\n", "ID", "PID", "STATUS", "CREATED", "BUNDLE");
            for (auto& s : all) {
                if (vm["quiet"].as<bool>())
                    printf("%s\n", s.id.c_str());
                else
                    printf("%-24s %-8d %-10s %-30s %s\n", s.id.c_str(),
                           s.status == "stopped" ? 0 : s.pid, s.status.c_str(), s.created.c_str(),
                           s.bundle.c_str());
            }
        }
        return 0;
    }
    if (cmd == "ps") {
        po::options_description d;
        d.add(base).add_options()("format,f", po::value<std::string>()->default_value("table"));
        auto vm = parse(args, d, id_pos);
        auto pids = oci::processes(g, one_id(vm));
        if (vm["format"].as<std::string>() == "json") {
            std::cout << Json(pids).dump() << "\n";
        } else {
            printf("PID CMD\n");
            for (auto p : pids) {
                auto cmdline = read_file_or_empty("/proc/" + std::to_string(p) + "/comm");
                if (!cmdline.empty() && cmdline.back() == '\n') cmdline.pop_back();
                printf("%d %s\n", p, cmdline.c_str());
            }
        }
        return 0;
    }
    if (cmd == "update") {
        po::options_description d;
        d.add(base).add_options()("resources,r", po::value<std::string>());
        auto vm = parse(args, d, id_pos);
        if (!vm.count("resources")) throw UsageError("update: --resources FILE|- is required");
        auto file = vm["resources"].as<std::string>();
        std::string text = file == "-" ? read_fd(0, "read(stdin)") : read_file(file);
        auto doc = parse_json(text, file);
        oci::Unknown unknown;
        auto resources = oci::parse_resources(JsonAt(doc, file), unknown);
        oci::warn_unknown(g, file, unknown);
        oci::update(g, one_id(vm), resources);
        return 0;
    }
    if (cmd == "exec") {
        po::options_description d;
        d.add(base).add_options()("process,p", po::value<std::string>())(
            "console-socket", po::value<std::string>())("pid-file", po::value<std::string>())(
            "detach,d", po::bool_switch())("tty,t", po::bool_switch())(
            "env,e", po::value<std::vector<std::string>>())("cwd", po::value<std::string>())(
            "preserve-fds", po::value<int>());
        // The options, the ID, then the command as it is.
        auto end = options_end(args, d);
        std::vector<std::string> head(args.begin(), args.begin() + static_cast<long>(end));
        size_t at = end + (end < args.size() && args[end] == "--");
        if (at < args.size()) head.push_back(args[at++]);
        auto vm = parse(head, d, id_pos);
        oci::ExecOptions o;
        o.id = one_id(vm);
        if (vm.count("process")) o.process_file = vm["process"].as<std::string>();
        if (vm.count("console-socket")) o.console_socket = vm["console-socket"].as<std::string>();
        if (vm.count("pid-file")) o.pid_file = vm["pid-file"].as<std::string>();
        if (vm.count("cwd")) o.cwd = vm["cwd"].as<std::string>();
        if (vm.count("env")) o.env = vm["env"].as<std::vector<std::string>>();
        o.args.assign(args.begin() + static_cast<long>(at), args.end());
        o.detach = vm["detach"].as<bool>();
        o.tty = vm["tty"].as<bool>();
        if (vm.count("preserve-fds")) o.preserve_fds = vm["preserve-fds"].as<int>();
        return oci::exec(g, o);
    }
    if (cmd == "features") {
        std::cout << oci::features().dump(2) << "\n";
        return 0;
    }
    if (cmd == "spec") {
        po::options_description d;
        d.add_options()("bundle,b", po::value<std::string>()->default_value("."))(
            "rootless", po::bool_switch());
        auto vm = parse(args, d, {});
        auto path = vm["bundle"].as<std::string>() + "/config.json";
        if (access(path.c_str(), F_OK) == 0) throw InputError(path + " already exists");
        write_file_atomic(path, oci::example_spec().dump(2) + "\n", 0644);
        return 0;
    }
    throw UsageError("unknown command \"" + cmd + "\"\n" + kUsage);
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description global;
    global.add_options()("root", po::value<std::string>())("log", po::value<std::string>())(
        "log-format", po::value<std::string>())("debug", po::bool_switch())(
        "systemd-cgroup", po::bool_switch())("criu", po::value<std::string>())(
        "rootless", po::value<std::string>())("version,v", po::bool_switch())(
        "help,h", po::bool_switch())("command", po::value<std::string>())(
        "args", po::value<std::vector<std::string>>());
    po::positional_options_description pos;
    pos.add("command", 1).add("args", -1);
    Log log;
    try {
        po::variables_map vm;
        // Everything after the command is its own: the global parser stops there.
        auto parsed = po::command_line_parser(argc, argv)
                          .options(global)
                          .positional(pos)
                          .allow_unregistered()
                          .run();
        po::store(parsed, vm);
        oci::Globals g;
        if (vm.count("root")) g.root = vm["root"].as<std::string>();
        if (vm.count("log")) log.file = vm["log"].as<std::string>();
        if (vm.count("log-format")) log.format = vm["log-format"].as<std::string>();
        if (log.format != "text" && log.format != "json")
            throw UsageError("--log-format: text or json");
        g.systemd_cgroup = vm["systemd-cgroup"].as<bool>();
        g.warn = [&log](const std::string& m) {
            if (log.file.empty())
                fprintf(stderr, "bulwark-oci: warning: %s\n", m.c_str());
            else
                log.write("warning", m);
        };
        if (vm["version"].as<bool>()) {
            printf("bulwark-oci version %s\nspec: 1.0.2\n", BULWARK_VERSION);
            return 0;
        }
        if (vm["help"].as<bool>() || !vm.count("command")) {
            fputs(kUsage, vm["help"].as<bool>() ? stdout : stderr);
            return vm["help"].as<bool>() ? 0 : 1;
        }
        auto cmd = vm["command"].as<std::string>();
        auto rest = po::collect_unrecognized(parsed.options, po::include_positional);
        rest.erase(rest.begin());  // the command itself
        return dispatch(cmd, rest, g);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        fprintf(stderr, "bulwark-oci: %s\n", msg.c_str());
        log.write("error", msg);
        return 1;
    }
}

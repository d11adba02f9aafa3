// bulwark doctor: whether this host can run bulwark, probed without changing anything.
#include <iostream>

#include "cmd/commands.hpp"
#include "doctor/doctor.hpp"

namespace bulwark::cmd {

int doctor(const Args& args) {
    Flags f("doctor");
    f.add()("json", "one JSON document instead of the table")(
        "iface", po::value<std::string>(),
        "also say whether this interface's driver has native XDP");
    if (auto rc = f.parse(args)) return *rc;
    doctor::Options o;
    o.iface = f.str("iface");
    auto checks = doctor::probe(o);
    if (f.has("json"))
        std::cout << doctor::to_json(checks).dump(2) << "\n";
    else
        std::cout << doctor::table(checks);
    return doctor::exit_code(checks);
}

}  // namespace bulwark::cmd

#include "run/network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "core/cidr.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::network {

namespace {

// libnl objects and their release functions.
using Sock = Handle<nl_sock, nl_socket_free>;
using Link = Handle<rtnl_link, rtnl_link_put>;
using NlAddr = Handle<nl_addr, nl_addr_put>;

[[noreturn]] void nl_fail(const std::string& step, int err) {
    throw std::runtime_error(step + ": " + nl_geterror(err));
}

// A route socket bound to the calling thread's current network namespace (a netlink socket
// stays in the namespace it was created in).
Sock route_socket() {
    Sock s(nl_socket_alloc());
    if (!s) throw SysError("nl_socket_alloc", ENOMEM);
    if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) nl_fail("connect rtnetlink", err);
    return s;
}

NlAddr parse_addr(const std::string& text) {
    nl_addr* a = nullptr;
    if (int err = nl_addr_parse(text.c_str(), AF_INET, &a); err < 0) nl_fail("parse " + text, err);
    return NlAddr(a);
}

int ifindex_of(nl_sock* s, const std::string& name) {
    rtnl_link* l = nullptr;
    if (int err = rtnl_link_get_kernel(s, 0, name.c_str(), &l); err < 0)
        nl_fail("find link " + name, err);
    Link link(l);
    return rtnl_link_get_ifindex(link.get());
}

void set_up(nl_sock* s, const std::string& name) {
    rtnl_link* l = nullptr;
    if (int err = rtnl_link_get_kernel(s, 0, name.c_str(), &l); err < 0)
        nl_fail("find link " + name, err);
    Link orig(l), change(rtnl_link_alloc());
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (int err = rtnl_link_change(s, orig.get(), change.get(), 0); err < 0)
        nl_fail("set " + name + " up", err);
}

void add_address(nl_sock* s, const std::string& name, const std::string& cidr) {
    Handle<rtnl_addr, rtnl_addr_put> a(rtnl_addr_alloc());
    auto local = parse_addr(cidr);
    rtnl_addr_set_ifindex(a.get(), ifindex_of(s, name));
    rtnl_addr_set_local(a.get(), local.get());
    if (int err = rtnl_addr_add(s, a.get(), 0); err < 0)
        nl_fail("add address " + cidr + " to " + name, err);
}

void add_default_route(nl_sock* s, const std::string& name, const std::string& gateway) {
    Handle<rtnl_route, rtnl_route_put> r(rtnl_route_alloc());
    auto dst = parse_addr("0.0.0.0/0");
    auto gw = parse_addr(gateway);
    rtnl_route_set_family(r.get(), AF_INET);
    rtnl_route_set_dst(r.get(), dst.get());
    rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added to it
    rtnl_route_nh_set_gateway(nh, gw.get());
    rtnl_route_nh_set_ifindex(nh, ifindex_of(s, name));
    rtnl_route_add_nexthop(r.get(), nh);
    if (int err = rtnl_route_add(s, r.get(), 0); err < 0)
        nl_fail("add default route via " + gateway, err);
}

void delete_link(const std::string& name) {
    try {
        auto s = route_socket();
        Link l(rtnl_link_alloc());
        rtnl_link_set_name(l.get(), name.c_str());
        rtnl_link_delete(s.get(), l.get());
    } catch (const std::exception&) {
        // Best effort: the pair also goes when the sandbox's namespace does.
    }
}

uint32_t fnv1a(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
}

}  // namespace

VethNames veth_names(const std::string& name) {
    std::string base = name;
    if (base.size() > IFNAMSIZ - 1 - 5) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "%04x", fnv1a(name) & 0xffff);
        base = name.substr(0, 6) + hex;
    }
    return {"bw-" + base + "-h", "bw-" + base + "-s"};
}

Veth::Veth(const VethNames& names, int netns_fd, const std::string& host_cidr,
           const std::string& sandbox_cidr)
    : names_(names) {
    auto host = route_socket();
    Link veth(rtnl_link_veth_alloc());
    if (!veth) throw SysError("rtnl_link_veth_alloc", ENOMEM);
    rtnl_link_set_name(veth.get(), names.host.c_str());
    rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
    rtnl_link_set_name(peer, names.sandbox.c_str());
    rtnl_link_set_ns_fd(peer, netns_fd);
    int err = rtnl_link_add(host.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_EXIST) {
        delete_link(names.host);  // deleting one end deletes the pair
        replaced_ = true;
        err = rtnl_link_add(host.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
    }
    rtnl_link_put(peer);
    if (err < 0) nl_fail("create veth " + names.host + "/" + names.sandbox, err);
    try {
        add_address(host.get(), names.host, host_cidr);
        set_up(host.get(), names.host);
        Sock inside;
        {
            InNetns in(netns_fd);
            inside = route_socket();
        }
        add_address(inside.get(), names.sandbox, sandbox_cidr);
        set_up(inside.get(), names.sandbox);
        add_default_route(inside.get(), names.sandbox, host_cidr.substr(0, host_cidr.find('/')));
    } catch (...) {
        delete_link(names.host);
        throw;
    }
}

Veth::~Veth() {
    delete_link(names_.host);
}

void enable_gro(const std::string& ifname) {
    ethtool_value v{};
    v.cmd = ETHTOOL_SGRO;
    v.data = 1;
    ifreq ifr{};
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    if (int err = ifreq_ioctl(ifname, SIOCETHTOOL, ifr))
        throw SysError("ETHTOOL_SGRO(" + ifname + ")", err);
}

}  // namespace bulwark::network

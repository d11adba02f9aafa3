# Shared by bench/reload.sh and bench/policy_cache.sh (sourced, not run): a guard on a veth of
# its own (generic XDP; no traffic, only what a reload swaps), and nftables' peer of a reload:
# the policy's lists as named interval sets of one table, replaced atomically by `nft -f`.
# guard_up DEV NAME BULWARK: the veth DEV (peer DEVp) with policies/web.json attached as NAME.
# guard_down DEV NAME BULWARK TABLE: detaches, deletes the table and the veth; quiet when absent.
# nft_lists TABLE DEV: the nft script on stdout.

guard_up() {
    ip link add "$1" type veth peer name "${1}p"
    ip link set "$1" up
    "$3" xdp attach --iface "$1" --mode skb --policy policies/web.json --name "$2" >/dev/null
}

guard_down() {
    "$3" xdp detach --name "$2" >/dev/null 2>&1 || true
    nft delete table inet "$4" 2>/dev/null || true
    ip link del "$1" 2>/dev/null || true
}

nft_lists() {
    cat <<NFT
table inet $1
delete table inet $1
table inet $1 {
  set deny4 { type ipv4_addr; flags interval; elements = { 198.18.30.0/24, 203.0.113.0/24 } }
  set deny6 { type ipv6_addr; flags interval; elements = { 2001:db8:dead::/48 } }
  set trusted4 { type ipv4_addr; flags interval; elements = { 198.18.10.0/24 } }
  set trusted6 { type ipv6_addr; flags interval; elements = { 2001:db8:10::/48 } }
  chain in {
    type filter hook ingress device "$2" priority -500;
    ip saddr @trusted4 accept
    ip6 saddr @trusted6 accept
    ip saddr @deny4 drop
    ip6 saddr @deny6 drop
    tcp flags syn / syn,ack meter syn4 { ip saddr limit rate 10/second burst 20 packets } accept
  }
}
NFT
}

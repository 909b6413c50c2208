# shellcheck shell=dash
# Test stand-in for OpenWRT's /lib/functions/network.sh: the one lookup the
# proto handler uses. network_get_subnets VAR IFACE sets VAR to IFACE's
# IPv4 addresses as ADDR/MASK words, as network.sh does from netifd's
# interface status; here they come from $NET_SUBNETS_<IFACE>.

network_get_subnets() {
	eval "$1=\${NET_SUBNETS_$2:-}"
}

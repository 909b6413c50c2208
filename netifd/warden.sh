#!/bin/sh
# shellcheck shell=dash
# /lib/netifd/proto/warden.sh: netifd protocol handler for `option proto
# warden` in /etc/config/network.
#
# Accepts comgt's 3g options (device, apn, service, pincode, dialnumber,
# username, password, keepalive, pppd_options, mtu), so an interface moves
# from proto 3g by changing one word, plus warden's own: control_device (the
# AT port), dns_check, probe_name, probe_interval, fallback_dns (list),
# backoff ('INITIAL MAX', e.g. '2s 5m'), rescan_interval (how often to
# look for a missing modem) and the recovery ladder's reset_after,
# reset_ladder (rung names, e.g. 'cfun usb_reset port_power gpio') and
# gpio_power (the board's USB power switch). device may be left out: warden finds the
# modem's ports itself; device and control_device together are used as
# they are, without USB discovery (a modem not on USB).
#
# Setup writes the interface's settings to a private warden configuration
# under /var/run/warden/<interface>/ and runs `warden daemon` on it with
# proto_run_command; warden runs pppd, whose ip-up script announces the link
# to netifd as /lib/netifd/ppp-up does. Teardown stops warden, which hangs up.

[ -n "$INCLUDE_ONLY" ] || {
	# shellcheck source=/dev/null
	. /lib/functions.sh
	# shellcheck source=/dev/null
	. ../netifd-proto.sh
	init_proto "$@"
}

WARDEN_BIN=${WARDEN_BIN:-/usr/sbin/warden}
WARDEN_RUN=${WARDEN_RUN:-/var/run/warden}

proto_warden_init_config() {
	# Read by netifd after this function returns.
	# shellcheck disable=SC2034
	no_device=1
	# shellcheck disable=SC2034
	available=1
	proto_config_add_string "device:device"
	proto_config_add_string "control_device"
	proto_config_add_string "apn"
	proto_config_add_string "service"
	proto_config_add_string "pincode"
	proto_config_add_string "dialnumber"
	proto_config_add_string "username"
	proto_config_add_string "password"
	proto_config_add_string "keepalive"
	proto_config_add_string "pppd_options"
	proto_config_add_int "mtu"
	proto_config_add_boolean "dns_check"
	proto_config_add_string "probe_name"
	proto_config_add_string "probe_interval"
	proto_config_add_array "fallback_dns"
	proto_config_add_string "backoff"
	proto_config_add_string "rescan_interval"
	proto_config_add_int "reset_after"
	proto_config_add_string "reset_ladder"
	proto_config_add_string "gpio_power"
}

# A UCI value in single quotes ('it'\''s').
warden_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# option NAME VALUE, when VALUE is not empty.
warden_option() {
	[ -n "$2" ] && printf '\toption %s %s\n' "$1" "$(warden_quote "$2")"
	return 0
}

proto_warden_setup() {
	local interface="$1"
	local device apn service pincode dialnumber username password keepalive
	local pppd_options mtu dns_check probe_name probe_interval fallback_dns backoff
	local rescan_interval control_device reset_after reset_ladder gpio_power
	local dir conf initial max dns opt

	json_get_vars device apn service pincode dialnumber username password keepalive
	json_get_vars pppd_options mtu dns_check probe_name probe_interval backoff
	json_get_vars rescan_interval control_device reset_after reset_ladder gpio_power
	json_get_values fallback_dns fallback_dns

	if [ -n "$backoff" ]; then
		initial=${backoff%%[ ,]*}
		max=${backoff##*[ ,]}
	fi

	dir="$WARDEN_RUN/$interface"
	conf="$dir/warden.conf"
	(
		umask 077
		mkdir -p "$dir"
		{
			echo "# Written by /lib/netifd/proto/warden.sh for interface $interface."
			echo "config warden 'main'"
			warden_option run_dir "$dir"
			echo "config uplink 'uplink'"
			warden_option interface "$interface"
			warden_option device "$device"
			warden_option control_device "$control_device"
			warden_option apn "$apn"
			warden_option service "$service"
			warden_option pincode "$pincode"
			warden_option dialnumber "$dialnumber"
			warden_option username "$username"
			warden_option password "$password"
			warden_option keepalive "$keepalive"
			warden_option mtu "$mtu"
			for opt in $pppd_options; do
				printf '\tlist pppd_options %s\n' "$(warden_quote "$opt")"
			done
			warden_option dns_check "$dns_check"
			warden_option probe_name "$probe_name"
			warden_option probe_interval "$probe_interval"
			for dns in $fallback_dns; do
				printf '\tlist fallback_dns %s\n' "$(warden_quote "$dns")"
			done
			warden_option backoff_initial "$initial"
			warden_option backoff_max "$max"
			warden_option rescan_interval "$rescan_interval"
			warden_option reset_after "$reset_after"
			warden_option reset_ladder "$reset_ladder"
			warden_option gpio_power "$gpio_power"
			# This instance runs the uplink only.
			echo "config factotum 'factotum'"
			warden_option enabled 0
			echo "config keyfs 'keyfs'"
			warden_option enabled 0
		} >"$conf.tmp" && mv "$conf.tmp" "$conf"
	) || {
		proto_notify_error "$interface" CONFIG_WRITE_FAILED
		proto_setup_failed "$interface"
		return 1
	}

	proto_run_command "$interface" "$WARDEN_BIN" -c "$conf" daemon
}

proto_warden_teardown() {
	local interface="$1"

	# warden exits 2 on a configuration it cannot use: restarting won't help.
	case "$ERROR" in
	2)
		proto_notify_error "$interface" INVALID_OPTIONS
		proto_block_restart "$interface"
		;;
	esac
	proto_kill_command "$interface"
}

[ -n "$INCLUDE_ONLY" ] || add_protocol warden

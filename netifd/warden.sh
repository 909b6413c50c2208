#!/bin/sh
# shellcheck shell=dash
# /lib/netifd/proto/warden.sh: netifd protocol handler for `option proto
# warden` in /etc/config/network.
#
# Accepts every option of comgt's 3g (device, apn, service, pincode,
# dialnumber, delay) and netifd's ppp.sh (username, password, keepalive,
# keepalive_adaptive, demand, pppd_options, connect, disconnect, ipv6,
# authfail, mtu, pppname, unnumbered, reqprefix, persist, maxfail, holdoff,
# sourcefilter, delegate, norelease), so an interface moves from proto 3g
# by changing one word, plus warden's own: control_device (the AT port),
# dialect (the modem's AT commands: auto, huawei or generic 3GPP),
# sms_spool (a directory each new SMS is written to) and sms_log_text,
# dns_check, probe_name, probe_interval, fallback_dns (list), backoff
# ('INITIAL MAX', e.g. '2s 5m'), rescan_interval (how often to look for
# a missing modem) and the recovery ladder's reset_after, reset_ladder
# (rung names, e.g. 'cfun usb_reset port_power gpio') and gpio_power (the
# board's USB power switch), and the data quota's quota_limit ('5G'),
# quota_start_day (1-28), quota_action (warn or stop), quota_save_interval
# and quota_interval (usage in /etc/warden/quota.<interface>). device may be left out: warden finds the modem's ports
# itself; device and control_device together are used as they are, without
# USB discovery (a modem not on USB).
#
# Each option means what ppp.sh makes of it, with warden, not pppd,
# redialing: keepalive (unset: ppp.sh's '5 1') and keepalive_adaptive give
# pppd's LCP echo; pppname its interface name (default 3g-<interface>, the
# name proto 3g gives it); unnumbered lends that interface's address (as
# ppp.sh picks it) as pppd's local address; connect and disconnect are
# pppd's programs; authfail 1 stops the uplink after a refused login;
# delay waits before the modem is touched; holdoff is the first redial's
# wait; ipv6 (unset: 'auto', as ppp.sh) gives pppd +ipv6, and netifd the
# link-local address from warden-ppp6-up and with 'auto' the DHCPv6 child
# interface <interface>_6, shaped by reqprefix, norelease, sourcefilter
# and delegate. Those that do not apply to warden (persist 0, maxfail N,
# demand) are passed on all the same, and warden logs one warning for
# each, naming it and saying why (logread -e warden). A value warden
# cannot use (service 'evdo', a malformed pincode, ...) makes it exit 2 at
# once: INVALID_OPTIONS, and netifd does not restart it.
#
# Setup writes the interface's settings to a private warden configuration
# under /var/run/warden/<interface>/ and runs `warden daemon` on it with
# proto_run_command; warden runs pppd, whose ip-up script announces the link
# to netifd as /lib/netifd/ppp-up does. Teardown stops warden, which hangs up.

[ -n "$INCLUDE_ONLY" ] || {
	# shellcheck source=/dev/null
	. /lib/functions.sh
	# shellcheck source=/dev/null
	. /lib/functions/network.sh
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
	# shellcheck disable=SC2034
	lasterror=1
	# comgt's 3g.sh
	proto_config_add_string "device:device"
	proto_config_add_string "apn"
	proto_config_add_string "service"
	proto_config_add_string "pincode"
	proto_config_add_string "dialnumber"
	proto_config_add_string "delay"
	# netifd's ppp.sh (ppp_generic_init_config), with its types
	proto_config_add_string "username"
	proto_config_add_string "password"
	proto_config_add_string "keepalive"
	proto_config_add_boolean "keepalive_adaptive"
	proto_config_add_int "demand"
	proto_config_add_string "pppd_options"
	proto_config_add_string "connect:file"
	proto_config_add_string "disconnect:file"
	proto_config_add_string "ipv6"
	proto_config_add_boolean "authfail"
	proto_config_add_int "mtu"
	proto_config_add_string "pppname"
	proto_config_add_string "unnumbered"
	proto_config_add_string "reqprefix"
	proto_config_add_boolean "persist"
	proto_config_add_int "maxfail"
	proto_config_add_int "holdoff"
	proto_config_add_boolean "sourcefilter"
	proto_config_add_boolean "delegate"
	proto_config_add_boolean "norelease"
	# warden's own
	proto_config_add_string "control_device"
	proto_config_add_string "dialect"
	proto_config_add_string "sms_spool"
	proto_config_add_boolean "sms_log_text"
	proto_config_add_boolean "dns_check"
	proto_config_add_string "probe_name"
	proto_config_add_string "probe_interval"
	proto_config_add_array "fallback_dns"
	proto_config_add_string "backoff"
	proto_config_add_string "rescan_interval"
	proto_config_add_int "reset_after"
	proto_config_add_string "reset_ladder"
	proto_config_add_string "gpio_power"
	proto_config_add_string "quota_limit"
	proto_config_add_int "quota_start_day"
	proto_config_add_string "quota_action"
	proto_config_add_string "quota_save_interval"
	proto_config_add_string "quota_interval"
}

# The address of SUBNETS (ADDR/MASK ...) that ppp.sh's ppp_select_ipaddr
# picks for an unnumbered link: the one with the longest mask below 32,
# else the first.
warden_select_ipaddr() {
	local subnet addr mask res res_mask

	for subnet in $1; do
		addr="${subnet%%/*}"
		mask="${subnet#*/}"
		if [ -n "$res_mask" ] && [ "$mask" != 32 ]; then
			if [ "$mask" -gt "$res_mask" ] || [ "$res_mask" = 32 ]; then
				res="$addr"
				res_mask="$mask"
			fi
		elif [ -z "$res_mask" ]; then
			res="$addr"
			res_mask="$mask"
		fi
	done
	echo "$res"
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
	local device apn service pincode dialnumber delay
	local username password keepalive keepalive_adaptive demand pppd_options
	local connect disconnect ipv6 authfail mtu pppname unnumbered reqprefix
	local persist maxfail holdoff sourcefilter delegate norelease
	local control_device dialect sms_spool sms_log_text dns_check probe_name probe_interval fallback_dns backoff
	local rescan_interval reset_after reset_ladder gpio_power
	local quota_limit quota_start_day quota_action quota_save_interval quota_interval
	local dir conf initial max dns opt subnets localip

	json_get_vars device apn service pincode dialnumber delay
	json_get_vars username password keepalive keepalive_adaptive demand pppd_options
	json_get_vars connect disconnect ipv6 authfail mtu pppname unnumbered reqprefix
	json_get_vars persist maxfail holdoff sourcefilter delegate norelease
	json_get_vars control_device dialect sms_spool sms_log_text dns_check probe_name probe_interval backoff
	json_get_vars rescan_interval reset_after reset_ladder gpio_power
	json_get_vars quota_limit quota_start_day quota_action quota_save_interval quota_interval
	json_get_values fallback_dns fallback_dns

	# As ppp.sh: lend the other interface's address, and come back when it
	# has one (the host dependency re-runs this setup).
	if [ -n "$unnumbered" ]; then
		( proto_add_host_dependency "$interface" "" "$unnumbered" )
		network_get_subnets subnets "$unnumbered"
		localip=$(warden_select_ipaddr "$subnets")
		[ -n "$localip" ] || {
			logger -t warden -p daemon.warn \
				"$interface: unnumbered '$unnumbered' has no IPv4 address yet; waiting for it"
			proto_block_restart "$interface"
			return
		}
	fi

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
			warden_option dialect "$dialect"
			warden_option sms_spool "$sms_spool"
			warden_option sms_log_text "$sms_log_text"
			warden_option apn "$apn"
			warden_option service "$service"
			warden_option pincode "$pincode"
			warden_option dialnumber "$dialnumber"
			warden_option username "$username"
			warden_option password "$password"
			warden_option keepalive "$keepalive"
			warden_option keepalive_adaptive "$keepalive_adaptive"
			warden_option mtu "$mtu"
			warden_option pppname "$pppname"
			warden_option localip "$localip"
			warden_option authfail "$authfail"
			warden_option connect "$connect"
			warden_option disconnect "$disconnect"
			warden_option delay "$delay"
			warden_option holdoff "$holdoff"
			warden_option ipv6 "$ipv6"
			warden_option reqprefix "$reqprefix"
			warden_option norelease "$norelease"
			warden_option sourcefilter "$sourcefilter"
			warden_option delegate "$delegate"
			# Answered by warden with a warning each (see above).
			warden_option persist "$persist"
			warden_option maxfail "$maxfail"
			warden_option demand "$demand"
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
			warden_option quota_limit "$quota_limit"
			warden_option quota_start_day "$quota_start_day"
			warden_option quota_action "$quota_action"
			warden_option quota_save_interval "$quota_save_interval"
			warden_option quota_interval "$quota_interval"
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

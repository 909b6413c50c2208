# shellcheck shell=dash disable=SC2317
# (SC2317: the add_protocol defined by init_proto is called by the handler.)
# Test stand-in for netifd's /lib/netifd/netifd-proto.sh (with the parts of
# /lib/netifd/utils.sh it uses), for running a protocol handler the way
# netifd does: `HANDLER PROTO dump` and `HANDLER PROTO setup|teardown
# INTERFACE DATA IFNAME` (see netifd-run beside this file).
#
# As netifd's: proto_config_add_{array,string,int,boolean} add
# [NAME, TYPE] to the dump's "config" array with utils.sh's type numbers
# (array 1, string 3, int 5, boolean 7); `dump` prints the handler's
# declarations as one JSON object with "no-device", "available" and
# "lasterror"; setup and teardown call proto_PROTO_setup or
# proto_PROTO_teardown with the interface and ifname, ERROR set by the
# caller for teardown. The calls a handler makes back to netifd
# (proto_run_command, proto_kill_command, proto_notify_error,
# proto_block_restart, proto_set_available, proto_add_host_dependency,
# proto_setup_failed) are the notify_proto actions 1 to 7; here each is
# recorded as one line "ACTION-NAME ARGS..." in $REC instead of sent over
# ubus.
#
# Unlike netifd's, the interface's DATA is not JSON (jshn is a C program):
# it is shell assignments CFG_<option>='value', which json_load evaluates
# and json_get_var(s)/json_get_values read.

_netifd_rec() {
	echo "$*" >>"$REC"
}

_netifd_config=
_config_add_generic() {
	_netifd_config="${_netifd_config:+$_netifd_config,}[\"$1\",$2]"
}
proto_config_add_array() { _config_add_generic "$1" 1; }
proto_config_add_string() { _config_add_generic "$1" 3; }
proto_config_add_int() { _config_add_generic "$1" 5; }
proto_config_add_boolean() { _config_add_generic "$1" 7; }

json_load() {
	eval "$1"
}
json_get_var() {
	eval "$1=\${CFG_$2:-}"
}
json_get_vars() {
	local _v
	for _v in "$@"; do
		json_get_var "$_v" "$_v"
	done
}
json_get_values() {
	eval "$1=\${CFG_$2:-}"
}

proto_run_command() { _netifd_rec "run_command $*"; }
proto_kill_command() { _netifd_rec "kill_command $*"; }
proto_notify_error() { _netifd_rec "notify_error $*"; }
proto_block_restart() { _netifd_rec "block_restart $*"; }
proto_set_available() { _netifd_rec "set_available $*"; }
proto_add_host_dependency() { _netifd_rec "host_dependency $*"; }
proto_setup_failed() { _netifd_rec "setup_failed $*"; }

_netifd_bool() {
	[ "${1:-0}" = 1 ] && echo true || echo false
}

init_proto() {
	proto="$1"
	shift
	cmd="$1"
	shift
	case "$cmd" in
	dump)
		add_protocol() {
			no_device=0
			available=0
			lasterror=0
			_netifd_config=
			"proto_$1_init_config"
			printf '{"name":"%s","config":[%s],"no-device":%s,"available":%s,"lasterror":%s}\n' \
				"$1" "$_netifd_config" "$(_netifd_bool "$no_device")" \
				"$(_netifd_bool "$available")" "$(_netifd_bool "$lasterror")"
		}
		;;
	setup | teardown)
		interface="$1"
		data="$2"
		ifname="$3"
		add_protocol() {
			[ "$proto" = "$1" ] || return 0
			json_load "$data"
			"proto_$1_$cmd" "$interface" "$ifname"
		}
		;;
	esac
}

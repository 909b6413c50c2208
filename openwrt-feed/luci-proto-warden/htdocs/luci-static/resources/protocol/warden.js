'use strict';
'require rpc';
'require uci';
'require form';
'require network';

/*
 * proto warden in Network > Interfaces: every option netifd/warden.sh
 * declares (LuCI's interface editor adds delegate and the generic ones),
 * each checked as warden checks it (uplink/check.rs and the configuration
 * model), so a value the daemon would refuse is shown in the form.
 */

var callFileList = rpc.declare({
	object: 'file',
	method: 'list',
	params: [ 'path' ],
	expect: { entries: [] },
	filter: function(list, params) {
		var rv = [];
		for (var i = 0; i < list.length; i++)
			if (/^tty(USB|ACM|HS)[0-9]+$/.test(list[i].name))
				rv.push(params.path + list[i].name);
		return rv.sort();
	}
});

var callStatus = rpc.declare({
	object: 'warden',
	method: 'status',
	expect: { uplinks: [] }
});

network.registerPatternVirtual(/^3g-.+$/);

/* uplink/modem/commands.rs cgdcont_command: up to 100 of letters, digits,
 * '.', '-', '_', not starting or ending with a dot. */
function checkApn(section_id, value) {
	if (value == null || value == '')
		return true;
	if (value.length > 100 || !/^[A-Za-z0-9._-]+$/.test(value) || /^\.|\.$/.test(value))
		return _('Invalid APN: up to 100 letters, digits, ".", "-" or "_", not starting or ending with "."');
	return true;
}

/* uplink/modem/pin.rs Pin::new: 4 to 8 digits. */
function checkPin(section_id, value) {
	if (value == null || value == '' || /^[0-9]{4,8}$/.test(value.trim()))
		return true;
	return _('Invalid PIN: 4 to 8 digits');
}

/* uplink/ppp/args.rs check_dialnumber. */
function checkDialnumber(section_id, value) {
	if (value == null || value == '')
		return true;
	if (value.length > 40 || !/^[0-9*#+,pPwW]+$/.test(value))
		return _('Invalid dial number: 1 to 40 of digits, "*", "#", "+", ",", "p" or "w"');
	return true;
}

/* uplink/ppp/args.rs check_text: no control characters. */
function checkText(section_id, value) {
	if (value != null && /[\x00-\x1f\x7f]/.test(value))
		return _('Control characters are not allowed');
	return true;
}

/* uplink/ppp/args.rs check_script: an absolute path to a program. */
function checkPath(section_id, value) {
	if (value == null || value == '')
		return true;
	if (value.charAt(0) != '/' || /[\x00-\x1f\x7f]/.test(value))
		return _('Expected an absolute path to a program');
	return true;
}

/* config/model.rs parse_duration: seconds, or a number with ms, s, m, h, d. */
function durationMs(value) {
	var m = /^([0-9]+)(ms|s|m|h|d)?$/.exec(value);
	if (!m)
		return null;
	var unit = { 'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000 };
	return +m[1] * unit[m[2] || 's'];
}

function checkDuration(min_ms, max_ms) {
	return function(section_id, value) {
		if (value == null || value == '')
			return true;
		var ms = durationMs(value);
		if (ms == null)
			return _('Expected a duration: seconds, or a number with ms, s, m, h or d (e.g. 30s, 5m)');
		if ((min_ms != null && ms < min_ms) || (max_ms != null && ms > max_ms))
			return _('Out of range');
		return true;
	};
}

/* dns/wire.rs check_name: dot-separated labels of letters, digits, '-',
 * '_', at most 63 bytes each. */
function checkDnsName(section_id, value) {
	if (value == null || value == '')
		return true;
	var labels = value.replace(/\.$/, '').split('.');
	for (var i = 0; i < labels.length; i++)
		if (!/^[A-Za-z0-9_-]{1,63}$/.test(labels[i]))
			return _('Expected a DNS name');
	return true;
}

/* config/model.rs Uplink::ladder. */
function checkLadder(section_id, value) {
	if (value == null || value == '')
		return true;
	var seen = {}, words = value.split(/[\s,]+/).filter(function(w) { return w != ''; });
	for (var i = 0; i < words.length; i++) {
		if ([ 'redial', 'cfun', 'usb_reset', 'port_power', 'gpio' ].indexOf(words[i]) < 0)
			return _('Unknown rung "%s" (expected redial, cfun, usb_reset, port_power, gpio)').format(words[i]);
		if (seen[words[i]])
			return _('Rung "%s" named twice').format(words[i]);
		seen[words[i]] = true;
	}
	return true;
}

/* Two form fields written back as one option, 'A B' (keepalive, backoff). */
/* A choice whose default is one of its values: an unset option reads as the
 * default, so saving an untouched form writes nothing (LuCI would write the
 * default, a pending change the admin never made). */
function cfgOrDefault(section_id) {
	var v = form.ListValue.prototype.cfgvalue.apply(this, arguments);
	return (v == null || v === '') ? this.default : v;
}

function pairOption(s, tab, name, part, option, title, description) {
	var o = s.taboption(tab, form.Value, name, title, description);
	o.cfgvalue = function(section_id) {
		var v = uci.get('network', section_id, option);
		if (typeof(v) != 'string' || v == '')
			return null;
		var words = v.split(/[ ,]+/);
		return (part == 0) ? words[0] : words[1];
	};
	o.write = o.remove = function(section_id) {
		var a = this.map.lookupOption(name.replace(/_[a-z]+$/, part == 0 ? '_b' : '_a'), section_id);
		var mine = this.formvalue(section_id), other = a ? a[0].formvalue(section_id) : '';
		var first = (part == 0) ? mine : other, second = (part == 0) ? other : mine;
		if (first != null && first != '')
			uci.set('network', section_id, option, (second != null && second != '') ? first + ' ' + second : first);
		else
			uci.unset('network', section_id, option);
	};
	return o;
}

return network.registerProtocol('warden', {
	getI18n: function() {
		return _('3G (warden)');
	},

	getIfname: function() {
		return this._ubus('l3_device') || '3g-%s'.format(this.sid);
	},

	getOpkgPackage: function() {
		return 'warden';
	},

	isFloating: function() {
		return true;
	},

	isVirtual: function() {
		return true;
	},

	getDevices: function() {
		return null;
	},

	containsDevice: function(ifname) {
		return (network.getIfnameOf(ifname) == this.getIfname());
	},

	renderFormOptions: function(s) {
		var o, sid = this.sid;

		/* The modem's ports: the ttys in /dev, and those the running
		 * uplink found (by interface class). */
		var loadPorts = function(section_id) {
			return Promise.all([
				L.resolveDefault(callFileList('/dev/'), []),
				L.resolveDefault(callStatus(), [])
			]).then(L.bind(function(res) {
				var ports = res[0].slice();
				for (var i = 0; i < res[1].length; i++) {
					var u = res[1][i];
					if (u.interface == sid && u.ppp_port)
						this.value(u.ppp_port, _('%s (PPP port in use)').format(u.ppp_port));
					if (u.interface == sid && u.at_port)
						this.value(u.at_port, _('%s (AT port in use)').format(u.at_port));
				}
				for (var j = 0; j < ports.length; j++)
					this.value(ports[j]);
				return form.Value.prototype.load.apply(this, [ section_id ]);
			}, this));
		};

		o = s.taboption('general', form.Value, '_modem_device', _('Modem device'),
			_('The PPP port. Leave empty: warden finds the modem and its ports by USB interface class.'));
		o.ucioption = 'device';
		o.value('', _('automatic'));
		o.load = loadPorts;
		o.validate = checkPath;

		o = s.taboption('general', form.Value, 'control_device', _('AT command port'),
			_('With the modem device set, both ports are used as they are, without USB discovery.'));
		o.value('', _('automatic'));
		o.load = loadPorts;
		o.validate = checkPath;

		o = s.taboption('general', form.ListValue, 'dialect', _('AT dialect'),
			_('Automatic: by the manufacturer the modem names (AT+CGMI). Generic 3GPP sends no Huawei (^) command.'));
		o.value('', _('Automatic'));
		o.value('huawei', _('Huawei'));
		o.value('generic', _('Generic 3GPP'));
		o.validate = function(section_id, value) {
			if ([ '', 'auto', 'huawei', 'generic' ].indexOf(value || '') < 0)
				return _('Expecting: automatic, Huawei or generic 3GPP');
			return true;
		};

		o = s.taboption('general', form.ListValue, 'service', _('Service type'));
		o.value('', _('Automatic'));
		o.value('umts_only', _('UMTS only'));
		o.value('gprs_only', _('GPRS only'));
		o.validate = function(section_id, value) {
			if ([ '', 'auto', 'umts', 'umts_only', 'gprs_only' ].indexOf(value || '') < 0)
				return _('warden drives GSM/UMTS modems: automatic, UMTS only or GPRS only (use proto 3g for CDMA/EV-DO)');
			return true;
		};

		o = s.taboption('general', form.Value, 'apn', _('APN'));
		o.validate = checkApn;

		o = s.taboption('general', form.Value, 'pincode', _('PIN'),
			_('warden never spends the last PIN attempt, and never retries a PIN the SIM refused.'));
		o.password = true;
		o.validate = checkPin;

		o = s.taboption('general', form.Value, 'dialnumber', _('Dial number'));
		o.placeholder = '*99***1#';
		o.validate = checkDialnumber;

		o = s.taboption('general', form.Value, 'username', _('PAP/CHAP username'));
		o.validate = checkText;

		o = s.taboption('general', form.Value, 'password', _('PAP/CHAP password'));
		o.password = true;
		o.validate = checkText;

		o = s.taboption('advanced', form.Value, 'delay', _('Modem init delay'),
			_('Wait this long before the modem is touched (seconds, or a duration such as 10s; at most 10 minutes).'));
		o.placeholder = '0';
		o.validate = checkDuration(0, 600000);

		o = pairOption(s, 'advanced', '_keepalive_a', 0, 'keepalive', _('LCP echo failure threshold'),
			_('Presume the peer dead after this many LCP echo failures; 0 turns LCP echo off. Unset: 5 failures, 1 s apart (as ppp.sh).'));
		o.placeholder = '5';
		o.datatype = 'uinteger';

		o = pairOption(s, 'advanced', '_keepalive_b', 1, 'keepalive', _('LCP echo interval'),
			_('Seconds between LCP echo requests.'));
		o.placeholder = '1';
		o.datatype = 'min(1)';

		o = s.taboption('advanced', form.Flag, 'keepalive_adaptive', _('Adaptive LCP echo'),
			_('Skip LCP echo requests while traffic flows (pppd lcp-echo-adaptive).'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'mtu', _('Override MTU'));
		o.placeholder = '1500';
		o.datatype = 'range(128,16384)';

		o = s.taboption('advanced', form.ListValue, 'ppp_ipv6', _('Obtain IPv6 address'),
			_('IPv6CP through pppd (+ipv6); the child interface <interface>_6 gets the address and prefix by DHCPv6, as with proto 3g.'));
		o.ucioption = 'ipv6';
		o.value('auto', _('Automatic'));
		o.value('0', _('Disabled'));
		o.value('1', _('Manual'));
		o.default = 'auto';
		o.cfgvalue = cfgOrDefault;

		o = s.taboption('advanced', form.Value, 'reqprefix', _('Request IPv6 prefix of length'),
			_('Passed to the DHCPv6 child interface.'));
		o.value('', _('automatic'));
		o.value('no', _('disabled'));
		o.validate = function(section_id, value) {
			if (value == null || value == '' || value == 'auto' || value == 'no' || /^[0-9]+$/.test(value) && +value <= 64)
				return true;
			return _('Expected auto, no or a prefix length up to 64');
		};

		o = s.taboption('advanced', form.Flag, 'norelease', _('Do not send a release when restarting'),
			_('Passed to the DHCPv6 child interface.'));
		o.default = o.disabled;

		o = s.taboption('advanced', form.Flag, 'sourcefilter', _('IPv6 source routing'),
			_('Passed to the DHCPv6 child interface.'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'demand', _('Inactivity timeout'),
			_('Dial on demand is not supported: warden keeps the link up and checks it, and logs a warning for any value but 0.'));
		o.placeholder = '0';
		o.datatype = 'uinteger';

		o = s.taboption('advanced', form.Flag, 'persist', _('Keep the link up'),
			_('warden always redials; off is logged as ignored.'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'maxfail', _('Maximum failures'),
			_('warden redials with backoff and climbs its recovery ladder instead; a value is logged as ignored.'));
		o.datatype = 'uinteger';

		o = s.taboption('advanced', form.Value, 'holdoff', _('Redial wait'),
			_('Seconds before the first redial; the backoff grows from there.'));
		o.placeholder = '1';
		o.datatype = 'uinteger';

		o = s.taboption('advanced', form.Flag, 'authfail', _('Stop after a refused login'));
		o.default = o.disabled;

		o = s.taboption('advanced', form.Value, 'pppname', _('PPP interface name'),
			_('Default: 3g-<interface>.'));
		o.validate = function(section_id, value) {
			if (value == null || value == '')
				return true;
			if (value.length > 15 || value == '.' || value == '..' || !/^[A-Za-z0-9._-]+$/.test(value))
				return _('Expected 1 to 15 letters, digits, "-", "_" or "." (a network device name)');
			return true;
		};

		o = s.taboption('advanced', form.Value, 'unnumbered', _('Unnumbered: borrow the address of'),
			_('Another interface whose IPv4 address the link uses as its own.'));
		o.datatype = 'uciname';

		o = s.taboption('advanced', form.Value, 'connect', _('Connect program'));
		o.validate = checkPath;

		o = s.taboption('advanced', form.Value, 'disconnect', _('Disconnect program'));
		o.validate = checkPath;

		o = s.taboption('advanced', form.Value, 'pppd_options', _('Extra pppd options'));
		o.validate = checkText;

		o = s.taboption('advanced', form.Flag, 'dns_check', _('Check DNS'),
			_('Query each DNS server the network hands out at link-up and every probe interval; placeholder servers (10.11.12.13...) or silent ones make warden reconnect.'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'probe_name', _('DNS probe name'));
		o.placeholder = 'openwrt.org';
		o.validate = checkDnsName;
		o.depends('dns_check', '1');

		o = s.taboption('advanced', form.Value, 'probe_interval', _('DNS probe interval'));
		o.placeholder = '60s';
		o.validate = checkDuration(1, null);
		o.depends('dns_check', '1');

		o = s.taboption('advanced', form.DynamicList, 'fallback_dns', _('Fallback DNS servers'),
			_('Used when the network hands out only bogus servers.'));
		o.datatype = 'ipaddr("nomask")';

		o = pairOption(s, 'advanced', '_backoff_a', 0, 'backoff', _('Redial backoff: first wait'),
			_('A duration, e.g. 2s; each failure doubles the wait.'));
		o.placeholder = '2s';
		o.validate = checkDuration(0, null);

		o = pairOption(s, 'advanced', '_backoff_b', 1, 'backoff', _('Redial backoff: longest wait'));
		o.placeholder = '5m';
		o.validate = checkDuration(0, null);

		o = s.taboption('advanced', form.Value, 'rescan_interval', _('Modem rescan interval'),
			_('How often to look for a missing modem (1 s to 1 h).'));
		o.placeholder = '60s';
		o.validate = checkDuration(1000, 3600000);

		o = s.taboption('advanced', form.Value, 'reset_after', _('Reset after failures'),
			_('Failures in a row before the recovery ladder climbs above redial.'));
		o.placeholder = '5';
		o.datatype = 'uinteger';

		o = s.taboption('advanced', form.Value, 'reset_ladder', _('Recovery ladder'),
			_('Rungs in climbing order, e.g. "cfun usb_reset port_power gpio" (gpio needs the USB power switch below).'));
		o.placeholder = 'cfun usb_reset port_power';
		o.validate = function(section_id, value) {
			var r = checkLadder(section_id, value);
			if (r !== true)
				return r;
			var gpio = this.map.lookupOption('gpio_power', section_id);
			if (/\bgpio\b/.test(value || '') && !(gpio && gpio[0].formvalue(section_id)))
				return _('The gpio rung needs the USB power switch');
			return true;
		};

		o = s.taboption('advanced', form.Value, 'quota_limit', _('Data quota'),
			_('Bytes up and down per period: a number with K, M, G or T (powers of 1024), e.g. 5G; 0 or empty counts without a cap.'));
		o.placeholder = '0';
		o.validate = function(section_id, value) {
			/* config/vocab.rs parse_bytes */
			if (value == null || value == '' || /^[0-9]+[kKMGT]?$/.test(value))
				return true;
			return _('Expected a byte count, e.g. 500M or 5G');
		};

		o = s.taboption('advanced', form.Value, 'quota_start_day', _('Quota period starts on day'),
			_('The day of the month a new period begins (1 to 28).'));
		o.placeholder = '1';
		o.datatype = 'range(1,28)';

		o = s.taboption('advanced', form.ListValue, 'quota_action', _('At the quota'));
		o.value('warn', _('Warn in the log'));
		o.value('stop', _('Hang up until the next period'));
		o.default = 'warn';
		o.cfgvalue = cfgOrDefault;

		o = s.taboption('advanced', form.Value, 'quota_save_interval', _('Quota save interval'),
			_('The least time between two writes of the usage to flash (1 min to 1 day).'));
		o.placeholder = '15m';
		o.validate = checkDuration(60000, 86400000);

		o = s.taboption('advanced', form.Value, 'quota_interval', _('Quota sample interval'),
			_('How often the counters are read while the link is up (1 s to 1 h).'));
		o.placeholder = '30s';
		o.validate = checkDuration(1000, 3600000);

		o = s.taboption('advanced', form.Value, 'gpio_power', _('USB power switch'),
			_('The board\'s GPIO value (or LED brightness) file that powers the USB port.'));
		o.validate = function(section_id, value) {
			if (value == null || value == '' || value.charAt(0) == '/')
				return true;
			return _('Expected an absolute path (a GPIO\'s value or an LED\'s brightness file)');
		};

		o = s.taboption('advanced', form.Value, 'sms_spool', _('SMS spool directory'),
			_('Each new SMS is written there as a file. Empty: only logged, by sender and length.'));
		o.validate = function(section_id, value) {
			if (value == null || value == '' || value.charAt(0) == '/')
				return true;
			return _('Expected an absolute path (a directory)');
		};

		o = s.taboption('advanced', form.Flag, 'sms_log_text', _('Log SMS text'),
			_('Log the text of each new SMS too, not only its sender and length.'));
		o.default = o.disabled;
	}
});

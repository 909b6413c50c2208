'use strict';
'require view';
'require rpc';
'require poll';
'require dom';

/*
 * Status > warden: every uplink `warden status --json` finds (the
 * daemon's own and each proto warden interface's), through the rpcd
 * plugin (`ubus call warden status`), refreshed every 5 seconds.
 */

var callStatus = rpc.declare({
	object: 'warden',
	method: 'status',
	expect: { uplinks: [] }
});

function duration(secs) {
	var d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24,
	    m = Math.floor(secs / 60) % 60, s = secs % 60;
	if (d > 0)
		return '%dd %dh %02dm'.format(d, h, m);
	if (h > 0)
		return '%dh %02dm %02ds'.format(h, m, s);
	return (m > 0) ? '%dm %02ds'.format(m, s) : '%ds'.format(s);
}

function bytes(n) {
	var units = [ 'B', 'KiB', 'MiB', 'GiB', 'TiB' ], i = 0;
	while (n >= 1024 && i < units.length - 1) {
		n /= 1024;
		i++;
	}
	return '%.1f %s'.format(n, units[i]);
}

/* -113 dBm (nothing) to -51 dBm (full), as +CSQ reports it. */
function signal(dbm) {
	if (dbm == null)
		return E('em', _('unknown'));
	var pct = Math.max(0, Math.min(100, Math.round((dbm + 113) * 100 / 62)));
	return E('div', { 'class': 'cbi-progressbar', 'title': '%d dBm (%d%%)'.format(dbm, pct) },
		E('div', { 'style': 'width:%d%%'.format(pct) }));
}

function dnsList(servers) {
	if (!servers || servers.length == 0)
		return E('em', _('none yet'));
	return E('ul', {}, servers.map(function(d) {
		return E('li', {}, [
			E('code', {}, d.server), ' ',
			E('span', { 'class': d.healthy ? 'label success' : 'label warning' }, d.verdict)
		]);
	}));
}

function row(title, value) {
	return E('tr', { 'class': 'tr' }, [
		E('td', { 'class': 'td left', 'width': '33%' }, title),
		E('td', { 'class': 'td left' }, value)
	]);
}

function uplinkTable(u) {
	var m = u.modem || {}, rows = [];
	var state = u.state + (u.link == 'up' ? '' : ' (%s)'.format(_('link down')));
	rows.push(row(_('State'), u.error ? [ state, E('br'), E('small', {}, u.error) ] : state));
	rows.push(row(_('Uptime'), (u.uptime_s != null) ? duration(u.uptime_s) : '-'));
	if (u.address || u.address6)
		rows.push(row(_('Addresses'), [ u.address || '-' ].concat(u.address6 ? [ E('br'), u.address6 ] : [])));
	if (u.modem) {
		rows.push(row(_('Modem'), '%s %s'.format(m.manufacturer, m.model)));
		rows.push(row(_('Operator'), m.operator || '-'));
		rows.push(row(_('Registration'), m.registration || '-'));
		rows.push(row(_('Mode'), m.mode || '-'));
		rows.push(row(_('Signal'), signal(m.signal_dbm)));
	}
	if (u.dns)
		rows.push(row(_('DNS servers'), dnsList(u.dns)));
	if (u.reconnects != null) {
		var rc = [ '%d'.format(u.reconnects) ];
		if (u.last_reason)
			rc.push(E('br'), _('last reason: %s').format(u.last_reason));
		if (u.reconnects > 0 && u.link == 'up' && u.uptime_s != null)
			rc.push(E('br'), _('last reconnect: %s ago').format(duration(u.uptime_s)));
		rows.push(row(_('Reconnects'), rc));
	}
	if (u.last_recovery)
		rows.push(row(_('Last recovery'), _('%s, %s ago: %s').format(
			u.last_recovery.rung, duration(u.last_recovery.ago_s), u.last_recovery.reason)));
	if (u.sms_received)
		rows.push(row(_('SMS received'), '%d'.format(u.sms_received)));
	if (u.quota)
		rows.push(row(_('Data usage'), (u.quota.limit > 0) ? _('%s of %s since %s%s').format(
			bytes(u.quota.rx + u.quota.tx), bytes(u.quota.limit), u.quota.period_start,
			u.quota.over ? _(' (over: %s)').format(u.quota.action) : '') :
			_('%s since %s (no cap)').format(bytes(u.quota.rx + u.quota.tx), u.quota.period_start)));
	return E('div', { 'class': 'cbi-section' }, [
		E('h3', {}, _('Uplink %s').format(u.interface || u.run_dir)),
		E('table', { 'class': 'table' }, rows)
	]);
}

function renderUplinks(uplinks) {
	if (!uplinks || uplinks.length == 0)
		return E('p', {}, E('em', {}, _('No warden uplink is running.')));
	return E('div', {}, uplinks.map(uplinkTable));
}

return view.extend({
	load: function() {
		return L.resolveDefault(callStatus(), []);
	},

	render: function(uplinks) {
		var body = E('div', { 'id': 'warden-uplinks' }, renderUplinks(uplinks));

		poll.add(function() {
			return L.resolveDefault(callStatus(), []).then(function(u) {
				dom.content(body, renderUplinks(u));
			});
		}, 5);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('warden: uplink status')),
			E('div', { 'class': 'cbi-map-descr' }, _('The 3G uplinks warden keeps up: modem, signal, DNS health and recovery.')),
			body
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});

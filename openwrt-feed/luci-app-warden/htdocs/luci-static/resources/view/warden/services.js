'use strict';
'require view';
'require rpc';
'require ui';
'require dom';

/*
 * Services > warden: the key service at a glance. keyfs's lock state
 * (the passphrase goes over the rpc session to `warden unlock` on its
 * stdin; the field is cleared at once and never stored), its accounts
 * (add, disable, enable, expire), and the signer and ticket service on
 * and off (uci, then a reload of the daemon).
 */

var callKeyfs = rpc.declare({ object: 'warden', method: 'keyfs' });
var callUsers = rpc.declare({ object: 'warden', method: 'users' });
var callServices = rpc.declare({ object: 'warden', method: 'services' });
var callUnlock = rpc.declare({ object: 'warden', method: 'unlock', params: [ 'passphrase' ] });
var callLock = rpc.declare({ object: 'warden', method: 'lock' });
var callUserAdd = rpc.declare({ object: 'warden', method: 'user_add', params: [ 'name', 'expire' ] });
var callUserDisable = rpc.declare({ object: 'warden', method: 'user_disable', params: [ 'name' ] });
var callUserEnable = rpc.declare({ object: 'warden', method: 'user_enable', params: [ 'name' ] });
var callUserExpire = rpc.declare({ object: 'warden', method: 'user_expire', params: [ 'name', 'when' ] });
var callServiceSet = rpc.declare({ object: 'warden', method: 'service_set', params: [ 'service', 'enabled' ] });

/* A reply: its error shown, its message noted; resolves to whether it
 * went well. A number is a ubus status (6: not granted by the ACL). */
function outcome(reply) {
	if (typeof(reply) == 'number') {
		ui.addNotification(null, E('p', {}, _('The call failed: %s').format(rpc.getStatusText(reply))), 'danger');
		return false;
	}
	if (reply.error) {
		ui.addNotification(null, E('p', {}, reply.error), 'danger');
		return false;
	}
	if (reply.message)
		ui.addNotification(null, E('p', {}, reply.message), 'info');
	return true;
}

return view.extend({
	load: function() {
		return Promise.all([
			L.resolveDefault(callKeyfs(), {}),
			L.resolveDefault(callUsers(), {}),
			L.resolveDefault(callServices(), {})
		]);
	},

	refresh: function() {
		return this.load().then(L.bind(function(data) {
			dom.content(document.getElementById('warden-services'), this.renderBody(data));
		}, this));
	},

	act: function(promise) {
		return promise.then(outcome).then(L.bind(this.refresh, this));
	},

	renderKeyfs: function(k) {
		var nodes = [ E('p', {}, [
			_('State: '), E('strong', {}, k.state || _('unknown')),
			' (%s, %s)'.format(k.mode || '?', k.file || '?')
		]) ];

		if (k.state == 'locked' && k.mode == 'attended') {
			var pass = E('input', {
				'type': 'password',
				'class': 'cbi-input-password',
				'autocomplete': 'off',
				'placeholder': _('keyfs passphrase')
			});
			nodes.push(E('div', { 'class': 'cbi-value' }, [
				pass, ' ',
				E('button', {
					'class': 'cbi-button cbi-button-apply',
					'click': ui.createHandlerFn(this, function() {
						var p = pass.value;
						pass.value = '';
						return this.act(callUnlock(p));
					})
				}, _('Unlock'))
			]));
		}
		else if (k.state == 'locked') {
			nodes.push(E('button', {
				'class': 'cbi-button cbi-button-apply',
				'click': ui.createHandlerFn(this, function() { return this.act(callUnlock('')); })
			}, _('Unlock with the key file')));
		}
		else if (k.state == 'unlocked') {
			nodes.push(E('button', {
				'class': 'cbi-button cbi-button-reset',
				'click': ui.createHandlerFn(this, function() { return this.act(callLock()); })
			}, _('Lock')));
		}
		return E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Key file system')) ].concat(nodes));
	},

	renderUsers: function(u) {
		var rows = [ E('tr', { 'class': 'tr table-titles' }, [
			E('th', { 'class': 'th' }, _('User')),
			E('th', { 'class': 'th' }, _('Status')),
			E('th', { 'class': 'th' }, _('Expires')),
			E('th', { 'class': 'th' }, _('Failed logins')),
			E('th', { 'class': 'th cbi-section-actions' }, '')
		]) ];

		(u.error ? [] : u.users).forEach(L.bind(function(a) {
			var when = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'size': 12, 'placeholder': 'YYYY-MM-DD' });
			rows.push(E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, a.name),
				E('td', { 'class': 'td' }, a.status),
				E('td', { 'class': 'td' }, a.expire),
				E('td', { 'class': 'td' }, '%d'.format(a.failures)),
				E('td', { 'class': 'td cbi-section-actions' }, [
					(a.status == 'disabled')
						? E('button', { 'class': 'cbi-button cbi-button-positive',
							'click': ui.createHandlerFn(this, function() { return this.act(callUserEnable(a.name)); }) }, _('Enable'))
						: E('button', { 'class': 'cbi-button cbi-button-negative',
							'click': ui.createHandlerFn(this, function() { return this.act(callUserDisable(a.name)); }) }, _('Disable')),
					' ', when, ' ',
					E('button', { 'class': 'cbi-button cbi-button-neutral',
						'click': ui.createHandlerFn(this, function() { return this.act(callUserExpire(a.name, when.value || 'never')); }) }, _('Set expiry'))
				])
			]));
		}, this));

		var name = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': _('name') });
		var expire = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': _('expiry (never, YYYY-MM-DD)') });

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, _('Accounts')),
			u.error ? E('p', {}, E('em', {}, u.error)) : E('table', { 'class': 'table' }, rows),
			E('div', { 'class': 'cbi-value' }, [
				name, ' ', expire, ' ',
				E('button', {
					'class': 'cbi-button cbi-button-add',
					'click': ui.createHandlerFn(this, function() {
						return this.act(callUserAdd(name.value, expire.value));
					})
				}, _('Add user'))
			])
		]);
	},

	renderServices: function(s) {
		var line = L.bind(function(key, title) {
			var svc = s[key] || {};
			return E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, title),
				E('td', { 'class': 'td' }, svc.enabled ? _('on') : _('off')),
				E('td', { 'class': 'td' }, E('code', {}, svc.listen || '')),
				E('td', { 'class': 'td cbi-section-actions' }, E('button', {
					'class': svc.enabled ? 'cbi-button cbi-button-negative' : 'cbi-button cbi-button-positive',
					'click': ui.createHandlerFn(this, function() { return this.act(callServiceSet(key, !svc.enabled)); })
				}, svc.enabled ? _('Turn off') : _('Turn on')))
			]);
		}, this);

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, _('Services')),
			s.error ? E('p', {}, E('em', {}, s.error)) : E('table', { 'class': 'table' }, [
				line('signer', _('SSH certificate signer')),
				line('authsrv', _('Ticket service (authsrv)'))
			])
		]);
	},

	renderBody: function(data) {
		return [ this.renderKeyfs(data[0]), this.renderUsers(data[1]), this.renderServices(data[2]) ];
	},

	render: function(data) {
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('warden: key service')),
			E('div', { 'id': 'warden-services' }, this.renderBody(data))
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});

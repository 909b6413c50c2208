// Runs one LuCI JavaScript file of openwrt-feed/ in node, the way LuCI's
// luci.js loads it (the file's body as a function of its 'require'd
// classes, in strict mode), on small stand-ins for LuCI's classes that
// record what the file does. Used by tests/luci.rs and tests/rpcd.rs; the
// stand-ins are ours (no LuCI code), and only as deep as the files need.
//
//   node harness.js view FILE REPLIES.json
//     load(), render(), each poll function and every button's click
//     handler, with each ubus reply taken from REPLIES ({"method": reply}
//     for object warden, "file.list" for the file plugin). Prints
//     {"declared": [...], "called": [...], "reads": {...}, "missing": {...}}:
//     every field of a reply the view read, and those it read that the
//     reply did not have.
//   node harness.js declare FILE {}
//     only what the file declares with rpc.declare.
//   node harness.js proto FILE VALUES.json
//     renderFormOptions() on a stand-in section. Prints {"name": ...,
//     "options": [UCI option names the form edits], "verdicts": {option:
//     {value: true | message}}} for VALUES ({option: [values]}), each
//     checked by the option's datatype and validate() as LuCI's form does.
'use strict';

const fs = require('fs');
const [mode, file, dataFile] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(dataFile, 'utf8'));
const source = fs.readFileSync(file, 'utf8');

// String.prototype.format, as luci.js defines it, for what the files use.
String.prototype.format = function() {
	const args = Array.from(arguments);
	return this.replace(/%([0-9]*)(?:\.([0-9]+))?([sdfqh%])/g, (m, pad, prec, conv) => {
		if (conv == '%')
			return '%';
		let a = args.shift(), s;
		switch (conv) {
		case 'd': s = String(Math.trunc(Number(a))); break;
		case 'f': s = Number(a).toFixed(prec != null ? +prec : 6); break;
		default: s = String(a);
		}
		if (pad && pad.length > 0) {
			const width = +pad, fill = pad.charAt(0) == '0' ? '0' : ' ';
			while (s.length < width)
				s = fill + s;
		}
		return s;
	});
};

const declared = [], called = [], reads = {}, missing = {}, notices = [];
const byId = {};

function note(table, method, path) {
	(table[method] = table[method] || new Set()).add(path);
}

// A reply that records each field read (array elements as []).
function recording(value, method, path) {
	if (value === null || typeof value != 'object')
		return value;
	return new Proxy(value, {
		get(target, prop) {
			if (typeof prop == 'symbol' || prop == 'toJSON' || prop == 'then')
				return target[prop];
			const isIndex = Array.isArray(target) && /^[0-9]+$/.test(prop);
			if (Array.isArray(target) && !isIndex)
				return target[prop];
			if (!isIndex && !Object.prototype.hasOwnProperty.call(target, prop) && prop in Object.prototype)
				return target[prop];
			const p = path + (isIndex ? '[]' : '.' + prop);
			note(reads, method, p);
			if (!(prop in target))
				note(missing, method, p);
			return recording(target[prop], method, p);
		}
	});
}

function reply(object, method, args) {
	const key = (object == 'warden') ? method : object + '.' + method;
	if (!(key in data))
		throw new Error(`no reply for ${key} in ${dataFile}`);
	called.push(key);
	return recording(JSON.parse(JSON.stringify(data[key])), key, key);
}

const rpc = {
	declare(opts) {
		declared.push({ object: opts.object, method: opts.method, params: opts.params || [] });
		return function() {
			const params = {};
			(opts.params || []).forEach((p, i) => { params[p] = arguments[i]; });
			let r = reply(opts.object, opts.method, params);
			if (opts.expect) {
				const k = Object.keys(opts.expect)[0], dflt = opts.expect[k];
				const v = (k == '') ? r : r[k];
				const sameType = (v != null) && (Array.isArray(dflt) ? Array.isArray(v) : typeof v == typeof dflt);
				r = sameType ? v : dflt;
			}
			if (opts.filter)
				r = opts.filter(r, params);
			return Promise.resolve(r);
		};
	},
	getStatusText(n) { return 'status ' + n; }
};

function E(tag, attrs, children) {
	if (Array.isArray(attrs) || typeof attrs != 'object' || attrs === null) {
		children = attrs;
		attrs = {};
	}
	const node = { tag, attrs, children: [].concat(children == null ? [] : children), value: '' };
	if (attrs.id)
		byId[attrs.id] = node;
	return node;
}

const L = {
	bind(fn, self) { return fn.bind(self, ...Array.from(arguments).slice(2)); },
	resolveDefault(p, d) { return Promise.resolve(p).catch(() => d); },
	hasSystemFeature() { return true; },
	isObject(v) { return v != null && typeof v == 'object'; },
	env: {}
};

const polls = [];
const poll = { add(fn, interval) { polls.push({ fn, interval }); return true; } };
const view = { extend(o) { return o; } };
const dom = { content(node, children) { node.children = [].concat(children == null ? [] : children); return node; } };
const ui = {
	addNotification(title, body, cls) { notices.push({ body, cls }); },
	createHandlerFn(ctx, fn) {
		const extra = Array.from(arguments).slice(2);
		return function() { return (typeof fn == 'string' ? ctx[fn] : fn).apply(ctx, extra.concat(Array.from(arguments))); };
	},
	showModal() {}, hideModal() {}
};
const documentStub = { getElementById(id) { return byId[id] || null; } };

// Form stand-ins for the protocol handler.
const store = {};
const uci = {
	get(conf, sid, opt) { return (store[sid] || {})[opt]; },
	set(conf, sid, opt, v) { (store[sid] = store[sid] || {})[opt] = v; },
	unset(conf, sid, opt) { delete (store[sid] || {})[opt]; }
};
function Option(kind) {
	return function(section, name, title, description) {
		this.kind = kind;
		this.option = name;
		this.title = title;
		this.description = description;
		this.values = [];
		this.deps = [];
		this.section = section;
		this.map = section.map;
		this.enabled = '1';
		this.disabled = '0';
	};
}
const form = {};
[ 'Value', 'ListValue', 'Flag', 'DynamicList', 'DummyValue' ].forEach(k => {
	form[k] = Option(k);
	form[k].prototype.value = function(v, label) { this.values.push(v); };
	form[k].prototype.depends = function(o, v) { this.deps.push([o, v]); };
	form[k].prototype.load = function(sid) { return uci.get('network', sid, this.ucioption || this.option); };
	form[k].prototype.formvalue = function(sid) { return (this.map.formvalues[this.option] != null) ? this.map.formvalues[this.option] : ''; };
});
const network = {
	registerPatternVirtual() {},
	registerProtocol(name, o) { o.protoName = name; return o; },
	getIfnameOf() { return null; }
};

// luci.js validation.js datatypes the files use.
function datatypeOk(dt, v) {
	if (v == null || v === '')
		return true;
	let m;
	if (dt == 'uinteger')
		return /^[0-9]+$/.test(v);
	if ((m = /^min\(([0-9]+)\)$/.exec(dt)))
		return /^[0-9]+$/.test(v) && +v >= +m[1];
	if ((m = /^range\(([0-9]+),([0-9]+)\)$/.exec(dt)))
		return /^[0-9]+$/.test(v) && +v >= +m[1] && +v <= +m[2];
	if (dt == 'uciname')
		return /^[A-Za-z0-9_]+$/.test(v);
	if (dt == 'ipaddr("nomask")')
		return /^[0-9.]+$|^[0-9a-fA-F:]+$/.test(v);
	throw new Error('datatype ' + dt + ' not known to the harness');
}

const modules = { rpc, uci, form, network, view, poll, dom, ui };
const requires = [];
for (const m of source.matchAll(/^'require ([a-z.]+)(?: as ([a-z]+))?';$/mg)) {
	const base = m[1].split('.').pop();
	if (!(base in modules))
		throw new Error(`${file}: 'require ${m[1]}' not known to the harness`);
	requires.push([ m[2] || base, modules[base] ]);
}

const factory = new Function('L', 'E', '_', 'N_', 'document', ...requires.map(r => r[0]), source);
const tr = s => s;
const result = factory(L, E, tr, tr, documentStub, ...requires.map(r => r[1]));

function walk(node, f) {
	if (node == null || typeof node != 'object')
		return;
	if (Array.isArray(node))
		return node.forEach(n => walk(n, f));
	f(node);
	(node.children || []).forEach(n => walk(n, f));
}

function sets(t) {
	const o = {};
	for (const k of Object.keys(t))
		o[k] = Array.from(t[k]).sort();
	return o;
}

async function runView() {
	const loaded = await result.load();
	const root = result.render(loaded);
	for (const p of polls) {
		if (!(p.interval > 0))
			throw new Error('poll.add without an interval');
		await p.fn();
	}
	// Every button once, with its text inputs filled in.
	const buttons = [];
	walk(root, n => {
		if (n.tag == 'input' && n.attrs.type == 'password')
			n.value = 'pw';
		else if (n.tag == 'input')
			n.value = data['.input'] || 'glenda';
		if (n.tag == 'button' && typeof n.attrs.click == 'function')
			buttons.push(n);
	});
	for (const b of buttons)
		await b.attrs.click({});
	for (const n of notices)
		if (n.cls == 'danger')
			throw new Error('an error was shown: ' + JSON.stringify(n.body));
	const passwords = [];
	walk(root, n => { if (n.tag == 'input' && n.attrs.type == 'password' && n.value !== '') passwords.push(n); });
	return {
		declared, called: Array.from(new Set(called)).sort(), reads: sets(reads), missing: sets(missing),
		polls: polls.map(p => p.interval), password_left_in_field: passwords.length > 0
	};
}

function runProto() {
	const options = [];
	const map = { formvalues: {}, lookupOption(name) { const o = options.find(x => x.option == name); return o ? [ o ] : null; } };
	const section = {
		map,
		taboption(tab, Cls, name, title, description) {
			const o = new Cls(section, name, title, description);
			o.tab = tab;
			options.push(o);
			return o;
		}
	};
	result.getI18n();
	result.renderFormOptions(section);
	const verdicts = {};
	for (const [opt, values] of Object.entries(data)) {
		const o = options.find(x => (x.ucioption || x.option) == opt);
		if (!o)
			throw new Error('no form field for option ' + opt);
		verdicts[opt] = {};
		for (const v of values) {
			map.formvalues = { [o.option]: v };
			let verdict = true;
			if (o.datatype && !datatypeOk(o.datatype, v))
				verdict = 'datatype ' + o.datatype;
			else if (o.validate)
				verdict = o.validate.call(o, 'wan', v);
			verdicts[opt][v] = verdict;
		}
	}
	const pairs = {};
	return {
		name: result.protoName,
		options: Array.from(new Set(options.map(o => {
			// Two fields written back as one option (keepalive, backoff).
			const m = /^_([a-z]+)_[ab]$/.exec(o.option);
			if (m) {
				pairs[m[1]] = true;
				return m[1];
			}
			return o.ucioption || o.option;
		}))).sort(),
		verdicts
	};
}

const run = { view: runView, proto: () => Promise.resolve(runProto()), declare: () => Promise.resolve({ declared }) }[mode];
if (!run)
	throw new Error('mode: view, proto or declare');
run().then(r => {
	process.stdout.write(JSON.stringify(r) + '\n');
}, e => {
	process.stderr.write(String(e && e.stack || e) + '\n');
	process.exit(1);
});

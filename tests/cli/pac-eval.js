// SPDX-License-Identifier: BSD-2-Clause
// Evaluate a PAC file for each host on stdin: prints "HOST RESULT".
//
// The PAC runs in a context that holds ONLY shExpMatch, dnsDomainIs, isInNet
// and dnsResolve, so a PAC file that calls anything else fails here. The
// helpers follow the usual PAC runtime (Mozilla's pac utils):
//   shExpMatch(str, glob)    whole-string glob, * and ? only
//   dnsDomainIs(host, dom)   host ends with dom
//   isInNet(host, pat, mask) resolves host with dnsResolve, then masks
//   dnsResolve(host)         host itself when it is an IPv4 literal; any other
//                            name resolves to 198.18.0.1 (a benchmarking
//                            address, never on a test list), so a name is
//                            never DIRECT through an address rule here.
'use strict';
const fs = require('fs');
const vm = require('vm');

const UNLISTED = '198.18.0.1';

function ipv4(s) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
	if (!m)
		return null;
	const p = m.slice(1).map(Number);
	if (p.some((x) => x > 255))
		return null;
	return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

const sandbox = {
	shExpMatch(str, glob) {
		const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
		return new RegExp('^' + re + '$').test(str);
	},
	dnsDomainIs(host, dom) {
		return host.length >= dom.length && host.substring(host.length - dom.length) === dom;
	},
	dnsResolve(host) {
		return ipv4(host) !== null ? host : UNLISTED;
	},
	isInNet(host, pattern, mask) {
		const a = ipv4(sandbox.dnsResolve(host)), p = ipv4(pattern), m = ipv4(mask);
		if (a === null || p === null || m === null)
			return false;
		return ((a & m) >>> 0) === ((p & m) >>> 0);
	},
};

const code = fs.readFileSync(process.argv[2], 'utf8');
const ctx = vm.createContext(sandbox);
vm.runInContext(code, ctx, { filename: process.argv[2] });
const hosts = fs.readFileSync(0, 'utf8').split('\n').filter((h) => h !== '');
for (const h of hosts)
	console.log(h + ' ' + ctx.FindProxyForURL('https://' + h + '/', h));

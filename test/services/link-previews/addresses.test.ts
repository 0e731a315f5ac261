import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifyAddress } from "../../../services/link-previews/addresses.ts";

const refused = (address: string) => {
	const verdict = classifyAddress(address);
	return verdict.ok ? null : verdict.reason;
};

describe("link-preview address classifier", () => {
	test("public IPv4 and IPv6 unicast are allowed", () => {
		for (const address of [
			"8.8.8.8",
			"1.1.1.1",
			"93.184.215.14",
			"100.63.255.255",
			"100.128.0.0",
			"172.15.255.255",
			"172.32.0.0",
			"192.169.0.1",
			"223.255.255.255"
		])
			assert.equal(refused(address), null, address);
		for (const address of ["2606:4700:4700::1111", "2a00:1450:4001:82b::200e", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"])
			assert.equal(refused(address), null, address);
	});

	test("IPv4: unspecified, private, loopback, link-local and metadata, CGNAT, multicast, reserved, documentation", () => {
		const cases: [string, string][] = [
			["0.0.0.0", "unspecified"],
			["0.1.2.3", "unspecified"],
			["10.0.0.1", "private"],
			["10.255.255.255", "private"],
			["172.16.0.1", "private"],
			["172.31.255.255", "private"],
			["192.168.1.1", "private"],
			["127.0.0.1", "loopback"],
			["127.255.255.254", "loopback"],
			["169.254.169.254", "link-local"],
			["169.254.0.1", "link-local"],
			["100.64.0.1", "shared"],
			["100.100.100.200", "shared"],
			["192.0.0.192", "reserved"],
			["224.0.0.1", "multicast"],
			["239.255.255.250", "multicast"],
			["240.0.0.1", "reserved"],
			["255.255.255.255", "reserved"],
			["198.18.0.1", "reserved"],
			["192.0.2.1", "documentation"],
			["198.51.100.7", "documentation"],
			["203.0.113.9", "documentation"],
			["168.63.129.16", "metadata"]
		];
		for (const [address, reason] of cases) assert.equal(refused(address), reason, address);
	});

	test("IPv6: unspecified, loopback, unique local (AWS metadata), link-local, multicast, documentation, unassigned", () => {
		const cases: [string, string][] = [
			["::", "unspecified"],
			["::1", "loopback"],
			["0:0:0:0:0:0:0:1", "loopback"],
			["fd00:ec2::254", "private"],
			["fc00::1", "private"],
			["fe80::1", "link-local"],
			["fe80::1%eth0", "link-local"],
			["febf:ffff::1", "link-local"],
			["fec0::1", "private"],
			["ff02::1", "multicast"],
			["2001:db8::1", "documentation"],
			["2001::1", "reserved"],
			["100::1", "reserved"],
			["::7f00:1", "reserved"],
			["4000::1", "reserved"]
		];
		for (const [address, reason] of cases) assert.equal(refused(address), reason, address);
	});

	test("IPv6 forms that carry a refused IPv4 address are refused for it", () => {
		const cases: [string, string][] = [
			["::ffff:127.0.0.1", "loopback"],
			["::ffff:7f00:1", "loopback"],
			["::FFFF:169.254.169.254", "link-local"],
			["::ffff:a9fe:a9fe", "link-local"],
			["::ffff:10.0.0.1", "private"],
			["::ffff:0:192.168.0.1", "private"],
			["64:ff9b::127.0.0.1", "loopback"],
			["64:ff9b::a9fe:a9fe", "link-local"],
			["2002:7f00:1::", "loopback"],
			["2002:c0a8:101::1", "private"],
			["64:ff9b:1::1", "private"]
		];
		for (const [address, reason] of cases) assert.equal(refused(address), reason, address);
	});

	test("what is not an address is refused", () => {
		for (const text of ["", "localhost", "127.1", "0x7f.0.0.1", "2130706433", "::ffff:999.0.0.1", "1.2.3.4.5", "[::1]"])
			assert.equal(refused(text), "invalid", text);
	});
});

/**
 * Search latency over a large message store (docs/BENCHMARKS.md, "Search"): builds the embedded index
 * (services/search/message-index.ts) from generated messages, page by page as a rebuild at start does,
 * then times searches of common and rare words, as one member of many conversations and within one.
 *
 *   node --expose-gc bench/search-index.ts [--messages 1000000] [--groups 2000] [--member-of 100] [--queries 200]
 */
import { parseArgs } from "node:util";
import { highlightsOf } from "../services/search/highlights.ts";
import { MessageIndex, type IndexEntry } from "../services/search/message-index.ts";
import { queryTerms } from "../services/search/terms.ts";

const { values } = parseArgs({
	options: {
		messages: { type: "string", default: "1000000" },
		groups: { type: "string", default: "2000" },
		"member-of": { type: "string", default: "100" },
		queries: { type: "string", default: "200" },
		vocabulary: { type: "string", default: "50000" }
	}
});
const MESSAGES = Number(values.messages);
const GROUPS = Number(values.groups);
const MEMBER_OF = Number(values["member-of"]);
const QUERIES = Number(values.queries);
const VOCABULARY = Number(values.vocabulary);
const PAGE = 1000;

/** A small deterministic PRNG (mulberry32), so every run indexes the same messages. */
function random(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

// Words follow Zipf's law, as in natural text: the word of rank r appears about 1/r as often as the first.
const syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "or", "ve", "qui", "zu", "da", "fen"];
const words = Array.from({ length: VOCABULARY }, (_, r) => {
	let word = "";
	for (let n = r + 1; n > 0; n = Math.floor(n / syllables.length)) word += syllables[n % syllables.length];
	return word;
});
const harmonic: number[] = [];
for (let r = 0, sum = 0; r < VOCABULARY; r++) harmonic.push((sum += 1 / (r + 1)));
const total = harmonic[VOCABULARY - 1];
function zipfWord(next: () => number): string {
	const x = next() * total;
	let lo = 0;
	let hi = VOCABULARY - 1;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (harmonic[mid] < x) lo = mid + 1;
		else hi = mid;
	}
	return words[lo];
}

/** Message `i`, regenerated whenever needed (the store is not kept beside the index). */
function message(i: number): IndexEntry {
	const next = random(i + 1);
	const length = 3 + Math.floor(next() * 22);
	const content = Array.from({ length }, () => zipfWord(next)).join(" ");
	return {
		id: i.toString(16).padStart(24, "0"),
		groupId: `g${(i * 7919) % GROUPS}`,
		senderId: `u${Math.floor(next() * 5000)}`,
		content,
		version: 1,
		createdAt: 1_700_000_000_000 + i * 1000,
		searchable: true
	};
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
gc?.();
const before = process.memoryUsage();
const index = new MessageIndex();
const buildStart = performance.now();
index.beginRebuild();
for (let start = 0; start < MESSAGES; start += PAGE) {
	const page: IndexEntry[] = [];
	for (let i = start; i < Math.min(MESSAGES, start + PAGE); i++) page.push(message(i));
	index.addStored(page);
}
index.endRebuild();
const buildMs = performance.now() - buildStart;
gc?.();
const after = process.memoryUsage();

const messagesById = (id: string) => message(parseInt(id, 16));
const mine = new Set(Array.from({ length: MEMBER_OF }, (_, k) => `g${k}`));
const one = new Set(["g0"]);

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Times QUERIES searches (index + first page of 20 highlighted) for words drawn from `pick`. */
function measure(name: string, pick: (k: number) => string, groupIds: Set<string>) {
	const times: number[] = [];
	let hits = 0;
	for (let k = 0; k < QUERIES + 10; k++) {
		const terms = queryTerms(pick(k));
		const t0 = performance.now();
		const ranked = index.search(terms, { groupIds });
		for (const hit of ranked.slice(0, 20)) {
			const matched = new Set(hit.terms);
			highlightsOf(messagesById(hit.id).content, term => matched.has(term));
		}
		const ms = performance.now() - t0;
		if (k >= 10) {
			times.push(ms);
			hits += ranked.length;
		}
	}
	times.sort((a, b) => a - b);
	const round = (n: number) => Math.round(n * 100) / 100;
	return {
		query: name,
		scope: groupIds === one ? "one conversation" : `${groupIds.size} conversations`,
		avgHits: Math.round(hits / QUERIES),
		p50: round(percentile(times, 50)),
		p99: round(percentile(times, 99))
	};
}

const common = (k: number) => words[k % 5];
const frequent = (k: number) => words[50 + (k % 50)];
const rare = (k: number) => words[5_000 + ((k * 37) % 5_000)];
const two = (k: number) => `${words[100 + (k % 50)]} ${words[200 + ((k * 3) % 50)]}`;
const prefix = (k: number) => words[300 + (k % 50)].slice(0, 4);
const results = [
	measure("common word (rank 1–5, in ~60% of messages)", common, mine),
	measure("frequent word (rank 50–100)", frequent, mine),
	measure("rare word (rank 5 000–10 000)", rare, mine),
	measure("two words (ranks 100–150 and 200–250)", two, mine),
	measure("4-letter prefix", prefix, mine),
	measure("common word (rank 1–5)", common, one),
	measure("rare word (rank 5 000–10 000)", rare, one)
];

console.log(
	JSON.stringify(
		{
			node: process.version,
			messages: MESSAGES,
			groups: GROUPS,
			indexed: index.size,
			buildSeconds: Math.round(buildMs / 100) / 10,
			rssMB: mb(after.rss),
			heapUsedMB: mb(after.heapUsed - before.heapUsed),
			results
		},
		null,
		2
	)
);

import * as hdr from "hdr-histogram-js";

/** Latencies are recorded in microseconds, up to 10 minutes, with 3 significant digits. */
export function newHistogram(): hdr.Histogram {
	return hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export function recordUs(h: hdr.Histogram, us: number): void {
	h.recordValue(Math.max(1, Math.round(us)));
}

/** Histograms cross thread boundaries in HdrHistogram's compressed form. */
export const encode = (h: hdr.Histogram): string => hdr.encodeIntoCompressedBase64(h);

export function mergeEncoded(encoded: string[]): hdr.Histogram {
	const total = newHistogram();
	for (const e of encoded) if (e) total.add(hdr.decodeFromCompressedBase64(e, 64, false));
	return total;
}

export interface Percentiles {
	count: number;
	p50: number;
	p90: number;
	p99: number;
	p999: number;
	max: number;
}

/** Milliseconds, rounded to 0.01. */
export function percentilesMs(h: hdr.Histogram): Percentiles {
	const ms = (us: number) => Math.round(us / 10) / 100;
	if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
	return {
		count: h.totalCount,
		p50: ms(h.getValueAtPercentile(50)),
		p90: ms(h.getValueAtPercentile(90)),
		p99: ms(h.getValueAtPercentile(99)),
		p999: ms(h.getValueAtPercentile(99.9)),
		max: ms(h.maxValue)
	};
}

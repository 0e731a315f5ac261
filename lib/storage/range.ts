export type ByteRange = { kind: "all" } | { kind: "unsatisfiable" } | { kind: "range"; start: number; end: number };

/**
 * One `Range: bytes=…` request header against a resource of `size` bytes. Multiple ranges and
 * malformed headers are answered with the whole resource, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
	const match = header ? /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header) : null;
	if (!match || (match[1] === "" && match[2] === "")) return { kind: "all" };
	if (match[1] === "") {
		const suffix = Number(match[2]);
		if (suffix === 0) return { kind: "unsatisfiable" };
		return { kind: "range", start: Math.max(0, size - suffix), end: size - 1 };
	}
	const start = Number(match[1]);
	const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
	if (match[2] !== "" && Number(match[2]) < start) return { kind: "all" };
	if (start >= size) return { kind: "unsatisfiable" };
	return { kind: "range", start, end };
}

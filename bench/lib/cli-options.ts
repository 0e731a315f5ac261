/** The command-line options every load-generating script shares (`bench/run.ts`, `bench/scale-out.ts`), for node:util parseArgs. */
export const generatorOptions = {
	workers: { type: "string" },
	client: { type: "string", default: "raw" },
	"cpu-prof": { type: "boolean", default: false },
	payload: { type: "string", default: "100" },
	storage: { type: "string", default: "nedb" },
	"max-elu": { type: "string", default: "0.9" },
	"max-eld-ms": { type: "string", default: "50" },
	help: { type: "boolean", default: false }
} as const;

/** Prints the usage and exits when `--help` was given. */
export function helpRequested(values: { help?: boolean }, usage: string): void {
	if (!values.help) return;
	console.log(usage);
	process.exit(0);
}

import { openNedbCollection } from "../../helpers/nedb-file.ts";

/**
 * Child of compaction.test.ts, to be killed: fills `<file>` with superseded lines, starts a compaction in tiny
 * slices and keeps writing meanwhile, printing each acknowledged write ("insert <_id>", "update <n>") and
 * "compacting" once the compaction is under way, "compacted" once it renamed its file.
 */
const file = process.argv[2];
const { docs, commit } = await openNedbCollection<{ _id: string; n: number; pad?: string }>(file, { sliceMs: 0.2, sliceChars: 4000 });
const say = (line: string) => process.stdout.write(line + "\n");
await docs.insert({ _id: "counter", n: 0 });
for (let round = 0; round < 3; round++) {
	await Promise.all(Array.from({ length: 2000 }, (_, i) => docs.updateById(`seed${i}`, { $set: { n: round } }).then(() => undefined)));
	if (round === 0) await Promise.all(Array.from({ length: 2000 }, (_, i) => docs.insert({ _id: `seed${i}`, n: 0, pad: "x".repeat(200) })));
}
let n = 0;
for (;;) {
	const compaction = commit.compaction.run().then(() => say("compacted"));
	say("compacting");
	let done = false;
	void compaction.then(() => (done = true));
	while (!done) {
		n++;
		await docs.updateById("counter", { $set: { n } });
		say(`update ${n}`);
		await docs.insert({ _id: `later${n}`, n });
		say(`insert later${n}`);
	}
}

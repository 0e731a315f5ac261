import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { ALL_SERVICES } from "../lib/config.ts";

/** docker-compose.yml, Dockerfile, .env.example and nginx/nginx.conf checked against each other and the code (no Docker engine here). */

const root = path.resolve(import.meta.dirname, "..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

interface ComposeService {
	image?: string;
	build?: { context: string; target?: string; dockerfile?: string };
	environment?: Record<string, string | number | boolean | null>;
	ports?: string[];
	depends_on?: Record<string, { condition: string }> | string[];
	healthcheck?: { test: string[] | string };
	profiles?: string[];
	volumes?: string[];
	command?: string[];
}

const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const services = compose.services;
const envExample = new Map(
	read(".env.example")
		.split("\n")
		.filter(line => /^[A-Z][A-Z0-9_]*=/.test(line))
		.map(line => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const)
);
const dockerfile = read("Dockerfile");
const nginxConf = read("nginx/nginx.conf");

/** Environment variables lib/config.ts reads: `env.X` and destructured `{ X: … } = env`. */
function variablesTheAppReads(): string[] {
	const source = read("lib/config.ts");
	const names = new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map(m => m[1]));
	for (const m of source.matchAll(/\{([^}]*)\}\s*=\s*env\b/g)) for (const n of m[1].matchAll(/\b([A-Z][A-Z0-9_]*)\s*:/g)) names.add(n[1]);
	return [...names].sort();
}

/** `${VAR}` references of docker-compose.yml (RABBITMQ_DEFAULT_USER/PASS are for the rabbitmq service, not the app). */
function variablesComposeReads(): string[] {
	return [...new Set([...read("docker-compose.yml").matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map(m => m[1]))].sort();
}

const appNodes = Object.entries(services).filter(([, s]) => s.build?.target === "app" && !s.profiles?.length);
const env = (s: ComposeService, name: string) => (s.environment?.[name] == null ? undefined : String(s.environment[name]));

describe("docker-compose.yml", () => {
	test("every service has an image or a build whose context and Dockerfile stage exist", () => {
		const stages = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map(m => m[1]));
		for (const [name, s] of Object.entries(services)) {
			assert.ok(s.image || s.build, `${name} has neither image nor build`);
			if (s.build) {
				assert.ok(existsSync(path.join(root, s.build.context, s.build.dockerfile ?? "Dockerfile")), `${name}: build context`);
				if (s.build.target) assert.ok(stages.has(s.build.target), `${name}: Dockerfile has no stage ${s.build.target}`);
			}
		}
	});

	test("the infrastructure is there: MongoDB, Redis, RabbitMQ with its management UI, Kafka in KRaft mode, nginx", () => {
		assert.match(services.mongo.image!, /^mongo:/);
		assert.match(services.redis.image!, /^redis:/);
		assert.match(services.rabbitmq.image!, /^rabbitmq:.*management/);
		assert.ok(
			services.rabbitmq.ports?.some(p => p.endsWith(":15672")),
			"management UI port"
		);
		assert.match(services.kafka.image!, /kafka/);
		assert.match(String(env(services.kafka, "KAFKA_PROCESS_ROLES")), /broker,controller/);
		assert.ok(!Object.keys(services).some(n => /zookeeper/i.test(n)), "KRaft needs no ZooKeeper");
		assert.equal(services.nginx.build?.target, "nginx");
	});

	test("the nodes' SERVICES cover every service, with ≥2 API and ≥3 socket nodes", () => {
		const byNode = appNodes.map(([name, s]) => [name, (env(s, "SERVICES") ?? "").split(",").map(x => x.trim())] as const);
		const covered = new Set(byNode.flatMap(([, list]) => list));
		for (const service of ALL_SERVICES) assert.ok(covered.has(service), `no node runs ${service}`);
		for (const [node, list] of byNode) for (const s of list) assert.ok((ALL_SERVICES as readonly string[]).includes(s), `${node} names unknown service ${s}`);
		assert.ok(byNode.filter(([, l]) => l.includes("api")).length >= 2, "two API nodes");
		assert.ok(byNode.filter(([, l]) => l.includes("socket")).length >= 3, "three socket nodes");
		assert.ok(
			byNode.some(([, l]) => l.includes("kafka-bridge")),
			"a Kafka bridge node"
		);
		const kafkaNode = byNode.find(([, l]) => l.includes("kafka-bridge"))![0];
		assert.ok(env(services[kafkaNode], "KAFKA_BROKERS"), "the bridge runs only with KAFKA_BROKERS");
	});

	test("every app node is clustered, has unique NODE_ID, and a health check on a port it opens", () => {
		const ids = new Set<string>();
		for (const [name, s] of appNodes) {
			assert.match(env(s, "TRANSPORTER") ?? "", /^amqp:\/\/.*@rabbitmq:5672$/, `${name} TRANSPORTER`);
			assert.match(env(s, "REDIS_URL") ?? "", /^redis:\/\/redis:6379$/, `${name} REDIS_URL`);
			assert.match(env(s, "MONGODB_URI") ?? "", /^mongodb:\/\/mongo:27017\//, `${name} MONGODB_URI`);
			const id = env(s, "NODE_ID");
			assert.ok(id && !ids.has(id), `${name}: unique NODE_ID`);
			ids.add(id!);
			const check = JSON.stringify(s.healthcheck?.test ?? "");
			const port = /127\.0\.0\.1:(\d+)\/ready/.exec(check)?.[1];
			assert.ok(port, `${name}: health check on /ready`);
			assert.ok([env(s, "PROBE_PORT"), env(s, "PORT")].includes(port), `${name}: health check port ${port} is not one the node opens`);
		}
	});

	test("environment references resolve: every ${VAR} and every variable set on a node is one the app reads and .env.example lists", () => {
		const read = new Set(variablesTheAppReads());
		const text = readFileSync(path.join(root, "docker-compose.yml"), "utf8");
		for (const m of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)) assert.ok(envExample.has(m[1]), `\${${m[1]}} is not in .env.example`);
		for (const [name, s] of appNodes)
			for (const key of Object.keys(s.environment ?? {})) assert.ok(read.has(key), `${name} sets ${key}, which the app does not read`);
	});

	test("depends_on names existing services, and service_healthy ones have a health check", () => {
		for (const [name, s] of Object.entries(services)) {
			const deps = Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map(d => [d, { condition: "service_started" }])) : (s.depends_on ?? {});
			for (const [dep, { condition }] of Object.entries(deps)) {
				assert.ok(services[dep], `${name} depends on missing ${dep}`);
				if (condition === "service_healthy") assert.ok(services[dep].healthcheck, `${name} waits for ${dep} to be healthy, which has no health check`);
			}
		}
	});

	test("ports are [127.0.0.1:]host:container pairs, named volumes are declared", () => {
		for (const [name, s] of Object.entries(services)) {
			for (const p of s.ports ?? []) assert.match(p, /^(127\.0\.0\.1:)?\d+:\d+$/, `${name} port ${p}`);
			for (const v of s.volumes ?? []) {
				const source = v.split(":")[0];
				if (!source.startsWith(".") && !source.startsWith("/"))
					assert.ok(compose.volumes && source in compose.volumes, `${name}: volume ${source} is not declared`);
			}
		}
	});
});

describe("docker-compose.yml: the trust boundary", () => {
	test("only nginx is published on the host's interfaces; RabbitMQ's UI on 127.0.0.1 at most; MongoDB, Redis, Kafka not at all", () => {
		for (const [name, s] of Object.entries(services)) {
			if (name === "nginx") continue;
			for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes ${p} on every interface`);
		}
		for (const name of ["mongo", "redis", "kafka"]) assert.deepEqual(services[name].ports ?? [], [], `${name} is published`);
		assert.ok(!(services.rabbitmq.ports ?? []).some(p => /:5672$/.test(p)), "AMQP is published");
	});

	test("RabbitMQ has a dedicated user whose password comes from .env, and every node's TRANSPORTER is built from it", () => {
		const user = env(services.rabbitmq, "RABBITMQ_DEFAULT_USER") ?? "";
		const pass = env(services.rabbitmq, "RABBITMQ_DEFAULT_PASS") ?? "";
		assert.match(user, /^\$\{RABBITMQ_DEFAULT_USER(:-(?!guest\})[^}]+)?\}$/, "RABBITMQ_DEFAULT_USER");
		assert.match(pass, /^\$\{RABBITMQ_DEFAULT_PASS:\?[^}]+\}$/, "RABBITMQ_DEFAULT_PASS is required, without a default");
		for (const [name, s] of [...appNodes, ["repl", services.repl] as const]) {
			const transporter = env(s, "TRANSPORTER") ?? "";
			assert.ok(!/guest/.test(transporter), `${name} TRANSPORTER uses guest`);
			assert.ok(transporter.startsWith(`amqp://${user}:${pass}@`), `${name} TRANSPORTER is not built from the RabbitMQ user: ${transporter}`);
		}
		assert.ok(!/guest/.test(envExample.get("TRANSPORTER") ?? ""), ".env.example TRANSPORTER uses guest");
	});

	test("every node and the REPL get the same required CLUSTER_SECRET", () => {
		for (const [name, s] of [...appNodes, ["repl", services.repl] as const])
			assert.match(env(s, "CLUSTER_SECRET") ?? "", /^\$\{CLUSTER_SECRET:\?[^}]+\}$/, `${name} CLUSTER_SECRET`);
		assert.equal(envExample.get("CLUSTER_SECRET"), "", ".env.example leaves CLUSTER_SECRET to be generated");
	});
});

describe(".env.example", () => {
	test("lists every variable the app reads", () => {
		const missing = variablesTheAppReads().filter(name => !envExample.has(name));
		assert.deepEqual(missing, []);
	});

	test("lists nothing that neither the app nor docker-compose.yml reads", () => {
		const read = new Set([...variablesTheAppReads(), ...variablesComposeReads()]);
		assert.deepEqual(
			[...envExample.keys()].filter(name => !read.has(name)),
			[]
		);
	});
});

describe("Dockerfile", () => {
	test("multi-stage: node 22 with npm ci, the web app built in its own stage, the nginx stage serving it", () => {
		assert.match(dockerfile, /^FROM node:22\S*\s+AS deps/m);
		assert.match(dockerfile, /RUN npm ci\b/);
		assert.match(dockerfile, /^FROM deps AS web\b[\s\S]*npm run build -w web/m);
		assert.match(dockerfile, /^FROM node:22\S*\s+AS app/m);
		assert.match(dockerfile, /COPY --from=web \/app\/web\/build web\/build/);
		assert.match(
			dockerfile,
			/^FROM nginx:\S+ AS nginx[\s\S]*COPY nginx\/nginx\.conf \/etc\/nginx\/nginx\.conf[\s\S]*COPY --from=web \/app\/web\/build \/usr\/share\/nginx\/html/m
		);
		// The image starts the node exactly as `npm start` does (same V8 flags).
		const cmd = dockerfile.match(/^CMD (\[.*\])$/m);
		assert.ok(cmd, "the app stage has a CMD");
		assert.deepEqual(JSON.parse(cmd[1]), JSON.parse(read("package.json")).scripts.start.split(" "));
	});

	test("everything the app stage copies from the context exists, and .dockerignore keeps node_modules out", () => {
		for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
			for (const source of m[1].split(/\s+/)) assert.ok(existsSync(path.join(root, source)), `COPY ${source}: missing`);
		}
		const ignored = read(".dockerignore").split("\n");
		for (const entry of ["node_modules", "web/node_modules", "web/build", ".env"]) assert.ok(ignored.includes(entry), entry);
	});
});

describe("nginx/nginx.conf (compose mode)", () => {
	const upstreams = new Map(
		[...nginxConf.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)].map(m => [
			m[1],
			[...m[2].matchAll(/^\s*server\s+([^:\s]+):(\d+)/gm)].map(s => ({ host: s[1], port: s[2] }))
		])
	);

	test("the API and socket upstreams name compose services that run api / socket on that port", () => {
		const runs = (name: string, service: string) => (env(services[name], "SERVICES") ?? "").split(",").includes(service);
		assert.ok((upstreams.get("chat_api") ?? []).length >= 2);
		for (const { host, port } of upstreams.get("chat_api")!) {
			assert.ok(services[host], `upstream names missing service ${host}`);
			assert.ok(runs(host, "api"), `${host} does not run api`);
			assert.equal(port, env(services[host], "PORT"));
		}
		assert.ok((upstreams.get("chat_socket") ?? []).length >= 3);
		for (const { host, port } of upstreams.get("chat_socket")!) {
			assert.ok(services[host], `upstream names missing service ${host}`);
			assert.ok(runs(host, "socket"), `${host} does not run socket`);
			assert.equal(port, env(services[host], "SOCKET_PORT"));
		}
		const nodesWith = (service: string) =>
			appNodes
				.filter(([n]) => runs(n, service))
				.map(([n]) => n)
				.sort();
		assert.deepEqual(
			upstreams
				.get("chat_api")!
				.map(u => u.host)
				.sort(),
			nodesWith("api"),
			"every API node is behind nginx"
		);
		assert.deepEqual(
			upstreams
				.get("chat_socket")!
				.map(u => u.host)
				.sort(),
			nodesWith("socket"),
			"every socket node is behind nginx"
		);
	});

	test("the body limit admits UPLOAD_MAX_BYTES", () => {
		const m = /client_max_body_size\s+(\d+)([km]?);/.exec(nginxConf);
		assert.ok(m, "client_max_body_size");
		const bytes = Number(m[1]) * ({ "": 1, k: 1024, m: 1024 * 1024 } as Record<string, number>)[m[2]];
		const upload = Number(envExample.get("UPLOAD_MAX_BYTES"));
		assert.ok(bytes > upload && bytes <= upload + 4 * 1024 * 1024, `${bytes} vs UPLOAD_MAX_BYTES ${upload}`);
		assert.equal(String(upload), env(appNodes[0][1], "UPLOAD_MAX_BYTES")?.replace(/^\$\{UPLOAD_MAX_BYTES:-(\d+)\}$/, "$1"));
	});
});

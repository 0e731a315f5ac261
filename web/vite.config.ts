import { sveltekit } from '@sveltejs/kit/vite';
import adapter from '@sveltejs/adapter-static';
import { defineConfig } from 'vitest/config';

// The API gateway serves the built SPA; in dev, vite proxies API and socket traffic to it.
const backend = process.env.VITE_BACKEND ?? 'http://localhost:3000';

export default defineConfig({
	plugins: [
		sveltekit({
			adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html' })
		})
	],
	// The build-time analysis runs the server bundle from web/, where a bare `cookie` would resolve
	// to the hoisted 0.x copy that socket.io pulls in; bundle kit's own 2.x copy instead.
	ssr: { noExternal: ['cookie'] },
	server: {
		proxy: {
			'/api': { target: backend, changeOrigin: true },
			'/socket.io': { target: backend, ws: true, changeOrigin: true }
		}
	},
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'node'
	}
});

import js from "@eslint/js";
import svelte from "eslint-plugin-svelte";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Lint for correctness; formatting is Prettier's (prettier.config.js). Both run in `npm test`. */
export default tseslint.config(
	{
		ignores: ["node_modules/", "web/node_modules/", "web/build/", "web/.svelte-kit/", "data/", "test-artifacts/", "bench/results/", "**/*.d.ts"]
	},
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		languageOptions: { globals: { ...globals.node } },
		rules: {
			// Moleculer's handler contexts and adapter results are untyped at the edges; `any` stays allowed there.
			"@typescript-eslint/no-explicit-any": "off",
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
			"@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
			// Flags "let x = fallback; try { x = … }" patterns that read fine.
			"no-useless-assignment": "off",
			"@typescript-eslint/no-empty-object-type": "off",
			"no-constant-condition": ["error", { checkLoops: false }],
			eqeqeq: ["error", "smart"],
			"prefer-const": "error",
			"no-var": "error"
		}
	},
	...svelte.configs.recommended,
	{
		files: ["web/**/*.{ts,svelte}", "web/**/*.svelte.ts"],
		languageOptions: { globals: { ...globals.browser } }
	},
	{
		files: ["web/**/*.svelte", "web/**/*.svelte.ts"],
		languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: [".svelte"] } },
		rules: {
			// `let { a, b } = $props()` is how Svelte 5 declares props; svelte/prefer-const knows runes.
			"prefer-const": "off",
			"svelte/prefer-const": "error",
			// The app is served at "/" (no base path) and links to signed asset URLs, which resolve() is not for.
			"svelte/no-navigation-without-resolve": "off"
		}
	}
);

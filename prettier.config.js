// Today's style: tabs, double quotes in the server, single quotes in the web app, long lines, no trailing commas.
export default {
	useTabs: true,
	printWidth: 160,
	semi: true,
	singleQuote: false,
	trailingComma: "none",
	arrowParens: "avoid",
	bracketSpacing: true,
	plugins: ["prettier-plugin-svelte"],
	overrides: [
		{ files: ["web/**/*"], options: { singleQuote: true, printWidth: 120 } },
		{ files: ["*.md", "docs/**/*.md"], options: { useTabs: false, proseWrap: "preserve" } },
		{ files: ["*.yml", "*.yaml", "*.json"], options: { useTabs: false } }
	]
};

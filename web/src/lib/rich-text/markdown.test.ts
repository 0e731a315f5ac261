// @vitest-environment jsdom
import { describe, expect, test } from 'vitest';
import { plainText, renderMessageText, usernameIndex, type MentionContext } from './markdown.ts';

const dom = (html: string) => {
	const div = document.createElement('div');
	div.innerHTML = html;
	return div;
};

describe('message markdown', () => {
	test('bold, italic, strike, inline code, code blocks, quotes, lists', () => {
		const html = renderMessageText(
			'**bold** *it* _it2_ ~~gone~~ `x < y`\n\n```\nif (a < b) {}\n```\n\n> quoted\n\n- one\n- two\n\n1. first\n2. second'
		);
		const root = dom(html);
		expect(root.querySelector('strong')?.textContent).toBe('bold');
		expect([...root.querySelectorAll('em')].map(e => e.textContent)).toEqual(['it', 'it2']);
		expect(root.querySelector('del')?.textContent).toBe('gone');
		expect(root.querySelector('p > code')?.textContent).toBe('x < y');
		expect(root.querySelector('pre > code')?.textContent).toBe('if (a < b) {}\n');
		expect(root.querySelector('blockquote')?.textContent?.trim()).toBe('quoted');
		expect([...root.querySelectorAll('ul > li')].map(e => e.textContent)).toEqual(['one', 'two']);
		expect([...root.querySelectorAll('ol > li')].map(e => e.textContent)).toEqual(['first', 'second']);
	});

	test('line breaks stay; headings, tables and rules are not markup', () => {
		const root = dom(renderMessageText('# not a heading\nline two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n---'));
		expect(root.querySelector('h1, table, hr')).toBeNull();
		expect(root.querySelector('br')).not.toBeNull();
		expect(root.textContent).toContain('# not a heading');
	});

	test('bare URLs and markdown links to http(s) open in a new tab without an opener', () => {
		const root = dom(renderMessageText('see https://example.com/a?b=1 and [docs](https://docs.example.com)'));
		const links = [...root.querySelectorAll('a')];
		expect(links.map(a => a.getAttribute('href'))).toEqual(['https://example.com/a?b=1', 'https://docs.example.com']);
		for (const a of links) {
			expect(a.getAttribute('target')).toBe('_blank');
			expect(a.getAttribute('rel')).toBe('noopener noreferrer');
		}
	});

	test('XSS payloads stay text: raw HTML, event handlers, script, javascript: and data: links', () => {
		const payloads = [
			'<img src=x onerror="alert(1)">',
			'<script>alert(1)</script>',
			'<a href="javascript:alert(1)">x</a>',
			'[click](javascript:alert(1))',
			'[click](JaVaScRiPt:alert(1))',
			'[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
			'[click](vbscript:msgbox(1))',
			'![x](javascript:alert(1))',
			'<svg onload=alert(1)>',
			'<iframe src="https://evil.example"></iframe>',
			'[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
			'<style>body{display:none}</style>',
			'`<img src=x onerror=alert(1)>`',
			'<details open ontoggle=alert(1)>'
		];
		for (const payload of payloads) {
			const html = renderMessageText(payload);
			const root = dom(html);
			expect(root.querySelector('img, script, svg, iframe, style, details'), payload).toBeNull();
			for (const el of root.querySelectorAll('*')) {
				for (const attr of el.attributes) expect(attr.name.startsWith('on'), `${payload}: ${attr.name}`).toBe(false);
			}
			for (const a of root.querySelectorAll('a')) expect(a.getAttribute('href'), payload).toMatch(/^https?:|^mailto:/);
		}
		expect(dom(renderMessageText('<b>not bold</b>')).textContent?.trim()).toBe('<b>not bold</b>');
		expect(dom(renderMessageText('[click](javascript:alert(1))')).textContent?.trim()).toBe('click');
	});

	describe('mentions', () => {
		const members = usernameIndex([
			{ id: 'u-alice', username: 'Alice' },
			{ id: 'u-bob', username: 'bob' },
			{ id: 'u-carol', username: 'carol' }
		]);
		const context = (over: Partial<MentionContext> = {}): MentionContext => ({
			mentions: ['u-alice', 'u-bob'],
			mentionsAll: false,
			usernames: members,
			viewerId: 'u-bob',
			...over
		});

		test('resolved mentions are highlighted, the viewer’s own more strongly; unresolved ones stay text', () => {
			const root = dom(renderMessageText('hi @alice and @bob, not @carol nor @nobody', context()));
			const spans = [...root.querySelectorAll('span.mention')];
			expect(spans.map(s => [s.textContent, s.classList.contains('mention-me')])).toEqual([
				['@alice', false],
				['@bob', true]
			]);
			expect(root.textContent?.trim()).toBe('hi @alice and @bob, not @carol nor @nobody');
		});

		test('@all and @here only when the server counted them; not in code or e-mail addresses', () => {
			expect(
				dom(renderMessageText('@all look', context({ mentionsAll: true }))).querySelector('.mention-all')?.textContent
			).toBe('@all');
			expect(dom(renderMessageText('@here look', context({ mentions: [] }))).querySelector('.mention')).toBeNull();
			const root = dom(renderMessageText('`@bob` mail bob@example.com', context()));
			expect(root.querySelector('.mention')).toBeNull();
			expect(root.querySelector('a')?.getAttribute('href')).toBe('mailto:bob@example.com');
		});

		test('@here, which the server resolves to the members online then, is a mention of those it reached', () => {
			const here = (text: string, over: Partial<MentionContext>) =>
				[...dom(renderMessageText(text, context(over))).querySelectorAll('.mention')].find(
					s => s.textContent === '@here'
				)?.className ?? 'text';
			// Bob was online: he is in mentions without being named.
			expect(here('@here standup', { mentions: ['u-bob'] })).toBe('mention mention-all mention-me');
			// Carol was not: for her (and for the sender) it is still the call that went out, not hers.
			expect(here('@here standup', { mentions: ['u-bob'], viewerId: 'u-carol' })).toBe('mention mention-all');
			// Everyone it mentions is named: from a member not allowed to use @here, who reached nobody with it.
			expect(here('@here @bob look', { mentions: ['u-bob'] })).toBe('text');
			expect(here('@bob @here look', { mentions: ['u-bob', 'u-alice'] })).toBe('mention mention-all mention-me');
			const both = dom(renderMessageText('@bob @here look', context({ mentions: ['u-bob', 'u-alice'] })));
			expect(both.querySelectorAll('.mention-me').length).toBe(2);
		});

		test('mentions inside bold and lists', () => {
			const root = dom(renderMessageText('**@bob** please\n- @alice', context()));
			expect(root.querySelector('strong .mention-me')?.textContent).toBe('@bob');
			expect(root.querySelector('li .mention')?.textContent).toBe('@alice');
		});
	});
});

describe('plainText', () => {
	test('keeps the words and drops the markers', () => {
		expect(
			plainText(
				'Hi **team**, the new `build` is out:\n\n- faster start\n- *smaller* bundle\n\nSee https://example.com/notes'
			)
		).toBe('Hi team, the new build is out: faster start smaller bundle See https://example.com/notes');
		expect(plainText('```\nnpm start\n```\n> quoted & <b>line</b>')).toBe('npm start quoted & <b>line</b>');
		expect(plainText('Great work @alice! ~~no~~')).toBe('Great work @alice! no');
		expect(plainText('**cut in the mid')).toBe('**cut in the mid');
	});
});

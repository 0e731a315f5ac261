import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { Attachment } from '@scalable-chat/contract';
import AttachmentView from './AttachmentView.svelte';

const image = (over: Partial<Attachment>): Attachment =>
	({
		id: 'a1',
		name: 'photo.png',
		size: 1234,
		mimeType: 'image/png',
		url: '/api/assets/a1/original?exp=1&sig=o',
		thumbnailUrl: '/api/assets/a1/thumb?exp=1&sig=t',
		width: 64,
		height: 48,
		...over
	}) as Attachment;

describe('an attachment in the timeline', () => {
	it('an image with a thumbnail shows the thumbnail inline', () => {
		const { body } = render(AttachmentView, { props: { attachment: image({}) } });
		expect(body).toContain('src="/api/assets/a1/thumb?exp=1&amp;sig=t"');
		expect(body).not.toContain('data-testid="file-card"');
	});

	it('an image without a thumbnail is a file card, never the original inline', () => {
		const { body } = render(AttachmentView, {
			props: { attachment: image({ thumbnailUrl: null, width: null, height: null }) }
		});
		expect(body).not.toContain('<img');
		expect(body).toContain('data-testid="file-card"');
	});
});

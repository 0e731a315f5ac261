/** What both baselines do per message: the next seq of the room and the message as our gateway shapes it. */
export class RoomSequencer {
	private readonly seqs = new Map<string, number>();
	private nextId = 1;

	message(groupId: string, senderId: string, content: string, clientMessageId: string | null) {
		const seq = (this.seqs.get(groupId) ?? 0) + 1;
		this.seqs.set(groupId, seq);
		return { id: String(this.nextId++), groupId, seq, senderId, content, clientMessageId, createdAt: new Date().toISOString() };
	}
}

let context: AudioContext | null = null;

/** A short two-note chime made on the spot (no sound file to fetch); silent where audio is not allowed yet. */
export function playChime(): void {
	try {
		context ??= new AudioContext();
		const start = context.currentTime;
		for (const [i, frequency] of [880, 1320].entries()) {
			const oscillator = context.createOscillator();
			const gain = context.createGain();
			oscillator.type = 'sine';
			oscillator.frequency.value = frequency;
			const at = start + i * 0.12;
			gain.gain.setValueAtTime(0.0001, at);
			gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
			gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
			oscillator.connect(gain).connect(context.destination);
			oscillator.start(at);
			oscillator.stop(at + 0.3);
		}
	} catch {
		// No audio here: the notification itself is enough.
	}
}

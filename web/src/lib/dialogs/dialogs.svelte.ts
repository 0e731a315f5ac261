/** A question the app asks in its own dialog (never the browser's `confirm()`). */
export interface ConfirmRequest {
	title: string;
	message?: string;
	/** The button that says yes, as a verb ("Delete", "Leave"). */
	confirmLabel: string;
	/** A destructive action: the button is red. */
	danger?: boolean;
}

interface PendingConfirm extends ConfirmRequest {
	answer(ok: boolean): void;
}

/** The app's modal dialogs: confirmations, the quick switcher, the shortcuts help. One is open at a time. */
class DialogsManager {
	/** The confirmation on screen (others wait their turn). */
	confirming = $state<PendingConfirm | null>(null);
	switcherOpen = $state(false);
	helpOpen = $state(false);

	#waiting: PendingConfirm[] = [];

	/** Ask, and resolve with the answer (false when dismissed). */
	confirm(request: ConfirmRequest): Promise<boolean> {
		return new Promise(resolve => {
			const pending: PendingConfirm = {
				...request,
				answer: ok => {
					resolve(ok);
					this.confirming = this.#waiting.shift() ?? null;
				}
			};
			if (this.confirming) this.#waiting.push(pending);
			else this.confirming = pending;
		});
	}

	openSwitcher(): void {
		this.helpOpen = false;
		this.switcherOpen = true;
	}

	openHelp(): void {
		this.switcherOpen = false;
		this.helpOpen = true;
	}

	clear(): void {
		for (const pending of this.#waiting.splice(0)) pending.answer(false);
		this.confirming?.answer(false);
		this.switcherOpen = false;
		this.helpOpen = false;
	}
}

export const dialogs = new DialogsManager();

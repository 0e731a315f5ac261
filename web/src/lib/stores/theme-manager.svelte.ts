export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'chat.theme';

/** Light/dark theme: follows the OS unless the user picks one (applied in app.html before paint). */
class ThemeManager {
	choice = $state<ThemeChoice>('system');

	init(): void {
		const stored = localStorage.getItem(KEY);
		this.choice = stored === 'light' || stored === 'dark' ? stored : 'system';
	}

	get effective(): 'light' | 'dark' {
		if (this.choice !== 'system') return this.choice;
		return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
	}

	toggle(): void {
		this.set(this.effective === 'dark' ? 'light' : 'dark');
	}

	set(choice: ThemeChoice): void {
		this.choice = choice;
		if (choice === 'system') {
			localStorage.removeItem(KEY);
			delete document.documentElement.dataset.theme;
		} else {
			localStorage.setItem(KEY, choice);
			document.documentElement.dataset.theme = choice;
		}
	}
}

export const theme = new ThemeManager();

/** A small WebSocket client for tests: awaits messages instead of sleeping; resolves once the server says "ready". */

export interface WsClient {
	/** The next message (JSON), or a rejection after `timeoutMs`. */
	next(timeoutMs?: number): Promise<any>;
	closed: Promise<{ code: number; reason: string }>;
	close(): void;
}

export function connectWs(
	base: string,
	path: string,
	init?: { headers?: Record<string, string> },
): Promise<WsClient> {
	const ws = new WebSocket(`ws://${base}${path}`, init as any);
	const inbox: any[] = [];
	const waiters: Array<(m: any) => void> = [];
	ws.onmessage = (e) => {
		const message = JSON.parse(String(e.data));
		const waiter = waiters.shift();
		if (waiter) waiter(message);
		else inbox.push(message);
	};
	const closed = new Promise<{ code: number; reason: string }>((resolve) => {
		ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
	});
	const client: WsClient = {
		next(timeoutMs = 5000) {
			if (inbox.length) return Promise.resolve(inbox.shift());
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no message on ${path}`)), timeoutMs);
				waiters.push((m) => {
					clearTimeout(timer);
					resolve(m);
				});
			});
		},
		closed,
		close: () => ws.close(),
	};
	return new Promise((resolve, reject) => {
		ws.onerror = () => reject(new Error(`could not connect to ${path}`));
		// Subscribed once the server says so: everything after "ready" is delivered.
		client
			.next()
			.then((m) => (m.type === "ready" ? resolve(client) : reject(new Error(JSON.stringify(m)))), reject);
	});
}

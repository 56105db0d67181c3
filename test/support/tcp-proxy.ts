/**
 * A TCP proxy on loopback that a test can cut: `blackhole()` drops every open
 * connection and accepts new ones without forwarding anything (calls hang, as
 * they do when a server is unreachable behind a load balancer); `restore()`
 * forwards again.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
	readonly address: string;
	blackhole(): void;
	restore(): void;
	stop(): void;
}

interface Pair {
	upstream?: Socket<Pair>;
	client: Socket<Pair>;
	pending: Uint8Array[];
}

export function startTcpProxy(target: string): TcpProxy {
	const [host, port] = [
		target.slice(0, target.lastIndexOf(":")),
		Number(target.slice(target.lastIndexOf(":") + 1)),
	];
	let holding = false;
	const open = new Set<Pair>();
	const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
		hostname: "127.0.0.1",
		port: 0,
		socket: {
			open(client) {
				const pair: Pair = { client, pending: [] };
				client.data = pair;
				open.add(pair);
				if (holding) return; // accepted, never answered
				void Bun.connect<Pair>({
					hostname: host,
					port,
					data: pair,
					socket: {
						open(upstream) {
							pair.upstream = upstream;
							for (const chunk of pair.pending) upstream.write(chunk);
							pair.pending = [];
						},
						data(_upstream, chunk) {
							pair.client.write(chunk);
						},
						close() {
							pair.client.end();
						},
						error() {
							pair.client.end();
						},
					},
				}).catch(() => client.end());
			},
			data(client, chunk) {
				const pair = client.data;
				if (holding) return;
				if (pair.upstream) pair.upstream.write(chunk);
				else pair.pending.push(new Uint8Array(chunk));
			},
			close(client) {
				open.delete(client.data);
				client.data.upstream?.end();
			},
			error(client) {
				client.data.upstream?.end();
			},
		},
	});
	const dropAll = () => {
		for (const pair of open) {
			pair.upstream?.terminate();
			pair.client.terminate();
		}
		open.clear();
	};
	return {
		address: `127.0.0.1:${listener.port}`,
		blackhole() {
			holding = true;
			dropAll();
		},
		restore() {
			holding = false;
			dropAll(); // held connections go, so clients reconnect through a forwarding one
		},
		stop() {
			dropAll();
			listener.stop(true);
		},
	};
}

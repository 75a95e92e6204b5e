// A client for heartbeats with a connection pool of its own, like the kubelet's separate
// heartbeat client: node lease renewals and node status writes never wait client-side behind the
// pod status writes that fill the main pool's sockets when thousands of pods start at once.
// Same server, credentials and identity as the main client; no client-side rate limit (the
// heartbeat rate is fixed by the node count and intervals). The pool has as many sockets as
// heartbeat writes may be in flight (the write limiter's bound), so none waits for a socket: a
// busy API server serves its connections in turn, and fewer sockets would give the heartbeats a
// smaller share of it than the pod writes get (with 16 sockets and a server answering in
// seconds, renewals of 1,000 nodes queued here for over 40 s).
import http from 'node:http';
import { Client, RestClient, type Transport } from '../client/index.js';

export function heartbeatClient(main: Client, maxSockets: number): Client {
  const t = main.rest.transport;
  const source = t.agent as http.Agent & { options?: http.AgentOptions; createConnection?: unknown };
  // https.Agent keeps its TLS options (ca, cert, key) in .options; a copy gets the same credentials.
  const AgentClass = source.constructor as new (o: http.AgentOptions) => http.Agent;
  const agent = new AgentClass({ ...(source.options ?? {}), keepAlive: true, maxSockets });
  // The in-process transport dials through an overridden createConnection: keep it.
  if (Object.prototype.hasOwnProperty.call(source, 'createConnection')) (agent as any).createConnection = source.createConnection;
  const transport: Transport = { ...t, agent, close: () => agent.destroy() };
  return new Client(new RestClient({ transport, userAgent: main.rest.userAgent, qps: 0 }));
}

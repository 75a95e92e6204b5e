// A client for heartbeats with a connection pool of its own, like the kubelet's separate
// heartbeat client: node lease renewals and node status writes never wait client-side behind the
// pod status writes that fill the main pool's sockets when thousands of pods start at once.
// Same server, credentials and identity as the main client; no client-side rate limit (the
// heartbeat rate is fixed by the node count and intervals).
import http from 'node:http';
import { Client, RestClient, type Transport } from '../client/index.js';

/** Sockets for heartbeats: 5,000 nodes renewing every 10 s is 500 writes/s, a few ms each. */
const HEARTBEAT_SOCKETS = 16;

export function heartbeatClient(main: Client): Client {
  const t = main.rest.transport;
  const source = t.agent as http.Agent & { options?: http.AgentOptions; createConnection?: unknown };
  // https.Agent keeps its TLS options (ca, cert, key) in .options; a copy gets the same credentials.
  const AgentClass = source.constructor as new (o: http.AgentOptions) => http.Agent;
  const agent = new AgentClass({ ...(source.options ?? {}), keepAlive: true, maxSockets: HEARTBEAT_SOCKETS });
  // The in-process transport dials through an overridden createConnection: keep it.
  if (Object.prototype.hasOwnProperty.call(source, 'createConnection')) (agent as any).createConnection = source.createConnection;
  const transport: Transport = { ...t, agent, close: () => agent.destroy() };
  return new Client(new RestClient({ transport, userAgent: main.rest.userAgent, qps: 0 }));
}

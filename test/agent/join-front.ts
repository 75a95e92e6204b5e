// A stand-in for the API server's HTTPS port with the node-join endpoints mounted: join paths go
// to handleNodeJoin, everything else is relayed to an in-process API server as the client
// certificate's user. Lets the agent be tested before (and independently of) server.ts wiring.
import https from 'node:https';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ApiServer } from '../../src/apiserver/server.js';
import { handleNodeJoin, type NodeJoinDeps } from '../../src/apiserver/node-join.js';
import { userFromPeerCertificate } from '../../src/pki/index.js';

export interface JoinFront {
  url: string;
  port: number;
  /** Users of the relayed requests, in order. */
  users: string[];
  close(): Promise<void>;
}

export async function startJoinFront(api: ApiServer, deps: NodeJoinDeps, port = 0): Promise<JoinFront> {
  const pki = api.pki;
  const users: string[] = [];
  const server = https.createServer(
    { key: pki.servingKeyPem, cert: pki.servingCertPem, ca: pki.clientCaCertPem, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        if (await handleNodeJoin(req, res, deps)) return;
        const s = req.socket as TLSSocket;
        const user = s.authorized ? userFromPeerCertificate(s.getPeerCertificate()) : undefined;
        if (!user) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
          return;
        }
        users.push(user.name);
        const out = http.request(
          { createConnection: () => api.connect(user) as unknown as Socket, method: req.method, path: req.url, headers: req.headers },
          (pres) => {
            res.writeHead(pres.statusCode ?? 502, pres.headers);
            pres.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        res.on('close', () => out.destroy());
        req.pipe(out);
      })();
    },
  );
  server.requestTimeout = 0;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `https://127.0.0.1:${p}`,
    port: p,
    users,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

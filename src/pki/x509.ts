// Single entry point for @peculiar/x509. The library resolves its internals
// through tsyringe, which needs a Reflect metadata polyfill loaded first; ESM
// evaluates these imports in order, so every pki module imports from here.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

export const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export { x509 };

// Thin wrapper over iptables-save / iptables-restore. The proxy never calls `iptables` rule by
// rule: every change is one `iptables-restore --noflush` transaction, and iptables-save is only
// read on full syncs (to find stale chains and missing jump rules) and for cleanup.
import type { CommandRunner } from './runner.js';

/**
 * Which iptables to drive: "iptables" follows Debian's alternatives (iptables-nft by default),
 * which is what the CNI plugins use too, so our rules live beside theirs in the same backend.
 */
export type IptablesFlavor = 'iptables' | 'iptables-nft' | 'iptables-legacy';

export class IptablesError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    /** The input line iptables-restore rejected (1-based), when it said. */
    readonly line?: number,
  ) {
    super(message);
  }
}

/** A table as iptables-save printed it: chain names and the "-A ..." rule lines. */
export interface SavedTable {
  chains: Set<string>;
  rules: string[];
}

export class Iptables {
  constructor(
    readonly runner: CommandRunner,
    readonly flavor: IptablesFlavor = 'iptables',
  ) {}

  private nft: Promise<boolean> | undefined;

  /** True when the commands run the nf_tables backend ("iptables" asks `iptables --version`). */
  isNft(): Promise<boolean> {
    if (this.flavor !== 'iptables') return Promise.resolve(this.flavor === 'iptables-nft');
    this.nft ??= this.runner.run('iptables', ['--version']).then((r) => r.stdout.includes('nf_tables'));
    return this.nft;
  }

  /** Applies text atomically without flushing tables (only the chains it declares are flushed). */
  async restore(text: string): Promise<void> {
    const r = await this.runner.run(`${this.flavor}-restore`, ['--noflush', '--wait=5'], text);
    if (r.code === 0) return;
    const m = /line:? (\d+)/i.exec(r.stderr);
    const line = m ? Number(m[1]) : undefined;
    let context = '';
    if (line) {
      const lines = text.split('\n');
      context = '\n' + lines.slice(Math.max(0, line - 3), line + 2).map((l, i) => `${Math.max(0, line - 3) + i + 1}: ${l}`).join('\n');
    }
    throw new IptablesError(`${this.flavor}-restore failed (exit ${r.code}): ${r.stderr.trim()}${context}`, r.stderr, line);
  }

  /** Reads tables with iptables-save (all tables when none are named). */
  async save(...tables: string[]): Promise<Map<string, SavedTable>> {
    const out = new Map<string, SavedTable>();
    const texts: string[] = [];
    if (tables.length === 0) texts.push(await this.saveText([]));
    else for (const t of tables) texts.push(await this.saveText(['-t', t]));
    for (const text of texts) for (const [k, v] of parseSave(text)) out.set(k, v);
    return out;
  }

  private async saveText(args: string[]): Promise<string> {
    const r = await this.runner.run(`${this.flavor}-save`, args);
    if (r.code !== 0) throw new IptablesError(`${this.flavor}-save failed (exit ${r.code}): ${r.stderr.trim()}`, r.stderr);
    return r.stdout;
  }

  /** True when the restore binary runs and the nat table can be read (used to gate tests). */
  async usable(): Promise<boolean> {
    try {
      await this.save('nat');
      await this.restore('*nat\nCOMMIT\n');
      return true;
    } catch {
      return false;
    }
  }
}

export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      cur = { chains: new Set(), rules: [] };
      tables.set(line.slice(1).trim(), cur);
    } else if (!cur) continue;
    else if (line.startsWith(':')) cur.chains.add(line.slice(1).split(' ', 1)[0]);
    else if (line.startsWith('-A ')) cur.rules.push(line);
    else if (line.startsWith('COMMIT')) cur = undefined;
  }
  return tables;
}

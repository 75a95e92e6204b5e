// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): parsing, defaults, and merging
// each profile's plugin sets over the default plugins as upstream's v1 defaulting does
// (apis/config/v1/default_plugins.go mergePluginSet). Out-of-tree plugins come from a `skiff`
// extension field mapping plugin names to ESM modules whose default export is a PluginFactory:
//
//   skiff:
//     plugins:
//       MyPlugin: ./my-plugin.mjs      # relative to the config file
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { EXTENSION_POINTS, type PluginRef, type PluginSet, type PluginsConfig, type ProfileConfig, type Registry } from './framework/runtime.js';
import type { PluginArgs, PluginFactory } from './framework/types.js';

export const CONFIG_API_VERSION = 'kubescheduler.config.k8s.io/v1';
export const CONFIG_KIND = 'KubeSchedulerConfiguration';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resourceName: string;
  resourceNamespace: string;
}

export interface SchedulerConfig {
  profiles: ProfileConfig[];
  /** Global percentageOfNodesToScore; 0/undefined: adaptive. */
  percentageOfNodesToScore?: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  leaderElection: LeaderElectionConfig;
  clientConnection: { kubeconfig?: string; qps?: number; burst?: number };
  /** In-tree plus out-of-tree plugin factories. */
  registry: Registry;
}

const PLUGIN_SET_KEYS = ['multiPoint', 'queueSort', 'preEnqueue', ...EXTENSION_POINTS] as const;

export interface ParseOptions {
  /** The in-tree plugins (plugins/index.ts inTreeRegistry()). */
  registry: Registry;
  /** Default multiPoint plugins with weights (plugins/index.ts DEFAULT_PLUGINS). */
  defaultPlugins: readonly PluginRef[];
  /** Base directory for relative out-of-tree module paths (the config file's directory). */
  baseDir?: string;
}

/** Parses a config document (YAML or JSON text). Loads out-of-tree plugins with dynamic import. */
export async function parseSchedulerConfig(text: string, opts: ParseOptions): Promise<SchedulerConfig> {
  const doc = (parseYaml(text) ?? {}) as Record<string, any>;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('scheduler config: expected a mapping');
  return buildSchedulerConfig(doc, opts);
}

/** Reads and parses a config file. */
export async function loadSchedulerConfig(path: string, opts: Omit<ParseOptions, 'baseDir'>): Promise<SchedulerConfig> {
  const text = await readFile(path, 'utf8');
  return parseSchedulerConfig(text, { ...opts, baseDir: dirname(resolve(path)) });
}

/** Defaults only: one default-scheduler profile. */
export function defaultSchedulerConfig(opts: ParseOptions): Promise<SchedulerConfig> {
  return buildSchedulerConfig({ apiVersion: CONFIG_API_VERSION, kind: CONFIG_KIND }, opts);
}

export async function buildSchedulerConfig(doc: Record<string, any>, opts: ParseOptions): Promise<SchedulerConfig> {
  if (doc.apiVersion !== undefined && doc.apiVersion !== CONFIG_API_VERSION)
    throw new Error(`scheduler config: unsupported apiVersion "${doc.apiVersion}" (want ${CONFIG_API_VERSION})`);
  if (doc.kind !== undefined && doc.kind !== CONFIG_KIND) throw new Error(`scheduler config: unsupported kind "${doc.kind}" (want ${CONFIG_KIND})`);

  const registry: Registry = new Map(opts.registry);
  const outOfTree = doc.skiff?.plugins ?? {};
  if (typeof outOfTree !== 'object' || Array.isArray(outOfTree)) throw new Error('scheduler config: skiff.plugins must map plugin names to module paths');
  for (const [name, modPath] of Object.entries(outOfTree)) {
    if (typeof modPath !== 'string' || !modPath) throw new Error(`scheduler config: skiff.plugins.${name}: expected a module path`);
    if (registry.has(name)) throw new Error(`scheduler config: skiff.plugins.${name}: a plugin named "${name}" already exists`);
    registry.set(name, await loadPluginModule(name, modPath, opts.baseDir ?? process.cwd()));
  }

  const pct = optionalNumber(doc.percentageOfNodesToScore, 'percentageOfNodesToScore');
  if (pct !== undefined && (pct < 0 || pct > 100)) throw new Error(`scheduler config: percentageOfNodesToScore: Invalid value: ${pct}: not in valid range [0-100]`);
  const initialBackoff = optionalNumber(doc.podInitialBackoffSeconds, 'podInitialBackoffSeconds') ?? 1;
  const maxBackoff = optionalNumber(doc.podMaxBackoffSeconds, 'podMaxBackoffSeconds') ?? 10;
  if (initialBackoff <= 0) throw new Error('scheduler config: podInitialBackoffSeconds: must be greater than 0');
  if (maxBackoff < initialBackoff) throw new Error('scheduler config: podMaxBackoffSeconds: must be greater than or equal to PodInitialBackoffSeconds');

  const le = doc.leaderElection ?? {};
  const leaderElection: LeaderElectionConfig = {
    leaderElect: le.leaderElect ?? true,
    leaseDurationMs: durationMs(le.leaseDuration, 15_000),
    renewDeadlineMs: durationMs(le.renewDeadline, 10_000),
    retryPeriodMs: durationMs(le.retryPeriod, 2_000),
    resourceName: le.resourceName ?? 'kube-scheduler',
    resourceNamespace: le.resourceNamespace ?? 'kube-system',
  };
  const cc = doc.clientConnection ?? {};

  const rawProfiles: any[] = Array.isArray(doc.profiles) && doc.profiles.length ? doc.profiles : [{}];
  const profiles: ProfileConfig[] = [];
  const names = new Set<string>();
  for (const [i, rp] of rawProfiles.entries()) {
    const p = parseProfile(rp ?? {}, i, opts.defaultPlugins);
    if (names.has(p.schedulerName)) throw new Error(`scheduler config: profiles[${i}].schedulerName: Duplicate value: "${p.schedulerName}"`);
    names.add(p.schedulerName);
    for (const set of Object.values(p.plugins))
      for (const ref of set?.enabled ?? []) if (!registry.has(ref.name)) throw new Error(`scheduler config: profiles[${i}]: plugin "${ref.name}" does not exist`);
    profiles.push(p);
  }

  return {
    profiles,
    percentageOfNodesToScore: pct,
    podInitialBackoffSeconds: initialBackoff,
    podMaxBackoffSeconds: maxBackoff,
    leaderElection,
    clientConnection: { kubeconfig: cc.kubeconfig || undefined, qps: cc.qps, burst: cc.burst },
    registry,
  };
}

function parseProfile(rp: Record<string, any>, i: number, defaults: readonly PluginRef[]): ProfileConfig {
  const schedulerName = rp.schedulerName || DEFAULT_SCHEDULER_NAME;
  const pct = optionalNumber(rp.percentageOfNodesToScore, `profiles[${i}].percentageOfNodesToScore`);
  if (pct !== undefined && (pct < 0 || pct > 100))
    throw new Error(`scheduler config: profiles[${i}].percentageOfNodesToScore: Invalid value: ${pct}: not in valid range [0-100]`);
  const custom = (rp.plugins ?? {}) as Record<string, any>;
  const plugins: PluginsConfig = {};
  for (const key of PLUGIN_SET_KEYS) {
    const user = parsePluginSet(custom[key], `profiles[${i}].plugins.${key}`);
    const def: PluginSet = key === 'multiPoint' ? { enabled: defaults.map((d) => ({ ...d })), disabled: [] } : { enabled: [], disabled: [] };
    plugins[key] = user ? mergePluginSet(def, user) : def;
  }
  for (const key of Object.keys(custom)) if (!(PLUGIN_SET_KEYS as readonly string[]).includes(key)) throw new Error(`scheduler config: profiles[${i}].plugins: unknown extension point "${key}"`);
  const pluginConfig = new Map<string, PluginArgs>();
  for (const pc of rp.pluginConfig ?? []) {
    if (!pc?.name) throw new Error(`scheduler config: profiles[${i}].pluginConfig: name is required`);
    if (pluginConfig.has(pc.name)) throw new Error(`scheduler config: profiles[${i}].pluginConfig: Duplicate value: "${pc.name}"`);
    pluginConfig.set(pc.name, (pc.args ?? {}) as PluginArgs);
  }
  return { schedulerName, plugins, pluginConfig, percentageOfNodesToScore: pct };
}

function parsePluginSet(raw: any, where: string): PluginSet | undefined {
  if (raw === undefined || raw === null) return undefined;
  const refs = (list: any, what: string): PluginRef[] =>
    (list ?? []).map((p: any, j: number) => {
      if (!p?.name || typeof p.name !== 'string') throw new Error(`scheduler config: ${where}.${what}[${j}].name: Required value`);
      const weight = p.weight === undefined ? undefined : Number(p.weight);
      if (weight !== undefined && (!Number.isInteger(weight) || weight < 0 || weight > 100))
        throw new Error(`scheduler config: ${where}.${what}[${j}].weight: Invalid value: ${p.weight}: must be in the range [0, 100]`);
      return { name: p.name, weight };
    });
  return { enabled: refs(raw.enabled, 'enabled'), disabled: refs(raw.disabled, 'disabled').map((r) => r.name) };
}

/**
 * upstream mergePluginSet: defaults minus disabled ("*": all), a re-configured default keeps its
 * position with the user's settings, other user plugins are appended in their order.
 */
export function mergePluginSet(def: PluginSet, user: PluginSet): PluginSet {
  const disabled = new Set([...user.disabled, ...def.disabled]);
  const userIdx = new Map(user.enabled.map((p, i) => [p.name, i]));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!disabled.has('*')) {
    for (const d of def.enabled) {
      if (disabled.has(d.name)) continue;
      const i = userIdx.get(d.name);
      if (i !== undefined) {
        enabled.push(user.enabled[i]);
        replaced.add(i);
      } else enabled.push(d);
    }
  }
  user.enabled.forEach((p, i) => {
    if (!replaced.has(i)) enabled.push(p);
  });
  return { enabled, disabled: [...user.disabled, ...def.disabled] };
}

async function loadPluginModule(name: string, modPath: string, baseDir: string): Promise<PluginFactory> {
  const spec = modPath.startsWith('.') || isAbsolute(modPath) ? pathToFileURL(isAbsolute(modPath) ? modPath : resolve(baseDir, modPath)).href : modPath;
  let mod: any;
  try {
    mod = await import(spec);
  } catch (e) {
    throw new Error(`scheduler config: loading plugin "${name}" from ${modPath}: ${(e as Error).message}`);
  }
  const factory = mod.default;
  if (typeof factory !== 'function') throw new Error(`scheduler config: plugin module ${modPath} for "${name}" must export default a PluginFactory function`);
  return factory as PluginFactory;
}

function optionalNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`scheduler config: ${field}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** Go durations ("15s", "1m30s", "500ms") or seconds as a number. */
export function durationMs(v: unknown, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'number') return v * 1000;
  const s = String(v);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (let m: RegExpExecArray | null; (m = re.exec(s)); ) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    consumed += m[0].length;
  }
  if (consumed !== s.length || consumed === 0) throw new Error(`scheduler config: invalid duration "${s}"`);
  return total;
}

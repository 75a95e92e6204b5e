// ImageLocality (upstream plugins/imagelocality): favours nodes that already have the pod's
// images, weighting each image's size by how widely it has spread across the cluster (to avoid
// piling pods onto the few nodes that pulled an image first).
import { MAX_NODE_SCORE, Status, type Handle, type NodeInfo, type Plugin, type PluginFactory, type Pod } from '../framework/types.js';

export const IMAGE_LOCALITY = 'ImageLocality';
const PRE_SCORE_KEY = 'PreScore' + IMAGE_LOCALITY;

const MB = 1024 * 1024;
/** Below this total the score is 0 (small images are cheap to pull anyway). */
export const MIN_THRESHOLD = 23 * MB;
/** Per container; the total is capped at this times the number of containers. */
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** Upstream's normalization: a reference without a tag gets ":latest" (digests keep theirs). */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? name + ':latest' : name;
}

/**
 * Spellings of the same image a node may report: upstream matches only the normalized name; we also
 * try Docker Hub's canonical forms (nginx == library/nginx == docker.io/library/nginx), because
 * containerd reports fully qualified names.
 */
export function imageNameCandidates(image: string): string[] {
  const name = normalizedImageName(image);
  const out = [name];
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) {
    const path = slash < 0 ? `library/${name}` : name;
    out.push(`docker.io/${path}`);
    if (slash < 0) out.push(path);
    else if (path.startsWith('library/')) out.push(path.slice('library/'.length));
  } else if (first === 'docker.io' || first === 'index.docker.io' || first === 'registry-1.docker.io') {
    const path = name.slice(slash + 1);
    out.push(`docker.io/${path}`);
    out.push(path);
    if (path.startsWith('library/')) out.push(path.slice('library/'.length));
  }
  return [...new Set(out)];
}

/** Size of the image on the node under any of its spellings; undefined when absent. */
function imageOnNode(ni: NodeInfo, candidates: readonly string[]): number | undefined {
  for (const c of candidates) {
    const size = ni.images.get(c);
    if (size !== undefined) return size;
  }
  return undefined;
}

/** Upstream's calculatePriority: clamp the summed score into [min, max] and scale to 0..100. */
export function calculatePriority(sumScores: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  if (sumScores < MIN_THRESHOLD) sumScores = MIN_THRESHOLD;
  else if (sumScores > maxThreshold) sumScores = maxThreshold;
  return Math.trunc((MAX_NODE_SCORE * (sumScores - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

interface ImageState {
  candidates: string[];
  /** Nodes (of all nodes in the snapshot) that have the image. */
  numNodes: number;
}

interface PreScoreState {
  images: ImageState[];
  totalNodes: number;
  numContainers: number;
}

function podImages(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of pod.spec?.initContainers ?? []) if (c.image) out.push(c.image);
  for (const c of pod.spec?.containers ?? []) if (c.image) out.push(c.image);
  return out;
}

function computeState(pod: Pod, handle: Handle): PreScoreState {
  const all = handle.snapshot.nodes();
  const images: ImageState[] = podImages(pod).map((img) => {
    const candidates = imageNameCandidates(img);
    // The snapshot counts nodes per reported name: exact unless several spellings are present
    // (a node may report more than one of them), where we walk the nodes.
    const count = handle.snapshot.imageNodeCount?.bind(handle.snapshot);
    if (count) {
      let spellings = 0;
      let numNodes = 0;
      for (const c of candidates) {
        const n = count(c);
        if (n > 0) {
          spellings++;
          numNodes = n;
        }
      }
      if (spellings <= 1) return { candidates, numNodes };
    }
    let numNodes = 0;
    for (const ni of all) if (imageOnNode(ni, candidates) !== undefined) numNodes++;
    return { candidates, numNodes };
  });
  const numContainers = (pod.spec?.initContainers?.length ?? 0) + (pod.spec?.containers?.length ?? 0);
  return { images, totalNodes: all.length, numContainers };
}

export const newImageLocality: PluginFactory = (_args, handle) => {
  const plugin: Plugin = {
    name: IMAGE_LOCALITY,
    preScore(state, pod) {
      const s = computeState(pod, handle);
      // No node has any of the images: every score would be 0.
      if (s.images.every((img) => img.numNodes === 0)) return Status.skip();
      state.write(PRE_SCORE_KEY, s);
      return Status.success();
    },
    score(state, pod, node) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY) ?? computeState(pod, handle);
      if (s.numContainers === 0 || s.totalNodes === 0) return { score: 0, status: Status.success() };
      let sum = 0;
      for (const img of s.images) {
        const size = imageOnNode(node, img.candidates);
        // Each image's size scaled by its spread: nodes having it / all nodes.
        if (size !== undefined) sum += Math.trunc(size * (img.numNodes / s.totalNodes));
      }
      return { score: calculatePriority(sum, s.numContainers), status: Status.success() };
    },
  };
  return plugin;
};

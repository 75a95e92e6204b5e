// rbac.authorization.k8s.io/v1.
import type { ResourceDef } from '../types.js';
import { clusterrolebindings, clusterroles, rolebindings, roles } from './resources.js';

export const resources: ResourceDef[] = [roles, clusterroles, rolebindings, clusterrolebindings];

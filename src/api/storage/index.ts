// storage.k8s.io/v1: StorageClasses.
import type { ResourceDef } from '../types.js';
import { storageclasses } from './storageclass.js';

export const resources: ResourceDef[] = [storageclasses];

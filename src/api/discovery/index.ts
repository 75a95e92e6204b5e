// discovery.k8s.io/v1: EndpointSlices.
import type { ResourceDef } from '../types.js';
import { endpointslices } from './endpointslice.js';

export const resources: ResourceDef[] = [endpointslices];

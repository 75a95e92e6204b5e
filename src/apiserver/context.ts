// What every handler knows about the request it serves.
export interface UserInfo {
  name: string;
  groups: string[];
}

export interface RequestContext {
  user: UserInfo;
  /** dryRun=All: run everything but the store write. */
  dryRun: boolean;
  /** Field manager for managedFields (query fieldManager, else derived from the User-Agent). */
  fieldManager: string;
  userAgent: string;
  /** Set on server-side apply writes: the apply already recorded managedFields. */
  applying?: boolean;
}

/** The context of in-process system writers (bootstrap, controllers in this process). */
export function systemContext(manager: string): RequestContext {
  return { user: { name: 'system:apiserver', groups: ['system:masters'] }, dryRun: false, fieldManager: manager, userAgent: manager };
}

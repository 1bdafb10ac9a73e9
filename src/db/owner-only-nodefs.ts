import { GROUP_OTHER_BITS } from './data-dir';

interface NodeOps {
  mknod(parent: unknown, name: string, mode: number, dev: number): unknown;
  setattr(node: unknown, attr: { mode?: number }): void;
}
interface StreamOps {
  setattr?(stream: unknown, attr: { mode?: number }): void;
}

/**
 * PGlite's file system (Emscripten's NODEFS) as a data dir needs it: every file and directory it
 * creates, and every mode PostgreSQL sets, without group or other bits. Left alone, PGlite
 * creates files 0777 less the umask and chmods many to 0666 or 0644 (WAL segments included).
 */
export async function ownerOnlyNodeFS(directory: string) {
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  class OwnerOnlyNodeFS extends NodeFS {
    override async init(...args: Parameters<InstanceType<typeof NodeFS>['init']>) {
      const { emscriptenOpts } = await super.init(...args);
      return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), restrictModes] } };
    }
  }
  return new OwnerOnlyNodeFS(directory);
}

function restrictModes(module: { FS: unknown }): void {
  const nodefs = (module.FS as { filesystems: { NODEFS: unknown } }).filesystems.NODEFS as {
    node_ops?: NodeOps;
    stream_ops?: StreamOps;
  };
  const nodeOps = nodefs.node_ops;
  if (typeof nodeOps?.mknod !== 'function' || typeof nodeOps.setattr !== 'function') {
    throw new Error(
      'PGlite file system internals changed: cannot keep the data dir owner-only (check the pinned @electric-sql/pglite)',
    );
  }
  const ownerOnly = <A extends { mode?: number }>(attr: A): A =>
    attr.mode === undefined ? attr : { ...attr, mode: attr.mode & ~GROUP_OTHER_BITS };
  const { mknod, setattr } = nodeOps;
  nodeOps.mknod = (parent, name, mode, dev) => mknod.call(nodeOps, parent, name, mode & ~GROUP_OTHER_BITS, dev);
  nodeOps.setattr = (node, attr) => setattr.call(nodeOps, node, ownerOnly(attr));
  const streamOps = nodefs.stream_ops;
  const streamSetattr = streamOps?.setattr;
  if (streamOps && streamSetattr)
    streamOps.setattr = (stream, attr) => streamSetattr.call(streamOps, stream, ownerOnly(attr));
}

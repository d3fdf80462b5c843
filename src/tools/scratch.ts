/**
 * Private folders a tool writes into before its output is stored (pg_dump's directory format),
 * kept in a list so that an interrupted run or a stopped task removes them with the tools it
 * stops: whoever made one removes it in every outcome it lives to see, and the interrupt handlers
 * remove the rest (see tools/running.ts for the tools themselves).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

const open = new Set<string>();

/** A new folder under `parent`, readable by this user only (mkdtemp's 0700). */
export async function createScratch(parent: string, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, prefix));
  open.add(dir);
  return dir;
}

export async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  open.delete(dir);
}

/** Removes every scratch folder still there; the ones removed. */
export async function removeAllScratch(): Promise<string[]> {
  const dirs = [...open];
  await Promise.all(dirs.map(removeScratch));
  return dirs;
}

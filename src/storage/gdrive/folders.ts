/**
 * Drive has folders, not keys: `<prefix>/<target>/<YYYYMMDD>/<file>` is a chain of folders under
 * the configured one, each found by name (or created) once and remembered for the process. A
 * folder being created is shared by every caller that needs it meanwhile, so parallel writes into
 * a new folder do not make two folders of one name.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { GdriveClient } from './client.ts';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

/** The fields of a file stepvault reads. */
export const FILE_FIELDS = 'id, name, mimeType, size, createdTime, sha256Checksum, md5Checksum';

export type DriveFile = drive_v3.Schema$File;

/** A string inside a Drive query: quotes and backslashes escaped. */
export function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export class DriveFolders {
  private readonly known = new Map<string, Promise<string | undefined>>();
  private readonly client: GdriveClient;
  private readonly rootId: string;

  constructor(client: GdriveClient, rootId: string) {
    this.client = client;
    this.rootId = rootId;
  }

  /** The id of the folder at `parts` under the root; created when missing if `create`, else undefined. */
  async folder(parts: string[], create: boolean): Promise<string | undefined> {
    if (parts.length === 0) return this.rootId;
    const path = parts.join('/');
    const cached = this.known.get(path);
    if (cached) {
      const id = await cached;
      if (id || !create) return id;
    }
    const lookup = (async () => {
      const parent = await this.folder(parts.slice(0, -1), create);
      if (!parent) return undefined;
      const name = parts.at(-1)!;
      const found = await this.children(parent, `name = ${quoted(name)} and mimeType = '${FOLDER_MIME}'`);
      if (found[0]?.id) return found[0].id;
      if (!create) return undefined;
      const made = await this.client.call((drive) =>
        drive.files.create({
          requestBody: { name, mimeType: FOLDER_MIME, parents: [parent] },
          fields: 'id',
          supportsAllDrives: true,
        }),
      );
      return made.id ?? undefined;
    })();
    this.known.set(path, lookup);
    lookup.then(
      (id) => {
        if (!id && this.known.get(path) === lookup) this.known.delete(path);
      },
      () => {
        if (this.known.get(path) === lookup) this.known.delete(path);
      },
    );
    return lookup;
  }

  /** Every item (not trashed) directly in `parent` that matches `query`, all pages. */
  async children(parent: string, query = ''): Promise<DriveFile[]> {
    const found: DriveFile[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.client.call((drive) =>
        drive.files.list({
          q: `${quoted(parent)} in parents and trashed = false${query ? ` and ${query}` : ''}`,
          fields: `nextPageToken, files(${FILE_FIELDS})`,
          pageSize: 1000,
          supportsAllDrives: true,
          includeItemsFromAllDrives: true,
          ...(pageToken && { pageToken }),
        }),
      );
      found.push(...(page.files ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return found;
  }
}

// Notices when a file the config depends on changes. Kubernetes updates a mounted ConfigMap or
// Secret by swapping a symlink (..data), which inotify on the file itself misses; polling stat()
// (which follows the link) sees the new target's inode, size and mtime, on any filesystem.
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

export class FileWatcher {
  private files: readonly string[];
  private readonly seen = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(files: readonly string[], onChange: () => void, intervalMs = 1000) {
    this.files = files;
    void this.poll(() => {});
    this.timer = setInterval(() => void this.poll(onChange), intervalMs);
    this.timer.unref();
  }

  /**
   * Watches these files from now on. A file not seen before is taken as it is now, when the
   * config that names it has just been read: a change right after the reload (a key rotated
   * in two steps) is then a change, not the first sight of the file.
   */
  setFiles(files: readonly string[]): void {
    this.files = files;
    for (const file of this.seen.keys()) if (!files.includes(file)) this.seen.delete(file);
    for (const file of files) if (!this.seen.has(file)) this.seen.set(file, fingerprintNow(file));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async poll(onChange: () => void): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      let changed = false;
      for (const file of this.files) {
        const print = await fingerprint(file);
        if (this.seen.has(file) && this.seen.get(file) !== print) changed = true;
        this.seen.set(file, print);
      }
      if (changed) onChange();
    } finally {
      this.polling = false;
    }
  }
}

async function fingerprint(file: string): Promise<string> {
  try {
    return printOf(await stat(file));
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code}`;
  }
}

function fingerprintNow(file: string): string {
  try {
    return printOf(statSync(file));
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code}`;
  }
}

function printOf(s: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

// Notices when a file the config depends on changes. Kubernetes updates a mounted ConfigMap or
// Secret by swapping a symlink (..data), which inotify on the file itself misses; polling stat()
// (which follows the link) sees the new target's inode, size and mtime, on any filesystem.
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

  /** Watches these files from now on; a file not seen before is taken as it is. */
  setFiles(files: readonly string[]): void {
    this.files = files;
    for (const file of this.seen.keys()) if (!files.includes(file)) this.seen.delete(file);
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
    const s = await stat(file);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code}`;
  }
}

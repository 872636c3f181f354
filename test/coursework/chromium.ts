/**
 * Headless Chromium for the diagram tests (Debian's chromium; test/coursework/
 * install-chromium.sh installs it): writes an SVG into a directory and takes a
 * screenshot of it with a fresh profile, no network and a fixed window size.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

export interface Screenshot {
  /** The exit status and output of the chromium run. */
  readonly res: SpawnSyncReturns<string>;
  /** Where the screenshot was asked to be written. */
  readonly png: string;
}

/**
 * Writes `svg` to `<dir>/<name>.svg` and screenshots it into `<dir>/<name>.png` with a
 * `width` × `height` window, using the profile directory `<dir>/<profile>`.
 */
export function chromiumScreenshot(dir: string, name: string, profile: string, svg: string, width: number, height: number): Screenshot {
  const file = join(dir, `${name}.svg`);
  const png = join(dir, `${name}.png`);
  const profileDir = join(dir, profile);
  mkdirSync(profileDir);
  writeFileSync(file, svg);
  const res = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profileDir}`,
      `--screenshot=${png}`,
      `--window-size=${width},${height}`,
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  return { res, png };
}

// The package's root folder, found from the running file upward: the source tree, the bundles in
// dist/ and an installed extension all sit below it. The compiled tests' out/ folder holds a copy
// of package.json too (a JSON import), so the root is also where the broker's pom lives.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'loadtest-kafka';

export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'kafka-broker', 'pom.xml'))) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking upward
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package above ${from}`);
  }
}

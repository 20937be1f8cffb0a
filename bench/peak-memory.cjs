// Preloaded into every node process of a measured command: records its peak RSS and what it ran.
const fs = require('fs');
const path = require('path');
const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  process.on('exit', () => {
    const record = { argv: process.argv.slice(1), peakKiB: process.resourceUsage().maxRSS };
    fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(record));
  });
}

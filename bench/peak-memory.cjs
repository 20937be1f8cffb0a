// Preloaded into every node process of a measured command: records its peak RSS.
const fs = require('fs');
const path = require('path');
const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  process.on('exit', () => {
    fs.writeFileSync(path.join(dir, `${process.pid}.kib`), String(process.resourceUsage().maxRSS));
  });
}

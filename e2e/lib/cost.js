'use strict';
// Where a run's CPU time went: its cgroup's total, and the part of it each live process used,
// summed by command name; what processes that already ended (kubectl, node, tools) used is the rest.
const fs = require('fs');
const path = require('path');

const TICKS_PER_SECOND = 100;

function cgroupPids(dir) {
  const own = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...own, ...children.flatMap((e) => cgroupPids(path.join(dir, e.name)))];
}

// /proc/PID/stat: the command name in parentheses, then utime and stime as the 12th and 13th fields after it.
function processCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

const cgroupSeconds = (dir) => Number(fs.readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;

// "1m2.5s" (bash's `times`) in seconds.
const bashSeconds = (time) => {
  const [, minutes, seconds] = /^(\d+)m([\d.]+)s$/.exec(time) || [, 0, 0];
  return Number(minutes) * 60 + Number(seconds);
};

// cpu-by-process CGROUP_ROOT SCRIPT_TIMES: one line, e.g. "cpu 412 s, pods 160 s of it:
// kube-apiserver 80, …, the script's commands 50, other ended processes 20"; SCRIPT_TIMES is
// the second line of bash's `times` in the run's script: what the commands it waited for used.
function cpuByProcess(root, scriptTimes = '') {
  const dir = `/sys/fs/cgroup/cpuacct/${root}`;
  if (!fs.existsSync(dir)) return;
  const byName = new Map();
  for (const pid of cgroupPids(dir)) {
    const cpu = processCpu(pid);
    if (cpu) byName.set(cpu.name, (byName.get(cpu.name) || 0) + cpu.seconds);
  }
  const total = cgroupSeconds(dir);
  const live = [...byName.values()].reduce((a, b) => a + b, 0);
  const script = scriptTimes.trim().split(/\s+/).filter(Boolean).reduce((sum, t) => sum + bashSeconds(t), 0);
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 1);
  const parts = [
    ...top.map(([name, s]) => `${name} ${Math.round(s)}`),
    `the script's commands (kubectl, node, …) ${Math.round(script)}`,
    `other ended processes ${Math.round(Math.max(0, total - live - script))}`,
  ];
  const pods = path.join(dir, 'kubepods');
  const podsPart = fs.existsSync(pods) ? `, pods ${Math.round(cgroupSeconds(pods))} s of it` : '';
  console.log(`cpu ${Math.round(total)} s${podsPart}: ${parts.join(', ')} (seconds)`);
}

module.exports = { cpuByProcess, processCpu };

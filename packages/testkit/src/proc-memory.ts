/** Memory of a running process as Linux reports it in /proc/PID/status (VmRSS now, VmHWM its peak so far), and the CPU time it used. */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  rssBytes: number;
  peakRssBytes: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

export const MiB = 1024 * 1024;

/** CPU time (user + system) a running process has used so far, in seconds, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  const [utime, stime] = statTicks(pid);
  return (utime + stime) / TICKS_PER_SECOND;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux

/** utime, stime, cutime, cstime (the 14th to 17th fields of /proc/PID/stat), in clock ticks. */
function statTicks(pid: number): [number, number, number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]), Number(fields[12]), Number(fields[13]), Number(fields[14])];
}

/**
 * CPU time of a process and its children so far, in seconds: its own, its live children's (and theirs),
 * and what its children that ended used (cutime, cstime) — PostgreSQL's postmaster and its backends.
 */
export function processTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  const visit = (p: number) => {
    try {
      const [utime, stime, cutime, cstime] = statTicks(p);
      ticks += utime + stime + cutime + cstime;
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(/\s+/).filter(Boolean)) visit(Number(child));
    } catch {
      // ended meanwhile: its time is in its parent's cutime once reaped
    }
  };
  visit(pid);
  return ticks / TICKS_PER_SECOND;
}

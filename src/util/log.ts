import { openSync, writeSync } from "node:fs";
import type { LogFormat, LogLevel } from "../config/options.ts";

const RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
/** Redis's level marks: `.` debug, `-` verbose, `*` notice, `#` warning. */
const MARK: Record<LogLevel, string> = { debug: ".", verbose: "-", notice: "*", warning: "#" };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * One line per event, to stderr or to `logfile`: in redis-server's layout
 * (`pid:M 25 Nov 2026 02:23:48.123 * message`), or as one JSON object
 * (`{"time":…,"level":…,"pid":…,"msg":…}`) for log shippers.
 */
export class Logger {
  level: LogLevel = "notice";
  format: LogFormat = "redis";
  /** stderr, or the logfile's descriptor (written synchronously: the last lines before a crash are kept). */
  private fd = 2;

  /** Appends to `path` from now on; throws when it cannot be opened. */
  openFile(path: string): void {
    this.fd = openSync(path, "a", 0o640);
  }

  debug(message: string): void {
    this.write("debug", message);
  }
  verbose(message: string): void {
    this.write("verbose", message);
  }
  notice(message: string): void {
    this.write("notice", message);
  }
  warning(message: string): void {
    this.write("warning", message);
  }

  private write(level: LogLevel, message: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const d = new Date();
    let line: string;
    if (this.format === "json") {
      line = JSON.stringify({ time: d.toISOString(), level, pid: process.pid, msg: message });
    } else {
      const pad = (n: number, w = 2) => String(n).padStart(w, "0");
      const stamp = `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
      line = `${process.pid}:M ${stamp} ${MARK[level]} ${message}`;
    }
    try {
      writeSync(this.fd, line + "\n");
    } catch {
      // A full disk or a closed stderr must not take the server down with it.
    }
  }
}

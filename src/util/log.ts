import type { LogLevel } from "../config/options.ts";

const RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
/** Redis's level marks: `.` debug, `-` verbose, `*` notice, `#` warning. */
const MARK: Record<LogLevel, string> = { debug: ".", verbose: "-", notice: "*", warning: "#" };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** One line per event on stderr, in redis-server's layout: `pid:M 25 Nov 2026 02:23:48.123 * message`. */
export class Logger {
  level: LogLevel = "notice";

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
    const pad = (n: number, w = 2) => String(n).padStart(w, "0");
    const stamp = `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
    process.stderr.write(`${process.pid}:M ${stamp} ${MARK[level]} ${message}\n`);
  }
}

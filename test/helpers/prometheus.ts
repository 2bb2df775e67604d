/**
 * A strict parser of Prometheus's text exposition format (version 0.0.4),
 * for tests: it accepts what Prometheus accepts and throws on the rest,
 * naming the line. Beyond the syntax (metric and label names, label value
 * escapes, float values, optional timestamps) it checks what the format
 * requires of a page as a whole:
 *
 * - at most one HELP and one TYPE per family, TYPE before its samples;
 * - each family's lines in one group;
 * - no series given twice;
 * - counters not negative;
 * - histograms: `_bucket` series with `le`, bounds increasing, counts
 *   cumulative, an `le="+Inf"` bucket equal to `_count`, and a `_sum`;
 * - summaries: `quantile` in [0, 1], with `_sum` and `_count`.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, … for histograms). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
  /** 1-based line number. */
  readonly line: number;
}

export interface Family {
  readonly name: string;
  type: MetricType;
  help?: string;
  readonly samples: Sample[];
}

export class ExpositionError extends Error {}

export class ParsedExposition {
  constructor(readonly families: Map<string, Family>) {}

  /** Every sample of every family, in page order. */
  get samples(): Sample[] {
    return [...this.families.values()].flatMap((f) => f.samples);
  }

  /** The samples named `name` (a sample name, e.g. `x_bucket`). */
  series(name: string): Sample[] {
    return this.samples.filter((s) => s.name === name);
  }

  /** The value of the sample with exactly these labels, or undefined. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = labelKey(labels);
    return this.series(name).find((s) => labelKey(s.labels) === want)?.value;
  }

  typeOf(family: string): MetricType | undefined {
    return this.families.get(family)?.type;
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^(?:NaN|[+-]?Inf|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/;
const TYPES: readonly MetricType[] = ["counter", "gauge", "histogram", "summary", "untyped"];

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

export function parseFloatStrict(text: string): number | null {
  if (!FLOAT.test(text)) return null;
  if (text === "NaN") return NaN;
  if (text.endsWith("Inf")) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

/** Parses a page; throws ExpositionError on anything malformed. */
export function parseExposition(text: string): ParsedExposition {
  if (text.includes("\r")) throw new ExpositionError("carriage return in the text: lines end with \\n only");
  if (text !== "" && !text.endsWith("\n")) throw new ExpositionError("the last line does not end with \\n");
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seenSeries = new Set<string>();
  const typed = new Set<string>();
  let current: string | null = null;

  const fail = (lineNo: number, message: string): never => {
    throw new ExpositionError(`line ${lineNo}: ${message}: ${JSON.stringify(lines[lineNo - 1])}`);
  };
  const enter = (lineNo: number, name: string): Family => {
    if (current !== name) {
      if (closed.has(name)) fail(lineNo, `lines of family ${name} are not in one group`);
      if (current !== null) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: "untyped", samples: [] };
      families.set(name, family);
    }
    return family;
  };
  /** The family a sample name belongs to: a declared histogram or summary owns its suffixed names. */
  const familyOf = (name: string): string => {
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      const type = families.get(base)?.type;
      if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
    }
    return name;
  };

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, keyword, name, rest] = m as unknown as [string, string, string, string | undefined];
      if (METRIC_NAME.exec(name)?.[0] !== name) fail(lineNo, `invalid metric name ${name}`);
      if (keyword === "HELP") {
        if (familyOf(name) !== name) fail(lineNo, `${name} is a sample name of another family`);
        const family = enter(lineNo, name);
        if (family.help !== undefined) fail(lineNo, `second HELP for ${name}`);
        family.help = unescapeHelp(rest ?? "", (message) => fail(lineNo, message));
      } else {
        const type = (rest ?? "").trim() as MetricType;
        if (!TYPES.includes(type)) fail(lineNo, `unknown type '${rest ?? ""}'`);
        if (typed.has(name)) fail(lineNo, `second TYPE for ${name}`);
        const family = enter(lineNo, name);
        if (family.samples.length > 0) fail(lineNo, `TYPE for ${name} after its samples`);
        // A histogram's or summary's derived names must not be families of their own, nor the reverse.
        if (type === "histogram" || type === "summary") {
          for (const suffix of ["_bucket", "_sum", "_count"]) {
            if (families.has(name + suffix)) fail(lineNo, `${name} is a ${type} but ${name}${suffix} is a family`);
          }
        }
        if (familyOf(name) !== name) fail(lineNo, `${name} is a sample name of another family`);
        family.type = type;
        typed.add(name);
      }
      return;
    }
    const sample = parseSampleLine(line, lineNo, fail);
    const familyName = familyOf(sample.name);
    const family = enter(lineNo, familyName);
    const key = sample.name + labelKey(sample.labels);
    if (seenSeries.has(key)) fail(lineNo, "the same series twice");
    seenSeries.add(key);
    checkSampleAgainstType(family, sample, (message) => fail(lineNo, message));
    family.samples.push(sample);
  });

  for (const family of families.values()) checkFamily(family);
  return new ParsedExposition(families);
}

function unescapeHelp(text: string, fail: (message: string) => never): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    return fail(`invalid escape \\${c} in HELP`);
  });
}

function parseSampleLine(line: string, lineNo: number, fail: (lineNo: number, message: string) => never): Sample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined) return fail(lineNo, "invalid metric name");
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") {
    pos++;
    while (line[pos] !== "}") {
      const labelName = LABEL_NAME.exec(line.slice(pos))?.[0];
      if (labelName === undefined) return fail(lineNo, `invalid label name at column ${pos + 1}`);
      if (labelName.startsWith("__")) fail(lineNo, `reserved label name ${labelName}`);
      if (Object.hasOwn(labels, labelName)) fail(lineNo, `label ${labelName} twice`);
      pos += labelName.length;
      if (line[pos] !== "=" || line[pos + 1] !== '"') fail(lineNo, `expected ="… after label ${labelName}`);
      pos += 2;
      let value = "";
      for (;;) {
        const c = line[pos];
        if (c === undefined) return fail(lineNo, `unterminated value of label ${labelName}`);
        pos++;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[pos++];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else fail(lineNo, `invalid escape \\${e ?? ""} in label ${labelName}`);
        } else {
          value += c;
        }
      }
      labels[labelName] = value;
      if (line[pos] === ",") pos++;
      else if (line[pos] !== "}") fail(lineNo, `expected , or } after label ${labelName}`);
    }
    pos++;
  }
  if (line[pos] !== " " && line[pos] !== "\t") fail(lineNo, "expected blank before the value");
  const tokens = line.slice(pos).trim().split(/[ \t]+/);
  if (tokens.length < 1 || tokens.length > 2 || tokens[0] === "") fail(lineNo, "expected a value and an optional timestamp");
  const value = parseFloatStrict(tokens[0]!);
  if (value === null) return fail(lineNo, `invalid value '${tokens[0]}'`);
  let timestamp: number | undefined;
  if (tokens.length === 2) {
    if (!/^-?\d+$/.test(tokens[1]!)) fail(lineNo, `invalid timestamp '${tokens[1]}'`);
    timestamp = Number(tokens[1]);
  }
  return { name, labels, value, timestamp, line: lineNo };
}

function checkSampleAgainstType(family: Family, sample: Sample, fail: (message: string) => never): void {
  const { type, name } = family;
  if (type === "counter" && !(sample.value >= 0)) fail(`counter ${name} is negative or NaN`);
  if (type === "histogram") {
    if (sample.name === name) fail(`histogram ${name} has a sample without _bucket/_sum/_count`);
    if (sample.name === `${name}_bucket`) {
      if (sample.labels.le === undefined) fail(`bucket of ${name} without le`);
      const le = parseFloatStrict(sample.labels.le!);
      if (le === null || Number.isNaN(le)) fail(`bucket of ${name} with invalid le '${sample.labels.le}'`);
    } else if (sample.labels.le !== undefined) {
      fail(`${sample.name} has an le label`);
    }
    if (sample.name !== `${name}_sum` && !(sample.value >= 0 && Number.isFinite(sample.value))) fail(`${sample.name} count is not a non-negative number`);
  }
  if (type === "summary") {
    if (sample.name === name) {
      const q = sample.labels.quantile === undefined ? null : parseFloatStrict(sample.labels.quantile);
      if (q === null || !(q >= 0 && q <= 1)) fail(`summary ${name} sample needs a quantile in [0, 1]`);
    } else if (sample.labels.quantile !== undefined) {
      fail(`${sample.name} has a quantile label`);
    }
    if (sample.name === `${name}_count` && !(sample.value >= 0)) fail(`${sample.name} is negative`);
  }
}

function withoutLabel(labels: Readonly<Record<string, string>>, drop: string): string {
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== drop) rest[k] = v;
  return labelKey(rest);
}

function checkFamily(family: Family): void {
  const fail = (message: string): never => {
    throw new ExpositionError(`${family.type} ${family.name}: ${message}`);
  };
  if (family.type === "histogram") {
    const series = new Map<string, { buckets: Sample[]; sum?: Sample; count?: Sample }>();
    const entry = (key: string) => {
      let e = series.get(key);
      if (e === undefined) series.set(key, (e = { buckets: [] }));
      return e;
    };
    for (const s of family.samples) {
      if (s.name === `${family.name}_bucket`) entry(withoutLabel(s.labels, "le")).buckets.push(s);
      else if (s.name === `${family.name}_sum`) entry(labelKey(s.labels)).sum = s;
      else entry(labelKey(s.labels)).count = s;
    }
    for (const [key, { buckets, sum, count }] of series) {
      if (buckets.length === 0) fail(`series ${key} has no buckets`);
      if (sum === undefined || count === undefined) fail(`series ${key} lacks _sum or _count`);
      let lastLe = -Infinity;
      let lastCount = 0;
      for (const b of buckets) {
        const le = parseFloatStrict(b.labels.le!)!;
        if (!(le > lastLe)) fail(`series ${key}: le=${b.labels.le} does not increase (line ${b.line})`);
        if (b.value < lastCount) fail(`series ${key}: bucket le=${b.labels.le} is less than the one before: not cumulative (line ${b.line})`);
        lastLe = le;
        lastCount = b.value;
      }
      if (lastLe !== Infinity) fail(`series ${key} has no le="+Inf" bucket`);
      if (lastCount !== count!.value) fail(`series ${key}: le="+Inf" bucket ${lastCount} differs from _count ${count!.value}`);
    }
  }
  if (family.type === "summary") {
    const counts = new Set<string>();
    const sums = new Set<string>();
    const quantiled = new Set<string>();
    for (const s of family.samples) {
      if (s.name === `${family.name}_count`) counts.add(labelKey(s.labels));
      else if (s.name === `${family.name}_sum`) sums.add(labelKey(s.labels));
      else quantiled.add(withoutLabel(s.labels, "quantile"));
    }
    for (const key of new Set([...counts, ...sums, ...quantiled])) {
      if (!counts.has(key) || !sums.has(key)) fail(`series ${key} lacks _sum or _count`);
    }
  }
}

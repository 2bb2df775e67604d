/**
 * Reads a Dockerfile into stages of instructions, for the test that builds
 * our image without a Docker engine. It knows the instructions our
 * Dockerfile uses and rejects any other, so the file cannot grow a step
 * the test would silently skip.
 */

export interface CopyStep {
  from: string | null;
  chown: string | null;
  sources: string[];
  dest: string;
}

export type Step =
  | { kind: "workdir"; path: string }
  | { kind: "copy"; copy: CopyStep }
  | { kind: "run"; command: string }
  | { kind: "arg"; name: string; value: string | null };

export interface Stage {
  image: string;
  name: string | null;
  steps: Step[];
  user: string | null;
  env: Record<string, string>;
  expose: string[];
  volumes: string[];
  stopSignal: string | null;
  healthcheck: { options: Record<string, string>; command: string[] } | null;
  entrypoint: string[];
  cmd: string[];
}

/** Splits a Dockerfile into logical lines: comments dropped, `\` continuations joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (current === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    current += line;
    lines.push(current.trim());
    current = "";
  }
  if (current.trim() !== "") lines.push(current.trim());
  return lines;
}

/** `--name=value` options at the start of an instruction's arguments. */
function takeOptions(words: string[]): { options: Record<string, string>; rest: string[] } {
  const options: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && words[i]!.startsWith("--"); i++) {
    const [name, ...value] = words[i]!.slice(2).split("=");
    options[name!] = value.join("=");
  }
  return { options, rest: words.slice(i) };
}

function execForm(text: string, what: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) {
    throw new Error(`Dockerfile: ${what} must be in exec form (a JSON array of strings): ${text}`);
  }
  return parsed;
}

function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? "");
}

/** Parses the Dockerfile; `buildArgs` are the `--build-arg` values. */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): Stage[] {
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  for (const line of logicalLines(text)) {
    const [keyword, ...words] = line.split(/\s+/);
    const instruction = keyword!.toUpperCase();
    const argText = line.slice(keyword!.length).trim();
    const stage = stages[stages.length - 1];
    if (instruction === "FROM") {
      const image = substitute(words[0]!, globalArgs);
      const name = words[1]?.toUpperCase() === "AS" ? words[2]! : null;
      stages.push({ image, name, steps: [], user: null, env: {}, expose: [], volumes: [], stopSignal: null, healthcheck: null, entrypoint: [], cmd: [] });
      continue;
    }
    if (instruction === "ARG" && stage === undefined) {
      const [name, value] = argText.split("=");
      globalArgs[name!] = buildArgs[name!] ?? value ?? "";
      continue;
    }
    if (stage === undefined) throw new Error(`Dockerfile: ${instruction} before FROM`);
    switch (instruction) {
      case "WORKDIR":
        stage.steps.push({ kind: "workdir", path: argText });
        break;
      case "ARG": {
        const [name, value] = argText.split("=");
        stage.steps.push({ kind: "arg", name: name!, value: buildArgs[name!] ?? value ?? null });
        break;
      }
      case "COPY": {
        const { options, rest } = takeOptions(words);
        stage.steps.push({
          kind: "copy",
          copy: { from: options.from ?? null, chown: options.chown ?? null, sources: rest.slice(0, -1), dest: rest[rest.length - 1]! },
        });
        break;
      }
      case "RUN":
        stage.steps.push({ kind: "run", command: argText });
        break;
      case "USER":
        stage.user = argText;
        break;
      case "ENV": {
        const [name, ...value] = argText.split("=");
        stage.env[name!] = value.join("=");
        break;
      }
      case "EXPOSE":
        stage.expose.push(...words);
        break;
      case "VOLUME":
        stage.volumes.push(...(argText.startsWith("[") ? execForm(argText, "VOLUME") : words));
        break;
      case "STOPSIGNAL":
        stage.stopSignal = argText;
        break;
      case "HEALTHCHECK": {
        const { options, rest } = takeOptions(words);
        if (rest[0]?.toUpperCase() !== "CMD") throw new Error(`Dockerfile: HEALTHCHECK without CMD: ${line}`);
        stage.healthcheck = { options, command: execForm(rest.slice(1).join(" "), "HEALTHCHECK CMD") };
        break;
      }
      case "ENTRYPOINT":
        stage.entrypoint = execForm(argText, "ENTRYPOINT");
        break;
      case "CMD":
        stage.cmd = execForm(argText, "CMD");
        break;
      default:
        throw new Error(`Dockerfile: the image test does not know ${instruction}; teach test/helpers/dockerfile.ts what it does`);
    }
  }
  return stages;
}

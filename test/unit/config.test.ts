import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Config, ConfigError, helpText, loadConfig, parseCommandLine, parseConfigFile, type CommandLine } from "../../src/config/config.ts";
import { EVICTION_POLICIES, OPTIONS, OPTION_NAMES, isOptionName, type OptionName } from "../../src/config/options.ts";
import { formatHumanBytes, parseMemory } from "../../src/config/units.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

const tmp = mkdtempSync(join(tmpdir(), "atomickv-config-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function configFile(contents: string): string {
  const path = join(tmp, `atomickv-${fileNo++}.conf`);
  writeFileSync(path, contents);
  return path;
}

function cmd(argv: string[]): CommandLine {
  return parseCommandLine(argv);
}

/** Runs loadConfig and returns the ConfigError message it throws (fails if it does not throw one). */
async function loadError(argv: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    await loadConfig(parseCommandLine(argv), env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig(${JSON.stringify(argv)}, ${JSON.stringify(env)}) did not fail`);
}

describe("parseCommandLine", () => {
  test("no arguments", () => {
    expect(cmd([])).toEqual({ configFile: null, flags: [], help: false, version: false, ping: false });
  });

  test("a config file path comes first, then flags", () => {
    expect(cmd(["/etc/atomickv.conf", "--port", "7000"])).toEqual({
      configFile: "/etc/atomickv.conf",
      flags: [["port", "7000"]],
      help: false,
      version: false,
      ping: false,
    });
    expect(cmd(["./relative.conf"]).configFile).toBe("./relative.conf");
  });

  test("a value runs until the next -- word: --bind with several addresses", () => {
    expect(cmd(["--bind", "127.0.0.1", "::1", "--port", "6380"]).flags).toEqual([
      ["bind", "127.0.0.1 ::1"],
      ["port", "6380"],
    ]);
  });

  test('--save "" gives an empty value; a flag at the end with no value gives ""', () => {
    expect(cmd(["--save", "", "--appendonly", "no"]).flags).toEqual([
      ["save", ""],
      ["appendonly", "no"],
    ]);
    expect(cmd(["--port"]).flags).toEqual([["port", ""]]);
  });

  test("flag names are case-insensitive; values keep their case", () => {
    expect(cmd(["--MaxMemory-Policy", "AllKeys-LRU"]).flags).toEqual([["maxmemory-policy", "AllKeys-LRU"]]);
  });

  test("negative numbers are values, not flags", () => {
    expect(cmd(["--timeout", "-1"]).flags).toEqual([["timeout", "-1"]]);
  });

  test("--help, -h, --version, -v", () => {
    expect(cmd(["--help"]).help).toBe(true);
    expect(cmd(["-h"]).help).toBe(true);
    expect(cmd(["--version"]).version).toBe(true);
    expect(cmd(["-v"]).version).toBe(true);
    expect(cmd(["--port", "1", "--help"]).help).toBe(true);
  });

  test("a stray word after the config file is an error", () => {
    expect(() => cmd(["a.conf", "b.conf"])).toThrow(ConfigError);
    expect(() => cmd(["--port", "1", "-x"])).not.toThrow(); // "-x" is the port's value
    expect(() => cmd(["-x"])).toThrow(ConfigError);
  });
});

describe("parseConfigFile", () => {
  test("name value lines, comments, blank lines, indentation, CRLF", () => {
    const text = [
      "# AtomicKV config",
      "",
      "port 6380",
      "   # an indented comment",
      "  bind 127.0.0.1 ::1  ",
      "MAXMEMORY 100mb\r",
      "\t",
      "maxmemory-policy volatile-lru",
    ].join("\n");
    expect(parseConfigFile("x.conf", text)).toEqual([
      ["port", "6380", 3],
      ["bind", "127.0.0.1 ::1", 5],
      ["maxmemory", "100mb", 6],
      ["maxmemory-policy", "volatile-lru", 8],
    ]);
  });

  test("quotes: double, single, escapes, empty strings, spaces inside", () => {
    const text = ['save ""', "dir '/tmp/with space'", 'bind "127.0.0.1 ::1"', 'dir "a\\"b"', "loglevel 'warning'"].join("\n");
    expect(parseConfigFile("x.conf", text)).toEqual([
      ["save", "", 1],
      ["dir", "/tmp/with space", 2],
      ["bind", "127.0.0.1 ::1", 3],
      ["dir", 'a"b', 4],
      ["loglevel", "warning", 5],
    ]);
  });

  test("unbalanced quotes are an error naming the file and line", () => {
    expect(() => parseConfigFile("my.conf", 'port 1\ndir "unterminated')).toThrow(/my\.conf:2/);
    expect(() => parseConfigFile("my.conf", 'dir "a"b')).toThrow(ConfigError);
  });
});

describe("parseMemory", () => {
  test("plain bytes and Redis units (k = 1000, kb = 1024, ...)", () => {
    expect(parseMemory("0")).toBe(0);
    expect(parseMemory("1048576")).toBe(1048576);
    expect(parseMemory("1b")).toBe(1);
    expect(parseMemory("1k")).toBe(1000);
    expect(parseMemory("1kb")).toBe(1024);
    expect(parseMemory("1m")).toBe(1_000_000);
    expect(parseMemory("1mb")).toBe(1024 * 1024);
    expect(parseMemory("64mb")).toBe(64 * 1024 * 1024);
    expect(parseMemory("1g")).toBe(1_000_000_000);
    expect(parseMemory("1gb")).toBe(1024 ** 3);
    expect(parseMemory("100MB")).toBe(100 * 1024 * 1024);
    expect(parseMemory("2Gb")).toBe(2 * 1024 ** 3);
    expect(parseMemory(" 5kb ")).toBe(5120);
  });

  test("rejects what is not a memory size", () => {
    for (const bad of ["", "lots", "-1", "1.5gb", "1e6", "10tb", "mb", "1 mb", "0x10", "1kib", "99999999999999999999"]) {
      expect(parseMemory(bad)).toBeNull();
    }
  });

  test("formatHumanBytes", () => {
    expect(formatHumanBytes(812)).toBe("812B");
    expect(formatHumanBytes(1536 * 1024)).toBe("1.50M");
    expect(formatHumanBytes(1024 ** 3)).toBe("1.00G");
  });
});

describe("option table", () => {
  test("every default parses and formats back to itself", () => {
    const config = new Config();
    for (const name of OPTION_NAMES) {
      expect(config.sourceOf(name)).toBe("default");
      expect(config.format(name)).toBe(OPTIONS[name].defaultText);
    }
    expect(config.values.port).toBe(8080);
    expect(config.values.maxmemory).toBe(0);
    expect(config.values["maxmemory-policy"]).toBe("allkeys-lru");
    expect(config.values.bind).toEqual(["0.0.0.0"]);
  });

  // For every option: values it must accept, and values it must reject.
  const cases: Record<OptionName, { good: [string, unknown][]; bad: string[] }> = {
    port: { good: [["1", 1], ["6379", 6379], ["65535", 65535]], bad: ["abc", "0", "-1", "65536", "1.5", "", " 80", "6379x", "1e3"] },
    bind: {
      good: [["127.0.0.1", ["127.0.0.1"]], ["127.0.0.1 ::1", ["127.0.0.1", "::1"]], ["localhost", ["localhost"]]],
      bad: ["", "   ", "example.com", "127.0.0.1 not-an-address", "1.2.3.4;rm", "cafe", "1.2.3", "::1::2"],
    },
    dir: { good: [["/tmp", "/tmp"], ["data dir", "data dir"]], bad: [] },
    maxmemory: { good: [["0", 0], ["100mb", 100 * 1024 * 1024], ["1k", 1000]], bad: ["lots", "-1", "1.5gb", "", "10tb", "mb"] },
    "maxmemory-policy": {
      good: [...EVICTION_POLICIES.map((p) => [p, p] as [string, unknown]), ["ALLKEYS-LRU", "allkeys-lru"]],
      bad: ["foo", "", "allkeys-lfu", "volatile-lfu", "lru"],
    },
    "tls-port": { good: [["0", 0], ["6380", 6380]], bad: ["-1", "65536", "tls"] },
    "tls-cert-file": { good: [["/etc/atomickv/cert.pem", "/etc/atomickv/cert.pem"]], bad: [] },
    "tls-key-file": { good: [["key.pem", "key.pem"]], bad: [] },
    "tls-ca-cert-file": { good: [["ca.pem", "ca.pem"]], bad: [] },
    "tls-auth-clients": { good: [["no", "no"], ["YES", "yes"], ["optional", "optional"]], bad: ["", "maybe"] },
    requirepass: { good: [["", ""], ["s3cret pass", "s3cret pass"]], bad: [] },
    "protected-mode": { good: [["yes", "yes"], ["NO", "no"]], bad: ["", "off"] },
    "proto-max-bulk-len": { good: [["512mb", 512 * 1024 * 1024], ["1kb", 1024]], bad: ["", "big"] },
    "client-query-buffer-limit": { good: [["1gb", 1024 ** 3], ["1mb", 1024 * 1024]], bad: ["", "-1"] },
    "rename-command": {
      good: [["FLUSHALL ", [["flushall", ""]]], ["CONFIG admin-config; KEYS", [["config", "admin-config"], ["keys", ""]]]],
      bad: ["a b c"],
    },
    "client-output-buffer-limit": {
      good: [
        ["normal 64mb 16mb 60", { normal: { hard: 64 * 1024 * 1024, soft: 16 * 1024 * 1024, softSeconds: 60 }, replica: { hard: 268435456, soft: 67108864, softSeconds: 60 }, pubsub: { hard: 33554432, soft: 8388608, softSeconds: 60 } }],
      ],
      bad: ["", "normal 1 2", "bogus 1 2 3", "normal x 0 0"],
    },
    maxclients: { good: [["1", 1], ["10000", 10000]], bad: ["0", "-5", "abc", "", "2147483648", "1.0"] },
    timeout: { good: [["0", 0], ["300", 300]], bad: ["-1", "abc", "", "1s", "2147483648"] },
    hz: { good: [["1", 1], ["500", 500]], bad: ["0", "501", "fast", ""] },
    loglevel: { good: [["debug", "debug"], ["WARNING", "warning"]], bad: ["loud", "", "info", "error"] },
    logfile: { good: [["", ""], ["/var/log/atomickv.log", "/var/log/atomickv.log"]], bad: [] },
    "log-format": { good: [["redis", "redis"], ["JSON", "json"]], bad: ["text", "", "logfmt"] },
    "slowlog-log-slower-than": { good: [["-1", -1], ["0", 0], ["10000", 10000]], bad: ["-2", "fast", "", "1.5"] },
    "slowlog-max-len": { good: [["0", 0], ["128", 128]], bad: ["-1", "many", ""] },
    "latency-monitor-threshold": { good: [["0", 0], ["100", 100]], bad: ["-1", "slow", ""] },
    "metrics-port": { good: [["0", 0], ["9121", 9121]], bad: ["-1", "65536", "http", ""] },
    "metrics-bind": { good: [["127.0.0.1", ["127.0.0.1"]], ["0.0.0.0 ::", ["0.0.0.0", "::"]]], bad: [""] },
    save: { good: [["", ""]], bad: ["900 1", "yes", " "] },
    appendonly: { good: [["no", "no"], ["YES", "yes"]], bad: ["", "maybe", "1", "true"] },
    appendfilename: { good: [["appendonly.aof", "appendonly.aof"], ["my data.aof", "my data.aof"]], bad: ["", "dir/file.aof", "/abs.aof", ".", ".."] },
    appendfsync: { good: [["always", "always"], ["EVERYSEC", "everysec"], ["no", "no"]], bad: ["", "sometimes", "1"] },
    "auto-aof-rewrite-percentage": { good: [["0", 0], ["100", 100]], bad: ["-1", "", "100%", "1.5"] },
    "auto-aof-rewrite-min-size": { good: [["64mb", 64 * 1024 * 1024], ["0", 0]], bad: ["", "big", "-1"] },
    "aof-load-truncated": { good: [["yes", "yes"], ["no", "no"]], bad: ["", "maybe"] },
    "rdb-key-save-delay": { good: [["0", 0], ["1000", 1000]], bad: ["-1", "", "1ms"] },
  };

  test("the cases below cover every option", () => {
    expect(Object.keys(cases).sort()).toEqual([...OPTION_NAMES].sort());
  });

  for (const name of OPTION_NAMES) {
    test(`${name}: good values are accepted, bad values rejected with a message naming the option`, async () => {
      const { good, bad } = cases[name];
      for (const [text, value] of good) {
        const config = new Config();
        config.set(name, text, "flag");
        expect(config.values[name]).toEqual(value as never);
        expect(config.sourceOf(name)).toBe("flag");
      }
      for (const text of bad) {
        const config = new Config();
        const before = config.format(name);
        expect(() => config.set(name, text, "flag")).toThrow(ConfigError);
        expect(() => config.set(name, text, "flag")).toThrow(`'${name}'`);
        expect(config.format(name)).toBe(before); // a rejected value changes nothing
        // Through every channel: flag, environment variable, config file line.
        const envName = `ATOMICKV_${name.toUpperCase().replace(/-/g, "_")}`;
        const fromFlag = await loadError([`--${name}`, text]);
        expect(fromFlag).toContain(`'${name}'`);
        expect(fromFlag).toContain(`--${name}`);
        expect(fromFlag).not.toContain("\n");
        const fromEnv = await loadError([], { [envName]: text });
        expect(fromEnv).toContain(`'${name}'`);
        expect(fromEnv).toContain(envName);
        const path = configFile(`# bad\n${name} "${text}"\n`);
        const fromFile = await loadError([path]);
        expect(fromFile).toContain(`'${name}'`);
        expect(fromFile).toContain(path);
      }
    });
  }

  test("error messages say what the option accepts", () => {
    const config = new Config();
    expect(() => config.set("port", "abc", "flag")).toThrow("invalid value 'abc' for 'port': expected an integer from 1 to 65535");
    expect(() => config.set("maxmemory-policy", "foo", "flag")).toThrow(/one of noeviction, allkeys-lru/);
    expect(() => config.set("maxmemory", "lots", "flag")).toThrow(/memory size/);
  });

  test("unknown options are rejected from every source, naming them", async () => {
    expect(await loadError(["--nope", "1"])).toContain("'nope'");
    expect(await loadError([configFile("nope 1\n")])).toContain("'nope'");
    expect(isOptionName("nope")).toBe(false);
    expect(isOptionName("toString")).toBe(false);
    expect(isOptionName("__proto__")).toBe(false);
    expect(await loadError(["--constructor", "1"])).toContain("'constructor'");
  });

  test("a missing config file is an error naming the path", async () => {
    expect(await loadError([join(tmp, "does-not-exist.conf")])).toContain("does-not-exist.conf");
  });
});

describe("loadConfig precedence: flag > env > file > default", () => {
  const file = () =>
    configFile(["port 1111", "maxmemory 1mb", "maxclients 11", "hz 11", "loglevel warning", 'bind "127.0.0.1 ::1"'].join("\n"));

  test("defaults only", async () => {
    const config = await loadConfig(cmd([]), {});
    expect(config.values.port).toBe(8080);
    expect(config.configFile).toBeNull();
    for (const name of OPTION_NAMES) expect(config.sourceOf(name)).toBe("default");
  });

  test("file over default", async () => {
    const path = file();
    const config = await loadConfig(cmd([path]), {});
    expect(config.configFile).toBe(path);
    expect(config.values.port).toBe(1111);
    expect(config.values.maxmemory).toBe(1024 * 1024);
    expect(config.values.bind).toEqual(["127.0.0.1", "::1"]);
    expect(config.values.loglevel).toBe("warning");
    expect(config.sourceOf("port")).toBe("file");
    expect(config.values.timeout).toBe(0);
    expect(config.sourceOf("timeout")).toBe("default");
  });

  test("env over file, flag over env; each option independently", async () => {
    const env = { ATOMICKV_PORT: "2222", ATOMICKV_MAXMEMORY: "2mb", ATOMICKV_MAXMEMORY_POLICY: "volatile-ttl", ATOMICKV_HZ: "22" };
    const config = await loadConfig(cmd([file(), "--port", "3333", "--maxmemory-policy", "noeviction", "--timeout", "33"]), env);
    expect(config.values.port).toBe(3333); // flag > env > file
    expect(config.sourceOf("port")).toBe("flag");
    expect(config.values["maxmemory-policy"]).toBe("noeviction"); // flag > env
    expect(config.values.maxmemory).toBe(2 * 1024 * 1024); // env > file
    expect(config.sourceOf("maxmemory")).toBe("env");
    expect(config.values.hz).toBe(22); // env > file
    expect(config.values.maxclients).toBe(11); // file only
    expect(config.sourceOf("maxclients")).toBe("file");
    expect(config.values.timeout).toBe(33); // flag only
    expect(config.values.appendonly).toBe("yes"); // default
    expect(config.sourceOf("appendonly")).toBe("default");
  });

  test("env variable names: ATOMICKV_ + upper case, dashes to underscores; others are ignored", async () => {
    const config = await loadConfig(cmd([]), {
      ATOMICKV_MAXMEMORY_POLICY: "allkeys-random",
      ATOMICKV_MAXCLIENTS: "7",
      "ATOMICKV_MAXMEMORY-POLICY": "noeviction",
      ATOMICKV_UNRELATED: "whatever",
      maxclients: "9",
    });
    expect(config.values["maxmemory-policy"]).toBe("allkeys-random");
    expect(config.values.maxclients).toBe(7);
  });

  test("the last of repeated lines or flags wins", async () => {
    const config = await loadConfig(cmd([configFile("port 1\nport 2\n"), "--hz", "5", "--hz", "6"]), {});
    expect(config.values.port).toBe(2);
    expect(config.values.hz).toBe(6);
  });

  test("a bad value loses to nothing: it fails even if a higher-precedence source would override it", async () => {
    // Every source is validated, as redis-server validates every config line.
    expect(await loadError([configFile("port abc\n"), "--port", "7000"])).toContain("'port'");
    expect(await loadError(["--port", "7000"], { ATOMICKV_PORT: "abc" })).toContain("ATOMICKV_PORT");
  });
});

test("rename-command given several times adds up, as in redis.conf", () => {
  const config = new Config();
  config.set("rename-command", "FLUSHALL ", "file");
  config.set("rename-command", "CONFIG admin", "flag");
  expect(config.values["rename-command"]).toEqual([["flushall", ""], ["config", "admin"]]);
});

describe("CONFIG GET-style matching", () => {
  const config = new Config();
  const names = (patterns: string[]) => config.matching(patterns).map(([n]) => n);

  test("exact names, globs, several patterns, case-insensitive", () => {
    expect(config.matching(["port"])).toEqual([["port", "8080"]]);
    expect(names(["maxmemory*"])).toEqual(["maxmemory", "maxmemory-policy"]);
    expect(names(["*max*"]).sort()).toEqual(["maxclients", "maxmemory", "maxmemory-policy", "proto-max-bulk-len", "slowlog-max-len"]);
    expect(names(["h?"])).toEqual(["hz"]);
    expect(names(["[bp]*"]).sort()).toEqual(["bind", "port", "protected-mode", "proto-max-bulk-len"]);
    expect(names(["*"])).toEqual(OPTION_NAMES);
    expect(names(["port", "bind", "port"])).toEqual(["port", "bind"]); // each once, in table order
    expect(names(["PORT"])).toEqual(["port"]);
    expect(names(["nope"])).toEqual([]);
    expect(names(["maxmemory-polic"])).toEqual([]);
  });

  test("values are formatted as CONFIG GET reports them", () => {
    const c = new Config();
    c.set("bind", "127.0.0.1 ::1", "flag");
    c.set("maxmemory", "1kb", "flag");
    c.set("maxmemory-policy", "VOLATILE-LRU", "flag");
    expect(c.matching(["bind", "maxmemory", "maxmemory-policy", "save"])).toEqual([
      ["bind", "127.0.0.1 ::1"],
      ["maxmemory", "1024"],
      ["maxmemory-policy", "volatile-lru"],
      ["save", ""],
    ]);
  });

  test("runtime changes notify listeners; startup sources do not", () => {
    const c = new Config();
    const seen: string[] = [];
    c.onChange((n) => seen.push(n));
    c.set("hz", "20", "flag");
    c.set("maxmemory", "5mb", "runtime");
    expect(seen).toEqual(["maxmemory"]);
    expect(c.sourceOf("maxmemory")).toBe("runtime");
  });
});

describe("help text", () => {
  test("lists every option with its environment variable and default", () => {
    const help = helpText("9.9.9");
    expect(help).toContain("AtomicKV 9.9.9");
    for (const name of OPTION_NAMES) {
      expect(help).toContain(`--${name} `);
      expect(help).toContain(`ATOMICKV_${name.toUpperCase().replace(/-/g, "_")}`);
      expect(help).toContain(OPTIONS[name].accepts);
    }
  });
});

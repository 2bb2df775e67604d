import type { Socket, TCPSocketListener, TLSOptions } from "bun";
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { dispatch, dispatchFrame } from "../commands/dispatch.ts";
import { renderInfo } from "../commands/info.ts";
import { WatchedKeys } from "../commands/transactions.ts";
import { ALL_COMMANDS, commandStats, lastKeyIndex, lookupCommand, renameCommand, resetCommandStats, type Command } from "../commands/table.ts";
import { type ClientState, type CommandContext, type ServerState, type ServerStats } from "../commands/types.ts";
import type { Config } from "../config/config.ts";
import type { OptionName } from "../config/options.ts";
import { OutputBuffer, ReplyWriter, RESP2, TEXT } from "../protocol/reply.ts";
import { internCommandNames, internedNames, ProtocolError, requestLimits, type Frame, type FrameLookahead } from "../protocol/request-parser.ts";
import { commandForRecord } from "../persistence/aof-loader.ts";
import { Persistence } from "../persistence/persistence.ts";
import { Keyspace } from "../store/keyspace.ts";
import type { Logger } from "../util/log.ts";
import type { CommandStats } from "../stats/command-stats.ts";
import { LatencyMonitor } from "../stats/latency-monitor.ts";
import { SlowLog } from "../stats/slowlog.ts";
import { Client, detachedClient } from "./client.ts";
import { Monitors } from "./monitors.ts";
import { ReplyGate } from "./reply-gate.ts";
import { tlsOptions } from "./tls.ts";

/** Replies are flushed to the socket once this much is buffered mid-pipeline. */
const FLUSH_THRESHOLD = 256 * 1024;
/**
 * A client whose unsent replies reach this is not read from until they fall
 * to the resume mark: a client that pipelines requests and never reads
 * costs about this much memory, not the sum of its replies.
 */
const OUTPUT_PAUSE_BYTES = 1024 * 1024;
const OUTPUT_RESUME_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);
/** Keyspace bytes released before the cron forces a collection (see collectIfChurned). */
const GC_MIN_RELEASED_BUSY = 8 * 1024 * 1024;
const GC_MIN_RELEASED_IDLE = 1024 * 1024;
const GC_MIN_PARSED_IDLE = 16 * 1024 * 1024;
/** Where runTransaction is: not in one, in one that has logged nothing yet, in one whose MULTI is logged. */
const NO_TRANSACTION = 0;
const TRANSACTION_UNLOGGED = 1;
const TRANSACTION_LOGGED = 2;

/** Counters as they are at startup and after CONFIG RESETSTAT. */
export function freshStats(): ServerStats {
  return {
    totalConnectionsReceived: 0,
    totalCommandsProcessed: 0,
    rejectedConnections: 0,
    authFailures: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    instantaneousOpsPerSec: 0,
    instantaneousInputKbps: 0,
    instantaneousOutputKbps: 0,
    peakMemory: 0,
    totalReadsProcessed: 0,
    totalWritesProcessed: 0,
    queryBufferLimitDisconnections: 0,
    outputBufferLimitDisconnections: 0,
    unexpectedErrorReplies: 0,
    expireCycleCpuMs: 0,
  };
}

/**
 * The network side: Bun.listen sockets, one Client per connection, and
 * the path from bytes in to bytes out. Everything runs on one event loop,
 * so each command is atomic without locks; where the seed used a thread
 * per client and reader/writer locks, here a slow client can only delay
 * itself, because no call blocks.
 *
 * Per read: parse every complete request in the chunk, run each against the
 * keyspace, encode all replies into one shared buffer, and write it to the
 * socket once. Once a command of the turn changed data, replies are held
 * instead: they wait until the end of the event-loop turn, when the AOF
 * records of every write in the turn go to the file in one write (and,
 * under appendfsync always, one fsync), and only then are they sent. As in
 * Redis, no client sees a change before it is logged.
 */
export class Server implements ServerState {
  readonly db = new Keyspace();
  readonly stats = freshStats();
  readonly startedAt = Date.now();
  readonly runId = Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("");
  port = 0;
  /** The TLS port bound, 0 without TLS. */
  tlsPort = 0;

  commandClock = Bun.nanoseconds();
  readonly slowlog = new SlowLog(128);
  slowlogThresholdUs = 10_000;
  readonly latency = new LatencyMonitor(0);
  slowCommandUs = 10_000;

  /** The command each interned name (a frame's nameId) runs, undefined for none; filled by start(). */
  private commandsByNameId: (Command | undefined)[] = [];
  private readonly out = new OutputBuffer();
  private readonly reply = new ReplyWriter(this.out);
  private readonly monitors: Monitors;
  readonly persistence: Persistence;
  private readonly context: { reply: ReplyWriter; db: Keyspace; client: Client; server: Server; effect: string[] | null };
  private readonly clientsById = new Map<number, Client>();
  private readonly listeners: TCPSocketListener<Client>[] = [];
  private nextClientId = 1;
  private cron: Timer | null = null;
  private opsAtLastSample = 0;
  private inputAtLastSample = 0;
  private outputAtLastSample = 0;
  private lastSampleAt = Date.now();
  private stopping = false;
  private commandsAtLastCron = 0;
  private inputAtLastCollection = 0;
  /** Commands run from the read being handled (see flush). */
  private commandsThisRead = 0;
  private readonly gate: ReplyGate;
  readonly watchedKeys = new WatchedKeys();
  private transactionState = NO_TRANSACTION;

  constructor(
    readonly config: Config,
    readonly version: string,
    private readonly log: Logger,
  ) {
    this.context = { reply: this.reply, db: this.db, client: null as unknown as Client, server: this, effect: null };
    this.monitors = new Monitors(log);
    this.persistence = new Persistence(config, this.db, log);
    this.gate = new ReplyGate(this.persistence.aof, (client) => this.released(client));
    this.persistence.aof.onLatency = (event, ms) => this.latency.record(event, ms);
    this.db.onEvictionCycle = (ms) => this.latency.record("eviction-cycle", ms);
    // Expiry and eviction happen inside other commands and in the cron.
    this.db.onRemoved = (key) => {
      if (this.persistence.propagate(["DEL", key])) this.gate.schedule();
      if (!this.watchedKeys.empty) this.watchedKeys.touch(key);
    };
    this.applyConfig();
    config.onChange((name) => this.onConfigChange(name));
    // Requests name commands in either case; both spellings parse without allocating.
    internCommandNames(ALL_COMMANDS.flatMap((spec) => [spec.name, spec.name.toUpperCase()]));
  }

  /** Binds every `bind` address (and the TLS port); throws with a one-line reason when one fails. */
  start(): void {
    const { port, bind } = this.config.values;
    for (const [from, to] of this.config.values["rename-command"]) renameCommand(from, to);
    // After the renames: a renamed command's old name finds nothing, as in lookupCommand.
    this.commandsByNameId = internedNames.map((name) => lookupCommand(name));
    const tlsPort = this.config.values["tls-port"];
    const tls = tlsPort > 0 ? tlsOptions(this.config.values) : undefined;
    for (const hostname of bind) {
      this.listen(hostname, port);
      if (tls !== undefined) this.listen(hostname, tlsPort, tls);
    }
    this.port = this.listeners[0]?.port ?? port;
    this.tlsPort = tls === undefined ? 0 : (this.listeners[1]?.port ?? tlsPort);
    this.startCron();
  }

  private listen(hostname: string, port: number, tls?: TLSOptions): void {
    try {
      this.listeners.push(
        Bun.listen<Client>({
          hostname,
          port,
          exclusive: true,
          allowHalfOpen: true,
          tls,
          socket: {
            open: (socket) => this.onOpen(socket),
            data: (socket, chunk) => this.onData(socket.data, chunk),
            drain: (socket) => this.onDrain(socket.data),
            end: (socket) => this.onEnd(socket.data),
            close: (socket) => this.onClose(socket.data),
            timeout: (socket) => this.onTimeout(socket.data),
            error: (socket, error) => this.log.verbose(`client ${socket.data?.address}: ${error.message}`),
          },
        }),
      );
    } catch (err) {
      this.stopListeners();
      // Bun's message ("Failed to listen at …") omits the reason; its code says it.
      const code = (err as { code?: unknown }).code;
      const reason = code === "EADDRINUSE" ? "address already in use (EADDRINUSE)" : typeof code === "string" ? code : "";
      throw new Error(`could not listen on ${hostname}:${port}${tls ? " (TLS)" : ""}: ${(err as Error).message}${reason ? `: ${reason}` : ""}`);
    }
  }

  /**
   * Loads the AOF while already listening: clients get -LOADING until it is
   * done. Throws AofCorruptError when the file is damaged before its tail.
   */
  async loadData(): Promise<void> {
    const out = new OutputBuffer();
    const reply = new ReplyWriter(out);
    const context = { reply, db: this.db, client: detachedClient(0, "aof", "aof"), server: this, effect: null as string[] | null };
    let failed = 0;
    let firstFailure = "";
    this.db.now = Date.now();
    await this.persistence.load((argv, offset) => {
      const { spec } = commandForRecord(argv, offset);
      const errors = reply.errors;
      spec.handler(context, argv);
      if (reply.errors !== errors) {
        failed++;
        if (firstFailure === "") firstFailure = `${spec.name} at offset ${offset}: ${out.buf.latin1Slice(1, out.length - 2)}`;
      }
      out.length = 0;
    });
    if (failed > 0) this.log.warning(`${failed} AOF records failed when replayed (the first: ${firstFailure})`);
  }

  // ---- ServerState ---------------------------------------------------------

  clients(): Iterable<Client> {
    return this.clientsById.values();
  }

  killClient(id: number): boolean {
    const client = this.clientsById.get(id);
    if (client === undefined) return false;
    this.closeClient(client);
    return true;
  }

  shutdown(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.warning(`${reason}: shutting down`);
    this.stopListeners();
    if (this.cron) clearInterval(this.cron);
    // Replies already computed go out once their writes are in the AOF.
    this.gate.commit();
    const saved = this.persistence.close();
    if (saved) this.gate.releaseEverything();
    for (const client of this.clientsById.values()) this.closeClient(client);
    if (saved && this.persistence.enabled) this.log.notice("The AOF was flushed and fsynced.");
    this.log.notice("AtomicKV is now ready to exit, bye bye...");
    // Let the closing sockets flush before the process goes.
    setTimeout(() => process.exit(saved ? 0 : 1), 10);
  }

  warn(message: string): void {
    this.log.warning(message);
  }

  checkPassword(client: ClientState, password: string): boolean {
    const required = this.config.values.requirepass;
    if (required === "") return true;
    // Equal-length digests, compared in constant time: neither the password's
    // length nor its first wrong byte shows in the time taken.
    const digest = (text: string) => createHash("sha256").update(text, "latin1").digest();
    if (timingSafeEqual(digest(password), digest(required))) return true;
    this.stats.authFailures++;
    this.log.warning(`failed AUTH from ${client.address} (id ${client.id})`);
    return false;
  }

  get loading(): boolean {
    return this.persistence.loading;
  }

  get writeError(): string | null {
    return this.persistence.writeError;
  }

  /** A command's change: logged, and replies wait for it to be written. */
  propagate(argv: readonly string[]): void {
    if (this.transactionState === TRANSACTION_UNLOGGED) this.logTransactionStart();
    if (this.persistence.propagate(argv)) this.waitForLog();
  }

  propagateBytes(source: Buffer, start: number, end: number): void {
    if (this.transactionState === TRANSACTION_UNLOGGED) this.logTransactionStart();
    if (this.persistence.propagateBytes(source, start, end)) this.waitForLog();
  }

  /**
   * EXEC: the first change its commands log is preceded by MULTI, and EXEC
   * follows the last, so the AOF loader replays all of them or, when the
   * file ends before EXEC (a crash mid-write), none (aof-loader.ts). A
   * transaction that changed nothing logs nothing.
   */
  runTransaction(run: () => void): void {
    this.transactionState = TRANSACTION_UNLOGGED;
    try {
      run();
    } finally {
      const logged = this.transactionState === TRANSACTION_LOGGED;
      this.transactionState = NO_TRANSACTION;
      if (logged) this.propagate(["EXEC"]);
    }
  }

  private logTransactionStart(): void {
    this.transactionState = TRANSACTION_LOGGED;
    this.propagate(["MULTI"]);
  }

  /** The running command's change was logged: its client's replies wait for this turn's AOF write. */
  private waitForLog(): void {
    this.context.client.logged = true;
    this.gate.schedule();
  }

  /** INFO's text for `sections` (as the INFO command takes them), for readers outside a command: /metrics. */
  info(sections: string[]): string {
    return renderInfo(this.context, sections);
  }

  commandStats(): [string, CommandStats][] {
    return commandStats();
  }

  get monitorCount(): number {
    return this.monitors.size;
  }

  feedMonitors(client: ClientState, argv: readonly string[]): void {
    // A monitor's own command: its reply goes out before its line, as in Redis.
    if (client.monitor) this.flush(client as Client);
    this.stats.netOutputBytes += this.monitors.feed(client, argv);
  }

  startMonitor(client: ClientState): void {
    this.monitors.add(client as Client);
  }

  resetStats(): void {
    const fresh = freshStats();
    Object.assign(this.stats, fresh);
    this.opsAtLastSample = this.inputAtLastSample = this.outputAtLastSample = 0;
    this.reply.errors = 0;
    this.reply.errorCodes.clear();
    resetCommandStats();
    Object.assign(this.db.stats, { hits: 0, misses: 0, expiredKeys: 0, evictedKeys: 0 });
  }

  // ---- Connection events ---------------------------------------------------

  private onOpen(socket: Socket<Client>): void {
    const client = new Client(
      this.nextClientId++,
      socket,
      formatAddress(socket.remoteAddress, socket.remotePort),
      formatAddress(socket.localAddress, socket.localPort),
    );
    socket.data = client;
    this.stats.totalConnectionsReceived++;
    if (this.clientsById.size >= this.config.values.maxclients) {
      this.stats.rejectedConnections++;
      client.closed = true;
      socket.end("-ERR max number of clients reached\r\n");
      return;
    }
    if (this.refusedByProtectedMode(socket.remoteAddress)) {
      this.stats.rejectedConnections++;
      client.closed = true;
      this.log.verbose(`refused ${client.address}: protected mode`);
      socket.end(PROTECTED_MODE_ERROR);
      return;
    }
    client.authenticated = this.config.values.requirepass === "";
    this.clientsById.set(client.id, client);
    socket.setNoDelay(true);
    // Bun's socket timeout is a one-shot deadline (about 4 s granularity),
    // not reset by reads or writes: onTimeout checks real idleness and re-arms.
    if (this.config.values.timeout > 0) socket.timeout(this.config.values.timeout);
    this.log.verbose(`Accepted ${client.address} (id ${client.id})`);
  }

  /**
   * Redis's protected mode: with no password set, only loopback peers may
   * connect, so a server bound to every interface by default is not open to
   * the network until someone chooses a password (or turns this off).
   */
  private refusedByProtectedMode(address: string): boolean {
    const { requirepass } = this.config.values;
    if (this.config.values["protected-mode"] === "no" || requirepass !== "") return false;
    return !isLoopback(address);
  }

  private onData(client: Client, chunk: Buffer): void {
    if (client.closed || client.closeAfterReply) return;
    const now = Date.now();
    client.lastInteraction = now;
    this.db.now = now;
    this.stats.netInputBytes += chunk.length;
    this.stats.totalReadsProcessed++;
    this.context.client = client;
    this.commandClock = Bun.nanoseconds();
    this.commandsThisRead = 0;
    try {
      client.parser.feed(chunk, this.onCommand, this.onInlineError, this.onFrame, this.lookahead);
    } catch (err) {
      this.reply.protocol = RESP2;
      client.closeAfterReply = true;
      if (err instanceof ProtocolError) {
        // Malformed RESP: say why and close, as Redis does (its addReplyError
        // prefixes "ERR ": `-ERR Protocol error: ...`).
        this.reply.error("ERR " + err.message);
        this.log.verbose(`protocol error from ${client.address}: ${err.message}`);
      } else {
        // A bug in parsing: lose this connection, not the server.
        this.reply.error("ERR internal error while reading the request");
        this.log.warning(`reading from ${client.address} failed: ${(err as Error).stack ?? err}`);
      }
    }
    this.flush(client);
    if (client.closed) return;
    if (client.parser.bufferedBytes > this.config.values["client-query-buffer-limit"]) {
      // As Redis: log it and drop the connection, without a reply.
      this.log.warning(`closing client ${client.address} that reached max query buffer length (${client.parser.bufferedBytes} bytes)`);
      this.stats.queryBufferLimitDisconnections++;
      this.closeClient(client);
      return;
    }
    if (client.closeAfterReply && !client.hasPendingOutput) client.socket.end();
    else if (client.readPaused && !client.socketPaused) {
      // Its replies are not being read: stop reading its requests (TCP
      // pushes back on it) until they drain. Nobody else waits.
      client.socketPaused = true;
      client.socket.pause();
    }
  }

  /** A paused client's output drained: parse what it sent meanwhile, then read from it again. */
  private resumeIfDrained(client: Client): void {
    if (!client.readPaused || client.outputBufferBytes > OUTPUT_RESUME_BYTES || client.closed) return;
    client.readPaused = false;
    this.onData(client, EMPTY);
    if (!client.readPaused && client.socketPaused) {
      client.socketPaused = false;
      client.socket.resume();
    }
  }

  /** Runs one parsed command for the client whose data is being processed. */
  private readonly onCommand = (argv: string[], inline: boolean): boolean => {
    const client = this.context.client;
    this.reply.protocol = inline ? TEXT : client.resp;
    dispatch(this.context, argv);
    return this.afterCommand(client);
  };

  /** onCommand() for a request still in the receive buffer: commands with a frameHandler (GET, SET, MGET, MSET, DEL) run on its bytes, the rest on strings. */
  private readonly onFrame = (frame: Frame): boolean => {
    const command = this.commandOf(frame);
    if (command?.spec.frameHandler === undefined) return this.onCommand(frame.argv(), false);
    const client = this.context.client;
    this.reply.protocol = client.resp;
    dispatchFrame(this.context, command, frame);
    return this.afterCommand(client);
  };

  /** The command a frame names, through its interned name's id (undefined: not a command name, or renamed away). */
  private commandOf(frame: Frame): Command | undefined {
    return frame.nameId < 0 ? undefined : this.commandsByNameId[frame.nameId];
  }

  /** A pipeline's coming requests: their keys are prefetched before the first runs (Keyspace.prefetch). */
  private readonly lookahead: FrameLookahead = {
    ahead: (frame) => {
      const command = this.commandOf(frame);
      if (command === undefined || !command.keyspace) return;
      const { keys } = command.spec;
      const last = lastKeyIndex(command.spec, frame.argc);
      for (let i = keys[0]; i <= last; i += keys[2]) this.db.prefetchKey(frame.buf, frame.starts[i]!, frame.lengths[i]!);
    },
    done: () => this.db.prefetch(),
  };

  /** After each command: flush a large reply, pause a client that does not read; false stops its parsing. */
  private afterCommand(client: Client): boolean {
    this.commandsThisRead++;
    if (this.out.length >= FLUSH_THRESHOLD) this.flush(client);
    if (client.outputBufferBytes >= OUTPUT_PAUSE_BYTES) client.readPaused = true;
    return !client.closeAfterReply && !client.closed && !client.readPaused;
  }

  private readonly onInlineError = (message: string): void => {
    this.reply.protocol = TEXT;
    this.reply.error(message);
  };

  /**
   * Sends the replies in `out`, or holds them to the end of the turn: when
   * the turn logged a change, and by choice when the read carried several
   * commands. Pipelining clients then get their replies in one burst, as
   * Redis writes all replies before it sleeps, and wake once for them
   * rather than once per reply: GET -P 16 7-9% more
   * requests a second and 5-11% less CPU per request (medians of three
   * alternations). A lone request's reply goes out at once: without
   * pipelining the client reads it while the next client is served, and
   * holding those too cost GET -P 1 8-18%. Nor is a batch of replies past
   * the flush mark held by choice (it is a burst already; holding would
   * only copy it), unless earlier replies of the client are held.
   */
  private flush(client: Client): void {
    if (this.out.length === 0) return;
    this.stats.netOutputBytes += this.out.length;
    this.stats.totalWritesProcessed++;
    const pipelined = this.commandsThisRead > 1 && (this.out.length < FLUSH_THRESHOLD || client.held);
    if (this.gate.holds(pipelined)) this.gate.keep(client, this.out.buf, this.out.length);
    else client.send(this.out.buf, 0, this.out.length);
    this.out.shrink();
    // Most writes go out whole: only output left queued can pass a limit.
    if (client.hasPendingOutput && this.overOutputLimit(client, Date.now())) this.dropForOutput(client);
  }

  /** Redis's client-output-buffer-limit for normal clients: past `hard` at once, past `soft` for `soft-seconds`. */
  private overOutputLimit(client: Client, now: number): boolean {
    const { hard, soft, softSeconds } = this.config.values["client-output-buffer-limit"].normal;
    const bytes = client.outputBufferBytes;
    if (hard > 0 && bytes > hard) return true;
    if (soft > 0 && bytes > soft) {
      if (client.softLimitSince === 0) client.softLimitSince = now;
      else if (now - client.softLimitSince >= softSeconds * 1000) return true;
    } else {
      client.softLimitSince = 0;
    }
    return false;
  }

  private dropForOutput(client: Client): void {
    this.stats.outputBufferLimitDisconnections++;
    this.log.warning(`Client id=${client.id} addr=${client.address} closed for overcoming of output buffer limits (${client.outputBufferBytes} bytes unsent).`);
    client.closed = true;
    this.clientsById.delete(client.id);
    client.socket.terminate(); // its unsent replies are what must go: do not wait to flush them
  }

  /** The gate let a client's held replies go. */
  private released(client: Client): void {
    if (client.drain() && client.closeAfterReply) client.socket.end();
    this.resumeIfDrained(client);
  }

  private onDrain(client: Client | undefined): void {
    if (client === undefined) return;
    const drained = client.drain();
    if (drained && client.closeAfterReply) client.socket.end();
    else this.resumeIfDrained(client);
  }

  /** The peer finished sending: close our side once its replies are out. */
  private onEnd(client: Client | undefined): void {
    if (client === undefined) return;
    client.closeAfterReply = true;
    if (!client.hasPendingOutput) client.socket.end();
  }

  /** The socket's deadline passed: close it if idle for `timeout` seconds, else wait for the rest. */
  private onTimeout(client: Client | undefined): void {
    if (client === undefined) return;
    const timeoutMs = this.config.values.timeout * 1000;
    if (timeoutMs === 0 || client.closed) return;
    const idleMs = Date.now() - client.lastInteraction;
    if (idleMs >= timeoutMs) client.socket.end();
    else client.socket.timeout(Math.ceil((timeoutMs - idleMs) / 1000));
  }

  private onClose(client: Client | undefined): void {
    if (client === undefined) return;
    client.closed = true;
    this.watchedKeys.unwatchAll(client);
    this.clientsById.delete(client.id);
    if (client.monitor) this.monitors.remove(client);
    this.log.verbose(`Client closed connection id=${client.id} addr=${client.address} laddr=${client.localAddress}`);
  }

  private closeClient(client: Client): void {
    client.closeAfterReply = true;
    client.socket.end();
  }

  private stopListeners(): void {
    for (const listener of this.listeners) listener.stop(false);
    this.listeners.length = 0;
  }

  // ---- Background work -----------------------------------------------------

  /**
   * Runs `hz` times a second: active expiry with a quarter of each period
   * as its CPU budget (Redis's default effort), the release of memory a
   * FLUSHALL kept once its time is up, and the ops/sec sample.
   */
  private startCron(): void {
    if (this.cron) clearInterval(this.cron);
    const periodMs = 1000 / this.config.values.hz;
    this.cron = setInterval(() => {
      const now = Date.now();
      this.persistence.tick(now);
      if (this.gate.waiting) this.gate.commit();
      for (const client of this.clientsById.values()) {
        if (client.softLimitSince !== 0 && this.overOutputLimit(client, now)) this.dropForOutput(client);
      }
      if (this.loading) return;
      this.db.now = now;
      const expiryStart = performance.now();
      this.db.activeExpireCycle(periodMs / 4);
      const expiryMs = performance.now() - expiryStart;
      this.stats.expireCycleCpuMs += expiryMs;
      this.latency.record("expire-cycle", expiryMs);
      this.db.releaseRetained();
      this.collectIfChurned();
      this.stats.peakMemory = Math.max(this.stats.peakMemory, this.db.usedMemory);
      if (now - this.lastSampleAt >= 1000) {
        const { stats } = this;
        const elapsed = now - this.lastSampleAt;
        stats.instantaneousOpsPerSec = Math.round(((stats.totalCommandsProcessed - this.opsAtLastSample) * 1000) / elapsed);
        stats.instantaneousInputKbps = (stats.netInputBytes - this.inputAtLastSample) / 1.024 / elapsed;
        stats.instantaneousOutputKbps = (stats.netOutputBytes - this.outputAtLastSample) / 1.024 / elapsed;
        this.opsAtLastSample = stats.totalCommandsProcessed;
        this.inputAtLastSample = stats.netInputBytes;
        this.outputAtLastSample = stats.netOutputBytes;
        this.lastSampleAt = now;
      }
    }, periodMs);
  }

  /**
   * Garbage is freed on JSC's schedule, not ours. Two cases need a push:
   *
   * - With maxmemory set, a write flood's argument strings (as large as
   *   the values it writes; the keyspace reuses its own blocks) let the
   *   process hold several times maxmemory. So collect once the keyspace has
   *   let go of a quarter of what it holds (at least 8 MiB). A full
   *   collection costs about the live heap, which the arena keeps small.
   * - When a whole cron period passes without a command, collect if at
   *   least 1 MiB of values was released or 16 MiB of requests was parsed
   *   since the last collection (each request leaves its argument strings
   *   behind), so an idle server returns to its real size. Idle collections
   *   delay nobody.
   */
  private collectIfChurned(): void {
    const idle = this.stats.totalCommandsProcessed === this.commandsAtLastCron;
    this.commandsAtLastCron = this.stats.totalCommandsProcessed;
    const released = this.db.releasedMemory;
    const parsed = this.stats.netInputBytes - this.inputAtLastCollection;
    let collect: boolean;
    if (idle) collect = released >= GC_MIN_RELEASED_IDLE || parsed >= GC_MIN_PARSED_IDLE;
    else collect = this.db.maxmemory !== 0 && released >= Math.max(GC_MIN_RELEASED_BUSY, this.db.usedMemory / 4);
    if (!collect) return;
    this.db.releasedMemory = 0;
    this.inputAtLastCollection = this.stats.netInputBytes;
    Bun.gc(true);
  }

  private applyConfig(): void {
    this.db.maxmemory = this.config.values.maxmemory;
    this.db.policy = this.config.values["maxmemory-policy"];
    this.log.level = this.config.values.loglevel;
    this.log.format = this.config.values["log-format"];
    this.slowlogThresholdUs = this.config.values["slowlog-log-slower-than"];
    this.slowlog.maxLen = this.config.values["slowlog-max-len"];
    this.slowlog.trim();
    this.latency.thresholdMs = this.config.values["latency-monitor-threshold"];
    const slowlogUs = this.slowlogThresholdUs >= 0 && this.slowlog.maxLen > 0 ? this.slowlogThresholdUs : Infinity;
    this.slowCommandUs = Math.min(slowlogUs, this.latency.thresholdMs > 0 ? this.latency.thresholdMs * 1000 : Infinity);
    requestLimits.maxBulkLength = this.config.values["proto-max-bulk-len"];
  }

  private onConfigChange(name: OptionName): void {
    this.applyConfig();
    if (name === "appendfsync") this.persistence.setFsyncPolicy(this.config.values.appendfsync);
    if (name === "appendonly") this.persistence.setEnabled(this.config.values.appendonly === "yes");
    if (name === "hz" && this.cron) this.startCron();
    if (name === "timeout") {
      for (const client of this.clientsById.values()) client.socket.timeout(this.config.values.timeout);
    }
    if (name === "maxmemory") this.db.evictIfNeeded();
  }
}

const PROTECTED_MODE_ERROR =
  "-DENIED AtomicKV is running in protected mode because protected mode is enabled and no password is set. " +
  "In this mode connections are only accepted from the loopback interface. To connect from other hosts, do one of: " +
  "1) set a password with --requirepass (or ATOMICKV_REQUIREPASS, or CONFIG SET requirepass from this host) and use AUTH; " +
  "2) bind to a loopback address only and reach the server through an SSH tunnel; " +
  "3) if the network is trusted (a private network or a firewall that only lets your hosts in), start with --protected-mode no.\r\n";

function isLoopback(address: string): boolean {
  if (address.startsWith("::ffff:")) address = address.slice(7);
  if (isIP(address) === 4) return address.startsWith("127.");
  return address === "::1";
}

function formatAddress(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export type { CommandContext };

/**
 * `cortex chat MODEL`: an interactive streaming chat through the gateway. Each line on
 * stdin is a user turn; the reply streams back with reasoning dimmed. `/reset` clears the
 * conversation, `/exit` (or end of input) leaves, Ctrl-C stops a reply without leaving.
 * With stdin piped, no prompt is shown and stdout carries only the replies.
 *
 * @module
 */
import { numberFlag, stringFlag } from "../args.ts";
import { type ChatSettings, type ChatTurn, streamReply } from "../chat_stream.ts";
import { CliError } from "../cli_error.ts";
import type { CliContext, Command } from "../command.ts";
import { LineSplitterStream } from "../lines.ts";
import { listenSignal } from "../signals.ts";
import { formatSeconds } from "../table.ts";

const _HELP = "/reset clears the conversation · /exit leaves · Ctrl-C stops a reply";

/** `cortex chat`. */
export const chatCommand: Command = {
  name: "chat",
  summary: "interactive streaming chat with a model",
  usage: "chat MODEL [--system TEXT] [--think] [--max-tokens N] [--temperature T] [--seed N]",
  description:
    "Chats with MODEL: type a message and press Enter; the reply streams in. With --think the model\n" +
    "reasons first and its reasoning is shown dimmed. A reply stopped with Ctrl-C is not kept in the\n" +
    `conversation. ${_HELP}; Ctrl-D also leaves. Lines piped on stdin are sent one by one.`,
  flags: {
    system: { type: "string", short: "s", value: "TEXT", description: "system prompt" },
    "max-tokens": { type: "string", value: "N", description: "longest reply in tokens" },
    temperature: { type: "string", short: "t", value: "T", description: "sampling temperature (0 = greedy)" },
    seed: { type: "string", value: "N", description: "sampling seed (same seed, same reply)" },
    think: { type: "boolean", description: "let the model reason first and show its reasoning (dimmed)" },
  },
  async run(args, ctx) {
    const [model, ...extra] = args.positionals;
    if (!model || extra.length > 0) {
      throw new CliError("usage", "usage: cortex chat MODEL", "`cortex models` lists the models");
    }
    const settings = {
      model,
      maxTokens: numberFlag(args, "max-tokens", { min: 1, integer: true }),
      temperature: numberFlag(args, "temperature", { min: 0, max: 2 }),
      seed: numberFlag(args, "seed", { min: 0, integer: true }),
      think: args.flags.think === true,
    };
    const system = stringFlag(args, "system");
    const client = ctx.client();
    // Fails fast (one line, non-zero exit) when the gateway is unreachable or the model unknown.
    await client.getJson(`/v1/models/${encodeURIComponent(model)}`);
    return await new _ChatSession(ctx, settings, system).run();
  },
};

class _ChatSession {
  readonly #ctx: CliContext;
  readonly #settings: ChatSettings;
  readonly #system: string | undefined;
  readonly #interactive = Deno.stdin.isTerminal();
  #history: ChatTurn[] = [];
  #reply: AbortController | null = null;
  #armedExit = false;
  #quit!: () => void;
  readonly #quitting = new Promise<null>((resolve) => (this.#quit = () => resolve(null)));

  constructor(
    ctx: CliContext,
    settings: ChatSettings,
    system?: string,
  ) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#system = system;
    this.#reset();
  }

  async run(): Promise<number> {
    const { stdout } = this.#ctx;
    const s = stdout.style;
    if (this.#interactive) {
      stdout.line(
        `${s.dim("chatting with")} ${s.bold(this.#settings.model)} ${
          s.dim(`at ${this.#ctx.gatewayUrl} — ${_HELP}`)
        }`,
      );
    }
    const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
      new LineSplitterStream(),
    )
      .getReader();
    const removeInterrupt = listenSignal("SIGINT", () => this.#interrupt());
    let failures = 0;
    try {
      for (;;) {
        if (this.#interactive) stdout.write(s.bold(s.cyan("> ")));
        const next = await Promise.race([lines.read(), this.#quitting]);
        if (next === null) return this.#interactive ? 0 : 130;
        if (next.done) {
          if (this.#interactive) stdout.line();
          break;
        }
        this.#armedExit = false;
        const text = next.value.trim();
        if (text === "") continue;
        if (text === "/exit" || text === "/quit") break;
        if (text === "/reset") {
          this.#reset();
          if (this.#interactive) stdout.line(s.dim("(conversation cleared)"));
          continue;
        }
        if (text === "/help") {
          stdout.line(s.dim(_HELP));
          continue;
        }
        if (text.startsWith("/")) {
          this.#ctx.stderr.line(`cortex chat: unknown command ${text.split(/\s/)[0]} (${_HELP})`);
          continue;
        }
        if (!(await this.#turn(text))) failures++;
      }
    } finally {
      removeInterrupt();
    }
    return failures > 0 ? 1 : 0;
  }

  /** One user turn; false when the request failed. */
  async #turn(text: string): Promise<boolean> {
    const { stdout, stderr } = this.#ctx;
    this.#history.push({ role: "user", content: text });
    this.#reply = new AbortController();
    const started = performance.now();
    try {
      const reply = await streamReply(
        this.#ctx.client(),
        this.#settings,
        this.#history,
        stdout,
        this.#reply.signal,
      );
      // A stopped reply is not a finished turn: the question is dropped too, so the next line is asked
      // afresh instead of after half an answer.
      if (reply.stopped) this.#history.pop();
      else if (reply.content) this.#history.push({ role: "assistant", content: reply.content });

      if (this.#interactive && reply.usage) {
        const seconds = (performance.now() - started) / 1000;
        const tokens = reply.usage.completion_tokens;
        stdout.line(
          stdout.style.dim(
            `(${tokens} tokens, ${formatSeconds(seconds)}, ${(tokens / seconds).toFixed(1)} tok/s)`,
          ),
        );
      }
      return true;
    } catch (error) {
      this.#history.pop();
      if (!(error instanceof CliError)) throw error;
      stderr.line(stderr.style.red(`cortex chat: ${error.line()}`));
      return false;
    } finally {
      this.#reply = null;
    }
  }

  #reset(): void {
    this.#history = this.#system ? [{ role: "system", content: this.#system }] : [];
  }

  #interrupt(): void {
    if (this.#reply) {
      this.#reply.abort();
      return;
    }
    if (!this.#interactive || this.#armedExit) {
      if (this.#interactive) this.#ctx.stdout.line();
      this.#quit();
      return;
    }
    this.#armedExit = true;
    const s = this.#ctx.stdout.style;
    this.#ctx.stdout.write(`\n${s.dim("(Ctrl-C again or /exit to leave)")}\n${s.bold(s.cyan("> "))}`);
  }
}

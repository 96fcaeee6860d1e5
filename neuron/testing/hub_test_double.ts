/**
 * A TEST DOUBLE of a Hugging Face-compatible registry: a local HTTP server answering the
 * hub's URL layout (`/api/models/{repo}/revision/{rev}` listings and
 * `/{repo}/resolve/{rev}/{path}` downloads with `Range` support) from in-memory files. The
 * real hub is unreachable from our machines; this stands in for it in tests. It can drop
 * a connection part-way through a download to exercise resume, and require a bearer token.
 *
 * @module
 */

/** One repository served by the double. */
export interface HubTestDoubleRepo {
  /** File path → contents. */
  files: Record<string, Uint8Array | string>;
  /** Commit hash reported for every revision (default: a fixed 40-hex string). */
  commit?: string;
}

/** Options of {@linkcode startHubTestDouble}. */
export interface HubTestDoubleOptions {
  /** `org/name` → repository. */
  repos: Record<string, HubTestDoubleRepo>;
  /** When set, every request must send `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /**
   * When set, the first full (non-range) download of each file larger than this sends only
   * this many bytes and then breaks the connection.
   */
  dropAfterBytes?: number;
  /** When set, file bodies are sent in 16 KiB pieces with this pause between them (a slow link). */
  chunkDelayMs?: number;
}

/** A request the double saw. */
export interface HubTestDoubleRequest {
  /** HTTP method. */
  method: string;
  /** URL path. */
  path: string;
  /** `Range` header, or null. */
  range: string | null;
  /** `Authorization` header, or null. */
  authorization: string | null;
}

/** A running double. */
export interface HubTestDouble {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Every request so far, in order. */
  requests: HubTestDoubleRequest[];
  /** Stops the server. */
  close(): Promise<void>;
}

const _encoder = new TextEncoder();
const _DEFAULT_COMMIT = "0123456789abcdef0123456789abcdef01234567";

async function _sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function _slowBody(bytes: Uint8Array, delayMs: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (offset >= bytes.length) return controller.close();
      if (offset > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      controller.enqueue(bytes.slice(offset, offset + 16_384));
      offset += 16_384;
    },
  });
}

/**
 * Reads every top-level file of a local model folder into a {@linkcode HubTestDoubleRepo}.
 */
export async function repoFromFolder(folder: string, commit?: string): Promise<HubTestDoubleRepo> {
  const files: Record<string, Uint8Array> = {};
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile) files[entry.name] = await Deno.readFile(`${folder}/${entry.name}`);
  }
  return { files, commit };
}

/**
 * Starts the double on a free 127.0.0.1 port.
 *
 * @example
 * ```ts
 * import { startHubTestDouble } from "./hub_test_double.ts";
 * const hub = await startHubTestDouble({ repos: { "org/tiny": { files: { "config.json": "{}" } } } });
 * const listing = await (await fetch(`${hub.url}/api/models/org/tiny/revision/main`)).json();
 * console.log(listing.siblings); // [{rfilename: "config.json", size: 2, blobId: "…"}]
 * await hub.close();
 * ```
 */
export async function startHubTestDouble(options: HubTestDoubleOptions): Promise<HubTestDouble> {
  const repos = new Map<
    string,
    { commit: string; files: Map<string, { bytes: Uint8Array<ArrayBuffer>; sha: string }> }
  >();
  for (const [repo, spec] of Object.entries(options.repos)) {
    const files = new Map<string, { bytes: Uint8Array<ArrayBuffer>; sha: string }>();
    for (const [path, content] of Object.entries(spec.files)) {
      const bytes = typeof content === "string" ? _encoder.encode(content) : content;
      files.set(path, { bytes: bytes as Uint8Array<ArrayBuffer>, sha: await _sha256(bytes) });
    }
    repos.set(repo, { commit: spec.commit ?? _DEFAULT_COMMIT, files });
  }
  const requests: HubTestDoubleRequest[] = [];
  const dropped = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname);
    requests.push({
      method: request.method,
      path,
      range: request.headers.get("range"),
      authorization: request.headers.get("authorization"),
    });
    if (options.token !== undefined && request.headers.get("authorization") !== `Bearer ${options.token}`) {
      return Response.json({ error: "Invalid credentials" }, { status: 401 });
    }
    const listing = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(path);
    if (listing) {
      const repo = repos.get(listing[1]);
      if (!repo) return Response.json({ error: "Repository not found" }, { status: 404 });
      return Response.json({
        id: listing[1],
        sha: repo.commit,
        siblings: [...repo.files].map(([name, file]) =>
          name.endsWith(".safetensors")
            ? { rfilename: name, size: file.bytes.length, lfs: { sha256: file.sha, size: file.bytes.length } }
            : { rfilename: name, size: file.bytes.length, blobId: file.sha.slice(0, 40) }
        ),
      });
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repo = resolve ? repos.get(resolve[1]) : undefined;
    const file = resolve && repo ? repo.files.get(resolve[3]) : undefined;
    if (!resolve || !repo || !file) return Response.json({ error: "Entry not found" }, { status: 404 });
    const etag = resolve[3].endsWith(".safetensors") ? file.sha : file.sha.slice(0, 40);
    const headers = { etag: `"${etag}"`, "x-repo-commit": repo.commit, "accept-ranges": "bytes" };
    if (request.method === "HEAD") {
      return new Response(null, { headers: { ...headers, "content-length": String(file.bytes.length) } });
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    if (range) {
      const start = Number(range[1]);
      if (start >= file.bytes.length) return new Response(null, { status: 416, headers });
      return new Response(file.bytes.slice(start), {
        status: 206,
        headers: {
          ...headers,
          "content-range": `bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}`,
        },
      });
    }
    const key = `${resolve[1]}/${resolve[3]}`;
    if (
      options.dropAfterBytes !== undefined && file.bytes.length > options.dropAfterBytes && !dropped.has(key)
    ) {
      dropped.add(key);
      const head = file.bytes.slice(0, options.dropAfterBytes);
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(head);
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.error(new Error("connection dropped by the hub test double"));
        },
      });
      return new Response(body, { headers: { ...headers, "content-length": String(file.bytes.length) } });
    }
    if (options.chunkDelayMs) return new Response(_slowBody(file.bytes, options.chunkDelayMs), { headers });
    return new Response(file.bytes, { headers });
  });
  const address = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: async () => {
      await server.shutdown();
    },
  };
}

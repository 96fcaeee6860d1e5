/**
 * Plain-text tables for the listing commands: a header row and left-aligned columns whose
 * widths ignore colour codes, plus the unit formatting those tables share.
 *
 * @module
 */
import { stripAnsi, type Style } from "./terminal.ts";

/**
 * Renders rows under a header, columns separated by two spaces; trailing spaces trimmed.
 *
 * @example
 * ```ts
 * import { renderTable } from "./table.ts";
 * import { makeStyle } from "./terminal.ts";
 * renderTable(["MODEL", "CONTEXT"], [["tiny", "512"]], makeStyle(false));
 * // "MODEL  CONTEXT\ntiny   512"
 * ```
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style: Style,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => cell + " ".repeat(Math.max(0, widths[i] - stripAnsi(cell).length))).join("  ")
      .trimEnd();
  return [style.bold(line(header)), ...rows.map(line)].join("\n");
}

/** Megabytes as `512 MB` or `1.5 GB`; `—` for unknown. */
export function formatMb(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return "—";
  if (Math.abs(mb) < 1024) return `${Math.round(mb)} MB`;
  return `${(mb / 1024).toFixed(1)} GB`;
}

/** Bytes as megabytes with one decimal, e.g. `12.5 MB`. */
export function formatBytes(bytes: number): string {
  const mb = bytes / 2 ** 20;
  return mb < 1024 ? `${mb.toFixed(1)} MB` : `${(mb / 1024).toFixed(2)} GB`;
}

/** Seconds with one decimal below a minute, else `1m05s`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

/** Milliseconds as `20 ms` below a second, else like {@linkcode formatSeconds}. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : formatSeconds(ms / 1000);
}

/** Items joined by `, `, or `—` when there are none. */
export function listOrDash(items: readonly string[]): string {
  return items.length === 0 ? "—" : items.join(", ");
}

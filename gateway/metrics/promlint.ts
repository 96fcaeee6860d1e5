/**
 * The naming rules `promtool check metrics` applies to a Prometheus text exposition (help
 * text present, counters end in `_total` and nothing else does, base units only, no
 * abbreviated units such as `_mb` or `_ms`, no metric type or `:` in the name, snake_case
 * names and labels, `_bucket`/`_count`/`_sum` and `le`/`quantile` left to histograms and
 * summaries), written from the rules' descriptions so the gateway's and the neuron's
 * `/metrics` can be checked in tests where promtool is not installed. Lines the text
 * format does not allow (a second `# TYPE` or `# HELP` for a name, a malformed sample) are
 * problems too, as they are parse errors for promtool.
 *
 * @module
 */

/** One finding, as promtool prints it: `metric: text`. */
export interface LintProblem {
  /** The metric family's name. */
  metric: string;
  /** What is wrong. */
  text: string;
}

type _Type =
  | "counter"
  | "gauge"
  | "histogram"
  | "summary"
  | "untyped"
  | "gaugehistogram"
  | "info"
  | "stateset";

interface _Family {
  name: string;
  type: _Type;
  help: string | null;
  labels: Set<string>;
}

// Each unit Prometheus knows, mapped to its base unit.
const _UNITS: Record<string, string> = {
  amperes: "amperes",
  bytes: "bytes",
  celsius: "celsius",
  grams: "grams",
  joules: "joules",
  kelvin: "kelvin",
  meters: "meters",
  metres: "metres",
  seconds: "seconds",
  volts: "volts",
  minutes: "seconds",
  hours: "seconds",
  days: "seconds",
  weeks: "seconds",
  kelvins: "kelvin",
  fahrenheit: "celsius",
  rankine: "celsius",
  inches: "meters",
  yards: "meters",
  miles: "meters",
  bits: "bytes",
  calories: "joules",
  pounds: "grams",
  ounces: "grams",
};
const _PREFIXES = [
  "",
  "pico",
  "nano",
  "micro",
  "milli",
  "centi",
  "deci",
  "deca",
  "hecto",
  "kilo",
  "kibi",
  "mega",
  "mibi",
  "giga",
  "gibi",
  "tera",
  "tebi",
  "peta",
  "pebi",
];
const _ABBREVIATIONS = ["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];
const _TYPES_IN_NAME = ["counter", "gauge", "histogram", "summary", "gaugehistogram"];
const _NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const _CAMEL = /[a-z][A-Z]/;

/**
 * Every problem promtool's lint would report for `exposition`, sorted by metric then text;
 * empty when clean.
 *
 * @example
 * ```ts
 * import { lintExposition } from "./promlint.ts";
 * lintExposition("# HELP x_mb Memory.\n# TYPE x_mb gauge\nx_mb 1\n");
 * // [{ metric: "x_mb", text: "metric names should not contain abbreviated units" }]
 * ```
 */
export function lintExposition(exposition: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const families = new Map<string, _Family>();
  const family = (name: string): _Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", help: null, labels: new Set() };
      families.set(name, f);
    }
    return f;
  };
  const typed = new Set<string>();
  for (const raw of exposition.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ""] = meta;
      const f = family(name);
      if (kind === "HELP") {
        if (f.help !== null) problems.push({ metric: name, text: "second HELP line for this metric" });
        f.help = rest;
      } else {
        if (typed.has(name)) problems.push({ metric: name, text: "second TYPE line for this metric" });
        typed.add(name);
        f.type = rest.trim() as _Type;
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = _parseSample(line);
    if (typeof sample === "string") {
      problems.push({ metric: line.split(/[{\s]/)[0], text: `parse error: ${sample}` });
      continue;
    }
    const f = family(_familyOf(sample.name, families));
    for (const label of sample.labels) f.labels.add(label);
  }
  for (const f of families.values()) problems.push(...lintFamily(f));
  return problems.sort((a, b) => a.metric.localeCompare(b.metric) || a.text.localeCompare(b.text));
}

/** The rules for one family (name, type, help and the label names its samples use). */
export function lintFamily(
  f: { name: string; type: string; help: string | null; labels: Iterable<string> },
): LintProblem[] {
  const out: string[] = [];
  const name = f.name;
  const lower = name.toLowerCase();
  if (f.help === null) out.push("no help text");
  const unit = _unitOf(name);
  if (unit && unit.unit !== unit.base) out.push(`use base unit "${unit.base}" instead of "${unit.unit}"`);
  const total = name.endsWith("_total");
  if (f.type === "counter" && !total) out.push(`counter metrics should have "_total" suffix`);
  if (f.type !== "counter" && f.type !== "untyped" && total) {
    out.push(`non-counter metrics should not have "_total" suffix`);
  }
  if (f.type !== "untyped") {
    const histogram = f.type === "histogram";
    const summary = f.type === "summary";
    if (!histogram && name.endsWith("_bucket")) {
      out.push(`non-histogram metrics should not have "_bucket" suffix`);
    }
    for (const suffix of ["_count", "_sum"]) {
      if (!histogram && !summary && name.endsWith(suffix)) {
        out.push(`non-histogram and non-summary metrics should not have "${suffix}" suffix`);
      }
    }
    for (const label of f.labels) {
      if (!histogram && label === "le") out.push(`non-histogram metrics should not have "le" label`);
      if (!summary && label === "quantile") out.push(`non-summary metrics should not have "quantile" label`);
    }
  }
  for (const type of _TYPES_IN_NAME) {
    if (lower.includes(`_${type}_`) || lower.endsWith(`_${type}`)) {
      out.push(`metric name should not include type '${type}'`);
    }
  }
  if (name.includes(":")) out.push("metric names should not contain ':'");
  if (_CAMEL.test(name)) out.push("metric names should be written in 'snake_case' not 'camelCase'");
  for (const label of f.labels) {
    if (_CAMEL.test(label)) out.push("label names should be written in 'snake_case' not 'camelCase'");
  }
  for (const abbreviation of _ABBREVIATIONS) {
    if (lower.includes(`_${abbreviation}_`) || lower.endsWith(`_${abbreviation}`)) {
      out.push("metric names should not contain abbreviated units");
    }
  }
  return out.map((text) => ({ metric: name, text }));
}

function _unitOf(name: string): { unit: string; base: string } | null {
  for (const part of name.split("_")) {
    for (const prefix of _PREFIXES) {
      if (!part.startsWith(prefix)) continue;
      const base = _UNITS[part.slice(prefix.length)];
      if (base !== undefined) return { unit: part, base };
    }
  }
  return null;
}

// A histogram's or summary's `_bucket`, `_sum`, `_count` (and `_created`) samples belong to its family.
function _familyOf(sample: string, families: Map<string, _Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count", "_created"]) {
    if (!sample.endsWith(suffix)) continue;
    const base = families.get(sample.slice(0, -suffix.length));
    if (base && (base.type === "histogram" || base.type === "summary")) return base.name;
  }
  return sample;
}

// `name{a="x",b="y"} value [timestamp]` → its name and label names, or why it is malformed.
function _parseSample(line: string): { name: string; labels: string[] } | string {
  const nameMatch = /^[^\s{]+/.exec(line);
  if (!nameMatch || !_NAME.test(nameMatch[0])) return "invalid metric name";
  const name = nameMatch[0];
  let i = name.length;
  const labels: string[] = [];
  if (line[i] === "{") {
    i++;
    while (true) {
      while (line[i] === " ") i++;
      if (line[i] === "}") break;
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!label) return "invalid label name";
      labels.push(label[0]);
      i += label[0].length;
      if (line[i] !== "=" || line[i + 1] !== '"') return `label ${label[0]} has no quoted value`;
      i += 2;
      while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
      if (i >= line.length) return "unterminated label value";
      i++;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") return "expected ',' or '}' after a label";
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") return "expected a value";
  if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Inf|NaN)$/.test(rest[0])) {
    return `invalid value ${rest[0]}`;
  }
  if (new Set(labels).size !== labels.length) return "duplicate label name";
  return { name, labels };
}

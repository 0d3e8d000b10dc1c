/**
 * Joins the dashboard's ES modules (dashboard/js) into one script for the self-contained HTML
 * report, so the report runs the very modules the dashboard serves. A browser opening a file://
 * page refuses to load module files next to it, and a report must be one file anyway.
 *
 * Deliberately small: the dashboard's modules keep to a subset that this can rewrite safely, and
 * anything outside it is an error rather than a silently broken report:
 *   import { a, b as c } from './relative.js';
 *   export function f / export async function f / export const x / export class C
 * Each module becomes a function scope whose exports are returned as an object; imports become
 * destructuring from that object (exports are never reassigned, so copying bindings is safe).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { join } from 'node:path';

export class BundleError extends Error {
  override name = 'BundleError';
}

const IMPORT = /^import\s*\{([^}]*)\}\s*from\s*'(\.{1,2}\/[^']+\.js)';[ \t]*$/gm;
const EXPORT_DECLARATION = /^export\s+(?:async\s+function\*?|function\*?|const|class)\s+([A-Za-z_$][\w$]*)/gm;
/** Any import or export statement left after the rewrites is outside the supported subset. */
const LEFTOVER_MODULE_SYNTAX = /^\s*(?:import\s*[^(\s.]|import\s*$|export\s)/m;

interface Module {
  key: string;
  code: string;
  deps: string[];
}

function resolveKey(from: string, spec: string): string {
  const key = posix.normalize(posix.join(posix.dirname(from), spec));
  if (key.startsWith('..')) throw new BundleError(`${from}: import ${spec} leaves the dashboard's js folder`);
  return key;
}

function rewrite(key: string, source: string): Module {
  const deps: string[] = [];
  let code = source.replace(IMPORT, (_line, names: string, spec: string) => {
    const dep = resolveKey(key, spec);
    deps.push(dep);
    const bindings = names
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '')
      .map((n) => {
        const m = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(n);
        if (m === null) throw new BundleError(`${key}: cannot read import binding "${n}"`);
        return m[2] === undefined ? m[1] : `${m[1]}: ${m[2]}`;
      });
    return `const { ${bindings.join(', ')} } = __modules[${JSON.stringify(dep)}];`;
  });
  const exported: string[] = [];
  code = code.replace(EXPORT_DECLARATION, (declaration: string, name: string) => {
    exported.push(name);
    return declaration.replace(/^export\s+/, '');
  });
  const leftover = LEFTOVER_MODULE_SYNTAX.exec(code);
  if (leftover !== null) throw new BundleError(`${key}: unsupported module syntax near "${leftover[0].trim()}"`);
  if (/<\/script|<!--/i.test(code)) throw new BundleError(`${key}: "</script" or "<!--" cannot be inlined in a <script> element`);
  return { key, code: `${code}\nreturn { ${exported.join(', ')} };`, deps };
}

/**
 * One script holding `entry` and every module it imports (dependencies first), from `jsDir`.
 * Each module runs once, in import order, as in the browser's own module loader.
 */
export function bundleModules(jsDir: string, entry: string): string {
  const modules = new Map<string, Module>();
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (key: string): void => {
    if (modules.has(key) && !visiting.has(key)) return;
    if (visiting.has(key)) throw new BundleError(`import cycle through ${key}`);
    visiting.add(key);
    let source: string;
    try {
      source = readFileSync(join(jsDir, ...key.split('/')), 'utf8');
    } catch (err) {
      throw new BundleError(`cannot read dashboard module ${key}: ${(err as Error).message}`);
    }
    const mod = rewrite(key, source);
    modules.set(key, mod);
    for (const dep of mod.deps) visit(dep);
    visiting.delete(key);
    order.push(key);
  };
  visit(entry);
  const parts = order.map((key) => {
    const mod = modules.get(key) as Module;
    return `// ${key}\n__modules[${JSON.stringify(key)}] = (() => {\n${mod.code}\n})();`;
  });
  return `'use strict';\nconst __modules = Object.create(null);\n${parts.join('\n')}\n`;
}

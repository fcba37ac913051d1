// The layout's rules, checked on the source itself: no `_` file is imported from outside its folder, and agent/ keeps a small root.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { REPO } from "./helpers";

/** Relative imports: `from "./x"`, `import("./x")`, `require("./x")`, `import "./x"`, and JSDoc `import("./x")` in pages. */
const IMPORT = /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']*)["']/g;

/** The file an import names, trying the extensions and index files the bundler tries. */
function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  return [base, `${base}.ts`, `${base}.js`, join(base, "index.ts")].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

test("no file imports a `_` file of another folder (a subfolder counts as inside)", async () => {
  const files = await Array.fromAsync(new Bun.Glob("{agent,controller,web,test,bench,scripts}/**/*.{ts,js}").scan({ cwd: REPO }));
  const crossings: string[] = [];
  for (const file of files.filter((name) => !name.includes("/vendor/"))) {
    const path = join(REPO, file);
    for (const match of readFileSync(path, "utf8").matchAll(IMPORT)) {
      const target = resolveImport(path, match[1]!);
      if (!target || !basename(target).startsWith("_")) continue;
      if (!`${dirname(path)}/`.startsWith(`${dirname(target)}/`)) crossings.push(`${file} -> ${relative(REPO, target)}`);
    }
  }
  expect(crossings).toEqual([]);
});

test("agent/ has at most 10 files at its root; every role is a folder whose index.ts is the role", () => {
  const root = readdirSync(join(REPO, "agent"), { withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name);
  const roles = readdirSync(join(REPO, "agent", "roles"), { withFileTypes: true }).filter((entry) => entry.isDirectory() && entry.name !== "worker");
  const withoutIndex = roles.filter((entry) => !readFileSync(join(REPO, "agent", "roles", entry.name, "index.ts"), "utf8").includes("satisfies Role<"));
  expect({ rootFiles: root.length <= 10, withoutIndex }).toEqual({ rootFiles: true, withoutIndex: [] });
});

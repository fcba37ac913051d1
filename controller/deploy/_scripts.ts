// The shell scripts a deploy runs on a box, one per step; every path in them comes from the Layout and is quoted.
import { quote } from "./_box";
import { toAgentArgv, type Layout } from "./_layout";

/** The unit's name as systemd knows it. */
export const SERVICE = "framefleet-agent";

/** The line the probe's answer starts after: whatever a login shell's rc files print comes before it. */
export const PROBE_MARK = "--- framefleet probe ---";

/** Prints PROBE_MARK, then one per line: `uname -m`, the first line of `ldd --version`, `systemd` or `none`, the installed binary's sha256 (empty when none), whether `.prev` exists. */
export function probeScript(layout: Layout): string {
  return [
    `echo ${quote(PROBE_MARK)}`,
    "uname -m",
    "(ldd --version 2>&1 || true) | head -n 1",
    `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd; else echo none; fi`,
    `(sha256sum ${quote(layout.bin)} 2>/dev/null || true) | cut -d ' ' -f 1`,
    `if [ -f ${quote(layout.prev)} ]; then echo prev; else echo none; fi`,
  ].join("\n");
}

/** The temp path a new binary is copied to, beside the binary so the final move is a rename. */
export function toTempBin(layout: Layout): string {
  return `${layout.bin}.new`;
}

/** Writes stdin to the temp path, then prints its sha256 as the box computes it. */
export function copyScript(layout: Layout): string {
  const temp = quote(toTempBin(layout));
  return `set -e\nmkdir -p "$(dirname ${temp})"\numask 022\ncat > ${temp}\nchmod 755 ${temp}\nsha256sum ${temp} | cut -d ' ' -f 1`;
}

/** Keeps the installed binary as `.prev`, then renames the temp one into place (atomic). */
export function installScript(layout: Layout): string {
  const [bin, prev, temp] = [layout.bin, layout.prev, toTempBin(layout)].map(quote);
  return `set -e\nif [ -f ${bin} ]; then cp -p ${bin} ${prev}.new && mv -f ${prev}.new ${prev}; fi\nmv -f ${temp} ${bin}`;
}

/** Swaps the binary and `.prev` (a second rollback undoes the first). */
export function rollbackScript(layout: Layout): string {
  const [bin, prev] = [layout.bin, layout.prev].map(quote);
  return `set -e\ncp -p ${bin} ${bin}.rollback\nmv -f ${prev} ${bin}\nmv -f ${bin}.rollback ${prev}`;
}

/** Writes stdin (the token) into the root-only token file (folder 700, file 600), by rename. */
export function tokenScript(layout: Layout): string {
  const [dir, file] = [layout.tokenDir, layout.token].map(quote);
  return `set -e\numask 077\nmkdir -p ${dir}\nchmod 700 ${dir}\ncat > ${file}.new\nchmod 600 ${file}.new\nmv -f ${file}.new ${file}`;
}

/** Installs stdin as the unit when it differs, `daemon-reload`, `enable --now`, then a restart (a new binary or token). */
export function systemdScript(layout: Layout): string {
  const unit = quote(layout.unit);
  return [
    "set -e",
    // No mkdir of the data folder: StateDirectory= makes it, owned by the service's dynamic user.
    `mkdir -p "$(dirname ${unit})"`,
    `cat > ${unit}.new`,
    `if cmp -s ${unit}.new ${unit}; then rm -f ${unit}.new; else mv -f ${unit}.new ${unit}; fi`,
    "systemctl daemon-reload",
    `systemctl enable --now ${SERVICE}`,
    `systemctl restart ${SERVICE}`,
  ].join("\n");
}

/**
 * Boxes without systemd: stops the agent its pid file names (only if that process was
 * started with this token file), then starts the unit's ExecStart under nohup in the data
 * folder, the cache and temp files under the cache folder, and writes its pid file.
 */
export function nohupScript(layout: Layout, port: number): string {
  const [pid, data, cache, log, token] = [layout.pid, layout.data, layout.cache, layout.log, layout.token].map(quote);
  return [
    "set -e",
    `mkdir -p ${data} ${cache}`,
    `old=$(cat ${pid} 2>/dev/null || true)`,
    `if [ -n "$old" ] && tr '\\0' ' ' < /proc/$old/cmdline 2>/dev/null | grep -qF -- ${token}; then`,
    `  kill "$old"; i=0`,
    `  while kill -0 "$old" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done`,
    `  kill -9 "$old" 2>/dev/null || true`,
    "fi",
    `cd ${data}`,
    `XDG_CACHE_HOME=${cache} TMPDIR=${cache} nohup ${toAgentArgv(layout, port).map(quote).join(" ")} </dev/null >>${log} 2>&1 &`,
    `echo $! > ${pid}`,
  ].join("\n");
}

/**
 * Runs the installed binary's `--self-test` in a fresh cache folder beside the service's
 * (removed after), so no file of root's lands in the folders the service's own user owns.
 */
export function selfTestScript(layout: Layout): string {
  const cache = quote(`${layout.cache}.self-test.XXXXXX`);
  return [
    `mkdir -p "$(dirname ${quote(layout.cache)})"`,
    `dir=$(mktemp -d ${cache})`,
    `cd "$dir" && XDG_CACHE_HOME="$dir" TMPDIR="$dir" ${quote(layout.bin)} --self-test`,
    "code=$?",
    `cd / && rm -rf "$dir"`,
    "exit $code",
  ].join("\n");
}

/**
 * The stack manager's command line: `bun stack/cli.ts <command>` or `npm run stack -- <command>`.
 *
 *   install                 install what is missing (Java, Maven, Kafka jars, Postgres, ClickHouse)
 *   start                   install if needed, start all three, wait until each answers
 *   stop                    stop what this stack started; data stays
 *   status                  per service: running, pid, ports, ready, data dir, log
 *   logs [service] [-n N]   the last N (default 40) lines of each service's logs
 *   reset                   stop, then delete data, logs and the generated passwords (prints each path it deletes)
 *   credentials             the stack's generated passwords (<STACK_DIR>/credentials.env), as env lines
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, stackCredentialsPath } from '../src/kernel/config.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { consoleStackLog, installStack, loadStackConfig, resetStack, stackServices, stackStatus, startStack, stopStack } from './index.ts';
import { hideKafkajsTimerWarning, seconds } from './log.ts';
import { SERVICE_NAMES, stackDir } from './paths.ts';
import { tailFile } from './process.ts';

const USAGE = `usage: bun stack/cli.ts <install|start|stop|status|logs [kafka|postgres|clickhouse] [-n N]|reset|credentials>`;

async function main(argv: readonly string[]): Promise<number> {
  const log = consoleStackLog();
  const [command, ...rest] = argv;
  // start makes the stack's passwords first (when it has none), so the servers get them.
  const config = command === 'start' ? loadStackConfig(process.env, log) : loadConfig(process.env);
  switch (command) {
    case 'install': {
      const ms = await installStack({ ...config, AUTO_INSTALL: true }, log);
      log.info(ms === 0 ? 'everything is installed already' : `installed in ${seconds(ms)}`);
      return 0;
    }
    case 'start': {
      const r = await startStack(config, log);
      for (const s of await stackStatus(config)) {
        log.info(`${s.name.padEnd(10)} ${s.ports.map((p) => `127.0.0.1:${p.port}`).join(', ')}  log ${s.logFile}`);
      }
      if (r.installMs > 0) log.info(`(of which install: ${seconds(r.installMs)})`);
      return 0;
    }
    case 'stop': {
      const r = await stopStack(config, log);
      log.info(`stopped in ${seconds(r.totalMs)}`);
      return 0;
    }
    case 'status': {
      const statuses = await stackStatus(config);
      console.log(`stack dir ${stackDir(config)}`);
      for (const s of statuses) {
        const state = s.running ? `running  pid ${s.pid}` : 'stopped';
        console.log(
          `${s.name.padEnd(10)} ${state.padEnd(18)} ${s.ready ? 'ready    ' : 'not ready'} ` +
            `ports ${s.ports.map((p) => p.port).join(',').padEnd(12)} data ${s.dataDir}  log ${s.logFile}` +
            (s.note ? `  (${s.note})` : ''),
        );
      }
      return statuses.every((s) => s.running && s.ready) ? 0 : 3;
    }
    case 'logs': {
      let lines = 40;
      const names: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        const arg = rest[i] ?? '';
        if (arg === '-n') lines = Number(rest[++i]);
        else if (/^-n\d+$/.test(arg)) lines = Number(arg.slice(2));
        else names.push(arg);
      }
      if (!Number.isInteger(lines) || lines < 1) throw new Error(`-n wants a positive whole number\n${USAGE}`);
      const unknown = names.filter((n) => !(SERVICE_NAMES as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`unknown service ${unknown.join(', ')}; one of ${SERVICE_NAMES.join(', ')}`);
      for (const s of stackServices(config)) {
        if (names.length > 0 && !names.includes(s.name)) continue;
        for (const file of new Set([...s.logFiles, s.consoleLog])) {
          console.log(`==> ${s.name}: ${file} <==`);
          console.log(tailFile(file, lines) || '(empty or missing)');
        }
      }
      return 0;
    }
    case 'reset': {
      const deleted = await resetStack(config, log);
      log.info(deleted.length === 0 ? 'nothing to delete' : `deleted ${deleted.length} paths; kept the downloaded Kafka jars`);
      return 0;
    }
    case 'credentials': {
      const file = stackCredentialsPath(stackDir(config));
      if (!existsSync(file)) {
        console.error(`${file} does not exist yet: \`npm run stack -- start\` makes it (a stack started before it keeps its old fixed passwords until its next start)`);
        return 3;
      }
      process.stdout.write(readFileSync(file, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => `${l}\n`).join(''));
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

hideKafkajsTimerWarning();
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(isAppError(error) ? `[stack] ${error.code}: ${error.message}` : `[stack] ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
}
// kafkajs and pg may keep sockets a moment after close; the work is done.
process.exit(process.exitCode);
